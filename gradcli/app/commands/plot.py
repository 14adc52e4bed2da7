"""gradcli plot: a function beside its gradient, in the terminal or as a PNG; two variables, a landscape."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


def plot(
    ctx: typer.Context,
    expression: Annotated[str, o.expression("One variable: f and its gradient; two: a landscape.")],
    range_: Annotated[str, typer.Option("--range", help="LOW:HIGH for every variable, e.g. -6:6.")] = "-5:5",
    out: Annotated[
        str | None, typer.Option("--out", help="Write a PNG here; without it, draw in the terminal.")
    ] = None,
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Plot a function beside its GradientTape gradient (and sympy's), or a 2-variable landscape with arrows.

    Example: gradcli plot "sigmoid(x)" --range -6:6 --out sigmoid.png
    """
    from gradcli.present import pictures as plots

    env = ctx.obj
    lo, hi = plots.parse_range(range_)
    if out is not None:
        from gradcli.runtime.files import plot_path

        out = plot_path(out, "--out")
    constants = o.constants(const)
    if len([n for n in plots.free_names_of(expression, env.from_latex) if n not in constants]) == 2:
        if out is None:
            raise GradcliError("a two-variable landscape needs --out FILE.png")
        plots.png_landscape(expression, lo, hi, out, constants, from_latex=env.from_latex)
        env.stdout.write(f"wrote {out}\n")
        return
    curve = plots.curve(expression, lo, hi, constants, from_latex=env.from_latex)
    if out is None:
        env.stdout.write(plots.terminal_curve(curve, color=has_colour(env.stdout)))
        return
    plots.png_curve(curve, out)
    marks = "".join(f"; {m.kind} at {curve.variable} = {m.x:.6g} ({m.what})" for m in curve.marks)
    env.stdout.write(f"wrote {out}{marks}\n")


def has_colour(stream) -> bool:
    """A terminal, unless NO_COLOR (no-color.org) or TERM=dumb says otherwise."""
    tty = getattr(stream, "isatty", lambda: False)()
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
