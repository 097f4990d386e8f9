"""One measurement in a fresh interpreter: ``python -m benchmarks.worker CASE ...``.

Prints one JSON line on stdout: ``seconds`` (the timed part), ``peak_rss_mb`` (the process's
peak resident set, from getrusage) and what was registered. The harness starts a new process
for every sample so that no run inherits another's imports, caches or heap.

Cases:
  platform N [--dump FILE]   prodstack: a stack of N services built by prodstack.stack.build
  replay FILE [--services N] the floor: FILE's resources and outputs with the raw SDK
  production [--dump FILE]   the production stack, synthesized and rendered (first run)
  replay-cold FILE           the floor of ``production``: classes resolved inside the timer
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.replay import Plan


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Wall time and the process's CPU time (all threads) of a block; CPU time is the steadier
    of the two on a machine that other work shares."""

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu

    def result(self) -> dict[str, float]:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "peak_rss_mb": peak_rss_mb(),
        }


def _dump(graph: Any, path: str | None) -> None:
    if path:
        from benchmarks.replay import plan

        Path(path).write_bytes(pickle.dumps(plan(graph)))


def _customs(graph: Any) -> int:
    return sum(1 for resource in graph if resource.custom)


def platform(count: int, dump: str | None) -> dict[str, Any]:
    """Steady state: a one-service run first pays the one-time costs (provider modules loaded
    on first use, typing caches), then N services are timed."""
    from benchmarks.platform import PLATFORM_STACK, platform_program, platform_values
    from prodstack.synth import synthesize

    synthesize(platform_program(platform_values(1)), stack=PLATFORM_STACK)
    values = platform_values(count)
    with Timer() as timer:
        graph = synthesize(platform_program(values), stack=PLATFORM_STACK)
    result = {**timer.result(), "customs": _customs(graph)}
    _dump(graph, dump)
    return result


def replay(path: str, services: int) -> dict[str, Any]:
    """The floor of ``platform``, warmed the same way (one service's share of the resources)."""
    from benchmarks.platform import PLATFORM_STACK
    from benchmarks.replay import prepare, replay_program
    from prodstack.synth import synthesize

    found: Plan = pickle.loads(Path(path).read_bytes())
    prepared = prepare(found.declarations)
    synthesize(replay_program(prepared[: len(prepared) // services]), stack=PLATFORM_STACK)
    with Timer() as timer:
        graph = synthesize(replay_program(prepared, found.outputs), stack=PLATFORM_STACK)
    return {**timer.result(), "customs": _customs(graph)}


def production(dump: str | None) -> dict[str, Any]:
    """What ``prodstack render production`` costs after its imports: the first program run in
    the process (config loaded and validated, provider modules loaded on first use), then the
    manifests written."""
    from prodstack.render import render
    from prodstack.synth import find_project, synthesize_stack

    project = find_project(Path(__file__).resolve().parents[1])
    with Timer() as synth:
        graph = synthesize_stack("production", project)
    with Timer() as rendering, tempfile.TemporaryDirectory() as out:
        render(graph, Path(out))
    result = {
        **synth.result(),
        "render_seconds": rendering.seconds,
        "render_cpu_seconds": rendering.cpu_seconds,
        "customs": _customs(graph),
    }
    _dump(graph, dump)
    return result


def replay_cold(path: str) -> dict[str, Any]:
    """The floor of ``production``: a first run too, so provider modules load inside the timer."""
    from benchmarks.replay import prepare, replay_program
    from prodstack.synth import synthesize

    found: Plan = pickle.loads(Path(path).read_bytes())
    with Timer() as timer:
        program = replay_program(prepare(found.declarations), found.outputs)
        graph = synthesize(program, stack="production")
    return {**timer.result(), "customs": _customs(graph)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    cases = parser.add_subparsers(dest="case", required=True)
    case = cases.add_parser("platform")
    case.add_argument("count", type=int)
    case.add_argument("--dump")
    case = cases.add_parser("replay")
    case.add_argument("path")
    case.add_argument("--services", type=int, default=1)
    case = cases.add_parser("production")
    case.add_argument("--dump")
    case = cases.add_parser("replay-cold")
    case.add_argument("path")
    args = parser.parse_args(argv)
    if args.case == "platform":
        result = platform(args.count, args.dump)
    elif args.case == "replay":
        result = replay(args.path, args.services)
    elif args.case == "production":
        result = production(args.dump)
    else:
        result = replay_cold(args.path)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
