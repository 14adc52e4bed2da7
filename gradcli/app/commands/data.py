"""gradcli data: synthetic data sets, written as CSV to stdout."""

from __future__ import annotations

from typing import Annotated

import typer

data_app = typer.Typer(help="Synthetic data sets, written as CSV to stdout.", no_args_is_help=True)


@data_app.command("line")
def data_line(
    ctx: typer.Context,
    slope: Annotated[float, typer.Option("--slope", help="True slope.")] = 2.0,
    intercept: Annotated[float, typer.Option("--intercept", help="True intercept.")] = 1.0,
    noise: Annotated[float, typer.Option("--noise", help="Standard deviation of Gaussian noise on y.")] = 0.1,
    n: Annotated[int, typer.Option("-n", help="Number of points.")] = 100,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed: the same seed gives the same file.")
    ] = 0,
) -> None:
    """Points near the line y = slope*x + intercept, x uniform in [-2, 2]: columns x,y.

    Example: gradcli data line --slope 2 --intercept 1 --noise 0.1 -n 200 --seed 0 > points.csv
    """
    from gradcli.solve import data

    ctx.obj.stdout.write(data.line(slope, intercept, noise, n, seed))
