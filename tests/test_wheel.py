"""The wheel: built in a clean directory and installed into a fresh venv, gradcli runs from it.

An installed gradcli must hold every subpackage and every file of the source tree (an editable
install or the repository on sys.path would hide a package that setuptools leaves out). Offline: the
build uses this environment's setuptools, and the fresh venv reaches this environment's dependencies
through a .pth file, which adds the directory without running its .pth files, so the editable
install of gradcli living there stays inactive and the only gradcli importable is the wheel's.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FILES = ("pyproject.toml", "README.md")


def _run(command, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{command}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _package_files(package: Path) -> set[str]:
    return {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin directory of a fresh venv holding only the gradcli wheel built from this tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "gradcli", source / "gradcli", ignore=shutil.ignore_patterns("__pycache__"))
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(source)])
    (wheel,) = dist.glob("gradcli-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    fresh = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip()
    (Path(fresh) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


@pytest.mark.slow
def test_the_installed_wheel_holds_every_file_of_the_package(installed, tmp_path):
    code = "import gradcli, os; print(os.path.dirname(gradcli.__file__))"
    where = Path(_run([str(installed / "python"), "-c", code], cwd=tmp_path).stdout.strip())
    assert where.is_relative_to(installed.parent), where  # the wheel's copy, not the repository's
    assert _package_files(ROOT / "gradcli") <= _package_files(where)


@pytest.mark.slow
def test_the_installed_console_script_runs_from_outside_the_repository(installed, tmp_path):
    env = {**os.environ, "GRADCLI_WORKER": "off"}
    env.pop("PYTHONPATH", None)
    run = _run([str(installed / "gradcli"), "grad", "x**2", "--at", "x=3", "--format", "plain"], cwd=tmp_path, env=env)
    assert run.stdout == "6\n"
    table = _run([str(installed / "gradcli"), "grad", "x**2", "--at", "x=3"], cwd=tmp_path, env=env)
    assert "GradientTape" in table.stdout and "All three methods agree" in table.stdout
    usage = _run([str(installed / "gradcli"), "--help"], cwd=tmp_path, env=env)
    assert "check" in usage.stdout and "descend" in usage.stdout
