"""The table and the issue's targets, from measured samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.harness import Samples

OVERHEAD_TARGET = 1.2
LINEAR_SLACK = 1.25  # N=200 may take 25x N=10: 20x is linear, plus a quarter
SCALE_SIZE = 200
SCALE_SECONDS = 30.0
SCALE_MEMORY_MB = 2048.0
IMPORT_TARGET = 1.3


@dataclass(frozen=True)
class Row:
    """One line of the table: prodstack's samples, the floor's (if it has one), a note."""

    section: str
    label: str
    prodstack: Samples
    floor: Samples | None = None
    note: str = ""
    time_key: str = "seconds"

    def seconds(self) -> float:
        return self.prodstack.median(self.time_key)

    def floor_seconds(self) -> float | None:
        return None if self.floor is None else self.floor.median()

    def ratio(self) -> float | None:
        floor = self.floor_seconds()
        return None if floor is None or floor == 0 else self.seconds() / floor

    def cpu_seconds(self) -> float:
        return self.prodstack.median(self.time_key.replace("seconds", "cpu_seconds"))

    def cpu_ratio(self) -> float | None:
        if self.floor is None:
            return None
        floor = self.floor.median("cpu_seconds")
        return None if floor == 0 else self.cpu_seconds() / floor

    def memory(self) -> float:
        return self.prodstack.median("peak_rss_mb")

    def floor_memory(self) -> float | None:
        return None if self.floor is None else self.floor.median("peak_rss_mb")


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool | None  # None: not measured in this run
    detail: str

    def line(self) -> str:
        mark = {True: "PASS", False: "MISS", None: "n/a "}[self.passed]
        return f"{mark}  {self.target}: {self.detail}"


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def table(rows: Sequence[Row]) -> str:
    """A Markdown table: medians of time and peak memory, with the ratio to the floor."""
    header = (
        "| measurement | prodstack s | floor s | ratio | CPU ratio | prodstack peak MB "
        "| floor peak MB | ratio | note |"
    )
    lines = [header, "|" + "---|" * 9]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append(f"| **{section}** |" + " |" * 8)
        floor_memory = row.floor_memory()
        memory_ratio = None if floor_memory is None else row.memory() / floor_memory
        lines.append(
            f"| {row.label} | {_number(row.seconds())} | {_number(row.floor_seconds())} "
            f"| {_ratio(row.ratio())} | {_ratio(row.cpu_ratio())} | {row.memory():.0f} "
            f"| {_number(floor_memory, 0)} | {_ratio(memory_ratio)} | {row.note} |"
        )
    return "\n".join(lines)


def verdicts(platform: dict[int, Row], imports: Sequence[Row]) -> list[Verdict]:
    """The issue's targets, judged on wall time; CPU time (steadier when other work shares
    the machine) is given beside it."""
    found: list[Verdict] = []
    if platform:
        ratios = {size: row.ratio() or 0.0 for size, row in platform.items()}
        cpu = {size: row.cpu_ratio() or 0.0 for size, row in platform.items()}
        worst = max(ratios, key=lambda size: ratios[size])
        worst_cpu = max(cpu, key=lambda size: cpu[size])
        found.append(
            Verdict(
                f"component overhead <= {OVERHEAD_TARGET}x the floor at every N",
                all(ratio <= OVERHEAD_TARGET for ratio in ratios.values()),
                f"worst {ratios[worst]:.2f}x at N={worst} "
                f"(CPU: worst {cpu[worst_cpu]:.2f}x at N={worst_cpu})",
            )
        )
    sizes = sorted(platform)
    if len(sizes) >= 2:
        small = 10 if 10 in sizes else sizes[1] if len(sizes) > 2 else sizes[0]
        large = sizes[-1]
        bound = LINEAR_SLACK * large / small
        growth = platform[large].seconds() / platform[small].seconds()
        cpu_growth = platform[large].cpu_seconds() / platform[small].cpu_seconds()
        found.append(
            Verdict(
                f"linear: time(N={large}) <= {bound:.1f}x time(N={small})",
                growth <= bound,
                f"{growth:.1f}x (CPU: {cpu_growth:.1f}x)",
            )
        )
    target = f"N={SCALE_SIZE} under {SCALE_SECONDS:.0f} s and {SCALE_MEMORY_MB:.0f} MB peak"
    if SCALE_SIZE in platform:
        row = platform[SCALE_SIZE]
        found.append(
            Verdict(
                target,
                row.seconds() < SCALE_SECONDS and row.memory() < SCALE_MEMORY_MB,
                f"{row.seconds():.1f} s (CPU: {row.cpu_seconds():.1f} s), {row.memory():.0f} MB",
            )
        )
    else:
        found.append(Verdict(target, None, f"N={SCALE_SIZE} not in this run"))
    for row in imports:
        ratio = row.ratio() or 0.0
        found.append(
            Verdict(
                f"{row.label} <= {IMPORT_TARGET}x the floor",
                ratio <= IMPORT_TARGET,
                f"{ratio:.2f}x (CPU: {row.cpu_ratio() or 0.0:.2f}x)",
            )
        )
    return found
