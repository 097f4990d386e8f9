"""prodstack as a user gets it: a wheel built from the checkout, installed into a fresh virtualenv
outside the repository.

Installing the dependencies (pulumi-aws alone unpacks to hundreds of MB) takes minutes, so they
are installed once per set of requirements into a cached *dependency layer*: a virtualenv built
from the wheel's own ``Requires-Dist`` (the normal index resolves them), with prodstack itself
uninstalled again. Each run then builds the wheel, creates a fresh virtualenv, makes the layer's
site-packages visible to it (a ``.pth`` file, read-only) and installs the wheel with
``--no-index``: pip finds every requirement already satisfied, or fails, so a changed
requirement can never be served by a stale layer. The layer is keyed by the requirements and
the interpreter; it lives in ``$PRODSTACK_TEST_CACHE`` (default ``~/.cache/prodstack-tests``).
"""

from __future__ import annotations

import contextlib
import email.parser
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.stacks import ROOT

EXTRAS = "policy"  # what a user installs to run the CrossGuard pack too
# What the wheel is built from: the package and the files pyproject.toml names.
SOURCES = ("pyproject.toml", "README.md", "prodstack")
LAYER_READY = "layer-ready"


@dataclass(frozen=True)
class Installed:
    """A virtualenv with the wheel installed, and how to run its commands as a user would."""

    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self) -> dict[str, str]:
        """The environment of a shell with this virtualenv first on PATH and nothing of the
        repository: no PYTHONPATH, no other virtualenv."""
        drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH"}
        env = {key: value for key, value in os.environ.items() if key not in drop}
        repo_bins = {str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent)}
        path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in repo_bins]
        env["PATH"] = os.pathsep.join([str(self.bin), *path])
        return env

    def run(
        self, *args: str | Path, cwd: Path, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of the virtualenv (``prodstack``, ``python``) in ``cwd``."""
        command, *rest = (str(arg) for arg in args)
        env = {**self.env(), **(extra_env or {})}
        return subprocess.run(
            [str(self.bin / command), *rest],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


def build_wheel(destination: Path) -> Path:
    """``pip wheel . --no-deps`` of a clean copy of the sources (no build/ or egg-info of the
    checkout can leak into it)."""
    source = destination / "source"
    source.mkdir(parents=True)
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(
                origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(origin, source / name)
    wheels = destination / "wheels"
    _pip(sys.executable, "wheel", "--no-deps", "--quiet", "--wheel-dir", wheels, source)
    (wheel,) = wheels.glob("prodstack-*.whl")
    return wheel


def requirements(wheel: Path) -> list[str]:
    """The wheel's ``Requires-Dist`` lines, as its METADATA states them."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    return sorted(metadata.get_all("Requires-Dist") or [])


def install(wheel: Path, where: Path, cache: Path | None = None) -> Installed:
    """A fresh virtualenv at ``where`` with ``wheel[policy]`` installed (dependencies from the
    cached layer)."""
    layer = dependency_layer(wheel, cache or cache_root())
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # A line starting with "import" runs: addsitedir also reads the layer's own .pth files.
    (site / "prodstack-test-dependencies.pth").write_text(
        f"import site; site.addsitedir({str(layer)!r})\n"
    )
    python = venv / "bin" / "python"
    _pip(python, "install", "--no-index", "--quiet", f"{wheel}[{EXTRAS}]")
    _pip(python, "check")
    return Installed(wheel, venv)


def cache_root() -> Path:
    configured = os.environ.get("PRODSTACK_TEST_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prodstack-tests"


def dependency_layer(wheel: Path, cache: Path) -> Path:
    """The site-packages of a virtualenv holding the wheel's requirements (and its extras'),
    built once per requirement set and interpreter."""
    key = hashlib.sha256(
        "\n".join([sys.implementation.cache_tag, sys.platform, *requirements(wheel)]).encode()
    ).hexdigest()[:16]
    layer = cache / f"dependencies-{key}"
    site = Path(sysconfig.get_path("purelib", vars={"base": str(layer), "platbase": str(layer)}))
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / f"dependencies-{key}.lock"):
        if (layer / LAYER_READY).is_file():
            return site
        shutil.rmtree(layer, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".dependencies-{key}-", dir=cache))
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(building)], check=True, capture_output=True
            )
            python = building / "bin" / "python"
            _pip(python, "install", "--quiet", f"{wheel}[{EXTRAS}]")
            _pip(python, "uninstall", "--yes", "--quiet", "prodstack")
            (building / LAYER_READY).write_text("\n".join(requirements(wheel)) + "\n")
            building.rename(layer)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return site


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Exclusive across processes: test workers and concurrent runs share the cache."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _pip(python: str | Path, *args: str | Path) -> None:
    command = [str(python), "-m", "pip", *(str(arg) for arg in args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
