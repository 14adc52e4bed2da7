"""gradcli jvp and gradcli vjp: forward and backward products with a vector."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.app import options as o


def jvp(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('A scalar expression, e.g. "x**2*y".', stdin=False)],
    at: o.At,
    tangent: Annotated[list[str], typer.Option("--tangent", help="The direction t: name=value[,name=value].")],
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    output: o.Output = o.Format.table,
    dtype: o.TapeDType = o.DType.float64,
) -> None:
    """Forward mode: J·t by tf.autodiff.ForwardAccumulator, beside sympy and finite differences along t.

    Example: gradcli jvp "x**2*y" --at x=3,y=2 --tangent x=1,y=0
    """
    from gradcli.solve.products import jvp as compute
    from gradcli.solve.products import parse_tangent

    _run(ctx.obj, compute, expression, at, const, output, dtype, tangent=parse_tangent(tangent))


def vjp(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('A list or tensor expression, e.g. "[x*y, x + y]".', stdin=False)],
    at: o.At,
    upstream: Annotated[str, typer.Option("--upstream", help="The upstream gradient u, one number per output.")],
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    output: o.Output = o.Format.table,
    dtype: o.TapeDType = o.DType.float64,
) -> None:
    """Backward pass seeded with u: tape.gradient(f, x, output_gradients=u) = Jᵀu, beside sympy and finite differences.

    Example: gradcli vjp "[x*y, x + y]" --at x=1,y=2 --upstream "[1, 2]"
    """
    from gradcli.solve.products import vjp as compute

    _run(ctx.obj, compute, expression, at, const, output, dtype, upstream=upstream)


def _run(env, compute, expression, at, const, output, dtype, **vector) -> None:
    from gradcli.present.render import write

    given = {"at": o.points(at), "const": o.constants(const), "dtype": dtype.value, "from_latex": env.from_latex}
    result = compute(expression, **given, **vector)
    env.render(write, result, output.value)
    raise typer.Exit(result.exit_code)
