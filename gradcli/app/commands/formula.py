"""grad, jacobian and hessian without --at: the derivative's formula, checked by the tape at sample points."""

from __future__ import annotations

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


def run(env, expression: str, kind: str, wrt, output: o.Format, order=1, steps=False, latex=False) -> None:
    from gradcli.present.render import write_derivative
    from gradcli.solve.formula import derivative

    if output.value not in ("table", "json", "plain"):
        raise GradcliError("without --at, the derivative is written as a table, json or plain")
    result = derivative(expression, kind, o.names_or_none(wrt), order, steps, latex, env.from_latex)
    env.render(write_derivative, result, output.value)
    raise typer.Exit(result.exit_code)
