"""Jacobians and Hessians: tape.jacobian and nested tapes beside sympy, checked by finite differences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from gradcli import explain, numeric
from gradcli.api import TAPE_TOLERANCE, Assignment, Problem, _close, _env, _plain, _stack, fd_tolerance, prepare
from gradcli.errors import LimitError, PointError
from gradcli.expr import ListOf, to_text
from gradcli.result import MatrixPoint, MatrixResult

FD_SECONDS = 30

MAX_HESSIAN_COLUMNS = 50


def jacobian(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
) -> MatrixResult:
    """The Jacobian of a list of expressions, or of a tensor-valued one, with respect to every input element.

    >>> gradcli.jacobian("[x*y, x + y]", at={"x": 1, "y": 2}).results[0].tape
    [[2.0, 1.0], [1.0, 1.0]]
    """
    problem = prepare(expression, at, const, wrt, watch, dtype, vector_output=True)
    return _solve(problem, "jacobian")


def hessian(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
) -> MatrixResult:
    """The Hessian of a scalar expression: nested tapes beside sympy's second derivatives."""
    problem = prepare(expression, at, const, wrt, watch, dtype)
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
    from gradcli.expr import infer_shape

    shape = infer_shape(tree, problem.shapes)
    return [f"f[{','.join(map(str, i))}]" for i in np.ndindex(shape)] if shape else ["f"]


def _solve(problem: Problem, kind: str) -> MatrixResult:
    from gradcli.symbolic import Symbolic, time_limit

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
        tape_tolerance=TAPE_TOLERANCE[problem.dtype],
        fd_tolerance=fd_tolerance(1 if kind == "jacobian" else 2),
        results=tuple(results),
    )


def _tape(problem: Problem, kind: str, envs, names, batched: bool):
    from gradcli import tape

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
            return list(np.moveaxis(numeric.hessian_difference(fn, stacked, list(names), True), -1, 0))
        # each (outputs..., points) -> per point (outputs, 1); join the names as columns
        blocks = [np.reshape(numeric.central_difference(fn, stacked, n, True), (-1, len(envs))) for n in names]
        return [np.stack([b[:, i] for b in blocks], axis=1) for i in range(len(envs))]
    if kind == "hessian":
        return [numeric.hessian_difference(numeric.function(problem.tree, env), env, list(names)) for env in envs]
    out = []
    for env in envs:
        fn = numeric.function(problem.tree, env)
        blocks = []
        for name in names:
            d = numeric.central_difference(fn, env, name)  # x.shape + f.shape
            size = int(np.prod(np.shape(env[name])))
            blocks.append(np.reshape(d, (size, -1)).T)
        out.append(np.concatenate(blocks, axis=1))
    return out


def _smooth_jacobian(fn, env, names, name, event, matrices, tolerances, info) -> None:
    """At a kink whose one-sided slopes agree, replace name's finite-difference columns by one-sided means
    and judge them; tape, exact, fd and agree are (outputs, input elements) and updated in place."""
    tape, exact, fd, agree = matrices
    tape_tol, scale = tolerances
    left, right, error, noise = numeric.one_sided_elements(fn, env, name)
    if np.any(numeric.order_sides_differ(left, right, error, 1)) or np.any(numeric.too_noisy(left, right, noise, 1)):
        return  # the coarser one-sided check saw no kink, this one cannot confirm smoothness: keep the central one
    start = sum(int(np.prod(np.shape(env[n]))) for n in names[: names.index(name)])
    size = int(np.prod(np.shape(env[name])))
    estimate = np.reshape((left + right) / 2, (size, -1)).T
    bound = np.reshape(error, (size, -1)).T
    for row in range(fd.shape[0]):
        for column in range(size):
            j = start + column
            fd[row, j] = estimate[row, column]
            exact_ok = bool(numeric.within_one_sided_error(exact[row, j], fd[row, j], bound[row, column], 1))
            if exact_ok:
                tape_ok = _close(tape[row, j], exact[row, j], tape_tol, scale)
            else:
                tape_ok = bool(numeric.within_one_sided_error(tape[row, j], fd[row, j], bound[row, column], 1))
            agree[row][j] = tape_ok
    sides = (_plain(np.reshape(left, -1)), _plain(np.reshape(right, -1)))
    info.append(explain.smooth_at_kink(event, name, 1, sides, (None, True), (None, True)))


def _judge(problem, kind, point, env, value, tape, exact, fd, shown, names) -> MatrixPoint:
    tape, exact, fd = (np.asarray(m, dtype=np.float64) for m in (tape, exact, fd))
    finite_value = np.asarray(value)[np.isfinite(value)]
    scale = float(np.max(np.abs(finite_value))) if finite_value.size else 1.0
    tape_tol, fd_tol = TAPE_TOLERANCE[problem.dtype], fd_tolerance(1 if kind == "jacobian" else 2)
    agree = [
        [_close(t, e, tape_tol, scale) and _close(f, e, fd_tol, scale) for t, e, f in zip(tr, er, fr, strict=True)]
        for tr, er, fr in zip(tape, exact, fd, strict=True)
    ]
    notes, info = [], []  # info: notes that explain without making the point non-differentiable
    events = numeric.events_at(problem.tree, env, frozenset(names))
    kinks = [e for e in events if e.kind == "kink"]
    if kinks:
        fn = numeric.function(problem.tree, env)
        for name in names:
            left, right = numeric.one_sided(fn, env, name)
            differ = numeric.sides_differ(left, right, scale)
            event = next((e for e in kinks if name in e.names), kinks[0])
            if np.any(differ):
                first = tuple(np.argwhere(differ)[0])
                notes.append(explain.kink(event, name, left[first], right[first], None, None))
            elif kind == "jacobian" and any(
                name in e.names for e in kinks
            ):  # slopes agree: the one-sided means are the witness (see api._smooth_at_kink)
                _smooth_jacobian(fn, env, names, name, event, (tape, exact, fd, agree), (tape_tol, scale), info)
            elif kind == "hessian" and not problem.shapes.get(name):
                left, right, error, noise = (float(v) for v in numeric.one_sided_order(fn, env, name, 2))
                if numeric.order_sides_differ(left, right, error, 2):
                    notes.append(explain.higher_order_kink(event, name, 2, 2, left, right))
                elif numeric.too_noisy(left, right, noise, 2):
                    notes.append(explain.kink_too_noisy(event, name, 2, 2, noise))
                elif len(names) == 1:  # the 1x1 Hessian exists; judged as grad --order 2 is (api._smooth_at_kink)
                    fd[0, 0] = (left + right) / 2
                    exact_ok = bool(numeric.within_one_sided_error(exact[0, 0], fd[0, 0], error, 2))
                    if exact_ok:
                        tape_ok = _close(tape[0, 0], exact[0, 0], tape_tol, scale)
                    else:
                        tape_ok = bool(numeric.within_one_sided_error(tape[0, 0], fd[0, 0], error, 2))
                    agree[0][0] = tape_ok
                    info.append(
                        explain.smooth_at_kink(
                            event, name, 2, (left, right), (tape[0, 0], tape_ok), (exact[0, 0], exact_ok)
                        )
                    )
        if kind == "hessian" and not notes and (len(names) > 1 or any(problem.shapes.get(n) for n in names)):
            notes.append(explain.hessian_kink(kinks[0]))
    poles = [e for e in events if e.kind == "pole"]  # finite in floats, infinite in exact arithmetic
    if poles or not all(np.all(np.isfinite(m)) for m in (np.asarray(value), tape, exact, fd)):
        singular = [explain.singular(e) for e in events if e.kind in ("singular", "pole")]
        notes.extend(singular or ([] if notes else [explain.unexplained_not_finite(value)]))
    return MatrixPoint(
        at={name: v.as_list() for name, v in point.items()},
        value=_plain(value),
        tape=tape.tolist(),
        symbolic=shown,
        exact=exact.tolist(),
        finite_difference=fd.tolist(),
        agree_each=agree,
        notes=tuple(notes + info),
        differentiable=not notes,
    )
