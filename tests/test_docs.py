"""The documentation keeps up: every command shows an example, every JSON key is in the README."""

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("command", ["grad", "jacobian", "hessian", "check", "descend", "plot", "batch", "worker"])
def test_every_command_has_help_with_an_example(command, capsys):
    from gradcli.cli import main

    assert main([command, "--help"]) == 0
    assert f"Example: gradcli {command}" in " ".join(capsys.readouterr().out.split())


def _keys(document, found=None):
    found = set() if found is None else found
    if isinstance(document, dict):
        for key, value in document.items():
            found.add(key)
            _keys(value, found)
    elif isinstance(document, list):
        for item in document:
            _keys(item, found)
    return found


def test_every_json_key_is_documented(cli):
    runs = [
        ["grad", "x**2 + c", "--at", "x=3", "--const", "c=1", "--clip-norm", "1"],
        ["grad", "y = x*x; z = stop_gradient(y); w = z + x", "--at", "x=3", "--of", "y,w", "--persistent"],
        ["grad", "cube(x)", "--at", "x=4", "--custom", "cube(x) = x**3 : 2*x"],
        ["jacobian", "[x*y, x]", "--at", "x=1,y=2"],
        ["hessian", "x**2*y", "--at", "x=1,y=2"],
        ["check", "exp(2*x)", "--answer", "exp(2*x)", "--steps", "--latex"],
        ["descend", "(w - 3)**2", "--from", "w=0", "--steps", "3", "--clip-norm", "1"],
        ["grad", "(3*x + 2)**2", "--at", "x=1", "--steps", "--latex"],
    ]
    names = {"x", "y", "c", "w", "z"}  # variable names are data, not keys
    for args in runs:
        for key in _keys(cli(*args, "--format", "json").json) - names:
            assert re.search(rf"`[^`]*\b{re.escape(key)}\b[^`]*`", README), f"JSON key {key!r} is not in the README"


def test_readme_opens_with_the_two_commands():
    head = README[:600]
    assert "make demo" in head and "make test" in head
