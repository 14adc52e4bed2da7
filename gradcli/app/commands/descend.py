"""gradcli descend: gradient descent on an expression, or on a loss averaged over a --data CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.errors import GradcliError


def descend(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('The loss, e.g. "(w*2 - 6)**2".')],
    start: Annotated[list[str], typer.Option("--from", help="Starting parameters: name=value[,name=value].")],
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    lr: Annotated[str, typer.Option("--lr", help="Learning rate; several, comma-separated, to compare.")] = "0.1",
    steps: Annotated[int, typer.Option("--steps", help="Number of updates.")] = 100,
    optimizer: Annotated[str, typer.Option("--optimizer", help="sgd, momentum or adam.")] = "sgd",
    tol: Annotated[float | None, typer.Option("--tol", help="Stop when the gradient norm is at most this.")] = None,
    clip_value: Annotated[str | None, typer.Option("--clip-value", help="tf.clip_by_value: MIN:MAX.")] = None,
    clip_norm: Annotated[float | None, typer.Option("--clip-norm", help="tf.clip_by_norm per parameter.")] = None,
    clip_global_norm: Annotated[
        float | None, typer.Option("--clip-global-norm", help="tf.clip_by_global_norm over all parameters.")
    ] = None,
    trace: Annotated[str | None, typer.Option("--trace", help="Write every step to this CSV file.")] = None,
    output: Annotated[o.Format, typer.Option("--format", "-f", help="table or json.")] = o.Format.table,
    data: Annotated[
        str | None, typer.Option("--data", help="A CSV whose columns are data; the loss is the mean over a batch.")
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="With --data: passes over the data.")] = 1,
    batch_size: Annotated[str, typer.Option("--batch-size", help="With --data: 1, all, or a batch size.")] = "all",
    seed: Annotated[int, typer.Option("--seed", help="With --data: shuffling seed.")] = 0,
    plot_file: Annotated[
        str | None, typer.Option("--plot", help="Draw the loss curve (and the path, or the fit) to this PNG.")
    ] = None,
) -> None:
    """Gradient descent on an expression: record, take the gradient, clip, update, repeat.

    Example: gradcli descend "(w*2 - 6)**2" --from w=0.5 --lr 0.1 --steps 100 --clip-value -1:1
    """
    from gradcli.present.descent import DescentProgress, write_descent, write_trace
    from gradcli.solve import data as datasets
    from gradcli.solve.descent import MAX_STEPS
    from gradcli.solve.descent import descend as run_descent
    from gradcli.witnesses.clip import parse_clip

    env = ctx.obj
    o.refuse_unused(ctx, MODES, choose)
    if output.value not in ("table", "json", "jsonl"):
        raise GradcliError("descend writes a table or json (use --trace FILE for every step as CSV)")
    points = o.points(start)
    if len(points) != 1:
        raise GradcliError("give one starting point with --from (a name repeated would start a second one)")
    rates = _rates(lr)
    clip = parse_clip(clip_value, clip_norm, clip_global_norm)
    options = {"optimizer": optimizer, "clip": clip, "tol": tol, "const": o.constants(const)}
    options["from_latex"] = env.from_latex
    total = steps
    source = None if data is None else env.input_path(data)
    trace, plot_file = _outputs(env, trace, plot_file, source)
    if data is not None:
        lines = env.open(source)
        columns = datasets.columns(
            lines, data, expression, points[0], options["const"], env.from_latex, quote=not env.confined
        )
        size = None if batch_size == "all" else _whole(batch_size, "--batch-size")
        options.update(data=columns, epochs=epochs, batch_size=size, seed=seed)
        rows = len(next(iter(columns.values())))
        total = epochs * -(-rows // (size or rows))
    if total * len(rates) > MAX_STEPS:
        each = f" for each of {len(rates)} rates" if len(rates) > 1 else ""
        raise GradcliError(f"{total} steps{each} is more than the limit of {MAX_STEPS} updates in one command")
    runs = []
    for rate in rates:
        with DescentProgress(env.stderr, total, rate) as progress:
            runs.append(run_descent(expression, points[0], lr=rate, steps=steps, callback=progress.step, **options))
    if trace:
        write_trace(runs, trace)
    if plot_file:
        from gradcli.present.pictures import png_descent

        png_descent(runs, plot_file, options.get("data"))
    env.render(write_descent, runs, output.value)


_ALWAYS = {"start", "const", "lr", "steps", "optimizer", "tol", "clip_value", "clip_norm", "clip_global_norm"}
_ALWAYS |= {"trace", "output", "plot_file"}
DATA = o.Mode("with --data", frozenset({"data", "epochs", "batch_size", "seed", *_ALWAYS}))
EXPRESSION = o.Mode("without --data (the loss is the expression itself)", frozenset(_ALWAYS))
MODES = (DATA, EXPRESSION)


def choose(given: frozenset[str], values) -> o.Mode:
    return DATA if "data" in given else EXPRESSION


def _outputs(env, trace: str | None, plot_file: str | None, data) -> tuple:
    """--trace and --plot checked (and, in a batch, placed under --output-dir) before any work; the picture's
    final name (its suffix) is decided before the check."""
    from gradcli.runtime.files import check_output, plot_name

    inputs = (*env.inputs, *((data,) if data else ()))
    if trace is not None:
        trace = check_output(env.output_path(trace, "--trace"), "--trace", inputs)
    if plot_file is not None:
        plot_file = plot_name(plot_file, "--plot")
        plot_file = check_output(env.output_path(plot_file, "--plot"), "--plot", (*inputs, trace or ""))
    if trace is not None and plot_file is not None and str(trace) == str(plot_file):
        raise GradcliError(f"--trace and --plot both name {trace}")
    return trace, plot_file


def _whole(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise GradcliError(f"{option} {text!r}: give a whole number (or all)") from None


def _rates(text: str) -> list[float]:
    try:
        rates = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GradcliError(f"--lr {text!r}: give numbers, e.g. 0.1 or 0.01,0.1,0.5") from None
    from gradcli.solve.descent import MAX_RATES

    if not rates:
        raise GradcliError("--lr needs at least one number")
    if len(rates) > MAX_RATES:
        raise GradcliError(f"--lr gives {len(rates)} rates; the limit is {MAX_RATES}")
    return rates
