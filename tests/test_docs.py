"""The documentation keeps up: every command shows an example, every JSON key is in docs/json.md, and the
README's examples are real runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
JSON_DOC = (ROOT / "docs" / "json.md").read_text()


@pytest.mark.parametrize(
    "command", ["grad", "jacobian", "hessian", "check", "descend", "plot", "batch", "jvp", "vjp", "worker"]
)
def test_every_command_has_help_with_an_example(command, capsys):
    from gradcli.app.main import main

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
        ["grad", "(3*x + 2)**2", "--steps", "--latex"],
        ["hessian", "x**2*y"],
        ["jacobian", "[x*y, x]"],
        ["grad", "[2*x, x**2]", "--at", "x=3"],
        ["grad", "abs(x)", "--at", "x=0", "--frameworks"],
        ["jvp", "x**2*y", "--at", "x=3,y=2", "--tangent", "x=1"],
        ["vjp", "[x*y, x]", "--at", "x=1,y=2", "--upstream", "[1, 2]"],
        ["grad", "x**2", "--at", "x=1,z=2", "--dtype", "int32"],
    ]
    names = {"x", "y", "c", "w", "z", "cube"}  # variable and function names are data, not keys
    for args in runs:
        for key in _keys(cli(*args, "--format", "json").json) - names:
            assert re.search(rf"`[^`]*\b{re.escape(key)}\b[^`]*`", JSON_DOC), f"JSON key {key!r} is not in docs/json.md"


def test_readme_opens_with_the_two_commands():
    head = README[:600]
    assert "make demo" in head and "make test" in head


def test_the_readme_is_a_five_minute_read():
    assert len(README.splitlines()) <= 200


@pytest.mark.parametrize("page", ["README.md", "docs/guide.md", "docs/kinks.md", "docs/tape.md"])
def test_every_console_example_is_a_real_run(page):
    from gradcli.devtools.examples import refresh

    _, stale = refresh((ROOT / page).read_text())
    assert stale == [], f"{page}: examples out of date (make docs): {stale}"


def test_readme_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
