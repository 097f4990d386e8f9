"""Content checksums for pod template annotations: a change in what a pod reads becomes a
change of its template, so the Rollout delivers it as a canary."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def checksum(value: Any) -> str:
    """SHA-256 of the value's canonical JSON (sorted keys, no whitespace): equal content gives
    an equal checksum whatever the key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
