"""docs/cli.md, the command reference, generated from the Typer app so that it cannot go stale.

Walks the click commands Typer builds (every command, subcommand, argument and option, with its
default, help and "Example:" lines). Imports only the CLI module, never TensorFlow or sympy.
Regenerate with `make docs` (python -m gradcli.devtools.reference docs/cli.md); tests/test_reference.py
fails when the checked-in file differs from what this module writes.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from enum import Enum

import typer

HEADER = (
    "# gradcli command reference\n\n"
    "<!-- Generated from the Typer app by `make docs` (python -m gradcli.devtools.reference docs/cli.md). "
    "Do not edit by hand: tests/test_reference.py fails when this file is stale. -->\n\n"
    "Every command also takes `--help`. The JSON each command prints is described in [json.md](json.md).\n"
)


def _commands(command, ctx, path: str):
    """The command and, depth first, its subcommands, in the order `--help` lists them."""
    yield path, command, ctx
    if isinstance(command, typer.core.TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, typer.Context(sub, info_name=name, parent=ctx), f"{path} {name}")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in inspect.cleandoc(text or "").split("\n\n") if block.strip()]


def _describe(text: str) -> list[str]:
    """Help paragraphs as Markdown: prose as prose, each "Example:" line as a console block."""
    out = []
    for paragraph in _paragraphs(text):
        if paragraph.startswith("Example:"):
            out.append("Example:\n\n```console\n$ " + paragraph.removeprefix("Example:").strip() + "\n```")
        else:
            out.append(paragraph)
    return out


def _default(param) -> str:
    if param.required:
        return "required"
    default = param.default
    if getattr(param, "is_flag", False):
        return "off" if not default else "on"
    if default is None or default == [] or default == ():
        return ""
    if isinstance(default, Enum):
        default = default.value
    return f"`{default}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(params, ctx, kind: str) -> list[str]:
    chosen = [p for p in params if p.param_type_name == kind and not getattr(p, "hidden", False)]
    if not chosen:
        return []
    rows = [f"| {kind.capitalize()} | Default | Help |", "| --- | --- | --- |"]
    for param in chosen:
        record = param.get_help_record(ctx)
        shown = record[0] if record else param.name
        rows.append(f"| `{_cell(shown)}` | {_cell(_default(param))} | {_cell(param.help or '')} |")
    return ["\n".join(rows)]


def _section(path: str, command, ctx) -> str:
    usage = " ".join([path, *command.collect_usage_pieces(ctx)])
    parts = [f"## {path}", f"```\n{usage}\n```", *_describe(command.help)]
    parts += _table(command.params, ctx, "argument") + _table(command.params, ctx, "option")
    if isinstance(command, typer.core.TyperGroup):
        names = [n for n in command.list_commands(ctx) if not command.get_command(ctx, n).hidden]
        parts.append("Commands: " + ", ".join(f"[{n}](#{_anchor(f'{path} {n}')})" for n in names) + ".")
    return "\n\n".join(parts) + "\n"


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


def markdown() -> str:
    """The whole reference, as docs/cli.md holds it."""
    from gradcli.app.main import app

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="gradcli")
    sections = [_section(path, command, ctx) for path, command, ctx in _commands(root, ctx, "gradcli")]
    return HEADER + "\n" + "\n".join(sections)


def write(path: str) -> None:
    """Write the reference whole or not at all."""
    directory = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=directory, delete=False, suffix=".tmp") as handle:
        handle.write(markdown())
    os.replace(handle.name, path)


if __name__ == "__main__":
    if len(sys.argv) == 2:
        write(sys.argv[1])
    else:
        sys.stdout.write(markdown())
