"""The command line's options, each written once, and the small parsers that turn them into library arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import typer

from gradcli.errors import GradcliError


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    plain = "plain"


class OnError(StrEnum):
    skip = "skip"
    stop = "stop"


class DType(StrEnum):
    float64 = "float64"
    float32 = "float32"


class GradDType(StrEnum):
    float64 = "float64"
    float32 = "float32"
    int32 = "int32"  # the tape does not differentiate integers: shown, not refused


class Unconnected(StrEnum):
    none = "none"
    zero = "zero"


@dataclass(frozen=True)
class Mode:
    """One way a command is used (grad at a point, grad --points, ...): `when` says it in words, as in
    "--dtype does not apply without --at"; `options` are the parameter names that mean something then."""

    when: str
    options: frozenset[str]


def given_options(ctx: typer.Context) -> frozenset[str]:
    """The options the user gave (on the command line or a batch line), whatever their value."""
    return frozenset(
        p.name
        for p in ctx.command.params
        if p.param_type_name == "option" and getattr(ctx.get_parameter_source(p.name), "name", "") == "COMMANDLINE"
    )


def refuse_unused(ctx: typer.Context, modes: Sequence[Mode], choose: Callable[[frozenset, Mapping], Mode]) -> Mode:
    """The mode these options pose; an option given that does not apply in it is an error, never ignored."""
    given = given_options(ctx)
    mode = choose(given, ctx.params)
    spellings = {p.name: p.opts[0] for p in ctx.command.params}
    for param in ctx.command.params:  # in the order --help lists them
        if param.name in given and param.name not in mode.options:
            elsewhere = [m.when for m in modes if param.name in m.options]
            where = f"; it applies {' or '.join(elsewhere)}" if elsewhere else ""
            raise GradcliError(f"{spellings[param.name]} does not apply {mode.when}{where}")
    return mode


def stdin_expression(ctx: typer.Context, text: str | None) -> str | None:
    """`-` in place of EXPRESSION: the one expression on stdin."""
    if text != "-":
        return text
    from gradcli.runtime.batchfile import expression_from

    env = ctx.obj
    if env.stdin is None and env.documents is None:  # the process's own stdin, closed (`<&-`)
        raise GradcliError("stdin is closed: - reads the expression from stdin; give it as an argument instead")
    if env.stdin is None:
        raise GradcliError("- reads the expression from stdin, which a batch line does not have")
    env.stdin_used = True
    return expression_from(env.stdin)


def expression(help: str, stdin: bool = True):
    """The EXPRESSION argument; `-` reads it from stdin where `stdin`."""
    return typer.Argument(callback=stdin_expression if stdin else None, help=help)


def split_names(options: list[str]) -> list[str]:
    return [name.strip() for option in options for name in option.split(",") if name.strip()]


def names_or_none(options: list[str]) -> list[str] | None:
    return split_names(options) or None


def constants(options: list[str]) -> dict[str, str]:
    from gradcli.lang.values import split_assignments

    found: dict[str, str] = {}
    for option in options:
        for name, value in split_assignments(option):
            if name in found:
                raise GradcliError(f"--const {name} given twice")
            found[name] = value
    return found


def points(options: list[str]):
    from gradcli.lang.values import group_points

    return group_points(options)


At = Annotated[
    list[str],
    typer.Option(
        "--at", help="Point: name=value[,name=value]. Repeat for more points; a repeated name starts a new point."
    ),
]
Const = Annotated[list[str], typer.Option("--const", help="A constant (tf.constant, not watched): name=value.")]
Wrt = Annotated[list[str], typer.Option("--wrt", help="Differentiate only with respect to these names.")]
Watch = Annotated[list[str], typer.Option("--watch", help="tape.watch() these constants.")]
Output = Annotated[Format, typer.Option("--format", "-f", help="table, json, jsonl, csv or plain.")]
TapeDType = Annotated[DType, typer.Option("--dtype", help="float64 (default) or float32, TF's default.")]
Steps = Annotated[bool, typer.Option("--steps", help="Show the derivation, rule by rule.")]
Latex = Annotated[bool, typer.Option("--latex", help="Show LaTeX of the function and the derivative.")]
