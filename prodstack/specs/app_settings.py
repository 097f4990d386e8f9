"""The app's ConfigMap data: typed settings written as the strings a ConfigMap holds."""

from __future__ import annotations

import json

from prodstack.config.app_settings import AppSettings, timeout_milliseconds

APP_ENV = "APP_ENV"
LOG_LEVEL = "LOG_LEVEL"
MAX_CONNECTIONS = "MAX_CONNECTIONS"
TIMEOUT_MS = "TIMEOUT_MS"
FEATURE_FLAGS = "FEATURE_FLAGS"
CORS_ORIGINS = "CORS_ORIGINS"


def settings_data(settings: AppSettings) -> dict[str, str]:
    """One key per setting. Flags are a JSON object, origins a comma-separated list, the
    timeout whole milliseconds (the key says the unit)."""
    return {
        APP_ENV: settings.environment_name,
        LOG_LEVEL: settings.log_level,
        MAX_CONNECTIONS: str(settings.max_connections),
        TIMEOUT_MS: str(timeout_milliseconds(settings.timeout)),
        FEATURE_FLAGS: json.dumps(dict(sorted(settings.feature_flags.items())), sort_keys=True),
        CORS_ORIGINS: ",".join(settings.cors_origins),
    }
