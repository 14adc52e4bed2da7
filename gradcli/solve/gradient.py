"""The library: gradcli.grad() computes a gradient three ways and judges whether they agree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from gradcli import tolerance
from gradcli.errors import PointError
from gradcli.judge import verdict as judge
from gradcli.lang.parser import CustomSpec
from gradcli.lang.tree import Custom, free_names, has_stops, infer_shape, walk, without_stops
from gradcli.lang.values import Value
from gradcli.results.gradient import GradResult, Partial, PointResult
from gradcli.solve import graph as drawn
from gradcli.solve import intermediate
from gradcli.solve.problem import INTEGER, SUM, Assignment, Options, Problem, prepare
from gradcli.witnesses import clip as clipping
from gradcli.witnesses import differences, numeric
from gradcli.witnesses.clip import Clip


def grad(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
    order: int = 1,
    clip: Clip | None = None,
    stop: Iterable[str] = (),
    of: Iterable[str] = (),
    persistent: bool = False,
    custom: Iterable[str | CustomSpec] = (),
    unconnected: str = "none",
    frameworks: bool = False,
    from_latex: bool = False,
    graph: bool = False,
) -> GradResult:
    """The gradient of `expression` at each point, by GradientTape, sympy and finite differences.

    With order > 1, each row is the pure partial derivative of that order (nested tapes). A list or
    tensor expression is several targets (the tape returns the gradient of their sum); a name given in
    `at` that the expression does not use is an unconnected source (None, or 0 with unconnected="zero");
    dtype "int32" shows what the tape does with integers (no gradient). from_latex=True reads the expression
    as LaTeX (--from-latex); point values never are. graph=True adds the computation graph at the one point
    (every node's value and adjoint from the tape, each checked by sympy; see solve.graph).

    >>> gradcli.grad("x**2", at={"x": 3}).results[0].gradient[0].tape
    6.0
    """
    options = Options(
        const=const, wrt=wrt, watch=watch, dtype=dtype, order=order, clip=clip, stop=stop, of=of,
        persistent=persistent, custom=custom, from_latex=from_latex,
        several=True, unconnected=unconnected, integers=True,
    )  # fmt: skip
    problem = prepare(expression, at, options)
    if frameworks:
        _check_frameworks(problem)
    if graph:
        drawn.check(problem)
    result = solve(replace(problem, frameworks=frameworks))
    return replace(result, graph=drawn.graph(problem, result)) if graph else result


def _check_frameworks(problem: Problem) -> None:
    unsupported = {
        "--order above 1": problem.order > 1, "--custom": bool(problem.customs),
        "clipping": problem.clip is not None, "--dtype int32": problem.dtype == INTEGER,
        "--wrt a named step": bool(problem.intermediates),
    }  # fmt: skip
    for what, used in unsupported.items():
        if used:
            raise PointError(f"--frameworks compares first-order gradients of plain expressions, not with {what}")


def solve(problem: Problem) -> GradResult:
    envs = [_env(problem, point) for point in problem.points]
    recorded = _record_targets(problem, envs) if problem.persistent else {}
    results = []
    for name, tree in problem.targets:
        target = replace(problem, tree=tree)
        several = problem.summed is not None and name == SUM
        results += _solve_target(target, envs, recorded.get(name), name if problem.of else None, several)
    return GradResult(
        expression=problem.text,
        input=problem.source or problem.text,
        wrt=problem.rows,
        constants={name: v.as_list() for name, v in problem.constants.items()},
        dtype=problem.dtype,
        tape_tolerance=tolerance.tape("float64" if problem.dtype == INTEGER else problem.dtype),
        fd_tolerance=tolerance.finite_difference(problem.order),
        order=problem.order,
        results=tuple(results),
        clip=problem.clip,
        targets=tuple(name for name, _ in problem.targets) if problem.of else (),
        persistent=problem.persistent,
        recordings=(1 if problem.persistent else len(problem.targets)) if problem.of else 1,
        customs={spec.name: spec.text for spec in problem.customs},
        summed=problem.summed,
        frameworks=("tensorflow", *installed_frameworks()) if problem.frameworks else (),
        reading=problem.reading,
        unconnected=problem.unconnected if any(n.kind == "unconnected" for r in results for n in r.notes) else None,
    )


def _solve_target(problem: Problem, envs, recorded, of: str | None, several: bool = False) -> list[PointResult]:
    from gradcli.witnesses.symbolic import Symbolic

    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    inputs = tuple(name for name in problem.rows if name not in problem.intermediates)
    steps = intermediate.Witnesses(problem) if problem.intermediates else None
    described = {name: symbolic.describe(name, problem.order) for name in inputs}
    described.update(steps.described() if steps else {})
    truth = None
    if any(isinstance(n, Custom) for n in walk(problem.tree)):
        truth = Symbolic(problem.tree, problem.shapes, problem.constants, rule=False)
        true_described = {name: truth.describe(name, problem.order) for name in problem.rows}
    warnings = [None] * len(envs)
    if problem.dtype == INTEGER:
        tape_values, tape_grads, warnings = _integer_tape(problem, envs)
    else:
        tape_values, tape_grads = recorded or _tape(problem, envs, several)
    unstopped = None
    if has_stops(problem.tree) and problem.dtype != INTEGER:
        unstopped = _tape(replace(problem, tree=without_stops(problem.tree)), envs, several)[1]
    notes = _tape_rule_notes(problem, several)
    fd = _finite_differences(problem, envs)
    results = []
    for i, (point, env) in enumerate(zip(problem.points, envs, strict=True)):
        subs = symbolic.substitutions({**point, **problem.constants})
        exact = {name: symbolic.exact(name, subs, problem.order) for name in inputs}
        exact.update(steps.exact({**point}) if steps else {})
        tape = {name: (tape_grads[i].get(name, None)) for name in problem.rows}
        fd_i = {**fd[i], **(steps.finite_differences(env) if steps else {})}
        raw = _clip(problem, tape, exact, fd_i) if problem.clip else None
        extra = {"of": of, "without_stop": unstopped[i] if unstopped else None}
        if truth is not None:
            true_subs = truth.substitutions({**point, **problem.constants})
            extra["truth"] = {
                name: (true_described[name], truth.exact(name, true_subs, problem.order)) for name in problem.rows
            }
        tape64 = _tape64(problem, env) if problem.dtype == "float32" else None
        extra["notes"] = notes + _integer_notes(problem, warnings[i]) + _intermediate_notes(steps)
        results.append(
            _judge(problem, point, env, float(tape_values[i]), tape, exact, fd_i, described, raw, tape64, **extra)
        )
    if problem.frameworks:
        results = [_beside_frameworks(problem, env, r) for env, r in zip(envs, results, strict=True)]
    return results


def installed_frameworks() -> tuple[str, ...]:
    from gradcli.witnesses.frameworks import installed

    return installed()


def _beside_frameworks(problem: Problem, env, result: PointResult) -> PointResult:
    """Each framework's gradient beside the tape's, and a note wherever they differ from one another."""
    from gradcli.witnesses.frameworks import gradients

    rows = problem.differentiated
    others = gradients(problem.tree, env, rows, problem.dtype)
    events = numeric.events_at(problem.tree, env, frozenset(rows))  # a where's untaken branch explains a nan
    notes, partials = [], []
    for p in result.gradient:
        if p.name not in rows:
            partials.append(p)
            continue
        values = {"tensorflow": p.tape, **{fw: _plain(g[p.name]) for fw, g in others.items()}}
        partials.append(replace(p, frameworks=values))
        notes += judge.frameworks(p.name, values, p.exact, result.notes, problem.dtype, events)
    return replace(result, gradient=tuple(partials), notes=result.notes + tuple(notes))


def _tape_rule_notes(problem: Problem, several: bool) -> list:
    """What the tape does with several targets and with sources f does not use, one note each."""
    used = free_names(problem.tree)
    notes = [judge.Note("unconnected", judge.INFO, name, {"mode": problem.unconnected})
             for name in problem.differentiated
             if name not in used and name not in problem.intermediates and problem.unconnected]  # fmt: skip
    notes += [judge.Note("watched_constant", judge.INFO, name, {})
              for name in problem.differentiated if name in problem.watch]  # fmt: skip
    if several:
        own = [name for name, _ in problem.targets if name != SUM]
        shape = infer_shape(problem.tree.args[0], problem.shapes)
        notes.insert(0, judge.Note("several_targets", judge.INFO, None, {"form": problem.summed, "targets": own,
                                                                          "shape": shape}))  # fmt: skip
    return notes


def _intermediate_notes(steps) -> list:
    if steps is None:
        return []
    return [judge.Note("intermediate", judge.INFO, step.name, step.note_data()) for step in steps.steps]


def _integer_notes(problem: Problem, warning: str | None) -> list:
    if problem.dtype != INTEGER:
        return []
    return [judge.Note("integer_dtype", judge.INFO, name, {"dtype": INTEGER, "warning": warning})
            for name in problem.differentiated]  # fmt: skip


def _integer_tape(problem: Problem, envs):
    from gradcli.witnesses.tape import record_integer

    runs = [record_integer(problem.tree, env, frozenset(problem.differentiated)) for env in envs]
    return [v for v, _, _ in runs], [g for _, g, _ in runs], [w for _, _, w in runs]


def _tape64(problem: Problem, env):
    """The same tape in float64, run only when the judge asks (to name float32 rounding as the odd witness)."""

    def run() -> dict:
        return _tape(replace(problem, dtype="float64"), [env])[1][0]

    return run


def _record_targets(problem: Problem, envs) -> dict:
    """--persistent: one recording per point serves every target's gradient call."""
    from gradcli.witnesses.tape import record_targets

    variables = frozenset(problem.variables)
    watched_constants = problem.watched - variables
    trees = [tree for _, tree in problem.targets]
    if problem.batchable and len(envs) > 1:
        runs = record_targets(trees, _stack(envs), variables, watched_constants, problem.dtype)
        per_target = [
            (list(values), [{n: g[i] for n, g in grads.items()} for i in range(len(envs))]) for values, grads in runs
        ]
    else:
        runs_per_point = [record_targets(trees, env, variables, watched_constants, problem.dtype) for env in envs]
        per_target = [
            ([runs[k][0] for runs in runs_per_point], [runs[k][1] for runs in runs_per_point])
            for k in range(len(trees))
        ]
    return {name: per_target[k] for k, (name, _) in enumerate(problem.targets)}


def _clip(problem: Problem, tape: dict, exact: dict, fd: dict) -> dict:
    """Clip the watched rows in place (tape by TensorFlow, exact and FD by the same rule in numpy).

    Returns the unclipped tape and exact values, for display beside the clipped ones.
    """
    from gradcli.witnesses.tape import clip as tf_clip

    names = problem.differentiated
    raw = {"tape": {n: tape[n] for n in names}, "exact": {n: exact[n] for n in names}}
    tape.update(tf_clip(problem.clip, raw["tape"], problem.dtype))
    exact.update(clipping.apply(problem.clip, raw["exact"]))
    clipped = clipping.apply(problem.clip, {n: fd[n].value for n in names})
    fd.update({n: replace(fd[n], value=clipped[n]) for n in names})
    return raw


def _env(problem: Problem, point: dict[str, Value]) -> dict[str, np.ndarray]:
    return {name: np.asarray(v.as_list(), dtype=np.float64) for name, v in {**point, **problem.constants}.items()}


def _stack(envs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.array([env[name] for env in envs]) for name in envs[0]}


def _tape(problem: Problem, envs, several: bool = False):
    from gradcli.witnesses.tape import record, record_steps

    variables = frozenset(problem.variables)
    watched_constants = problem.watched - variables - set(problem.intermediates)
    if problem.intermediates:
        steps, mode = problem.steps, problem.unconnected or "zero"
        runs = [record_steps(steps, env, variables, watched_constants, problem.dtype, problem.intermediates, mode)
                for env in envs]  # fmt: skip
        return [v for v, _ in runs], [g for _, g in runs]
    tree = problem.tree.args[0] if several else problem.tree  # the targets themselves, not their sum
    options = {"unconnected": problem.unconnected or "zero", "several": several}
    if problem.batchable and len(envs) > 1:
        values, grads = record(
            tree, _stack(envs), variables, watched_constants, problem.dtype, problem.order, **options
        )
        return list(values), [{name: _row(g, i) for name, g in grads.items()} for i in range(len(envs))]
    runs = [record(tree, env, variables, watched_constants, problem.dtype, problem.order, **options) for env in envs]
    return [v for v, _ in runs], [g for _, g in runs]


def _row(gradient, i: int):
    return None if gradient is None else gradient[i]


def _finite_differences(problem: Problem, envs):
    """Per point, name -> differences.Estimate (value, error bound, method)."""

    def estimates(env, batched):
        fn = numeric.function(problem.tree, env)
        if problem.order == 1:
            return {name: differences.derivative(fn, env, name, batched=batched) for name in inputs}
        return {name: _higher(fn, env, name, problem.order) for name in inputs}

    inputs = tuple(name for name in problem.rows if name not in problem.intermediates)
    if problem.batchable and len(envs) > 1:
        columns = estimates(_stack(envs), True)
        return [{name: _element(columns[name], i) for name in inputs} for i in range(len(envs))]
    return [estimates(env, False) for env in envs]


def _higher(fn, env, name, order) -> differences.Estimate:
    """Higher orders: the step search's estimate; its error bound is the order's tolerance (no bar is kept)."""
    value = differences.higher_difference(fn, env, name, order)
    return differences.Estimate(value, np.zeros(np.shape(value)), np.zeros(np.shape(value), dtype=bool))


def _element(estimate: differences.Estimate, i: int) -> differences.Estimate:
    return differences.Estimate(estimate.value[i], estimate.error[i], estimate.complex_step[i])


def _plain(value):
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    return array.tolist() if array.shape else float(array)


def _judge(
    problem,
    point,
    env,
    value,
    tape,
    exact,
    fd,
    described,
    raw,
    tape64,
    of=None,
    without_stop=None,
    truth=None,
    notes=(),
):
    """Gather one point's witnesses and events for the judge; build the result from its verdict."""
    scale = abs(value) if np.isfinite(value) else 1.0
    differentiated = frozenset(name for name in problem.rows if name in problem.watched)
    # Events of constants too: a pole there makes f infinite; a kink there is only worth a word.
    events = numeric.events_at(problem.tree, env, frozenset(env))
    still = [e for e in events if e.kind == "kink" and not e.names & differentiated]
    events = [e for e in events if e not in still]
    kinks = [e for e in events if e.kind == "kink"]
    fn = numeric.function(problem.tree, env) if kinks else None
    columns = []
    for name in problem.rows:
        kink = next((e for e in kinks if name in e.names), None)
        columns.append(
            judge.column(
                name,
                tape[name] if name in differentiated else None,
                exact[name],
                fd[name].value,
                fd[name].error,
                scale=scale,
                order=problem.order,
                dtype=problem.dtype,
                truth=truth[name][1] if truth else None,
                kink=kink,
                at_kink=kink is not None,
                sides=(lambda k, name=name: differences.one_sided_elements(fn, env, name, k)) if kink else None,
                jump=kink is not None and kink.func == "where" and not np.all(differences.continuous(fn, env, [name])),
            )
        )
    rules = (_rule_notes(problem, exact, truth, scale) if truth else []) + list(notes)
    rules += [judge.Note("kink_in_constant", judge.INFO, None, {"event": e}) for e in still]
    witnesses = {c.name: (tape[c.name] if c.name in differentiated else None, exact[c.name]) for c in columns}
    fn = fn or numeric.function(problem.tree, env)
    value64 = float(fn.base)
    inputs = differentiated - set(problem.intermediates)
    continuous = lambda: bool(np.all(differences.continuous(fn, env, inputs)))  # noqa: E731
    notes = judge.conclude(
        value, value64, problem.dtype, columns, witnesses, events, tape64, rules, fn.noise(env), continuous
    )
    notes = tuple(_where_overflowed(n, problem.tree, env) if n.kind == "overflow" else n for n in notes)
    odd = {n.variable: n.data["witness"] for n in notes if n.kind == "odd_witness"}
    partials = []
    for c in columns:
        name = c.name
        extra = {}
        if raw is not None:
            extra["unclipped"] = _plain(raw["tape"].get(name))
            extra["exact_unclipped"] = _plain(raw["exact"].get(name, exact[name]))
        if without_stop is not None and name in differentiated:
            extra["without_stop"] = _plain(without_stop.get(name))
        if truth:
            extra["true_symbolic"], extra["true_exact"] = truth[name][0], _plain(truth[name][1])
        values = (_plain(tape[name]), described[name], _plain(exact[name]), _plain(c.fd))
        partials.append(
            Partial(
                name, name in problem.watched, *values, bool(np.all(c.agree)), clipped=raw is not None,
                finite_difference_error=_plain(c.fd_error),
                finite_difference_method="one-sided" if np.any(c.smooth) else fd[name].method,
                odd=odd.get(name), intermediate=name in problem.intermediates, **extra,
            )
        )  # fmt: skip
    return PointResult(
        at={name: v.as_list() for name, v in point.items()},
        value=value,
        gradient=tuple(partials),
        notes=tuple(notes),
        differentiable=judge.differentiable(notes),
        of=of,
    )


def _where_overflowed(note, tree, env):
    """The overflow note names the innermost part whose value is beyond the dtype's range (exp(x) in
    log(1 + exp(x)) at 100 in float32), not f."""
    from gradcli.lang.printers import to_text
    from gradcli.lang.tree import children

    largest = float(np.finfo(note.data["dtype"]).max)
    with np.errstate(all="ignore"):
        for node in reversed(list(walk(tree))):  # children before parents
            if (
                children(node)
                and _beyond(node, env, largest)
                and not any(_beyond(c, env, largest) for c in children(node))
            ):
                value = np.asarray(numeric.value(node, env), dtype=np.float64)
                return replace(note, data={**note.data, "where": to_text(node), "where64": _plain(value)})
    return note


def _beyond(node, env, largest: float) -> bool:
    value = np.asarray(numeric.value(node, env), dtype=np.float64)
    return bool(np.any(np.isfinite(value) & (np.abs(value) > largest)))


def _rule_notes(problem: Problem, exact, truth, scale: float) -> list:
    """A custom rule that differs from the truth is what the user asked for: say so, without failing."""
    names = ", ".join(spec.name for spec in problem.customs)
    fd_tol = tolerance.finite_difference(problem.order)
    return [
        judge.Note("custom_rule", judge.INFO, name, {"names": names, "rule": exact[name], "truth": truth[name][1]})
        for name in problem.rows
        if not np.all(tolerance.close_each(exact[name], truth[name][1], fd_tol, scale))
    ]
