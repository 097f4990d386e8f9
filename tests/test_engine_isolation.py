"""One failed synthesize() does not break the next: good, bad, good in one process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi._utils import ContextProperty
from pulumi.runtime import settings

from prodstack.synth import ResourceGraph, engine, synthesize
from prodstack.synth.monitor import RecordingMonitor


def good() -> None:
    k8s.core.v1.ConfigMap("a", metadata={"name": "a", "namespace": "ns"}, data={"k": "v"})


def raises_value_error() -> None:
    good()
    raise ValueError("the program's own bug")


def raises_run_error() -> None:
    raise pulumi.RunError("a deliberate failure")


class NotSerializable:
    pass


def invalid_resource_args() -> None:
    # Fails inside Pulumi's serializer, in an RPC, while other registrations are pending.
    good()
    k8s.core.v1.ConfigMap("b", metadata={"name": "b"}, data={"k": NotSerializable()})
    k8s.core.v1.ConfigMap("c", metadata={"name": "c"}, data={"k": "v"})


def raises_in_an_apply() -> None:
    value = pulumi.Output.from_input("x").apply(lambda _: 1 // 0)
    k8s.core.v1.ConfigMap("a", metadata={"name": "a"}, data={"k": value})


def _sdk_defaults() -> dict[str, Any]:
    return {
        name: getattr(prop, engine._DEFAULT_ATTRIBUTE)
        for name, prop in vars(settings.Settings).items()
        if isinstance(prop, ContextProperty)
    }


def test_the_sdk_keeps_its_defaults_where_the_engine_resets_them() -> None:
    # The reset depends on ContextProperty's private default; an SDK upgrade that renames it
    # must fail here rather than let runs leak into each other again.
    defaults = _sdk_defaults()
    assert {"outputs", "rpc_manager", "monitor", "lock"} <= set(defaults)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (raises_value_error, ValueError),
        (raises_run_error, pulumi.RunError),
        (invalid_resource_args, ValueError),
        (raises_in_an_apply, ZeroDivisionError),
    ],
)
def test_good_bad_good_in_one_process(
    bad: Callable[[], None], error: type[Exception], capsys: pytest.CaptureFixture[str]
) -> None:
    threads_before = set(threading.enumerate())
    defaults_before = _sdk_defaults()
    first = synthesize(good)
    with pytest.raises(error):
        synthesize(bad)
    second = synthesize(good)
    assert [r.urn for r in second.resources] == [r.urn for r in first.resources]
    assert second.one("ConfigMap").inputs["data"] == {"k": "v"}
    # Nothing left behind: no thread, no SDK default pointing at a run's state, no noise.
    assert set(threading.enumerate()) == threads_before
    assert _sdk_defaults() == defaults_before
    assert "never retrieved" not in capsys.readouterr().err


def test_a_failing_monitor_does_not_break_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    register = RecordingMonitor.RegisterResource

    def broken(self: RecordingMonitor, request: Any) -> Any:
        if request.name == "a":
            raise RuntimeError("the monitor failed")
        return register(self, request)

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", broken)
    with pytest.raises(RuntimeError, match="the monitor failed"):
        synthesize(good)
    monkeypatch.undo()
    assert synthesize(good).one("ConfigMap").inputs["metadata"]["name"] == "a"


def test_runs_in_parallel_threads_do_not_share_state() -> None:
    results: dict[str, ResourceGraph | BaseException] = {}

    def run(name: str, program: Callable[[], None]) -> None:
        try:
            results[name] = synthesize(program, stack=name)
        except BaseException as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=run, args=(f"s{i}", good if i % 2 else invalid_resource_args))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(4):
        outcome = results[f"s{i}"]
        if i % 2:
            assert isinstance(outcome, ResourceGraph), outcome
            assert outcome.stack == f"s{i}"
            # Nothing of another run leaked in: only this run's stack and its one ConfigMap.
            assert [(r.type, r.name) for r in outcome.resources] == [
                ("pulumi:pulumi:Stack", f"prodstack-s{i}"),
                ("kubernetes:core/v1:ConfigMap", "a"),
            ]
        else:
            assert isinstance(outcome, ValueError)
            assert "unexpected input of type NotSerializable for k in ConfigMap" in str(outcome)
