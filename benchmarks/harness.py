"""Running measurements in fresh subprocesses and taking medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Import statements timed in fresh interpreters; the first is the floor of the others.
IMPORT_FLOOR = "import pulumi, pulumi_kubernetes"
IMPORTS = (
    "import prodstack",
    "from prodstack import CanaryApp",
    "import prodstack.stack",
)
_IMPORT_SNIPPET = """\
import time, resource
_start, _cpu = time.perf_counter(), time.process_time()
{statement}
_seconds, _cpu = time.perf_counter() - _start, time.process_time() - _cpu
import json, sys
json.dump({{"seconds": _seconds, "cpu_seconds": _cpu,
  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "aws_modules": sorted(m for m in sys.modules if m.startswith("pulumi_aws."))}}, sys.stdout)
"""


class MeasurementError(RuntimeError):
    """A worker failed; the message carries its command and stderr."""


@dataclass
class Samples:
    """Repeated measurements of one thing; medians are what the table shows."""

    runs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, run: dict[str, Any]) -> None:
        self.runs.append(run)

    def median(self, key: str = "seconds") -> float:
        return statistics.median(float(run[key]) for run in self.runs)

    def first(self, key: str) -> Any:
        return self.runs[0][key]


def environment() -> dict[str, str]:
    """The caller's environment, except that bytecode may be cached: installed packages come
    with theirs, and prodstack (an editable install) must not be compiled anew in every run."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_sources() -> None:
    """Cache the bytecode of the repository's own modules before anything is timed."""
    command = [sys.executable, "-m", "compileall", "-q", "prodstack", "benchmarks", "stacks"]
    done = subprocess.run(
        command, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise MeasurementError(f"{' '.join(command)} failed\n{done.stdout}{done.stderr}")


def run_python(args: Sequence[str]) -> dict[str, Any]:
    """Run ``python ARGS`` from the repository root; its last stdout line is JSON."""
    command = [sys.executable, *args]
    done = subprocess.run(
        command, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise MeasurementError(
            f"{' '.join(command)} exited {done.returncode}\n{done.stderr.strip()[-4000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def worker(*args: str) -> dict[str, Any]:
    return run_python(["-m", "benchmarks.worker", *args])


def import_sample(statement: str) -> dict[str, Any]:
    return run_python(["-c", _IMPORT_SNIPPET.format(statement=statement)])
