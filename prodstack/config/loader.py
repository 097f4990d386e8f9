"""Reading the ``prodstack:`` configuration namespace and validating it in one pass: every
service merged with ``prodstack:defaults``, every error named by the key that holds it."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError, format_path, problems_from
from prodstack.config.merge import deep_merge, origin
from prodstack.config.observability import ObservabilityConfig
from prodstack.config.service import ServiceConfig, ServiceDefaults, check_service_name

NAMESPACE = "prodstack"

# Keys of the single-app form (prodstack 0.1), which are sections of a service now.
SINGLE_APP_KEYS = (
    "app",
    "security",
    "vaultSecrets",
    "autoscaling",
    "loadBalancer",
    "ha",
    "dbBackup",
)
UPGRADE_GUIDE = "docs/configuration.md#upgrading-from-a-single-app-stack"

Problem = tuple[str, str]


def parse_environment(raw: Mapping[str, Any]) -> EnvironmentConfig:
    """Validate already-decoded ``prodstack:`` values (keys without the namespace prefix).

    Each service is merged with ``defaults`` and validated on its own; errors in a value that
    came from ``defaults`` are reported once, at the default's key. Raises ConfigError listing
    every problem, each named by its full key path.
    """
    problems = _single_app_problems(raw)
    if problems:
        raise ConfigError(problems)
    environment = raw.get("environment")
    scrape = _platform_scrape(raw.get("observability"))
    defaults, problems = _defaults(raw.get("defaults"))
    services_raw = raw.get("services")
    services: dict[str, Any] = {}
    if isinstance(services_raw, Mapping):
        context = {"environment": environment, "scrape": scrape}
        by_service: list[tuple[Problem, str]] = []
        for name, section in services_raw.items():
            service, found = _service(str(name), section, defaults, context)
            by_service += [(problem, str(name)) for problem in found]
            if service is not None:
                services[str(name)] = service
        problems += _grouped(by_service)
    top = {key: value for key, value in raw.items() if key not in ("services", "defaults")}
    top["defaults"] = defaults
    if isinstance(services_raw, Mapping):
        top["services"] = services
    elif services_raw is not None:
        top["services"] = services_raw
    try:
        env = EnvironmentConfig.model_validate(top, context={"environment": environment})
    except ValidationError as exc:
        found = problems_from(exc, NAMESPACE, EnvironmentConfig)
        if problems:
            # Rules across services would judge an incomplete set: report them next time.
            found = [p for p in found if not p[0].startswith(f"{NAMESPACE}:services")]
        elif isinstance(services_raw, Mapping):
            found = _grouped(_attributed(found, services_raw, defaults))
        raise ConfigError(problems + found) from None
    if problems:
        raise ConfigError(problems)
    return env


def _grouped(found: Sequence[tuple[Problem, str]]) -> list[Problem]:
    """One problem per key and message; one in a default names the services that use it."""
    by_origin: dict[Problem, list[str]] = defaultdict(list)
    for problem, name in found:
        if name not in by_origin[problem]:
            by_origin[problem].append(name)
    problems = []
    for (key, message), names in by_origin.items():
        users = [name for name in names if name]
        suffix = ""
        if key.startswith(f"{NAMESPACE}:defaults") and users:
            suffix = f" (in service{'s' if len(users) > 1 else ''} {', '.join(users)})"
        problems.append((key, message + suffix))
    return problems


def _attributed(
    found: Sequence[Problem], services_raw: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[tuple[Problem, str]]:
    """Problems the environment's rules found in a service, at the key that set the value
    (the default's, if the service left it to ``defaults``), with the service's name."""
    prefix = f"{NAMESPACE}:services."
    attributed = []
    for problem in found:
        name = problem[0].removeprefix(prefix).split(".", 1)[0].split("[", 1)[0]
        own = services_raw.get(name) if problem[0].startswith(prefix) else None
        if isinstance(own, Mapping):
            attributed.append((_at_origin(problem, ("services", name), own, defaults), name))
        else:
            attributed.append((problem, ""))
    return attributed


def _single_app_problems(raw: Mapping[str, Any]) -> list[Problem]:
    found = [key for key in SINGLE_APP_KEYS if key in raw]
    observability = raw.get("observability")
    if isinstance(observability, Mapping):
        found += [
            f"observability.{key}" for key in ("alerts", "backupAlerts") if key in observability
        ]
    if not found:
        return []
    app = raw.get("app")
    name = app.get("name") if isinstance(app, Mapping) else None
    target = f"services.{name}" if isinstance(name, str) and name else "services.<name>"
    return [
        (
            f"{NAMESPACE}:{key}",
            "the single-app form is gone: a stack runs services now. Move "
            + (
                f"prodstack:app under prodstack:{target}.app (without its name: the key names "
                "the service)"
                if key == "app"
                else f"prodstack:{key} to prodstack:{target}.{_moved(key)}"
            )
            + f", or into prodstack:defaults to share it; see {UPGRADE_GUIDE}",
        )
        for key in found
    ]


def _moved(key: str) -> str:
    if key == "security":
        return (
            "security (podSecurityVersion is the top-level prodstack:podSecurityVersion; "
            "network.monitoring and network.dns are prodstack:network)"
        )
    if key.startswith("observability."):
        return "observability." + key.removeprefix("observability.")
    return key


def _platform_scrape(observability: Any) -> Any:
    """The platform's scrape settings when they are valid (errors come from the top level)."""
    if not isinstance(observability, Mapping):
        return None
    try:
        return ObservabilityConfig.model_validate(observability).scrape
    except ValidationError:
        return None


def _defaults(value: Any) -> tuple[dict[str, Any], list[Problem]]:
    if value is None:
        return {}, []
    problems: list[Problem] = []
    try:
        sections = ServiceDefaults.model_validate(value)
    except ValidationError as exc:
        problems = problems_from(exc, NAMESPACE, ServiceDefaults, prefix=("defaults",))
        if not isinstance(value, Mapping):
            return {}, problems
        # Keep the sound sections, so that the services are judged as they will be.
        bad = {key for key, _ in problems}
        usable = {
            key: section
            for key, section in value.items()
            if format_path(NAMESPACE, ("defaults", key)) not in bad
        }
        try:
            sections = ServiceDefaults.model_validate(usable)
        except ValidationError:
            return {}, problems
    # Keyed by the camelCase names the stack files write, as the services are.
    merged = sections.model_dump(by_alias=True, exclude_unset=True)
    app = merged.get("app")
    if isinstance(app, Mapping) and "name" in app:
        problems.append(
            (
                format_path(NAMESPACE, ("defaults", "app", "name")),
                "each service is named by its key under prodstack:services; remove app.name",
            )
        )
        merged["app"] = {key: item for key, item in app.items() if key != "name"}
    return merged, problems


def _service(
    name: str, section: Any, defaults: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[ServiceConfig | None, list[Problem]]:
    path: tuple[str | int, ...] = ("services", name)
    try:
        check_service_name(name)
    except ValueError as exc:
        return None, [(format_path(NAMESPACE, path), str(exc))]
    if not isinstance(section, Mapping):
        return None, [(format_path(NAMESPACE, path), "must be a mapping of the service's sections")]
    own = dict(section)
    app = own.get("app")
    if isinstance(app, Mapping) and "name" in app:
        return None, [
            (
                format_path(NAMESPACE, (*path, "app", "name")),
                f"the service is named by its key ({name!r}); remove app.name",
            )
        ]
    merged = deep_merge(defaults, own)
    if isinstance(merged.get("app"), Mapping):
        merged["app"] = {"name": name, **merged["app"]}
    try:
        return ServiceConfig.model_validate(merged, context=dict(context)), []
    except ValidationError as exc:
        found = problems_from(exc, NAMESPACE, ServiceConfig, prefix=path)
    return None, [_at_origin(problem, path, own, defaults) for problem in found]


def _at_origin(
    problem: Problem,
    service_path: Sequence[str | int],
    own: Mapping[str, Any],
    defaults: Mapping[str, Any],
) -> Problem:
    """Report a problem in a merged value at the key that set it: the default's, if the
    service left that value to ``defaults``."""
    key, message = problem
    prefix = format_path(NAMESPACE, service_path)
    rest = key.removeprefix(prefix)
    path = _parse_path(rest)
    if path and origin(path, own, defaults) == "defaults":
        return format_path(NAMESPACE, ("defaults", *path)), message
    return key, message


def _parse_path(text: str) -> list[str | int]:
    """``.app.canary.steps[2].weight`` -> ``['app', 'canary', 'steps', 2, 'weight']``."""
    parts: list[str | int] = []
    for chunk in text.replace("[", ".[").split("."):
        if not chunk:
            continue
        if chunk.startswith("[") and chunk.endswith("]") and chunk[1:-1].isdigit():
            parts.append(int(chunk[1:-1]))
        else:
            parts.append(chunk)
    return parts


def load_environment() -> EnvironmentConfig:
    """Read every ``prodstack:`` key of the running stack and validate it."""
    return parse_environment(read_namespace(NAMESPACE))


def decode_namespace(config: Mapping[str, str], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The keys of one namespace from engine-shaped config (full keys to string values)."""
    prefix = f"{namespace}:"
    return {
        key[len(prefix) :]: _decode(key, text)
        for key, text in sorted(config.items())
        if key.startswith(prefix)
    }


def read_namespace(namespace: str) -> dict[str, Any]:
    """All keys of one config namespace, structured values decoded from their JSON form."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{namespace}:"
    config = pulumi.Config(namespace)
    values: dict[str, Any] = {}
    for full_key in sorted(keys):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        text = config.get(key)
        if text is None:
            continue
        values[key] = _decode(full_key, text)
    return values


def _decode(full_key: str, text: str) -> Any:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([(full_key, f"structured value is not valid JSON: {exc.msg}")]) from None
