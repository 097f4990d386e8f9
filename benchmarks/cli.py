"""``python -m benchmarks``: measure, print the table and the targets."""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    IMPORT_FLOOR,
    IMPORTS,
    MeasurementError,
    Samples,
    compile_sources,
    import_sample,
    worker,
)
from benchmarks.report import Row, table, verdicts

SIZES = (1, 10, 50, 200)
QUICK_SIZES = (1, 2)
REPEAT = 5


def machine() -> str:
    """nproc, CPU model, memory and Python: what the numbers were measured on."""
    cpu = "unknown CPU"
    memory = "unknown memory"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory}, "
        f"Python {host.python_version()} on {host.system()} {host.release()}"
    )


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _alternate(
    repeat: int, first: Callable[[int], dict[str, Any]], second: Callable[[int], dict[str, Any]]
) -> tuple[Samples, Samples]:
    """Interleave the two sides so that load from other processes hits both alike."""
    ours, floor = Samples(), Samples()
    for attempt in range(repeat):
        ours.add(first(attempt))
        floor.add(second(attempt))
    return ours, floor


def measure_production(repeat: int, scratch: Path) -> list[Row]:
    dump = scratch / "production.pickle"
    _progress("production stack ...")
    ours, floor = _alternate(
        repeat,
        lambda attempt: worker("production", *(["--dump", str(dump)] if attempt == 0 else [])),
        lambda attempt: worker("replay-cold", str(dump)),
    )
    _check_same_resources("production", ours, floor)
    customs = ours.first("customs")
    section = "production stack (first run after the engine's imports)"
    return [
        Row(section, "synth", ours, floor, f"{customs} resources; config, imports, program"),
        Row(section, "render", ours, None, "manifests to YAML", time_key="render_seconds"),
    ]


def measure_platform(sizes: Sequence[int], repeat: int, scratch: Path) -> dict[int, Row]:
    rows: dict[int, Row] = {}
    for size in sizes:
        dump = scratch / f"platform-{size}.pickle"
        _progress(f"platform N={size} ...")

        def ours_once(attempt: int, size: int = size, dump: Path = dump) -> dict[str, Any]:
            return worker("platform", str(size), *(["--dump", str(dump)] if attempt == 0 else []))

        def floor_once(attempt: int, size: int = size, dump: Path = dump) -> dict[str, Any]:
            return worker("replay", str(dump), "--services", str(size))

        ours, floor = _alternate(repeat, ours_once, floor_once)
        _check_same_resources(f"platform N={size}", ours, floor)
        rows[size] = Row(
            "synthetic platform (steady state, one service warmed up)",
            f"N={size}",
            ours,
            floor,
            f"{ours.first('customs')} resources",
        )
    return rows


def measure_imports(repeat: int) -> list[Row]:
    _progress("imports ...")
    floor = Samples()
    ours = {statement: Samples() for statement in IMPORTS}
    for _ in range(repeat):
        floor.add(import_sample(IMPORT_FLOOR))
        for statement in IMPORTS:
            ours[statement].add(import_sample(statement))
    section = f"import in a fresh interpreter (floor: `{IMPORT_FLOOR}`)"
    rows = []
    for statement, samples in ours.items():
        aws = samples.first("aws_modules")
        note = f"pulumi_aws submodules: {', '.join(aws) if aws else 'none'}"
        rows.append(Row(section, f"`{statement}`", samples, floor, note))
    return rows


def _check_same_resources(what: str, ours: Samples, floor: Samples) -> None:
    counts = {run["customs"] for run in ours.runs} | {run["customs"] for run in floor.runs}
    if len(counts) != 1:
        raise MeasurementError(f"{what}: prodstack and the floor registered {sorted(counts)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="prodstack against the raw-SDK floor; see docs/performance.md",
    )
    parser.add_argument(
        "--quick", action="store_true", help="N=1,2 and one sample each: proves it works"
    )
    parser.add_argument("--sizes", type=int, nargs="+", help=f"platform sizes (default {SIZES})")
    parser.add_argument("--repeat", type=int, help=f"samples per row (default {REPEAT})")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    repeat = args.repeat or (1 if args.quick else REPEAT)
    if repeat < 1 or any(size < 1 for size in sizes):
        parser.error("--repeat and --sizes must be positive")

    load_before = os.getloadavg()[0]
    try:
        compile_sources()
        with tempfile.TemporaryDirectory(prefix="prodstack-bench-") as scratch:
            production = measure_production(repeat, Path(scratch))
            platform = measure_platform(sorted(set(sizes)), repeat, Path(scratch))
        imports = measure_imports(repeat)
    except MeasurementError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 1

    rows = [*production, *platform.values(), *imports]
    load_after = os.getloadavg()[0]
    print(f"machine: {machine()}")
    print(
        f"medians of {repeat} sample(s), each in a fresh process; load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end\n"
    )
    print(table(rows))
    print("\ntargets:")
    for verdict in verdicts(platform, imports):
        print(f"  {verdict.line()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "repeat": repeat,
                    "load_average": [load_before, load_after],
                    "rows": [
                        {
                            "section": row.section,
                            "label": row.label,
                            "prodstack": row.prodstack.runs,
                            "floor": row.floor.runs if row.floor else None,
                        }
                        for row in rows
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    return 0
