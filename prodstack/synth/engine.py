"""The offline engine: run a Pulumi program under the SDK's mock runtime, return its graph.

Each run gets its own thread, so its own context variables (Pulumi keeps settings, config and
the root resource in them), its own asyncio event loop and its own copy of the SDK's mutable
state (see _SdkDefaults); nothing leaks between runs, failed or not.
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
from pulumi._utils import ContextProperty
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from prodstack.synth.graph import ResourceGraph
from prodstack.synth.monitor import PlaceholderMocks, RecordingMonitor
from prodstack.synth.project import (
    Project,
    ProjectError,
    StackConfig,
    find_project,
    load_stack_config,
)
from prodstack.synth.stack_yaml import display_path
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
        self._saved = gc.get_threshold()

    def first_run_starts(self) -> None:
        self._saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(GEN0_THRESHOLD, self._saved[0]), *self._saved[1:])

    def last_run_ended(self) -> None:
        gc.set_threshold(*self._saved)
        gc.unfreeze()


class _SdkDefaults:
    """The process-wide defaults of Pulumi's runtime settings, put back when the last run ends.

    Pulumi keeps its settings (monitor, stack, the outputs a run waits for, the RPC manager) in
    context variables behind ``ContextProperty`` (pulumi/_utils.py). A thread that has not set
    one reads a process-wide default, and the first set in a thread also replaces that default
    (``ContextProperty.fset``). So every run thread shared the ``outputs`` set created when
    pulumi.runtime.settings was imported, and a run that failed left its pending tasks there,
    bound to its closed event loop: the next run's ``wait_for_rpcs`` (pulumi/runtime/stack.py)
    awaited them and failed with "Event loop is closed" or with the previous run's error.
    Each run now sets its own (``fresh_run_state``), and the defaults it replaced are restored.
    """

    def __init__(self) -> None:
        self._saved: dict[str, Any] = {}

    @staticmethod
    def _properties() -> dict[str, ContextProperty]:
        return {
            name: value
            for name, value in vars(settings.Settings).items()
            if isinstance(value, ContextProperty)
        }

    def first_run_starts(self) -> None:
        self._saved = {
            name: getattr(prop, _DEFAULT_ATTRIBUTE) for name, prop in self._properties().items()
        }

    def last_run_ended(self) -> None:
        for name, prop in self._properties().items():
            if name in self._saved:
                setattr(prop, _DEFAULT_ATTRIBUTE, self._saved[name])
        self._saved = {}


# ContextProperty's name-mangled ``__default`` (pinned by tests/test_engine_isolation.py).
_DEFAULT_ATTRIBUTE = "_ContextProperty__default"


def fresh_run_state() -> None:
    """Give the calling thread's run its own mutable SDK state (see _SdkDefaults); set_mocks
    gives it its own monitor, engine and RPC manager."""
    settings.SETTINGS.outputs = set()
    settings.SETTINGS.lock = threading.Lock()
    settings.SETTINGS.package_refs = {}
    settings.SETTINGS.base_providers_by_ref = {}


class _ProcessState:
    """What is changed for the process while at least one run is going on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._parts = (_CollectorTuning(), _SdkDefaults())

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        with self._lock:
            if self._runs == 0:
                for part in self._parts:
                    part.first_run_starts()
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    for part in self._parts:
                        part.last_run_ended()


_process = _ProcessState()


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
    propagate unchanged. A failed run leaves nothing behind: the next one in the same process
    starts from a clean runtime.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_after_failure(outcome))
        asyncio.set_event_loop(loop)
        try:
            fresh_run_state()
            mocks_ = PlaceholderMocks(stack_outputs)
            monitor = RecordingMonitor(mocks_)
            mocks.set_mocks(mocks_, project=project, stack=stack, preview=False, monitor=monitor)
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
            _wind_down(loop)

    thread = threading.Thread(target=run, name=f"prodstack-synth-{stack}")
    with _process.active():
        thread.start()
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    graph: ResourceGraph = outcome["graph"]
    return graph


def _wind_down(loop: asyncio.AbstractEventLoop) -> None:
    """Close a run's loop with nothing left on it: a failed run leaves tasks and RPCs pending
    (``wait_for_rpcs`` raises at the first failure), and executor threads behind."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        settings.SETTINGS.outputs.clear()
        settings.SETTINGS.rpc_manager.clear()
        loop.close()
        asyncio.set_event_loop(None)


def _quiet_after_failure(
    outcome: Mapping[str, Any],
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """After a failed run, the futures of the resources it could not register hold errors that
    nobody retrieves; the run's own error says it all, so asyncio's reports are dropped."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "error" in outcome and "exception" in context:
            return
        loop.default_exception_handler(context)

    return handle


async def _stack_outputs(root: Any) -> dict[str, Any]:
    outputs = getattr(root, "outputs", {}) or {}
    resolved: dict[str, Any] = {}
    for key, value in outputs.items():
        # Outputs may nest in exported lists and dicts: resolve them all, as the engine does.
        resolved[key] = normalize(await Output.from_input(value).future())
    return resolved


def stack_program(project: Project) -> Program:
    """The project's program (``main``), run the way the Python language host runs it: a file,
    or a folder with ``__main__.py``. Raises ProjectError when there is none."""
    main = project.main
    if not (main.is_file() or (main / "__main__.py").is_file()):
        raise ProjectError(
            f"Pulumi.yaml's main: {display_path(main)} is neither a Python file nor a folder "
            "with __main__.py"
        )

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    return program


def synthesize_stack(
    stack: str,
    project: Project | Path | None = None,
    *,
    allow_encrypted: bool = False,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Synthesize a named stack of a project from its ``Pulumi.<stack>.yaml``.

    Encrypted values are decrypted by the Pulumi CLI or refused (a ProjectError naming them);
    with ``allow_encrypted`` the program gets an ``EncryptedPlaceholder`` text instead.
    ``stack_outputs``: what StackReferences read (see ``synthesize``)."""
    if not isinstance(project, Project):
        project = find_project(project)
    config = load_stack_config(project, stack, allow_encrypted=allow_encrypted)
    return synthesize_config(project, stack, config, stack_outputs=stack_outputs)


def synthesize_config(
    project: Project,
    stack: str,
    config: StackConfig,
    *,
    stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceGraph:
    """Synthesize a project's program with an already loaded stack configuration."""
    return synthesize(
        stack_program(project),
        project=project.name,
        stack=stack,
        config=config.values,
        secret_keys=config.secret_keys,
        root_directory=project.root,
        stack_outputs=stack_outputs,
    )
