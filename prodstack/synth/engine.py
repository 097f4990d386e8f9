"""The offline engine: run a Pulumi program under the SDK's mock runtime, return its graph.

Each run gets its own thread, so its own context variables (Pulumi keeps settings, config and
the root resource in them) and its own asyncio event loop; nothing leaks between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import runpy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi import Output
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from prodstack.synth.graph import ResourceGraph
from prodstack.synth.monitor import PlaceholderMocks, RecordingMonitor
from prodstack.synth.project import Project, find_project, stack_config
from prodstack.synth.values import normalize

Program = Callable[[], None]

# Young collections happen every this many allocations during a run (Python's default: 700).
GEN0_THRESHOLD = 10_000


class _CollectorTuning:
    """Cheaper garbage collection while programs run.

    A run allocates hundreds of thousands of small objects that live until it ends (resources,
    outputs, futures), and the default thresholds make the collector walk the whole heap again
    and again, including the ~250,000 objects the provider SDKs' imports leave behind: at 200
    services that was 40% of the run (docs/performance.md). While any run is going on, the
    objects that existed when the first one started are frozen (out of the collector's reach)
    and young collections are rarer; both are undone when the last run ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._saved = gc.get_threshold()

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            if self._runs == 0:
                self._saved = gc.get_threshold()
                gc.freeze()
                gc.set_threshold(max(GEN0_THRESHOLD, self._saved[0]), *self._saved[1:])
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    gc.set_threshold(*self._saved)
                    gc.unfreeze()


_collector = _CollectorTuning()


def synthesize(
    program: Program,
    *,
    project: str = "prodstack",
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    root_directory: Path | None = None,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Run ``program`` (which creates resources) under mocks and return what it registered.

    ``config`` maps full keys (``prodstack:app``) to the string values the engine would pass;
    ``root_directory`` is the project's folder (``pulumi.get_root_directory()``, None when the
    program has no project); ``stack_outputs`` what StackReferences read, by stack name (by
    default every referenced stack was never deployed). Exceptions raised by the program
    propagate unchanged.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            mocks_ = PlaceholderMocks(stack_outputs)
            monitor = RecordingMonitor(mocks_)
            mocks.set_mocks(mocks_, project=project, stack=stack, preview=False, monitor=monitor)
            # The outputs a run waits for, this run's own: set_mocks leaves the set to the
            # ContextVar's default, which pulumi/_utils.py ContextProperty.fset shares across
            # threads, so a failed run's tasks (on its closed loop) would stall the next run.
            settings.SETTINGS.outputs = set()
            settings.SETTINGS.root_directory = (
                None if root_directory is None else str(root_directory)
            )
            runtime_config.set_all_config(dict(config or {}), list(secret_keys))
            _sync_await(run_pulumi_func(program))
            root = settings.get_root_resource()
            outputs = _sync_await(_stack_outputs(root)) if root is not None else {}
            outcome["graph"] = ResourceGraph(project, stack, tuple(monitor.recorded), outputs)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    thread = threading.Thread(target=run, name=f"prodstack-synth-{stack}")
    with _collector.active():
        thread.start()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    graph: ResourceGraph = outcome["graph"]
    return graph


async def _stack_outputs(root: Any) -> dict[str, Any]:
    outputs = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        # Outputs may nest in exported lists and dicts: resolve them all, as the engine does.
        resolved[key] = normalize(await Output.from_input(value).future())
    return resolved


def stack_program(project: Project) -> Program:
    """The project's program (``main``), run the way the Python language host runs it."""
    main = project.main

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    return program


def synthesize_stack(
    stack: str,
    project: Project | Path | None = None,
    *,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Synthesize a named stack of a project from its ``Pulumi.<stack>.yaml``."""
    if not isinstance(project, Project):
        project = find_project(project)
    config, secret_keys = stack_config(project, stack)
    return synthesize(
        stack_program(project),
        project=project.name,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        root_directory=project.root,
        stack_outputs=stack_outputs,
    )
