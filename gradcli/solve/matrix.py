"""Jacobians and Hessians: tape.jacobian and nested tapes beside sympy, checked by finite differences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, PointError
from gradcli.judge import verdict as judge
from gradcli.lang.printers import to_text
from gradcli.lang.tree import ListOf
from gradcli.results.gradient import MatrixPoint, MatrixResult
from gradcli.solve.gradient import _env, _plain, _stack
from gradcli.solve.problem import Assignment, Options, Problem, prepare
from gradcli.witnesses import differences, numeric

FD_SECONDS = 30

MAX_HESSIAN_COLUMNS = 50


def jacobian(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
    from_latex: bool = False,
) -> MatrixResult:
    """The Jacobian of a list of expressions, or of a tensor-valued one, with respect to every input element.

    >>> gradcli.jacobian("[x*y, x + y]", at={"x": 1, "y": 2}).results[0].tape
    [[2.0, 1.0], [1.0, 1.0]]
    """
    options = Options(const=const, wrt=wrt, watch=watch, dtype=dtype, from_latex=from_latex, vector_output=True)
    problem = prepare(expression, at, options)
    return _solve(problem, "jacobian")


def hessian(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
    from_latex: bool = False,
) -> MatrixResult:
    """The Hessian of a scalar expression: nested tapes beside sympy's second derivatives."""
    problem = prepare(expression, at, Options(const=const, wrt=wrt, watch=watch, dtype=dtype, from_latex=from_latex))
    count = sum(int(np.prod(problem.shapes[n])) for n in problem.differentiated)
    if count > MAX_HESSIAN_COLUMNS:
        raise LimitError(f"the Hessian would have {count} columns; the limit is {MAX_HESSIAN_COLUMNS}")
    return _solve(problem, "hessian")


def _labels(problem: Problem, names) -> list[str]:
    labels = []
    for name in names:
        shape = problem.shapes[name]
        labels += [f"{name}[{','.join(map(str, i))}]" for i in np.ndindex(shape)] if shape else [name]
    return labels


def _output_labels(problem: Problem) -> list[str]:
    tree = problem.tree
    if isinstance(tree, ListOf):
        return [to_text(item) for item in tree.items]
    from gradcli.lang.tree import infer_shape

    shape = infer_shape(tree, problem.shapes)
    return [f"f[{','.join(map(str, i))}]" for i in np.ndindex(shape)] if shape else ["f"]


def _solve(problem: Problem, kind: str) -> MatrixResult:
    from gradcli.witnesses.symbolic import Symbolic, time_limit

    names = problem.differentiated
    if not names:
        raise PointError(f"nothing to differentiate: the {kind} needs at least one variable (--at) or --watch")
    columns = _labels(problem, names)
    rows = _output_labels(problem) if kind == "jacobian" else columns
    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    matrix = symbolic.jacobian(names) if kind == "jacobian" else symbolic.hessian(names)
    shown = symbolic.show(matrix)
    envs = [_env(problem, point) for point in problem.points]
    batched = problem.batchable and len(envs) > 1
    values, tapes = _tape(problem, kind, envs, names, batched)
    # near kinks the stencils are checked entry by entry in Python: 40 variables took minutes
    with time_limit(FD_SECONDS, "finite differences"):
        fds = _finite_differences(problem, kind, envs, names, batched)
    results = []
    for point, env, value, tape, fd in zip(problem.points, envs, values, tapes, fds, strict=True):
        exact = symbolic.evaluate_matrix(matrix, symbolic.substitutions({**point, **problem.constants}))
        results.append(_judge(problem, kind, point, env, value, tape, exact, fd, shown, names))
    return MatrixResult(
        kind=kind,
        expression=problem.text,
        input=problem.source or problem.text,
        wrt=names,
        rows=tuple(rows),
        columns=tuple(columns),
        constants={name: v.as_list() for name, v in problem.constants.items()},
        dtype=problem.dtype,
        tape_tolerance=tolerance.tape(problem.dtype),
        fd_tolerance=tolerance.finite_difference(1 if kind == "jacobian" else 2),
        reading=problem.reading,
        results=tuple(results),
    )


def _tape(problem: Problem, kind: str, envs, names, batched: bool):
    from gradcli.witnesses import tape

    run = tape.jacobian if kind == "jacobian" else tape.hessian
    variables = frozenset(problem.variables)
    watched_constants = problem.watched - variables
    if batched:
        values, matrices = run(problem.tree, _stack(envs), variables, watched_constants, problem.dtype, names, True)
        return list(np.moveaxis(values, -1, 0)), list(matrices)
    runs = [run(problem.tree, env, variables, watched_constants, problem.dtype, names) for env in envs]
    return [v for v, _ in runs], [m for _, m in runs]


def _finite_differences(problem: Problem, kind: str, envs, names, batched: bool):
    if batched:
        stacked = _stack(envs)
        fn = numeric.function(problem.tree, stacked)
        if kind == "hessian":
            return list(np.moveaxis(differences.hessian_difference(fn, stacked, list(names), True), -1, 0))
        # each (outputs..., points) -> per point (outputs, 1); join the names as columns
        blocks = [np.reshape(differences.central_difference(fn, stacked, n, True), (-1, len(envs))) for n in names]
        return [np.stack([b[:, i] for b in blocks], axis=1) for i in range(len(envs))]
    if kind == "hessian":
        return [differences.hessian_difference(numeric.function(problem.tree, env), env, list(names)) for env in envs]
    out = []
    for env in envs:
        fn = numeric.function(problem.tree, env)
        blocks = []
        for name in names:
            d = differences.central_difference(fn, env, name)  # x.shape + f.shape
            size = int(np.prod(np.shape(env[name])))
            blocks.append(np.reshape(d, (size, -1)).T)
        out.append(np.concatenate(blocks, axis=1))
    return out


def _judge(problem, kind, point, env, value, tape, exact, fd, shown, names) -> MatrixPoint:
    """Judged by judge.column: a Jacobian block by block (one input variable's columns each, one-sided
    at a kink); a Hessian as a whole, and at a kink its diagonal entries one-sidedly at order 2."""
    tape, exact, fd = (np.array(m, dtype=np.float64) for m in (tape, exact, fd))
    finite_value = np.asarray(value)[np.isfinite(value)]
    scale = float(np.max(np.abs(finite_value))) if finite_value.size else 1.0
    order = 1 if kind == "jacobian" else 2
    events = numeric.events_at(problem.tree, env, frozenset(names))
    kinks = [e for e in events if e.kind == "kink"]
    fn = numeric.function(problem.tree, env) if kinks else None
    options = {"scale": scale, "order": order, "dtype": problem.dtype}
    scalars = not any(problem.shapes.get(n) for n in names)
    whole = judge.column("f", tape, exact, fd, 0.0, **options)
    notes, smooth = [], np.zeros(tape.shape, dtype=bool)
    start = 0
    for j, name in enumerate(names):
        size = int(np.prod(problem.shapes[name]))
        block, start = slice(start, start + size), start + size
        kink = next((e for e in kinks if name in e.names), None)
        if kink is None:
            continue
        if kind == "jacobian":
            sides = _jacobian_sides(fn, env, name, size)
            c = judge.column(name, tape[:, block], exact[:, block], fd[:, block], 0.0, kink=kink, at_kink=True,
                             sides=sides, **options)  # fmt: skip
            whole.fd[:, block], whole.agree[:, block], smooth[:, block] = c.fd, c.agree, c.smooth
        elif scalars:  # a diagonal entry, judged as grad --order 2 is
            along = _along(fn, env, name)
            c = judge.column(name, tape[j, j], exact[j, j], fd[j, j], 0.0, kink=kink, at_kink=True,
                             sides=along, **options)  # fmt: skip
            whole.fd[j, j], whole.agree[j, j], smooth[j, j] = c.fd, c.agree, c.smooth
        else:
            continue
        notes += c.notes
    if kind == "hessian" and kinks and scalars:
        notes += _mixed(problem, fn, env, names, kinks, (tape, exact, whole, smooth), scale)
    elif kind == "hessian" and kinks and judge.differentiable(notes):  # tensor variables: not checked one-sidedly
        notes.append(judge.Note("hessian_kink", judge.UNDEFINED, None, {"event": kinks[0]}))
    whole.smooth, whole.notes = smooth, notes
    notes = judge.conclude(value, value, problem.dtype, [whole], {"f": (tape, exact)}, events, say_witnesses=False)
    return MatrixPoint(
        at={name: v.as_list() for name, v in point.items()},
        value=_plain(value),
        tape=tape.tolist(),
        symbolic=shown,
        exact=exact.tolist(),
        finite_difference=whole.fd.tolist(),
        agree_each=whole.agree.tolist(),
        notes=tuple(notes),
        differentiable=judge.differentiable(notes),
    )


def _mixed(problem, fn, env, names, kinks, matrices, scale) -> list:
    """Every mixed partial whose variables meet a kink, judged from its four quadrants (judge.mixed)."""
    tape, exact, whole, smooth = matrices
    notes = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            kink = next((e for e in kinks if {a, b} & e.names), None)
            if kink is None:
                continue
            quadrants = differences.mixed_quadrants(fn, env, a, b)
            c = judge.mixed((a, b), tape[i, j], exact[i, j], whole.fd[i, j], quadrants, scale=scale,
                            dtype=problem.dtype, kink=kink)  # fmt: skip
            for r, s in ((i, j), (j, i)):
                whole.fd[r, s], whole.agree[r, s], smooth[r, s] = c.fd, c.agree, c.smooth
                if c.broken:
                    whole.agree[r, s] = True  # undefined, not a disagreement
            notes += c.notes
    return notes


def _along(fn, env, name):
    def sides(k):
        return differences.one_sided_order(fn, env, name, k)

    return sides


def _jacobian_sides(fn, env, name, size):
    """One-sided first derivatives along each element of name, as (outputs, elements) blocks."""

    def sides(k):
        return tuple(np.reshape(p, (size, -1)).T for p in differences.one_sided_elements(fn, env, name, k))

    return sides
