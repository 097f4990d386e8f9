"""The package as users meet it: public names, lazy imports, the README's example."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import prodstack
from prodstack.synth import synthesize
from tests.support.stacks import ROOT


def test_every_public_name_resolves() -> None:
    for name in prodstack.__all__:
        assert getattr(prodstack, name) is not None


def test_the_lazy_exports_the_public_names_and_the_typed_imports_agree() -> None:
    """One list in three forms: ``__all__``, the lazy loader's map, and the imports type
    checkers read; a name missing from one is public to some users and not to others."""
    tree = ast.parse((ROOT / "prodstack" / "__init__.py").read_text())
    [typed_block] = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    typed = {
        alias.asname or alias.name: node.module
        for node in typed_block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert sorted(prodstack.__all__) == prodstack.__all__  # kept sorted, so diffs stay small
    assert set(prodstack.__all__) == set(prodstack._EXPORTS)
    assert typed == prodstack._EXPORTS


def test_no_public_name_is_also_a_subpackage() -> None:
    """Importing ``prodstack.check`` binds the module to ``prodstack.check``: a lazy export of
    the same name would be a function before that import and a module after it."""
    modules = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "prodstack").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or path.suffix == ".py"
    }
    assert "check" in modules
    assert not modules & set(prodstack.__all__)


def test_importing_prodstack_does_not_import_pulumi_aws() -> None:
    code = (
        "import sys, prodstack\nfrom prodstack import CanaryApp\nprint('pulumi_aws' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "False"


def test_package_ships_its_type_marker() -> None:
    assert (ROOT / "prodstack" / "py.typed").is_file()


def test_readme_example_builds_without_stack_config() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    example = next(block for block in blocks if "CanaryApp(" in block)

    def program() -> None:
        exec(compile(example, "README.md", "exec"), {})

    graph = synthesize(program, stack="readme")
    assert graph.one("Rollout").object_name == "orders"
    assert graph.outputs["rollout"] == "orders"
