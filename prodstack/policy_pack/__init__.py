"""The CrossGuard policy pack as a folder Pulumi can run: ``PulumiPolicy.yaml`` and
``__main__.py``, installed with the package (``prodstack policy-pack --path`` prints it)."""

from __future__ import annotations

import importlib.util
import shlex
import sys
from pathlib import Path

RUNTIME = "pulumi_policy"  # the package the pack needs: pip install 'prodstack[policy]'


def directory() -> Path:
    """The installed pack: the folder to give ``pulumi preview --policy-pack``."""
    return Path(__file__).resolve().parent


def missing_runtime() -> str | None:
    """Why this interpreter cannot run the pack, or None when it can."""
    if importlib.util.find_spec(RUNTIME) is None:
        return (
            f"the policy pack needs pulumi-policy, which {sys.executable} does not have; "
            "install prodstack with its policy extra: pip install 'prodstack[policy]'"
        )
    return None


def command() -> str:
    """A ``pulumi preview`` that runs the pack with this interpreter, whatever is on PATH."""
    python = shlex.quote(sys.executable)
    return (
        f"PULUMI_PYTHON_CMD={python} pulumi preview --policy-pack {shlex.quote(str(directory()))}"
    )
