"""``prodstack check``: the policies, graph integrity and network flows over one stack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from prodstack.check.flows import declared_problems, pairing_problems
from prodstack.check.identities import IDENTITY_CHECKS
from prodstack.check.references import CHECKS, Index
from prodstack.check.schema import SCHEMA_CHECKS, DeclaredVersions, schema_problems
from prodstack.config.environment import EnvironmentConfig
from prodstack.policies import PolicyContext, Subject, run_all
from prodstack.specs.namespace import ENVIRONMENT_LABEL
from prodstack.synth.graph import ResourceGraph
from prodstack.synth.values import plain


@dataclass(frozen=True)
class Problem:
    """One finding: which family found it (policy, reference, identity, flow, schema), which
    check, where, why."""

    family: str
    check: str
    subject: str
    message: str


@dataclass(frozen=True)
class Report:
    stack: str
    checks_run: int
    problems: tuple[Problem, ...]

    @property
    def clean(self) -> bool:
        return not self.problems

    def human(self) -> str:
        if self.clean:
            return f"{self.stack}: {self.checks_run} checks, no findings"
        lines = [f"{self.stack}: {len(self.problems)} finding(s) from {self.checks_run} checks"]
        for problem in self.problems:
            lines.append(
                f"  [{problem.family}:{problem.check}] {problem.subject}: {problem.message}"
            )
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps(
            {
                "stack": self.stack,
                "checksRun": self.checks_run,
                "clean": self.clean,
                "findings": [asdict(problem) for problem in self.problems],
            },
            indent=2,
            sort_keys=True,
        )


def subjects(graph: ResourceGraph) -> list[Subject]:
    """Custom resources of the graph as policies see them (secrets redacted)."""
    return [
        Subject(r.type, r.urn, r.name, plain(r.inputs), r.dependencies)
        for r in graph
        if r.custom and not r.is_provider
    ]


def graph_environment(items: Sequence[Subject]) -> str | None:
    """The environment the program's namespaces say they belong to (NamespaceBaseline labels
    them), when they agree."""
    found = {
        str(labels[ENVIRONMENT_LABEL])
        for subject in items
        if subject.is_kubernetes and subject.kind == "Namespace"
        for labels in [(subject.props.get("metadata") or {}).get("labels") or {}]
        if ENVIRONMENT_LABEL in labels
    }
    return found.pop() if len(found) == 1 else None


def check(
    graph: ResourceGraph,
    env: EnvironmentConfig | None = None,
    versions: DeclaredVersions | None = None,
    *,
    environment: str | None = None,
) -> Report:
    """Every policy, integrity, schema (at the declared versions) and network check over any
    program's graph.

    ``env`` is the stack's configuration, when the program is a prodstack stack: then the
    flows it declares are checked too. ``environment`` (``production`` tightens policies)
    defaults to the configuration's, else to what the program's namespaces are labelled.
    """
    from prodstack.policies import RESOURCE_POLICIES, STACK_POLICIES

    items = subjects(graph)
    context = PolicyContext(
        environment=environment or (env.environment if env else None) or graph_environment(items)
    )
    problems = [Problem("policy", f.policy, f.subject, f.message) for f in run_all(items, context)]
    index = Index(items)
    for name, run in CHECKS:
        problems.extend(
            Problem("reference", name, subject.describe(), message)
            for subject, message in run(index)
        )
    for name, run in IDENTITY_CHECKS:
        problems.extend(
            Problem("identity", name, subject.describe(), message)
            for subject, message in run(index)
        )
    problems.extend(
        Problem(f.family, f.check, f.subject, f.message) for f in schema_problems(graph, versions)
    )
    problems.extend(
        Problem("flow", "network-pairing", "network policies", message)
        for message in pairing_problems(index)
    )
    checks_run = (
        len(RESOURCE_POLICIES)
        + len(STACK_POLICIES)
        + len(CHECKS)
        + len(IDENTITY_CHECKS)
        + len(SCHEMA_CHECKS)
        + 1
    )
    if env is not None:
        problems.extend(
            Problem("flow", "declared-flows", f"stack {graph.stack}", message)
            for message in declared_problems(index, env)
        )
        checks_run += 1
    return Report(graph.stack, checks_run, tuple(problems))
