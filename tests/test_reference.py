"""docs/cli.md is the Typer app, rendered: regenerate it with `make docs` when a command or option changes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import typer

from gradcli.app.main import app
from gradcli.devtools.reference import markdown, write

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_docs_cli_md_is_up_to_date():
    assert CLI_MD.read_text(encoding="utf-8") == markdown(), "docs/cli.md is stale: run `make docs`"


def _walk(command, ctx, path):
    yield path, command, ctx
    if isinstance(command, typer.core.TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            yield from _walk(sub, typer.Context(sub, info_name=name, parent=ctx), f"{path} {name}")


def _names(row: str) -> set[str]:
    """The option names (or argument name) in a table row's first cell."""
    return set(re.findall(r"[-\w]+", row.split("` |")[0].split("<")[0]))


def test_every_command_option_default_and_example_is_in_the_reference():
    text = markdown()
    root = typer.main.get_command(app)
    commands = list(_walk(root, typer.Context(root, info_name="gradcli"), "gradcli"))
    assert {"gradcli grad", "gradcli check", "gradcli data line"} <= {path for path, _, _ in commands}
    for path, command, _ctx in commands:
        section = text.split(f"\n## {path}\n", 1)[1].split("\n## ", 1)[0]
        for line in (command.help or "").splitlines():
            if line.strip().startswith("Example:"):
                assert "$ " + line.strip().removeprefix("Example:").strip() in section, (path, line)
        for param in command.params:
            row = next(r for r in section.splitlines() if r.startswith("| `") and _names(r) >= set(param.opts))
            assert (param.help or "") in row.replace("\\|", "|"), (path, param.name)
            if isinstance(param.default, int | float | str) and not isinstance(param.default, bool):
                assert f"`{getattr(param.default, 'value', param.default)}`" in row, (path, param.name, row)


def test_write_replaces_the_file_whole(tmp_path):
    target = tmp_path / "cli.md"
    target.write_text("old")
    write(str(target))
    assert target.read_text(encoding="utf-8") == markdown()
    assert [p.name for p in tmp_path.iterdir()] == ["cli.md"]


def test_generating_the_reference_imports_neither_tensorflow_nor_sympy(tmp_path):
    code = (
        "import sys, json\nfrom gradcli.devtools.reference import markdown\nmarkdown()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'sympy'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
