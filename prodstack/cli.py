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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        project = find_project(args.project)
        if args.command == "render":
            return _render(project, args.stack, args.out)
    except ConfigError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProjectError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _render(project: Project, stack: str, out: Path) -> int:
    from prodstack.render import render
    from prodstack.synth.engine import synthesize_stack

    project.stack_file(stack)  # an unknown stack fails before anything runs
    graph = synthesize_stack(stack, project)
    result = render(graph, out)
    print(result.summary())
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
