"""gradcli jacobian and gradcli hessian."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.app.commands import formula


def jacobian(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('A list of expressions, "[x*y, x + y]", or a tensor expression.')],
    at: o.At = [],  # noqa: B006 - typer reads the default, never mutates it
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: o.Wrt = [],  # noqa: B006
    watch: o.Watch = [],  # noqa: B006
    output: o.Output = o.Format.table,
    dtype: o.TapeDType = o.DType.float64,
) -> None:
    """Jacobian by tape.jacobian, beside sympy's Matrix.jacobian and finite differences.

    Example: gradcli jacobian "[x*y, x + y, sin(x)]" --at x=1,y=2
    """
    from gradcli.solve.matrix import jacobian as compute

    o.refuse_unused(ctx, MODES, choose)
    _run(ctx.obj, compute, expression, at, const, wrt, watch, output, dtype)


def hessian(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('A scalar expression, e.g. "x**2*y + sin(x*y)".')],
    at: o.At = [],  # noqa: B006 - typer reads the default, never mutates it
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: o.Wrt = [],  # noqa: B006
    watch: o.Watch = [],  # noqa: B006
    output: o.Output = o.Format.table,
    dtype: o.TapeDType = o.DType.float64,
) -> None:
    """Hessian by nested GradientTapes, beside sympy's second derivatives and finite differences.

    Example: gradcli hessian "x**2*y + sin(x*y)" --at x=1,y=2
    """
    from gradcli.solve.matrix import hessian as compute

    o.refuse_unused(ctx, MODES, choose)
    _run(ctx.obj, compute, expression, at, const, wrt, watch, output, dtype)


AT = o.Mode("at a point (--at)", frozenset({"at", "const", "wrt", "watch", "output", "dtype"}))
FORMULA = o.Mode("without --at (the matrix of derivatives is printed)", frozenset({"wrt", "output"}))
MODES = (AT, FORMULA)


def choose(given: frozenset[str], values) -> o.Mode:
    return AT if "at" in given else FORMULA


def _run(env, compute, expression, at, const, wrt, watch, output, dtype) -> None:
    if not at:
        formula.run(env, expression, compute.__name__, wrt, output)
    from gradcli.present.render import write

    result = compute(
        expression,
        at=o.points(at),
        const=o.constants(const),
        wrt=o.names_or_none(wrt),
        watch=o.split_names(watch),
        dtype=dtype.value,
        from_latex=env.from_latex,
    )
    env.render(write, result, output.value, notes=True)
    raise typer.Exit(result.exit_code)
