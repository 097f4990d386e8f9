"""``prodstack check``: the policies, graph integrity and network flows over one stack."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from prodstack.check.flows import flow_problems
from prodstack.check.references import CHECKS, Index
from prodstack.check.schema import SCHEMA_CHECKS, DeclaredVersions, schema_problems
from prodstack.config.environment import EnvironmentConfig
from prodstack.policies import PolicyContext, Subject, run_all
from prodstack.synth.graph import ResourceGraph
from prodstack.synth.values import plain


@dataclass(frozen=True)
class Problem:
    """One finding: which family found it (policy, reference, flow, schema), which check, where,
    why."""

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


def check(
    graph: ResourceGraph,
    env: EnvironmentConfig | None = None,
    versions: DeclaredVersions | None = None,
) -> Report:
    """Every policy, integrity and schema check (at the declared versions); network flows too
    when the configuration is known."""
    from prodstack.policies import RESOURCE_POLICIES, STACK_POLICIES

    items = subjects(graph)
    context = PolicyContext(environment=env.environment if env else None)
    problems = [Problem("policy", f.policy, f.subject, f.message) for f in run_all(items, context)]
    index = Index(items)
    for name, run in CHECKS:
        problems.extend(
            Problem("reference", name, subject.describe(), message)
            for subject, message in run(index)
        )
    problems.extend(
        Problem(f.family, f.check, f.subject, f.message) for f in schema_problems(graph, versions)
    )
    checks_run = len(RESOURCE_POLICIES) + len(STACK_POLICIES) + len(CHECKS) + len(SCHEMA_CHECKS)
    if env is not None:
        rollout = index.get("Rollout", env.namespace, env.app.name)
        template = ((rollout.props.get("spec") or {}).get("template") or {}) if rollout else {}
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        problems.extend(
            Problem("flow", "network-flows", f"namespace {env.namespace}", message)
            for message in flow_problems(index, env, labels)
        )
        checks_run += 1
    return Report(graph.stack, checks_run, tuple(problems))
