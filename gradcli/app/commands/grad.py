"""gradcli grad: the gradient at a point (or, without --at, its formula; or --points, --implicit, --direction)."""

from __future__ import annotations

from typing import Annotated

import typer

from gradcli.app import options as o
from gradcli.app.commands import formula, gradient_points
from gradcli.errors import GradcliError


def grad(
    ctx: typer.Context,
    expression: Annotated[str, o.expression('The function, e.g. "x**2 + 2*x - 1".')],
    at: o.At = [],  # noqa: B006 - typer reads the default, never mutates it
    const: o.Const = [],  # noqa: B006 - typer reads the default, never mutates it
    wrt: o.Wrt = [],  # noqa: B006
    watch: o.Watch = [],  # noqa: B006
    output: o.Output = o.Format.table,
    dtype: Annotated[
        o.GradDType, typer.Option("--dtype", help="float64 (default), float32 (TF's default) or int32 (no gradient).")
    ] = o.GradDType.float64,
    order: Annotated[int, typer.Option("--order", help="Derivative order, by nested tapes (1 to 6).")] = 1,
    clip_value: Annotated[
        str | None, typer.Option("--clip-value", help="tf.clip_by_value on each gradient: MIN:MAX, e.g. -10:10.")
    ] = None,
    clip_norm: Annotated[float | None, typer.Option("--clip-norm", help="tf.clip_by_norm on each gradient.")] = None,
    clip_global_norm: Annotated[
        float | None, typer.Option("--clip-global-norm", help="tf.clip_by_global_norm over all gradients.")
    ] = None,
    stop: Annotated[list[str], typer.Option("--stop", help="Treat these named steps as stop_gradient.")] = [],  # noqa: B006
    of: Annotated[list[str], typer.Option("--of", help="Differentiate these named steps (comma-separated).")] = [],  # noqa: B006
    persistent: Annotated[
        bool, typer.Option("--persistent", help="One persistent tape records every --of target.")
    ] = False,
    custom: Annotated[
        list[str],
        typer.Option(
            "--custom", help='tf.custom_gradient: "name(x) = body : derivative", e.g. "cube(x) = x**3 : 2*x".'
        ),
    ] = [],  # noqa: B006
    points: Annotated[
        str | None, typer.Option("--points", help="A CSV of points (header: variable names), or - for stdin.")
    ] = None,
    on_error: Annotated[
        o.OnError, typer.Option("--on-error", help="With --points: skip bad rows (exit 2 at the end) or stop.")
    ] = o.OnError.skip,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="With --points: points per tensor.")] = 10_000,
    steps: o.Steps = False,
    latex: o.Latex = False,
    implicit: Annotated[
        str | None, typer.Option("--implicit", help='dy/dx on a curve, e.g. "x^2 + y^2 = 25" --implicit y.')
    ] = None,
    direction: Annotated[
        str | None, typer.Option("--direction", help="Directional derivative along this vector (made unit): 1,1.")
    ] = None,
    unconnected: Annotated[
        o.Unconnected,
        typer.Option("--unconnected", help="A source f does not use: none (None, TF's default) or zero (0)."),
    ] = o.Unconnected.none,
    frameworks: Annotated[
        bool, typer.Option("--frameworks", help="Also JAX and PyTorch where installed: their conventions at kinks.")
    ] = False,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            help="The computation graph with every value and adjoint: tree (terminal), dot (Graphviz text), "
            'or a file: graph.svg, graph.png (need Graphviz\'s dot), graph.dot. JSON adds it as "graph".',
        ),
    ] = None,
    graph_steps: Annotated[
        bool, typer.Option("--graph-steps", help="Print the backward pass one node at a time.")
    ] = False,
) -> None:
    """Gradient of EXPRESSION at a point, by GradientTape, sympy and finite differences; without --at, the
    derivative's formula, checked at sample points.

    A list "[f1, f2]" (or a tensor) is several targets: tape.gradient returns the gradient of their sum.

    Example: gradcli grad "x**2 + y**2" --at x=3,y=4
    """
    env = ctx.obj
    drawing = _graph_choice(env, graph, graph_steps, output)
    if drawing and (points is not None or implicit is not None or direction is not None or not (at or watch)):
        raise GradcliError("--graph and --graph-steps draw one point: give --at (not --points, --implicit, ...)")
    if implicit is not None or direction is not None:
        _derived(env, expression, at, wrt, implicit, direction, output)
    tape_options = clip_value or clip_norm or clip_global_norm or stop or of or persistent or custom
    if points is not None:
        if at or order != 1 or tape_options:
            raise GradcliError("--points works with --const, --wrt, --watch and --dtype only (not --at, --order, ...)")
        gradient_points.run(env, expression, points, const, wrt, watch, output, dtype, on_error, chunk_size)
    if not at and not watch:  # watched constants are sources: --const x=3 --watch x is a point of its own
        if const or tape_options:
            raise GradcliError("without --at, grad prints the derivative: give --at for --const, --clip-*, --of, ...")
        formula.run(env, expression, "grad", wrt, output, order, steps, latex)
    from gradcli.present.render import write
    from gradcli.solve.formula import with_gradient_derivation
    from gradcli.solve.gradient import grad as compute
    from gradcli.witnesses.clip import parse_clip

    result = compute(
        expression,
        at=o.points(at),
        const=o.constants(const),
        wrt=o.names_or_none(wrt),
        watch=o.split_names(watch),
        dtype=dtype.value,
        order=order,
        clip=parse_clip(clip_value, clip_norm, clip_global_norm),
        stop=o.split_names(stop),
        of=o.split_names(of),
        persistent=persistent,
        custom=custom,
        unconnected=unconnected.value,
        frameworks=frameworks,
        from_latex=env.from_latex,
        graph=bool(drawing),
    )
    if steps or latex:
        result = with_gradient_derivation(result, steps, latex, env.from_latex)
    if graph == "dot":
        from gradcli.present.graph import dot

        env.stdout.write(dot(result.graph))
        raise typer.Exit(result.exit_code)
    env.render(write, result, output.value, notes=True)
    _draw(env, result.graph, graph, graph_steps, output)
    raise typer.Exit(result.exit_code)


def _graph_choice(env, graph: str | None, graph_steps: bool, output) -> bool:
    """Whether a graph is asked for; a file is checked before any work, and a choice that does not apply is
    an error."""
    if graph is None:
        return graph_steps
    if graph in ("tree", "dot"):
        if output is not o.Format.table and (graph == "dot" or output is not o.Format.json):
            raise GradcliError(f"--graph {graph} is drawn beside the table; with --format {output.value} give a file")
        return True
    from gradcli.runtime.files import check_output

    if not graph.lower().endswith((".svg", ".png", ".dot")):
        raise GradcliError("--graph takes tree, dot, or a file ending .svg, .png or .dot")
    check_output(env.output_path(graph, "--graph"), "--graph")
    if not graph.lower().endswith(".dot"):
        from gradcli.present.graph import graphviz

        graphviz()
    return True


def _draw(env, drawn, graph: str | None, graph_steps: bool, output) -> None:
    from gradcli.present import graph as pictures

    table = output is o.Format.table
    if graph == "tree" and table:
        pictures.write_tree(drawn, env.stdout)
    if graph_steps:
        pictures.write_steps(drawn, env.stdout if table else env.stderr)
    if graph is None or graph in ("tree", "dot"):
        return
    from gradcli.runtime.files import atomic_write

    path = env.output_path(graph, "--graph")
    data = pictures.dot(drawn).encode() if path.lower().endswith(".dot") else pictures.picture(drawn, path)
    with atomic_write(path, binary=True) as f:
        f.write(data)
    (env.stdout if table else env.stderr).write(f"graph written to {graph}\n")


def _derived(env, expression, at, wrt, implicit, direction, output) -> None:
    """grad --implicit / --direction: dy/dx on a curve or D_u f, made from the gradient's three methods."""
    from gradcli.present.render import write_derived
    from gradcli.solve import derived

    if not at or (implicit is not None and direction is not None):
        raise GradcliError("--implicit and --direction each need a point (--at), and go one at a time")
    points, names = o.points(at), o.names_or_none(wrt)
    if implicit is not None:
        result = derived.implicit(expression, implicit, points, names, env.from_latex)
    else:
        result = derived.directional(expression, direction.split(","), points, names, env.from_latex)
    env.render(write_derived, result, output.value)
    raise typer.Exit(result.exit_code)
