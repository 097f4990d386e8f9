"""The runbook of every alert, shipped with the package, and writing them where alerts link.

An alert's ``runbook_url`` is ``<runbookBaseUrl>docs/runbooks/<Alert>.md``
(``prodstack.specs.alerts.runbook_url``). ``write(root)`` puts the runbooks at exactly that
path below ``root``: publish ``root`` (commit it to the repository whose tree
``runbookBaseUrl`` names) and every link resolves. ``prodstack runbooks --out ROOT`` runs it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path, PurePosixPath

from prodstack.output import WriteResult, write_tree
from prodstack.specs.alerts import ALERT_NAMES, RUNBOOK_DIR


def runbooks() -> dict[str, bytes]:
    """``<Alert>.md`` to its text, for every alert prodstack can emit."""
    package = resources.files(__name__)
    return {f"{name}.md": package.joinpath(f"{name}.md").read_bytes() for name in ALERT_NAMES}


def write(root: Path) -> WriteResult:
    """Write the runbooks to ``root/docs/runbooks/``, the path alerts link to below their base
    URL. The folder is replaced only if prodstack wrote it (``prodstack.output``)."""
    folder = PurePosixPath(RUNBOOK_DIR)
    return write_tree(root.joinpath(*folder.parent.parts), folder.name, runbooks())
