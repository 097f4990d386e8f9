"""The ``prodstack`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from prodstack.config.errors import ConfigError
from prodstack.synth.project import Project, ProjectError, find_project

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="prodstack", description=__doc__)
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="folder with Pulumi.yaml (default: the nearest one at or above the working directory)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    render = commands.add_parser(
        "render", help="synthesize a stack offline and write its manifests as YAML"
    )
    render.add_argument("stack", help="stack name, e.g. production")
    render.add_argument(
        "--out", type=Path, default=Path("rendered"), help="output folder (default: rendered)"
    )
    check = commands.add_parser(
        "check",
        help="run the policies, graph integrity and network-flow checks on a stack offline",
        description="Exit status: 0 clean, 1 findings, 2 bad usage or configuration.",
    )
    check.add_argument("stack", help="stack name, e.g. production")
    check.add_argument("--format", choices=("human", "json"), default="human")
    check.add_argument(
        "--environment",
        choices=("dev", "staging", "production"),
        default=None,
        help="the rules to apply (default: the stack configuration's prodstack:environment, "
        "else the environment its namespaces are labelled with)",
    )
    _version_options(check)
    graph = commands.add_parser(
        "graph", help="print the stack's components, resources and references as Mermaid"
    )
    graph.add_argument("stack", help="stack name, e.g. production")
    return parser


def _version_options(check: argparse.ArgumentParser) -> None:
    from prodstack.check.versions import CONTROLLERS, DEFAULT_KUBERNETES_VERSION, MINIMUMS

    group = check.add_argument_group(
        "versions",
        "what the cluster runs; fields these do not serve are findings (docs/versions.md)",
    )
    for controller in CONTROLLERS:
        default = DEFAULT_KUBERNETES_VERSION if controller.key == "kubernetes" else None
        group.add_argument(
            f"--{controller.key}-version",
            dest=f"version:{controller.key}",
            metavar="VERSION",
            default=default,
            help=f"{controller.name} version (default: {default or MINIMUMS[controller.key]})",
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        project = find_project(args.project)
        if args.command == "render":
            return _render(project, args.stack, args.out)
        if args.command == "check":
            return _check(project, args.stack, args.format, _versions(args), args.environment)
        if args.command == "graph":
            return _graph(project, args.stack)
    except ConfigError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProjectError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _render(project: Project, stack: str, out: Path) -> int:
    from prodstack.render import gitops_problems, render
    from prodstack.synth.engine import synthesize_stack

    project.stack_file(stack)  # an unknown stack fails before anything runs
    graph = synthesize_stack(stack, project)
    problems = gitops_problems(graph)
    if problems:
        print(
            f"prodstack: {stack}'s GitOps manifests would not work from git "
            f"({len(problems)} value(s)); nothing was written:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_FAILURE
    result = render(graph, out)
    print(result.summary())
    return EXIT_OK


def _versions(args: argparse.Namespace) -> dict[str, str]:
    """``--<controller>-version`` options given (and Kubernetes' default), by controller key."""
    return {
        key.removeprefix("version:"): value
        for key, value in vars(args).items()
        if key.startswith("version:") and value is not None
    }


def _check(
    project: Project,
    stack: str,
    output: str,
    versions: dict[str, str],
    environment: str | None = None,
) -> int:
    """Any Pulumi program: its stack configuration's rules too when it has ``prodstack:`` keys
    (a prodstack stack)."""
    from prodstack.check import check
    from prodstack.check.versions import KUBERNETES, DeclaredVersions, VersionError
    from prodstack.config.loader import NAMESPACE, decode_namespace, parse_environment
    from prodstack.synth.engine import synthesize_stack
    from prodstack.synth.project import stack_config

    try:  # before anything is synthesized: a bad version is a usage error
        kubernetes = versions.pop(KUBERNETES)
        declared = DeclaredVersions(kubernetes, versions)
    except VersionError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    config, _ = stack_config(project, stack)
    raw = decode_namespace(config, NAMESPACE)
    env = parse_environment(raw) if raw else None
    report = check(synthesize_stack(stack, project), env, declared, environment=environment)
    print(report.json() if output == "json" else report.human())
    return EXIT_OK if report.clean else EXIT_FAILURE


def _graph(project: Project, stack: str) -> int:
    from prodstack.diagram import mermaid
    from prodstack.synth.engine import synthesize_stack

    project.stack_file(stack)
    print(mermaid(synthesize_stack(stack, project)), end="")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
