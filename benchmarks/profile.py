"""Where a platform run's time goes: ``python -m benchmarks.profile [--n 50] [--floor]``.

Runs one platform worker under py-spy (install with ``pip install -e '.[bench]'``), which
samples every thread: the mock monitor runs in the event loop's executor threads, where a
per-thread profiler such as pyinstrument does not look. Only samples that hold the GIL and
belong to a program run (the engine's thread or the executor's) are counted. Prints the share
of each package in the time spent in its own code, and the functions with most time under them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from benchmarks.harness import ROOT, environment, worker

RUN_MARKERS = ("(prodstack/synth/engine.py", "(concurrent/futures/thread.py")
OWNERS = (
    ("prodstack", "(prodstack/"),
    ("benchmarks", "(benchmarks/"),
    ("pulumi_kubernetes", "(pulumi_kubernetes/"),
    ("pulumi_aws", "(pulumi_aws/"),
    ("pulumi SDK", "(pulumi/"),
    ("pydantic", "(pydantic"),
    ("protobuf", "(protobuf/"),
    ("grpc", "(grpc/"),
    ("asyncio", "(asyncio/"),
    ("typing", "(typing.py"),
    ("traceback, linecache", "(traceback.py"),
    ("traceback, linecache", "(linecache.py"),
    ("threads, futures", "(concurrent/"),
    ("threads, futures", "(threading.py"),
    ("imports", "(<frozen importlib"),
)


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def owner(frame: str) -> str:
    for name, marker in OWNERS:
        if marker in frame:
            return name
    return "other"


def summarize(raw: Iterable[str], top: int) -> str:
    """Self time by package and inclusive time by function, from py-spy's raw format."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in raw:
        stack, _, count_text = line.rstrip().rpartition(" ")
        frames = stack.split(";")
        if not count_text.isdigit() or not any(m in stack for m in RUN_MARKERS):
            continue
        count = int(count_text)
        total += count
        own[owner(frames[-1])] += count
        for frame in set(frames):
            under[frame] += count
    if total == 0:
        return "no samples from a program run"
    lines = [f"{total} samples in program runs", "", "own time by package:"]
    lines += [f"  {count / total:6.1%}  {name}" for name, count in own.most_common()]
    lines += ["", f"time under each function (top {top}):"]
    lines += [f"  {count / total:6.1%}  {frame}" for frame, count in under.most_common(top)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--n", type=int, default=50, help="services (default 50)")
    parser.add_argument("--floor", action="store_true", help="profile the floor instead")
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--top", type=int, default=30, help="functions to list")
    args = parser.parse_args(argv)
    spy = py_spy()
    if spy is None:
        print("benchmarks.profile: py-spy not found; pip install -e '.[bench]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="prodstack-profile-") as scratch:
        case = ["platform", str(args.n)]
        if args.floor:
            dump = Path(scratch) / "declarations.pickle"
            worker("platform", str(args.n), "--dump", str(dump))
            case = ["replay", str(dump), "--services", str(args.n)]
        output = Path(scratch) / "profile.txt"
        command = [
            spy,
            "record",
            "--gil",
            "--nolineno",
            "--format",
            "raw",
            "--rate",
            str(args.rate),
            "--output",
            str(output),
            "--",
            sys.executable,
            "-m",
            "benchmarks.worker",
            *case,
        ]
        done = subprocess.run(
            command, cwd=ROOT, env=environment(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not output.exists():
            print(f"benchmarks.profile: py-spy failed:\n{done.stderr}", file=sys.stderr)
            return 1
        print(summarize(output.read_text().splitlines(), args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
