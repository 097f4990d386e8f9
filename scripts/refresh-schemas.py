#!/usr/bin/env python3
"""Regenerate prodstack/schemas from upstream CRD release manifests (docs/versions.md).

    .venv/bin/python scripts/refresh-schemas.py --sources sources.yaml FILE.yaml...

``sources.yaml`` names each input file's upstream project, path, commit, date and release (see
prodstack/check/schema/refresh.py). Kinds the inputs define replace theirs; others are kept
unless --replace-all. Exit status 0 done, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from prodstack.check.schema.refresh import RefreshError, read_sources, refresh

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "prodstack" / "schemas"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="upstream CRD manifest files")
    parser.add_argument("--sources", type=Path, required=True, help="the provenance file (YAML)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="schema folder to write")
    parser.add_argument(
        "--replace-all", action="store_true", help="drop the kinds the inputs do not define"
    )
    args = parser.parse_args(argv)
    try:
        changed = refresh(args.out, args.files, read_sources(args.sources), args.replace_all)
    except RefreshError as exc:
        print(f"refresh-schemas: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(changed)} file(s) changed" + "".join(f"\n  {n}" for n in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
