"""Jacobian-vector and vector-Jacobian products: forward mode and a seeded backward pass.

Each product is the gradient of a scalar built from the same tree, so sympy, finite differences and the
judge see an ordinary gradient problem, and api's own solver judges it:

- jvp: J·t is d/ds f(x + s·t) at s = 0 (one row, named `jvp`); the tape's witness is
  tf.autodiff.ForwardAccumulator on f itself.
- vjp: Jᵀu is the gradient of u·f (one row per variable); the tape's witness is
  tape.gradient(f, sources, output_gradients=u) on f itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from gradcli.errors import PointError
from gradcli.judge.verdict import Note
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, ListOf, Name, infer_shape, substitute, walk
from gradcli.lang.values import Value, parse_value
from gradcli.results.gradient import ProductResult
from gradcli.solve.gradient import _env, _solve_target
from gradcli.solve.problem import Assignment, Options, Problem, _as_text, _values, prepare
from gradcli.tolerance import finite_difference
from gradcli.tolerance import tape as tape_tolerance

JVP = "jvp"  # the row of a JVP: the step s along the tangent
UPSTREAM = "u'"  # the upstream gradient's name inside the tree (a name no expression can spell)


def _tangent_name(name: str) -> str:
    return f"{name}'"


def _zeros(shape: tuple[int, ...], name: str) -> Value:
    return parse_value(json.dumps(np.zeros(shape).tolist()) if shape else "0", name)


def jvp(
    expression: str, at, tangent: Assignment, const: Assignment | None = None, dtype: str = "float64", from_latex=False
):
    """J·t at each point: ForwardAccumulator beside the symbolic directional derivative and finite differences.

    f is a single number, or a list of them, [f1, f2] (J·t then has a row per item, targets f[0], f[1], ...).

    >>> gradcli.jvp("x**2*y", at={"x": 3, "y": 2}, tangent={"x": 1}).results[0].gradient[0].tape
    12.0
    """
    problem = prepare(expression, at, Options(const=const, dtype=dtype, from_latex=from_latex, vector_output=True))
    listed = isinstance(problem.tree, ListOf)
    if infer_shape(problem.tree, problem.shapes) and not listed:
        raise PointError("jvp takes a single number or a list of them, [f1, f2]; for a tensor f use gradcli jacobian")
    if JVP in problem.shapes:
        raise PointError(f"the name {JVP} is taken by gradcli jvp for the product: rename the variable")
    tangents = _tangents(problem, tangent)
    step = {n: BinOp("+", Name(n), BinOp("*", Name(JVP), Name(_tangent_name(n)))) for n in problem.variables}
    extra = {JVP: _zeros((), JVP), **{_tangent_name(n): v for n, v in tangents.items()}}
    along = replace(
        problem, constants={**problem.constants, **extra}, rows=(JVP,), watched=frozenset({JVP}), targets=(), of=False
    )
    from gradcli.witnesses.tape import jvp as forward

    arrays = {n: np.asarray(v.as_list(), dtype=np.float64) for n, v in tangents.items()}
    runs = [
        forward(problem.tree, _env(problem, p), frozenset(problem.variables), arrays, dtype) for p in problem.points
    ]
    items = problem.tree.items if listed else (problem.tree,)
    posed = []
    for i, item in enumerate(items):
        part = (lambda a, i=i: a[i]) if listed else (lambda a: a)  # noqa: E731
        recorded = ([part(v) for v, _ in runs], [{JVP: part(j)} for _, j in runs])
        posed.append((f"f[{i}]" if listed else None, replace(along, tree=substitute(item, step)), recorded))
    result = _result(problem, posed, JVP, {n: v.as_list() for n, v in tangents.items()})
    # notes name the kinks of f, not of f(x + s·t): each subtree's text maps back to the original's
    texts = {to_text(substitute(node, step)): to_text(node) for node in walk(problem.tree)}
    return replace(
        result, results=tuple(replace(r, notes=tuple(_renamed(n, texts) for n in r.notes)) for r in result.results)
    )


def _renamed(note: Note, texts: dict[str, str]) -> Note:
    event = note.data.get("event")
    if event is None or event.arg not in texts:
        return note
    return Note(note.kind, note.severity, note.variable, {**note.data, "event": replace(event, arg=texts[event.arg])})


def _tangents(problem: Problem, tangent: Assignment) -> dict[str, Value]:
    given = _values(tangent)
    if not given:
        raise PointError(f"give a tangent with --tangent, e.g. --tangent {problem.variables[0]}=1")
    for name, value in given.items():
        if name not in problem.variables:
            known = ", ".join(problem.variables)
            raise PointError(f"--tangent {name}: not a variable of the expression (its variables: {known})")
        if value.shape != problem.shapes[name]:
            raise PointError(
                f"--tangent {name} has shape {list(value.shape)}, but {name} has {list(problem.shapes[name])}"
            )
    return {n: given.get(n) or _zeros(problem.shapes[n], n) for n in problem.variables}


def vjp(expression: str, at, upstream, const: Assignment | None = None, dtype: str = "float64", from_latex=False):
    """Jᵀu at each point: tape.gradient with output_gradients=u beside the symbolic Jacobian-transpose product.

    >>> gradcli.vjp("[x*y, x + y]", at={"x": 1, "y": 2}, upstream=[1, 2]).results[0].gradient[0].tape
    4.0
    """
    problem = prepare(expression, at, Options(const=const, dtype=dtype, from_latex=from_latex, vector_output=True))
    shape = infer_shape(problem.tree, problem.shapes)
    if not shape:
        raise PointError("f is a single number, so its VJP is u times its gradient: use gradcli grad")
    seed = parse_value(_as_text("--upstream", upstream), "--upstream")
    if seed.shape != shape:
        raise PointError(f"--upstream has shape {list(seed.shape)}, but f has {list(shape)}: one number per output")
    seeded = replace(
        problem, tree=Call("sum", (BinOp("*", Name(UPSTREAM), problem.tree),)),
        constants={**problem.constants, UPSTREAM: seed}, targets=(), of=False,
    )  # fmt: skip
    from gradcli.witnesses.tape import vjp as backward

    u = np.asarray(seed.as_list(), dtype=np.float64)
    variables, watched = frozenset(problem.variables), problem.watched - frozenset(problem.variables)
    runs = [backward(problem.tree, _env(problem, p), variables, watched, dtype, u) for p in problem.points]
    recorded = ([v for v, _ in runs], [g for _, g in runs])
    return _result(problem, [(None, seeded, recorded)], "vjp", seed.as_list())


def _result(problem: Problem, posed: list, product: str, vector) -> ProductResult:
    """posed: (target name or None, the scalar problem, the tape's recorded values and products) per target."""
    results = []
    for target, scalar, recorded in posed:
        results += _solve_target(scalar, [_env(scalar, point) for point in scalar.points], recorded, target)
    targets = tuple(target for target, _, _ in posed if target)
    return ProductResult(
        expression=problem.text,
        input=problem.source or problem.text,
        targets=targets,
        recordings=1,
        wrt=tuple(problem.variables) if product == "jvp" else posed[0][1].rows,  # jvp's one row is `jvp`
        constants={name: v.as_list() for name, v in problem.constants.items()},
        dtype=problem.dtype,
        tape_tolerance=tape_tolerance(problem.dtype),
        fd_tolerance=finite_difference(),
        results=tuple(results),
        product=product,
        reading=problem.reading,
        vector=vector,
    )


def parse_tangent(options: list[str]) -> Mapping[str, str]:
    """--tangent x=1,y=0 (repeatable) -> {"x": "1", "y": "0"}; a name given twice is an error."""
    from gradcli.lang.values import split_assignments

    tangents: dict[str, str] = {}
    for option in options:
        for name, value in split_assignments(option):
            if name in tangents:
                raise PointError(f"--tangent {name} given twice")
            tangents[name] = value
    return tangents
