"""The ``prodstack`` command."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import pulumi

from prodstack.config.errors import ConfigError
from prodstack.output import OutputError
from prodstack.render import GitOpsRefused, IntegrityRefused, RenderRefused
from prodstack.synth.graph import ResourceGraph
from prodstack.synth.project import (
    Project,
    ProjectError,
    StackConfig,
    check_stack_name,
    find_project,
    load_stack_config,
)
from prodstack.synth.stack_yaml import display_path
from prodstack.templates import InitError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h)
EXIT_INTERRUPTED = 130
MAX_LINE = 500

EXIT_STATUS_HELP = """\
exit status:
  0   done
  1   `check` found problems, `render` refused manifests that fail check's graph integrity
      (nothing is written), or the Pulumi program raised an error (a bug in the program:
      its type, message and place are printed; --debug prints the traceback)
  2   bad usage or arguments, an invalid stack configuration, an unreadable Pulumi.yaml or
      stack file, or an --out that prodstack will not write (nothing is written)
  70  an internal error: a bug in prodstack (--debug prints the traceback)
"""

OUT_HELP = (
    "output folder (default: rendered); the stack is written to OUT/<stack>/, which prodstack "
    "replaces only if it wrote it (it holds .prodstack-render.json); files in it that "
    "prodstack did not write are kept and listed"
)


class ProgramFailed(Exception):
    """The user's Pulumi program raised; ``error`` is what it raised."""

    def __init__(self, error: BaseException, project: Project) -> None:
        self.error = error
        super().__init__(_describe_program_error(error, project))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"prodstack: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="prodstack",
        description=__doc__,
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="folder with Pulumi.yaml (default: the nearest one at or above the working directory)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error, not only its message"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    render = commands.add_parser(
        "render",
        help="synthesize a stack offline and write its manifests as YAML",
        description="Encrypted values (secure:) are decrypted with the Pulumi CLI when it can "
        "open the stack's secrets, and refused otherwise.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("stack", help="stack name, e.g. production")
    render.add_argument("--out", type=Path, default=Path("rendered"), help=OUT_HELP)
    check = commands.add_parser(
        "check",
        help="run the policies, graph integrity and network-flow checks on a stack offline",
        description="Encrypted values that cannot be decrypted reach the program as placeholders.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        "graph",
        help="print the stack's components, resources and references as Mermaid",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("stack", help="stack name, e.g. production")
    _package_commands(commands)
    return parser


def _package_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """The commands that hand out what the package ships; they need no project."""
    init = commands.add_parser(
        "init",
        help="create a new Pulumi project that runs prodstack's stack builder (a dev stack of "
        "two services, and the runbooks its alerts link to)",
        description="Writes Pulumi.yaml, __main__.py, Pulumi.dev.yaml, requirements.txt, "
        ".gitignore and docs/runbooks/ into DIR; refuses (exit 2) when DIR already has any of "
        "them, so nothing is ever overwritten.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    init.add_argument("directory", type=Path, metavar="DIR", help="folder of the new project")
    init.add_argument("--name", default=None, help="project name (default: DIR's name)")
    pack = commands.add_parser(
        "policy-pack",
        help="where the CrossGuard policy pack is installed, for pulumi preview --policy-pack",
        description="Without --path, also prints a pulumi preview command that runs the pack "
        "with this Python (Pulumi runs it with $PULUMI_PYTHON_CMD, else the python3 on PATH).",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pack.add_argument("--path", action="store_true", help="print only the pack's folder")
    runbooks = commands.add_parser(
        "runbooks",
        help="write the runbook of every alert to OUT/docs/runbooks/, where alerts link",
        description="An alert's runbook_url is <runbookBaseUrl>docs/runbooks/<Alert>.md: write "
        "them into the tree that runbookBaseUrl publishes (its root is OUT). docs/runbooks/ is "
        "replaced only if prodstack wrote it; files you added there are kept.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runbooks.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="root of the published tree (default: the working directory)",
    )


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
        return _run(args)
    except (ConfigError, ProjectError, OutputError, RenderRefused, InitError) as exc:
        return _report(args, exc, str(exc), EXIT_USAGE)
    except ProgramFailed as exc:
        return _report(args, exc.error, str(exc), EXIT_FAILURE)
    except (IntegrityRefused, GitOpsRefused) as exc:  # the program declared what cannot work
        return _report(args, exc, str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        print("prodstack: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `prodstack graph production | head`
        _silence_stdout()
        return EXIT_FAILURE
    except Exception as exc:
        message = (
            f"internal error (this is a bug in prodstack): {type(exc).__name__}: "
            f"{_first_line(exc)}; run again with --debug for the traceback"
        )
        return _report(args, exc, message, EXIT_INTERNAL)


def _run(args: argparse.Namespace) -> int:
    if args.command == "init":
        return _init(args.directory, args.name)
    if args.command == "policy-pack":
        return _policy_pack(only_path=args.path)
    if args.command == "runbooks":
        return _runbooks(args.out)
    check_stack_name(args.stack)
    project = find_project(args.project)
    if args.command == "render":
        return _render(project, args.stack, args.out)
    if args.command == "check":
        return _check(project, args.stack, args.format, _versions(args), args.environment)
    if args.command == "graph":
        return _graph(project, args.stack)
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _report(args: argparse.Namespace, error: BaseException, message: str, status: int) -> int:
    if args.debug:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    print(f"prodstack: {_clipped(message)}", file=sys.stderr)
    return status


def _clipped(message: str, width: int = MAX_LINE) -> str:
    """A message whose lines are cut at ``width``: an echoed value is never printed whole."""
    return "\n".join(
        line if len(line) <= width else f"{line[:width]}... ({len(line) - width} characters cut)"
        for line in message.splitlines()
    )


def _render(project: Project, stack: str, out: Path) -> int:
    from prodstack.output import check_target
    from prodstack.render import render

    check_target(out, stack)  # an --out that will be refused fails before the synthesis
    config = load_stack_config(project, stack)
    graph = _synthesize(project, stack, config)
    result = render(graph, out, plaintexts=config.plaintexts)
    print(result.summary())
    return EXIT_OK


def _init(directory: Path, name: str | None) -> int:
    from prodstack.templates import create

    print(create(directory, name).summary())
    return EXIT_OK


def _policy_pack(*, only_path: bool) -> int:
    from prodstack import policy_pack

    problem = policy_pack.missing_runtime()
    if problem:
        print(f"prodstack: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if only_path:
        print(policy_pack.directory())
    else:
        print(f"CrossGuard policy pack: {policy_pack.directory()}")
        print(f"run it with this Python: {policy_pack.command()}")
    return EXIT_OK


def _runbooks(out: Path) -> int:
    from prodstack.runbooks import write

    result = write(out)
    print(f"wrote {len(result.written)} runbooks to {result.directory}")
    for path in result.kept:
        print(f"  kept {path} (not written by prodstack)")
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

    try:  # before anything is synthesized: a bad version is a usage error
        kubernetes = versions.pop(KUBERNETES)
        declared = DeclaredVersions(kubernetes, versions)
    except VersionError as exc:
        print(f"prodstack: {exc}", file=sys.stderr)
        return EXIT_USAGE
    config = load_stack_config(project, stack, allow_encrypted=True)
    raw = decode_namespace(config.values, NAMESPACE)
    env = parse_environment(raw) if raw else None
    report = check(_synthesize(project, stack, config), env, declared, environment=environment)
    print(report.json() if output == "json" else report.human())
    return EXIT_OK if report.clean else EXIT_FAILURE


def _graph(project: Project, stack: str) -> int:
    from prodstack.diagram import mermaid

    config = load_stack_config(project, stack, allow_encrypted=True)
    print(mermaid(_synthesize(project, stack, config)), end="")
    return EXIT_OK


def _synthesize(project: Project, stack: str, config: StackConfig) -> ResourceGraph:
    """The stack's graph; what the program raises becomes ProgramFailed, unless it is a
    configuration error (exit 2) or comes from the offline engine itself (a bug: exit 70)."""
    from prodstack.synth.engine import synthesize_config
    from prodstack.synth.monitor import DuplicateObjectError, DuplicateResourceError

    try:  # a missing main (stack_program) raises ProjectError: a project error, exit 2
        return synthesize_config(project, stack, config)
    except (ConfigError, ProjectError):
        raise
    except (DuplicateObjectError, DuplicateResourceError) as exc:
        # The engine refuses what the program declared: the program's error, as in pulumi up.
        raise ProgramFailed(exc, project) from exc
    except (Exception, SystemExit) as exc:
        if _raised_in_engine(exc.__traceback__):
            raise
        raise ProgramFailed(exc, project) from exc


def _raised_in_engine(trace: TracebackType | None) -> bool:
    engine = Path(__file__).resolve().parent / "synth"
    innermost = None
    while trace is not None:
        innermost = trace.tb_frame.f_code.co_filename
        trace = trace.tb_next
    return innermost is not None and Path(innermost).resolve().parent == engine


def _describe_program_error(error: BaseException, project: Project) -> str:
    if isinstance(error, pulumi.RunError):
        what = _first_line(error)
    else:
        what = f"{type(error).__name__}: {_first_line(error)}"
    place = _place_in_project(error, project)
    at = f" (at {place})" if place else ""
    return f"the Pulumi program failed: {what}{at}; run again with --debug for the traceback"


def _place_in_project(error: BaseException, project: Project) -> str | None:
    """The innermost line of the project's own code (not of installed packages) that raised."""
    place = None
    for frame, line in traceback.walk_tb(error.__traceback__):
        path = Path(frame.f_code.co_filename)
        if "site-packages" in path.parts or not path.is_relative_to(project.root):
            continue
        place = f"{display_path(path)}:{line}"
    return place


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    text = lines[0][:200]
    if len(lines) > 1:  # Pulumi chains causes line by line; the last names the culprit
        text += f" ... {lines[-1][:200]}"
    return text


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
