"""gradcli check: is this derivative right? One answer, or a whole class file with --file."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


def check(
    ctx: typer.Context,
    expression: Annotated[str | None, o.expression("The function (or with --implicit, an equation).")] = None,
    answer: Annotated[
        str | None, typer.Option("--answer", help="The derivative to check; a list for a gradient, [[...]] a Hessian.")
    ] = None,
    wrt: o.Wrt = [],  # noqa: B006 - typer reads the default, never mutates it
    at: Annotated[list[str], typer.Option("--at", help="Check a numeric answer at this point.")] = [],  # noqa: B006
    file: Annotated[
        str | None, typer.Option("--file", help="Grade a CSV (- for stdin): expression,answer[,wrt,at,...].")
    ] = None,
    problems: Annotated[
        str | None,
        typer.Option("--problems", help="With --file: a problems CSV (problem,expression,...); answers long or wide."),
    ] = None,
    totals: Annotated[
        bool, typer.Option("--totals", help="With --file: per-student totals instead of the sheet.")
    ] = False,
    output: o.Output = o.Format.table,
    order: Annotated[int, typer.Option("--order", help="Derivative order (2 with a matrix: the Hessian).")] = 1,
    implicit: Annotated[
        str | None, typer.Option("--implicit", help="dy/dx on the curve F = 0 (or left = right): the name of y.")
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="Directional derivative along this vector (made unit), e.g. 1,1.")
    ] = None,
    sample_range: Annotated[
        list[str], typer.Option("--range", help="Sample a variable only in [a, b]: name=a:b.")
    ] = [],  # noqa: B006
    rtol: Annotated[
        float | None, typer.Option("--rtol", help="Accept a relative error up to this (numbers: 1e-3 by default).")
    ] = None,
    atol: Annotated[float | None, typer.Option("--atol", help="Accept an absolute error up to this.")] = None,
    sig_figs: Annotated[
        int | None, typer.Option("--sig-figs", help="Judge a number answer to this many significant figures.")
    ] = None,
    decimals: Annotated[
        bool, typer.Option("--decimals", help="Judge a number answer to the decimals written (0.350 has 3).")
    ] = False,
    points: Annotated[float | None, typer.Option("--points", help="What a right answer is worth (1).")] = None,
    partial: Annotated[
        float | None, typer.Option("--partial", help="The fraction of the points a named mistake earns (0).")
    ] = None,
    steps: o.Steps = False,
    latex: o.Latex = False,
) -> None:
    """Check a derivative answer: correct, wrong (with a counterexample and the likely mistake) or undecided.

    Example: gradcli check "x**2 + 2*x" --answer "2*(x+1)"
    """
    from gradcli.grading.check import check as judge
    from gradcli.grading.check import parse_ranges
    from gradcli.lang.values import split_assignments
    from gradcli.present.grading import write_check

    env = ctx.obj
    o.refuse_unused(ctx, MODES, choose)
    tolerances = {
        "rtol": rtol,
        "atol": atol,
        "sig_figs": sig_figs,
        "decimals": decimals,
        "points": points,
        "partial": partial,
        "ranges": parse_ranges(sample_range),
        "from_latex": env.from_latex,
    }
    if file is not None:
        if expression or answer:
            raise GradcliError("--file grades a whole CSV: leave out EXPRESSION and --answer")
        _grade_file(env, file, problems, totals, output, tolerances)
    if expression is None or answer is None:
        raise GradcliError('give EXPRESSION and --answer, e.g. gradcli check "x**2" --answer "2*x"')
    point = dict(pair for option in at for pair in split_assignments(option))
    vector = direction.split(",") if direction is not None else None
    options = {"order": order, "implicit": implicit, "direction": vector, **tolerances}
    result = judge(expression, answer, o.names_or_none(wrt), point or None, **options)
    if steps or latex:
        from gradcli.solve.formula import with_check_derivation

        result = with_check_derivation(result, steps, latex)
    env.render(write_check, result, output.value)
    raise typer.Exit(result.exit_code)


_POLICY = {"rtol", "atol", "sig_figs", "decimals", "points", "partial"}
_QUESTION = {"answer", "wrt", "output", "order", "implicit", "direction", "steps", "latex", *_POLICY}
FILE = o.Mode(
    "with --file (each row says what to check)",
    frozenset({"file", "problems", "totals", "output", "sample_range", *_POLICY}),
)
AT = o.Mode("at a point (--at)", frozenset({"at", *_QUESTION}))
EVERYWHERE = o.Mode("without --at (the answer is checked everywhere)", frozenset({"sample_range", *_QUESTION}))
MODES = (FILE, AT, EVERYWHERE)


def choose(given: frozenset[str], values) -> o.Mode:
    """--file grades a class file; else one answer, at a point or everywhere (where --range samples)."""
    return FILE if "file" in given else AT if "at" in given else EVERYWHERE


def _grade_file(env, file: str, problems: str | None, totals: bool, output: o.Format, tolerances: dict) -> None:
    from gradcli.grading import sheet as grading
    from gradcli.present.grading import write_grades, write_totals

    if file == "-" and problems == "-":
        raise GradcliError("--file - and --problems - cannot both read stdin: give one of them a file")
    course = grading.read_problems(_rows(env, problems)) if problems is not None else None
    grades = grading.grade_file(_rows(env, file), course, **tolerances)
    if totals:
        env.render(write_totals, grading.totals(grades, course, tolerances["points"]), output.value)
    else:
        env.render(write_grades, grades, output.value)
    raise typer.Exit(max((g.exit_code for g in grades), default=0))


def _rows(env, file: str):
    """The lines of a class file (or of stdin for -), each judged on its own (files.read_rows)."""
    from gradcli.runtime.files import read_rows

    if file == "-" and not env.confined:
        stream = getattr(env.stdin, "buffer", env.stdin)
        if stream is None or getattr(stream, "closed", False):
            raise GradcliError("cannot read stdin: it is closed")
        return read_rows(stream, "stdin")
    source = env.input_path(file)
    return read_rows(env.open_binary(source), str(source))
