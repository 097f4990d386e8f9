"""A seeded fuzzer of prodstack's inputs: the shipped stack files, mutated, through the CLI, and
the component API, misused, through the offline engine.

Invariants (each violation is counted and printed):

- the CLI never prints a traceback: it exits 0, 1 or 2, never 70, and raises nothing;
- a failed run leaves the output folder as it was (a previous render stays whole);
- an accepted stack renders manifests that validate (prodstack.check.schema's validate_object,
  and what the API server checks beyond the OpenAPI schema: see ``apiserver_problems``);
- a misused component API raises ArgsError or ConfigError naming the argument, nothing else;
  accepted arguments synthesize objects that validate the same way.

``python -m tests.fuzz --cases 1200 --api-cases 200 --seed 15`` (``make fuzz``) prints the
counts; tests/test_fuzz.py runs a few dozen cases of each in the suite.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import random
import shutil
import string
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import BaseModel

from prodstack import kinds
from prodstack.check.schema import validate_object
from prodstack.cli import main
from prodstack.config.cron import check_schedule
from prodstack.config.types import INT32_MAX, check_annotations, check_cidr, check_labels

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "production")

# --- what the API server checks beyond the OpenAPI schema ------------------------------------

_INT32_FIELDS = frozenset(
    {
        "replicas",
        "minReplicas",
        "maxReplicas",
        "port",
        "containerPort",
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
        "revisionHistoryLimit",
        "backoffLimit",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "maxSkew",
        "minDomains",
        "stabilizationWindowSeconds",
        "value",
        "averageUtilization",
    }
)
_KINDS = {kind.kind: kind for kind in vars(kinds).values() if isinstance(kind, kinds.Kind)}


def apiserver_problems(document: Mapping[str, Any]) -> list[str]:
    """What the API server (and the controllers) would refuse in an object that its schema
    accepts: names beyond their kind's limit, invalid labels, annotations and selectors,
    int32 fields out of range, CronJob schedules and time zones, CIDR blocks."""
    found: list[str] = []
    metadata = document.get("metadata") or {}
    kind = _KINDS.get(str(document.get("kind")))
    name = str(metadata.get("name", ""))
    if kind is not None and len(name) > kind.name_limit:
        found.append(f"name {name!r} is longer than {kind.name_limit}")
    for check, key in ((check_labels, "labels"), (check_annotations, "annotations")):
        try:
            check(metadata.get(key) or {})
        except ValueError as exc:
            found.append(f"metadata.{key}: {exc}")
    for path, key, value in _walk(document, ""):
        whole = isinstance(value, int) and not isinstance(value, bool)
        if key in _INT32_FIELDS and whole and not -INT32_MAX - 1 <= value <= INT32_MAX:
            found.append(f"{path}: {value} is beyond int32")
        checks: dict[str, Callable[[Any], Any]] = {
            "matchLabels": check_labels,
            "schedule": check_schedule,
            "cidr": check_cidr,
        }
        check_of = checks.get(key)
        if check_of is not None and (document.get("kind") == "CronJob" or key != "schedule"):
            try:
                check_of(value)
            except (ValueError, TypeError, AttributeError) as exc:
                found.append(f"{path}: {exc}")
        if key in ("except", "loadBalancerSourceRanges") and isinstance(value, list):
            for item in value:
                try:
                    check_cidr(item)
                except ValueError as exc:
                    found.append(f"{path}: {exc}")
    return found


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key), item
            yield from _walk(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def manifest_problems(documents: Sequence[Mapping[str, Any]]) -> list[str]:
    """Schema and API-server problems of rendered objects, one line each."""
    found = []
    for document in documents:
        where = f"{document.get('kind')} {(document.get('metadata') or {}).get('name')}"
        found += [f"{where}: {e.path}: {e.message}" for e in validate_object(document)]
        found += [f"{where}: {p}" for p in apiserver_problems(document)]
    return found


# --- stack-file mutations --------------------------------------------------------------------

TOKENS = [
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "!!binary ",
    "!!set ",
    "!!python/tuple ",
    "\t",
    "yes",
    "no",
    "On",
    "2024-01-01",
    "12:30:00",
    "010",
    "0x1F",
    "1_000",
    ".inf",
    ".nan",
    "<<: ",
    "'",
    '"',
    "#",
    "\n",
    "---\n",
    "?",
    "%YAML 1.1\n",
    "~",
    "null",
    "\\u0000",
]
BAD_SCHEDULES = [
    "0 25 * * *",
    "*/0 * * * *",
    "61 * * * *",
    "* * * * 7",
    "0 0 L * *",
    "@every 1h",
    "0 0 31 2 *",
    "1,,2 * * * *",
    "0 2 * * * *",
    "TZ=UTC 0 2 * * *",
    "",
    "@DAILY",
]
GOOD_SCHEDULES = [
    "0 3 * * *",
    "*/30 * * * *",
    "15 1 * * mon-fri",
    "@daily",
    "0 0 1 jan,jul *",
    "? 2 * * *",
    "5/10 4 1-15 * *",
]
BAD_CIDRS = ["10.0.0.1", "10.40.0.1/16", "10.0.0.0/33", "FE80::/10", "fe80::%e/64", "x", ""]
BAD_STRINGS = [
    "Orders",
    "-x-",
    "a" * 70,
    "a" * 300,
    "bad key!",
    "x y",
    "é",
    "1h30m",
    "0s",
    "8761h",
    "Local",
    "A" * 300,
    "../etc",
    "Europe/" + "B" * 20,
]
NUMBERS = [0, -1, 1, 2, 3, 5, 2**31 - 1, 2**31, 2**53, -(2**31) - 1, 1e20, 2.5, 2.0, 0.5, -0.5]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A value of any kind that YAML can carry, often a troublesome one."""
    choice = rng.randrange(12)
    if choice == 0:
        return rng.choice([True, False, None])
    if choice in (1, 2):
        return rng.choice(NUMBERS)
    if choice == 3:
        return rng.choice(BAD_STRINGS + BAD_SCHEDULES + BAD_CIDRS)
    if choice == 4:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 12)))
    if choice == 5 and depth < 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if choice == 6 and depth < 3:
        return {rng.choice(["x", "name", "port", "a b", "1"]): random_value(rng, depth + 1)}
    if choice == 7:
        nested: Any = "x"
        for _ in range(rng.choice([10, 63, 70, 200])):
            nested = [nested]
        return nested
    if choice == 8:
        return str(rng.choice(NUMBERS))
    if choice == 9:
        return rng.choice(["yes", "true", "True", "1", "on"])
    return rng.choice([[], {}, "", 0])


# (path below a service, bad values, good values): where the domain rules live.
TARGETED: list[tuple[tuple[str, ...], list[Any], list[Any]]] = [
    (("dbBackup", "backup", "schedule"), BAD_SCHEDULES, GOOD_SCHEDULES),
    (("dbBackup", "restoreCheck", "schedule"), BAD_SCHEDULES, GOOD_SCHEDULES),
    (
        ("dbBackup", "backup", "timeZone"),
        ["A" * 300, "Local", "Mars/Base", "../x", ""],
        ["Europe/Berlin", "Etc/UTC", "America/Argentina/Buenos_Aires"],
    ),
    (("dbBackup", "bucket", "retentionDays"), [1e20, 0, 10**6, True, "30"], [1, 90, 36500]),
    (("app", "replicas"), [True, "3", 2.5, 2**31, 0, -1, None], [2, 3, 4, 7]),
    (("app", "port"), [0, 65536, 80.5, "8080", True], [8081, 3001]),
    (
        ("app", "annotations"),
        [{"bad key!": "x"}, {"a/b/c": "x"}, {"x": 1}, {"k": "v" * 300_000}],
        [{"example.com/owner": "team-a"}, {"note": "any text, even: colons"}],
    ),
    (("app", "version"), ["2.4.1-", "", "a" * 64, 2.4], ["2.4.2", "v3"]),
    (("app", "probes", "liveness", "periodSeconds"), [2**40, 0, 1.5, False], [15, 20]),
    (("app", "shutdown", "drainSeconds"), [2**31, -1, "15", 1.0], [10, 20]),
    (
        ("app", "canary", "analysis", "interval"),
        ["8761h", "99999999999s", "1.5m", "0s"],
        ["2m", "90s"],
    ),
    (("security", "network", "loadBalancerSources"), [[c] for c in BAD_CIDRS], [["10.0.0.0/8"]]),
    (("security", "network", "https", "cidrs"), [[c] for c in BAD_CIDRS], [["0.0.0.0/0"]]),
    (
        ("security", "network", "peers"),
        [[{"namespace": "monitoring", "podLabels": {"app": "-x-"}}], [{"namespace": "Bad"}]],
        [[{"namespace": "monitoring", "podLabels": {"app": "grafana"}}]],
    ),
    (("observability", "alerts", "highErrorRate", "threshold"), [True, "0.5", 1.5, 0], [0.02]),
]


@dataclass
class Outcome:
    """Counts of a run."""

    cases: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)
    invalid_accepted: list[str] = field(default_factory=list)
    output_touched: list[str] = field(default_factory=list)
    by_mutation: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not (self.tracebacks or self.invalid_accepted or self.output_touched)


class StackFuzzer:
    """Mutates the shipped stack files and runs ``prodstack render`` on them in-process."""

    def __init__(self, workdir: Path) -> None:
        self.project = workdir / "project"
        shutil.copytree(
            ROOT / "stacks", self.project / "stacks", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(ROOT / "Pulumi.yaml", self.project / "Pulumi.yaml")
        self.workdir = workdir
        self.texts = {s: (ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text() for s in STACKS}
        self.data = {s: yaml.safe_load(t) for s, t in self.texts.items()}
        # Each stack's last render stays in out/: a failed run must leave it as it was.
        self.out = workdir / "out"
        for stack in STACKS:
            status, _, err = self.render(stack, self.out)
            if status != 0:  # pragma: no cover - the shipped stacks render
                raise RuntimeError(f"the shipped {stack} stack does not render: {err}")

    def render(self, stack: str, out: Path) -> tuple[int, str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            status = main(["--project", str(self.project), "render", stack, "--out", str(out)])
        return status, stdout.getvalue(), stderr.getvalue()

    def mutate(self, rng: random.Random, stack: str) -> tuple[str, bytes]:
        """``(mutation kind, the stack file's new bytes)``."""
        roll = rng.random()
        if roll < 0.2:
            return "yaml-damage", self._damaged(rng, self.texts[stack])
        data = copy.deepcopy(self.data[stack])
        services = data["config"]["prodstack:services"]
        service = services[rng.choice(sorted(services))]
        if roll < 0.5:
            path, bad, good = rng.choice(TARGETED)
            valid = rng.random() < 0.35
            _set(service, path, copy.deepcopy(rng.choice(good if valid else bad)))
            kind = "targeted-valid" if valid else "targeted-bad"
        elif roll < 0.65:
            kind = "key-damage"
            _damage_key(rng, data["config"])
        else:
            kind = "value-swap"
            _swap_value(rng, data["config"])
        return kind, yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()

    def _damaged(self, rng: random.Random, text: str) -> bytes:
        lines = text.splitlines(keepends=True)
        for _ in range(rng.randrange(1, 4)):
            operation = rng.randrange(5)
            index = rng.randrange(len(lines))
            if operation == 0:
                line = lines[index]
                cut = rng.randrange(len(line) + 1)
                lines[index] = line[:cut] + rng.choice(TOKENS) + line[cut:]
            elif operation == 1:
                lines.insert(index, lines[index])  # a duplicate key, or a repeated item
            elif operation == 2:
                lines[index] = lines[index].lstrip() if rng.random() < 0.5 else "  " + lines[index]
            elif operation == 3:
                del lines[index]
            else:
                lines = lines[:index]  # truncated
                lines = lines or ["\n"]
        data = "".join(lines).encode()
        if rng.random() < 0.05:
            position = rng.randrange(len(data) + 1)
            data = data[:position] + rng.choice([b"\xe9", b"\xff\xfe", b"\x00"]) + data[position:]
        return data

    def case(self, rng: random.Random, outcome: Outcome) -> None:
        stack = rng.choice(STACKS)
        kind, content = self.mutate(rng, stack)
        outcome.cases += 1
        outcome.by_mutation[kind] += 1
        (self.project / "stacks" / f"Pulumi.{stack}.yaml").write_bytes(content)
        out = self.out
        before = _snapshot(out)
        try:
            status, _, err = self.render(stack, out)
        except BaseException as exc:
            outcome.tracebacks.append(f"{kind} {stack}: {type(exc).__name__}: {exc}"[:300])
            return
        finally:
            (self.project / "stacks" / f"Pulumi.{stack}.yaml").write_text(self.texts[stack])
        if status not in (0, 1, 2) or "Traceback" in err:
            outcome.tracebacks.append(f"{kind} {stack}: exit {status}: {err[:300]}")
            return
        if status == 0:
            outcome.accepted += 1
            problems = manifest_problems(_documents(out / stack))
            outcome.invalid_accepted += [f"{kind} {stack}: {p}" for p in problems[:3]]
            return
        outcome.refused[f"exit {status}: {_error_class(err)}"] += 1
        if _snapshot(out) != before:
            outcome.output_touched.append(f"{kind} {stack}: {err[:200]}")


def _set(section: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        child = section.get(part)
        if not isinstance(child, dict):
            child = section[part] = {}
        section = child
    section[path[-1]] = value


def _containers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) below ``value``."""
    if isinstance(value, dict):
        for key in list(value):
            yield value, key
            yield from _containers(value[key], (*path, key))
    elif isinstance(value, list):
        for index in range(len(value)):
            yield value, index
            yield from _containers(value[index], (*path, index))


def _damage_key(rng: random.Random, config: dict[str, Any]) -> None:
    places = [(c, k) for c, k in _containers(config) if isinstance(c, dict)]
    container, key = rng.choice(places)
    operation = rng.randrange(3)
    if operation == 0:
        del container[key]
    elif operation == 1:
        text = str(key)
        position = rng.randrange(len(text))
        typo = text[:position] + text[position + 1 :] if len(text) > 1 else text + "x"
        container[typo if typo not in container else typo + "x"] = container.pop(key)
    else:
        container[rng.choice(["extra", "replica", "Replicas", "timezone"])] = random_value(rng)


def _swap_value(rng: random.Random, config: dict[str, Any]) -> None:
    places = list(_containers(config))
    container, key = rng.choice(places)
    container[key] = random_value(rng)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(folder.rglob("*"))
    }


def _documents(folder: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(folder.rglob("*.yaml"))]


def _error_class(err: str) -> str:
    """The kind of a refusal: the message's first words, without files, keys and values."""
    first = err.removeprefix("prodstack: ").splitlines()[0] if err else "(no message)"
    if first.startswith("invalid stack configuration"):
        return "invalid stack configuration"
    if ": " in first and first.split(":", 1)[0].endswith(".yaml"):
        message = first.split(": ", 1)[-1]
        for marker in (
            "duplicate key",
            "not valid YAML",
            "boolean in YAML 1.1",
            "the tag",
            "not UTF-8",
            "nested deeper",
            "recursive",
            "the key",
            "unknown namespace",
            "date in YAML",
            "octal",
            "merge keys",
            "second YAML document",
            "top level",
            "unknown top-level key",
            "is empty",
            "JSON",
            "not a number",
        ):
            if marker in message:
                return f"stack file: {marker}"
        return "stack file: other"
    if "reference objects that are not in the stack" in first:
        return "graph integrity"
    if "GitOps manifests" in first:
        return "gitops values"
    return first[:60]


# --- component API misuse --------------------------------------------------------------------

BAD_ARGS: list[Any] = [
    None,
    "",
    "Orders",
    "x" * 300,
    2.5,
    True,
    -1,
    2**31,
    0,
    {},
    [],
    {"x": 1},
    ["a"],
    "yes",
    object(),
]


class ApiFuzzer:
    """Builds components with one or two arguments replaced by wrong ones, in the offline
    engine."""

    def __init__(self) -> None:
        from tests.support.stacks import API, environment

        env = environment("staging")
        self.env = env
        self.service = env.services[API]
        self.api = API

    def builders(self) -> dict[str, tuple[Callable[[dict[str, Any]], None], dict[str, Any]]]:
        import prodstack as p
        from prodstack.components.db_backup import DbBackup, DbBackupArgs

        service = self.service
        identity = p.AppIdentity(name=self.api, namespace="shop-staging")

        def canary(kw: dict[str, Any]) -> None:
            p.CanaryApp(self.api, p.CanaryAppArgs(**kw))

        def scaling(kw: dict[str, Any]) -> None:
            app = p.CanaryApp(
                self.api,
                p.CanaryAppArgs(
                    app=service.app, namespace="shop-staging", replicas=p.ExternallyScaled()
                ),
            )
            p.Autoscaling(self.api, p.AutoscalingArgs(target=app, **kw))

        def simple(component: Any, args: Any) -> Callable[[dict[str, Any]], None]:
            return lambda kw: component(self.api, args(**kw))

        return {
            "CanaryAppArgs": (
                canary,
                {
                    "app": service.app,
                    "namespace": "shop-staging",
                    "instance": "shop-api-staging",
                    "replicas": 3,
                    "environment": "staging",
                    "wiring": (),
                },
            ),
            "AutoscalingArgs": (
                scaling,
                {"identity": identity, "autoscaling": service.autoscaling},
            ),
            "EntryPointArgs": (
                simple(p.EntryPoint, p.EntryPointArgs),
                {"identity": identity, "load_balancer": service.load_balancer},
            ),
            "HAPolicyArgs": (
                simple(p.HAPolicy, p.HAPolicyArgs),
                {"identity": identity, "ha": service.ha, "replicas": service.replica_range},
            ),
            "VaultSecretsArgs": (
                simple(p.VaultSecrets, p.VaultSecretsArgs),
                {"identity": identity, "config": service.vault_secrets},
            ),
            "ObservabilityArgs": (
                simple(p.Observability, p.ObservabilityArgs),
                {
                    "identity": identity,
                    "config": self.env.observability,
                    "team": "backend",
                    "min_available_replicas": 2,
                    "metrics_port": 9090,
                    "status_label": "status",
                },
            ),
            "DbBackupArgs": (
                simple(DbBackup, DbBackupArgs),
                {
                    "identity": identity,
                    "config": service.db_backup,
                    "app_vault": service.vault_secrets.vault if service.vault_secrets else None,
                    "environment": "staging",
                },
            ),
            "ServiceSecurityArgs": (
                simple(p.ServiceSecurity, p.ServiceSecurityArgs),
                {
                    "identity": identity,
                    "api_token_expiration_seconds": 3600,
                    "api_access": service.security.api_access,
                },
            ),
            "NamespaceBaselineArgs": (
                simple(p.NamespaceBaseline, p.NamespaceBaselineArgs),
                {"namespace": "shop-staging", "labels": {"team": "backend"}},
            ),
            "ArgoCDApplicationArgs": (
                simple(p.ArgoCDApplication, p.ArgoCDApplicationArgs),
                {
                    "namespace": "shop-staging",
                    "gitops": {"repoUrl": "https://git.example.com/x", "path": "rendered/staging"},
                    "application_name": "shop-staging",
                },
            ),
        }

    def case(self, rng: random.Random, outcome: Outcome) -> None:
        from prodstack.components.args import ArgsError
        from prodstack.config import ConfigError
        from prodstack.synth import synthesize
        from prodstack.synth.manifests import manifests

        builders = self.builders()
        name = rng.choice(sorted(builders))
        build, valid = builders[name]
        kwargs = dict(valid)
        roll = rng.random()
        if roll < 0.2:  # a valid variation: the models given as mappings
            for key, value in kwargs.items():
                if isinstance(value, BaseModel):
                    kwargs[key] = value.model_dump(by_alias=True, exclude_unset=True)
            kind = "valid"
        elif roll < 0.28:
            kwargs["namespace" if "namespace" in kwargs else "identity"] = "output"
            kind = "output"
        else:
            for key in rng.sample(sorted(kwargs), k=min(len(kwargs), rng.choice([1, 1, 2]))):
                kwargs[key] = rng.choice([*BAD_ARGS, random_value(rng)])
            kind = "misuse"
        outcome.cases += 1
        outcome.by_mutation[f"{name} {kind}"] += 1

        def program() -> None:
            if kwargs.get("namespace") == "output" or kwargs.get("identity") == "output":
                key = "namespace" if "namespace" in kwargs else "identity"
                kwargs[key] = pulumi.Output.from_input("shop-staging")
            build(kwargs)

        try:
            graph = synthesize(program, stack=f"api-{outcome.cases}")
        except (ArgsError, ConfigError) as exc:
            text = str(exc)
            if kind == "valid":
                outcome.tracebacks.append(f"{name}: valid arguments refused: {text[:200]}")
            if not (
                text.startswith(name.removesuffix("Args"))
                or "Args." in text
                or "AppIdentity." in text
                or "invalid" in text
            ):
                outcome.tracebacks.append(f"{name}: unnamed: {text[:200]}")
            outcome.refused[f"{type(exc).__name__}"] += 1
            return
        except BaseException as exc:
            trace = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            outcome.tracebacks.append(f"{name} {sorted(kwargs)}: {trace[:300]}")
            return
        outcome.accepted += 1
        problems = manifest_problems(list(manifests(graph)))
        outcome.invalid_accepted += [f"{name}: {p}" for p in problems[:3]]


def run(cases: int, api_cases: int, seed: int, workdir: Path) -> tuple[Outcome, Outcome]:
    rng = random.Random(seed)
    stacks = Outcome()
    if cases:
        fuzzer = StackFuzzer(workdir)
        for _ in range(cases):
            fuzzer.case(rng, stacks)
    api = Outcome()
    if api_cases:
        api_fuzzer = ApiFuzzer()
        for _ in range(api_cases):
            api_fuzzer.case(rng, api)
    return stacks, api


def report(title: str, outcome: Outcome) -> str:
    lines = [
        f"{title}: {outcome.cases} cases, {outcome.accepted} accepted, "
        f"{sum(outcome.refused.values())} refused, {len(outcome.tracebacks)} tracebacks, "
        f"{len(outcome.invalid_accepted)} invalid manifests accepted, "
        f"{len(outcome.output_touched)} failed runs that touched the output",
        "  cases by mutation: "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcome.by_mutation.items())),
        "  refused by class:",
        *(f"    {count:5d}  {cls}" for cls, count in outcome.refused.most_common()),
    ]
    for label, items in (
        ("traceback", outcome.tracebacks),
        ("invalid manifest accepted", outcome.invalid_accepted),
        ("output touched", outcome.output_touched),
    ):
        lines += [f"  {label}: {item}" for item in items[:20]]
    return "\n".join(lines)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", type=int, default=1200, help="stack-file mutations")
    parser.add_argument("--api-cases", type=int, default=200, help="component API misuses")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prodstack-fuzz-") as workdir:
        stacks, api = run(args.cases, args.api_cases, args.seed, Path(workdir))
    print(f"seed {args.seed}, {time.monotonic() - started:.0f} s")
    print(report("stack files", stacks))
    print(report("component API", api))
    return 0 if stacks.clean and api.clean else 1


if __name__ == "__main__":
    sys.exit(cli())
