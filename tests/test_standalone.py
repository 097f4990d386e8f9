"""Nothing in the repository depends on files beside it: no path out of the checkout in any
tracked file, and every relative link of the docs resolves to a file inside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.stacks import ROOT

# Written in pieces, so that this file does not name what it looks for.
OUTSIDE = re.compile("|".join([r"\.\./" + "shared", "PRODSTACK_" + "CRD_DIR", "shared" + "/crds"]))
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def tracked() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def test_no_tracked_file_reaches_outside_the_checkout() -> None:
    files = [path for path in tracked() if path.is_file()]
    assert len(files) > 300  # the whole repository, golden files included
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group()}"
        for path in files
        for text in [path.read_text(errors="replace")]
        for match in OUTSIDE.finditer(text)
    ]
    assert not found, "\n".join(found)


def test_every_relative_link_of_the_docs_resolves_inside_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        for match in LINK.finditer(page.read_text()):
            target = match["target"].split("#", 1)[0]
            if not target or re.match(r"^[a-z]+:", target):  # an anchor, or a URL
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {match['target']}")
    assert not broken, "\n".join(broken)
