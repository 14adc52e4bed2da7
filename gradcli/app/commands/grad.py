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
    mode = o.refuse_unused(ctx, MODES, choose)
    drawing = _graph_choice(env, graph, graph_steps, output)
    if mode in (IMPLICIT, DIRECTION):
        _derived(env, expression, at, const, wrt, implicit, direction, output, order, steps, latex)
    _no_equation(expression, env.from_latex)
    if mode is POINTS:
        gradient_points.run(env, expression, points, const, wrt, watch, output, dtype, on_error, chunk_size)
    if mode is FORMULA:
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


_TAPE = {"watch", "dtype", "clip_value", "clip_norm", "clip_global_norm", "stop", "of", "persistent", "custom"}
_DRAW = {"graph", "graph_steps"}
AT = o.Mode(
    "at a point (--at)",
    frozenset({"at", "const", "wrt", "output", "order", "steps", "latex", "unconnected", "frameworks", *_TAPE, *_DRAW}),
)
FORMULA = o.Mode(
    "without --at (grad prints the derivative's formula)", frozenset({"wrt", "output", "order", "steps", "latex"})
)
POINTS = o.Mode(
    "with --points", frozenset({"points", "const", "wrt", "watch", "output", "dtype", "on_error", "chunk_size"})
)
_DERIVED = {"at", "const", "wrt", "output", "order", "steps", "latex"}
IMPLICIT = o.Mode("with --implicit", frozenset({"implicit", *_DERIVED}))
DIRECTION = o.Mode("with --direction", frozenset({"direction", *_DERIVED}))
MODES = (AT, FORMULA, POINTS, IMPLICIT, DIRECTION)


def choose(given: frozenset[str], values) -> o.Mode:
    """--points, --implicit and --direction each pose their own question; else --at, or the formula."""
    for name, mode in (("points", POINTS), ("implicit", IMPLICIT), ("direction", DIRECTION), ("at", AT)):
        if name in given:
            return mode
    return AT if "watch" in given else FORMULA  # watched constants are sources: --const x=3 --watch x is a point


def _no_equation(expression: str, from_latex: bool) -> None:
    """`x^2 + y^2 = 25` is a curve, not a function: say how to ask for its slope."""
    from gradcli.errors import ParseError
    from gradcli.grading.question import _equation, _sides
    from gradcli.lang.parser import parse_program
    from gradcli.lang.tree import free_names

    if _sides(expression) is None:
        return
    try:
        parse_program(expression, allow_lists=True, latex=from_latex)
    except ParseError as exc:  # not a program's named steps (y = x*x; y + 1): an equation, or the program's error
        try:
            names = sorted(free_names(_equation(expression, from_latex)))
        except ParseError:
            raise exc from None
        y = "y" if "y" in names or not names else names[-1]
        others = [n for n in names if n != y]
        slope = f" (d{y}/d{others[0]} on the curve)" if len(others) == 1 else ""
        raise ParseError(f"an equation: add --implicit {y}{slope}") from exc


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


def _derived(env, expression, at, const, wrt, implicit, direction, output, order, steps, latex) -> None:
    """grad --implicit / --direction: dy/dx on a curve or D_u f, made from the gradient's three methods;
    without --at, the formula, checked at sample points."""
    from gradcli.present.render import write_derived
    from gradcli.solve import derived

    given = {"const": o.constants(const), "order": order, "steps": steps, "latex": latex, "from_latex": env.from_latex}
    points, names = (o.points(at) if at else None), o.names_or_none(wrt)
    if implicit is not None:
        result = derived.implicit(expression, implicit, points, names, **given)
    else:
        result = derived.directional(expression, direction.split(","), points, names, **given)
    env.render(write_derived, result, output.value)
    raise typer.Exit(result.exit_code)
