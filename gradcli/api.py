"""The library: gradcli.grad() computes a gradient three ways and judges whether they agree."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from gradcli import clip as clipping
from gradcli import explain, numeric
from gradcli.clip import Clip
from gradcli.errors import LimitError, ParseError, PointError
from gradcli.expr import (
    BinOp,
    Custom,
    CustomSpec,
    ListOf,
    Node,
    Program,
    free_names,
    has_stops,
    infer_shape,
    inline,
    parse_custom,
    parse_program,
    uses_tensor_ops,
    walk,
    without_stops,
)
from gradcli.expr import Name as NameNode
from gradcli.points import Value, check_name, parse_value
from gradcli.result import GradResult, Partial, PointResult, Tolerance

TAPE_TOLERANCE = {"float64": Tolerance(rtol=1e-9, atol=1e-12), "float32": Tolerance(rtol=1e-4, atol=1e-5)}
FD_TOLERANCE = Tolerance(rtol=1e-6, atol=1e-8)
MAX_ORDER = 6
# The symbolic witness works element by element; past these sizes sympy needs seconds to minutes.
MAX_SYMBOLIC_ELEMENTS = 300
MAX_MATMUL_PRODUCTS = 2000


def fd_tolerance(order: int) -> Tolerance:
    """Finite differences of order n in float64 are good to about eps**(2/(n+2)); allow 100 times that."""
    if order == 1:
        return FD_TOLERANCE
    rtol = float(f"{numeric.fd_relative(order):.2g}")
    return Tolerance(rtol=rtol, atol=rtol)


Assignment = Mapping[str, object]


@dataclass(frozen=True)
class Problem:
    """A parsed, checked request: the tree, its points and which names are watched."""

    text: str
    tree: Node
    points: tuple[dict[str, Value], ...]
    constants: dict[str, Value]
    variables: tuple[str, ...]
    rows: tuple[str, ...]
    watched: frozenset[str]
    dtype: str
    order: int = 1
    clip: Clip | None = None
    targets: tuple[tuple[str, Node], ...] = ()
    of: bool = False  # several targets were asked for with --of
    persistent: bool = False
    source: str = ""  # the expression as typed
    customs: tuple[CustomSpec, ...] = ()

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        first = {**self.points[0], **self.constants}
        return {name: value.shape for name, value in first.items()}

    @property
    def batchable(self) -> bool:
        """Scalar-only and elementwise: many points can go through as one tensor."""
        return not uses_tensor_ops(self.tree) and all(not s for s in self.shapes.values())

    @property
    def differentiated(self) -> tuple[str, ...]:
        return tuple(name for name in self.rows if name in self.watched)


def _as_text(name: str, value: object) -> str:
    """Library callers may pass text, numbers, nested lists or numpy arrays; all go through the parser."""
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bool) or not isinstance(value, int | float | list | tuple):
        raise PointError(f"bad value for {name}: give a number, a nested list of numbers, or text")
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise PointError(f"bad value for {name}: give a number, a nested list of numbers, or text") from exc


def _values(assignment: Assignment) -> dict[str, Value]:
    if not isinstance(assignment, Mapping):
        raise PointError("a point must be a dict of name -> value, e.g. {'x': 2}")
    values = {}
    for name, raw in assignment.items():
        if not isinstance(name, str):
            raise PointError(f"bad name {name!r}: names are text, e.g. 'x'")
        check_name(name)
        values[name] = parse_value(_as_text(name, raw), name)
    return values


def _order_of_appearance(tree: Node) -> list[str]:
    names = free_names(tree)
    seen: list[str] = []
    for node in sorted((n for n in walk(tree) if isinstance(n, NameNode)), key=lambda n: n.col):
        if node.id in names and node.id not in seen:
            seen.append(node.id)
    return seen


def prepare(
    expression: str,
    at: Assignment | Sequence[Assignment],
    const: Assignment | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
    order: int = 1,
    vector_output: bool = False,
    clip: Clip | None = None,
    stop: Iterable[str] = (),
    of: Iterable[str] = (),
    persistent: bool = False,
    custom: Iterable[str | CustomSpec] = (),
) -> Problem:
    """Parse and check everything; raise GradcliError on any invalid input.

    With vector_output (jacobian), the expression may be a list of scalar
    expressions, `[x*y, x + y]`, or any tensor-valued expression.
    """
    if dtype not in TAPE_TOLERANCE:
        raise PointError(f"dtype must be float64 or float32, not {dtype!r}")
    if not 1 <= order <= MAX_ORDER:
        raise PointError(f"--order must be between 1 and {MAX_ORDER}, not {order}")
    customs = _customs(custom)
    program = parse_program(expression, allow_lists=vector_output, customs=customs)
    steps = inline(program, _check_steps(program, "--stop", stop))
    targets = tuple((name, steps[name]) for name in _check_steps(program, "--of", of) or program.names[-1:])
    whole = ListOf(tuple(tree for _, tree in program.steps))
    for _, tree in targets:
        _check_lists(tree)
    names = frozenset().union(*(free_names(tree) for tree in steps.values()))
    if not names:
        raise ParseError("the expression has no variables to differentiate")
    raw_points = [at] if isinstance(at, Mapping | str) else list(at)
    if not raw_points:
        raise PointError(f"no point given: add --at, for example --at {sorted(names)[0]}=1")
    points = tuple(_values(p) for p in raw_points)
    constants = _values(const or {})
    for point in points:
        _check_names(names, point, constants)
    shapes = _check_shapes(points, constants)
    for _, tree in targets:
        _check_target_shape(tree, shapes, vector_output)
    appearance = [n for n in _order_of_appearance(whole) if n in names]
    variables = tuple(n for n in appearance if n not in constants)
    const_names = tuple(n for n in appearance if n in constants)
    watch = tuple(watch or ())
    for name in watch:
        if name not in constants:
            raise PointError(f"--watch {name}: only constants (--const) need watching; variables are watched already")
    rows = tuple(wrt) if wrt else variables + const_names
    for name in rows:
        if name not in names:
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(sorted(names))})")
    if len(set(rows)) != len(rows):
        raise PointError("--wrt names a variable twice")
    for name in wrt or ():
        if name in constants and name not in watch:
            raise PointError(f"--wrt {name}: {name} is a constant, which the tape does not watch: add --watch {name}")
    if order > 1 and any(shapes[name] for name in rows):
        raise PointError("--order above 1 needs scalar variables; use gradcli hessian for tensors")
    if clip is not None and order > 1:
        raise PointError("clipping applies to first-order gradients; drop --order or the --clip option")
    if persistent and not of:
        raise PointError("--persistent matters only with several targets: add --of, e.g. --of y,z")
    watched = frozenset(variables) | set(watch)
    return Problem(
        program.text, targets[0][1], points, constants, variables, rows, watched, dtype, order, clip,
        targets=targets, of=bool(of), persistent=persistent, source=expression, customs=tuple(customs.values()),
    )  # fmt: skip


def _customs(custom: Iterable[str | CustomSpec]) -> dict[str, CustomSpec]:
    specs: dict[str, CustomSpec] = {}
    for item in custom or ():
        spec = item if isinstance(item, CustomSpec) else parse_custom(item)
        if spec.name in specs:
            raise PointError(f"--custom {spec.name} is defined twice")
        specs[spec.name] = spec
    return specs


def _check_steps(program: Program, option: str, names: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names or ())
    for name in names:
        if name not in program.names or name == "f" and len(program.steps) == 1:
            known = ", ".join(program.names) if len(program.steps) > 1 else "none: name steps like y = x*x; z = y + 1"
            raise PointError(f"{option} {name}: not a named step of the expression (steps: {known})")
    return names


def _check_target_shape(tree: Node, shapes, vector_output: bool) -> None:
    _check_symbolic_cost(tree, shapes)
    shape = infer_shape(tree, shapes)
    if isinstance(tree, ListOf) and shape[1:]:
        raise ParseError("each item of the list must be a single number, not a tensor", tree.col)
    if shape and not vector_output:
        raise ParseError(
            f"the expression gives a {'x'.join(map(str, shape))} tensor, not a single number: "
            "wrap it in sum(...) or mean(...), or use gradcli jacobian"
        )


def _check_symbolic_cost(tree: Node, shapes: dict[str, tuple[int, ...]]) -> None:
    elements = sum(int(np.prod(shape)) for shape in shapes.values() if shape)
    if elements > MAX_SYMBOLIC_ELEMENTS:
        raise LimitError(
            f"the tensors have {elements} elements in all; the limit is {MAX_SYMBOLIC_ELEMENTS} "
            "(sympy differentiates element by element)"
        )
    products = 0
    for node in walk(tree):
        if isinstance(node, BinOp) and node.op == "@":
            left, right = infer_shape(node.left, shapes), infer_shape(node.right, shapes)
            if len(left) == 2 and len(right) == 2:
                products += left[0] * left[1] * right[1]
    if products > MAX_MATMUL_PRODUCTS:
        raise LimitError(f"the matrix products need {products} multiplications; the limit is {MAX_MATMUL_PRODUCTS}")


def _check_lists(tree: Node) -> None:
    """A list may only be the whole expression, [f1, f2, ...], with no list inside it."""
    inner = [n for n in walk(tree) if isinstance(n, ListOf) and n is not tree]
    if inner:
        raise ParseError("a list may only be the whole expression, as in [x*y, x + y]", inner[0].col)


def _check_names(names: frozenset[str], point: dict[str, Value], constants: dict[str, Value]) -> None:
    both = set(point) & set(constants)
    if both:
        raise PointError(f"{', '.join(sorted(both))} given both with --at and --const")
    given = set(point) | set(constants)
    missing, extra = names - given, given - names
    if missing:
        listed = ", ".join(sorted(missing))
        raise PointError(f"no value for {listed}: give it with --at {sorted(missing)[0]}=... or --const")
    if extra:
        raise PointError(f"{', '.join(sorted(extra))} not in the expression (its names are {', '.join(sorted(names))})")


def _check_shapes(points, constants) -> dict[str, tuple[int, ...]]:
    shapes = {name: v.shape for name, v in {**points[0], **constants}.items()}
    for point in points[1:]:
        for name, value in point.items():
            if value.shape != shapes[name]:
                raise PointError(f"{name} has a different shape at different points")
    return shapes


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
) -> GradResult:
    """The gradient of `expression` at each point, by GradientTape, sympy and finite differences.

    With order > 1, each row is the pure partial derivative of that order (nested tapes).

    >>> gradcli.grad("x**2", at={"x": 3}).results[0].gradient[0].tape
    6.0
    """
    options = {"clip": clip, "stop": stop, "of": of, "persistent": persistent, "custom": custom}
    return solve(prepare(expression, at, const, wrt, watch, dtype, order, **options))


def solve(problem: Problem) -> GradResult:
    envs = [_env(problem, point) for point in problem.points]
    recorded = _record_targets(problem, envs) if problem.persistent else {}
    results = []
    for name, tree in problem.targets:
        target = replace(problem, tree=tree)
        results += _solve_target(target, envs, recorded.get(name), name if problem.of else None)
    return GradResult(
        expression=problem.text,
        input=problem.source or problem.text,
        wrt=problem.rows,
        constants={name: v.as_list() for name, v in problem.constants.items()},
        dtype=problem.dtype,
        tape_tolerance=TAPE_TOLERANCE[problem.dtype],
        fd_tolerance=fd_tolerance(problem.order),
        order=problem.order,
        results=tuple(results),
        clip=problem.clip,
        targets=tuple(name for name, _ in problem.targets) if problem.of else (),
        persistent=problem.persistent,
        recordings=(1 if problem.persistent else len(problem.targets)) if problem.of else 1,
        customs={spec.name: spec.text for spec in problem.customs},
    )


def _solve_target(problem: Problem, envs, recorded, of: str | None) -> list[PointResult]:
    from gradcli.symbolic import Symbolic

    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    described = {name: symbolic.describe(name, problem.order) for name in problem.rows}
    truth = None
    if any(isinstance(n, Custom) for n in walk(problem.tree)):
        truth = Symbolic(problem.tree, problem.shapes, problem.constants, rule=False)
        true_described = {name: truth.describe(name, problem.order) for name in problem.rows}
    tape_values, tape_grads = recorded or _tape(problem, envs)
    unstopped = _tape(replace(problem, tree=without_stops(problem.tree)), envs)[1] if has_stops(problem.tree) else None
    fd = _finite_differences(problem, envs)
    results = []
    for i, (point, env) in enumerate(zip(problem.points, envs, strict=True)):
        subs = symbolic.substitutions({**point, **problem.constants})
        exact = {name: symbolic.exact(name, subs, problem.order) for name in problem.rows}
        tape = {name: (tape_grads[i].get(name, None)) for name in problem.rows}
        fd_i = {name: fd[i][name] for name in problem.rows}
        raw = _clip(problem, tape, exact, fd_i) if problem.clip else None
        extra = {"of": of, "without_stop": unstopped[i] if unstopped else None}
        if truth is not None:
            true_subs = truth.substitutions({**point, **problem.constants})
            extra["truth"] = {
                name: (true_described[name], truth.exact(name, true_subs, problem.order)) for name in problem.rows
            }
        results.append(_judge(problem, point, env, float(tape_values[i]), tape, exact, fd_i, described, raw, **extra))
    return results


def _record_targets(problem: Problem, envs) -> dict:
    """--persistent: one recording per point serves every target's gradient call."""
    from gradcli.tape import record_targets

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
    from gradcli.tape import clip as tf_clip

    names = problem.differentiated
    raw = {"tape": {n: tape[n] for n in names}, "exact": {n: exact[n] for n in names}}
    tape.update(tf_clip(problem.clip, raw["tape"], problem.dtype))
    exact.update(clipping.apply(problem.clip, raw["exact"]))
    fd.update(clipping.apply(problem.clip, {n: fd[n] for n in names}))
    return raw


def _env(problem: Problem, point: dict[str, Value]) -> dict[str, np.ndarray]:
    return {name: np.asarray(v.as_list(), dtype=np.float64) for name, v in {**point, **problem.constants}.items()}


def _stack(envs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.array([env[name] for env in envs]) for name in envs[0]}


def _tape(problem: Problem, envs):
    from gradcli.tape import record

    variables = frozenset(problem.variables)
    watched_constants = problem.watched - variables
    if problem.batchable and len(envs) > 1:
        values, grads = record(problem.tree, _stack(envs), variables, watched_constants, problem.dtype, problem.order)
        return list(values), [{name: g[i] for name, g in grads.items()} for i in range(len(envs))]
    runs = [record(problem.tree, env, variables, watched_constants, problem.dtype, problem.order) for env in envs]
    return [v for v, _ in runs], [g for _, g in runs]


def _finite_differences(problem: Problem, envs):
    def estimates(env, batched):
        fn = numeric.function(problem.tree, env)
        if problem.order == 1:
            return {name: numeric.central_difference(fn, env, name, batched=batched) for name in problem.rows}
        return {name: numeric.higher_difference(fn, env, name, problem.order) for name in problem.rows}

    if problem.batchable and len(envs) > 1:
        columns = estimates(_stack(envs), True)
        return [{name: columns[name][i] for name in problem.rows} for i in range(len(envs))]
    return [estimates(env, False) for env in envs]


def close_each(a, b, tolerance: Tolerance, scale) -> np.ndarray:
    """Elementwise |a - b| <= atol * max(1, scale) + rtol * max(|a|, |b|), both finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        bound = tolerance.atol * np.maximum(1.0, scale) + tolerance.rtol * np.maximum(np.abs(a), np.abs(b))
        return np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= bound)


def _close(a, b, tolerance: Tolerance, scale: float) -> bool:
    return bool(np.all(close_each(a, b, tolerance, scale)))


def _plain(value):
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    return array.tolist() if array.shape else float(array)


def _judge(problem, point, env, value, tape, exact, fd, described, raw=None, of=None, without_stop=None, truth=None):
    scale = abs(value) if np.isfinite(value) else 1.0
    tape_tol = TAPE_TOLERANCE[problem.dtype]
    partials = []
    for name in problem.rows:
        watched = name in problem.watched
        # With a custom gradient the tape follows the user's rule (exact), while finite
        # differences see the true function: each is checked against its own witness.
        true_exact = truth[name][1] if truth else exact[name]
        agree = _close(fd[name], true_exact, fd_tolerance(problem.order), scale)
        if watched:
            agree = agree and _close(tape[name], exact[name], tape_tol, scale)
        extra = {}
        if raw is not None:
            extra["unclipped"] = _plain(raw["tape"].get(name))
            extra["exact_unclipped"] = _plain(raw["exact"].get(name, exact[name]))
        if without_stop is not None and watched:
            extra["without_stop"] = _plain(without_stop.get(name))
        if truth:
            extra["true_symbolic"], extra["true_exact"] = truth[name][0], _plain(truth[name][1])
        values = (_plain(tape[name]), described[name], _plain(exact[name]), _plain(fd[name]))
        partials.append(Partial(name, watched, *values, agree, clipped=raw is not None, **extra))
    # Differentiability is judged along the sources the tape differentiates; an
    # unwatched constant's row is shown for comparison only.
    differentiated = [name for name in problem.rows if name in problem.watched]
    notes = []
    events = numeric.events_at(problem.tree, env, frozenset(differentiated))
    kinks = [e for e in events if e.kind == "kink"]
    if truth:
        notes += _rule_notes(problem, partials, scale)
    sides = {}
    if kinks:  # only then is f needed again, as a function for one-sided slopes
        fn = numeric.function(problem.tree, env)
        sides = {name: numeric.one_sided(fn, env, name) for name in differentiated}
    broken = [name for name, (left, right) in sides.items() if np.any(numeric.sides_differ(left, right, scale))]
    for name in broken:  # one note per variable whose one-sided slopes differ, naming a kink it depends on
        event = next((e for e in kinks if name in e.names), kinks[0])
        left, right = sides[name]
        notes.append(explain.kink(event, name, _plain(left), _plain(right), _plain(tape[name]), _plain(exact[name])))
    info, smooth = [], set()
    if kinks and not broken:
        partials, found, info, smooth = _smooth_at_kink(problem, env, fn, kinks, partials, scale)
        notes += found
    # Where the derivative exists at a kink, a non-finite tape or symbolic value is a wrong answer (explained
    # in the note), not a singularity: only the one-sided estimate decides finiteness there.
    finite = np.isfinite(value) and all(
        np.all(np.isfinite(np.asarray(v, dtype=np.float64)))
        for p in partials
        if p.watched
        for v in ((p.finite_difference,) if p.name in smooth else (p.exact, p.finite_difference, p.tape))
    )
    poles = [e for e in events if e.kind == "pole"]  # finite in floats, infinite in exact arithmetic
    if not finite or poles:
        singular = [explain.singular(e) for e in events if e.kind in ("singular", "pole")]
        notes.extend(singular or ([] if notes else [explain.unexplained_not_finite(value)]))
        notes.append(explain.methods_say(partials))
    rule_notes = [n for n in notes if n.startswith(explain.CUSTOM_RULE)]
    return PointResult(
        at={name: v.as_list() for name, v in point.items()},
        value=value,
        gradient=tuple(partials),
        notes=tuple(notes + info),
        differentiable=len(notes) == len(rule_notes),
        of=of,
    )


def _smooth_at_kink(problem: Problem, env, fn, kinks, partials, scale: float):
    """At a kink where first derivatives exist, does the derivative of order n exist?

    Returns (partials, notes, informational notes, names along which it exists).

    It does where the one-sided derivatives of every order 1..n agree. If some order's sides differ,
    a note says so (exit 3). If all agree, the central finite difference straddles the kink and is only
    O(h) accurate there (cosh(max(x, 3*x)) at 0: 2e-8 instead of 0), so the finite-difference witness
    becomes the mean of the two one-sided estimates, judged within their estimated error; an
    informational note says so (exit 0 or 1, not 3). Tensor variables are checked element by element.
    """
    found, info, judged, smooth = [], [], [], set()
    for partial in partials:
        if not partial.watched or not any(partial.name in e.names for e in kinks):
            judged.append(partial)
            continue
        name = partial.name
        event = next((e for e in kinks if name in e.names), kinks[0])
        for k in range(1, problem.order + 1):  # above 1, variables are scalars
            left, right, error, noise = numeric.one_sided_elements(fn, env, name, k)
            differ = numeric.order_sides_differ(left, right, error, k)
            if np.any(differ):
                first = tuple(np.argwhere(differ)[0]) if differ.shape else ()
                found.append(explain.higher_order_kink(event, name, k, problem.order, left[first], right[first]))
                judged.append(partial)
                break
            noisy = numeric.too_noisy(left, right, noise, k)
            if np.any(noisy):
                first = tuple(np.argwhere(noisy)[0]) if noisy.shape else ()
                found.append(explain.kink_too_noisy(event, name, k, problem.order, noise[first]))
                judged.append(partial)
                break
        else:
            # The derivative exists, and the one-sided estimates (which agree) are its witness. sympy's
            # expression evaluated exactly at the kink need not be: it takes Heaviside(0) = 1/2 at a tie.
            estimate = (left + right) / 2
            custom = partial.true_exact is not None
            truth = np.asarray(partial.true_exact if custom else partial.exact, dtype=np.float64)
            exact_ok = bool(np.all(numeric.within_one_sided_error(truth, estimate, error, problem.order)))
            if custom or exact_ok:  # judged as anywhere else: the tape against the exact value
                tape_ok = _close(partial.tape, partial.exact, TAPE_TOLERANCE[problem.dtype], scale)
            else:
                tape = np.asarray(partial.tape, dtype=np.float64)
                tape_ok = bool(np.all(numeric.within_one_sided_error(tape, estimate, error, problem.order)))
            judged.append(replace(partial, finite_difference=_plain(estimate), agree=tape_ok))
            smooth.add(name)
            sides, tape_seen, exact_seen = (
                (_plain(left), _plain(right)),
                (partial.tape, tape_ok),
                (_plain(truth), exact_ok),
            )
            info.append(explain.smooth_at_kink(event, name, problem.order, sides, tape_seen, exact_seen))
    return judged, found, info, smooth


def _rule_notes(problem: Problem, partials, scale: float) -> list[str]:
    """A custom rule that differs from the truth is what the user asked for: say so, without failing."""
    names = ", ".join(spec.name for spec in problem.customs)
    return [
        explain.custom_rule(names, p.name, p.exact, p.true_exact)
        for p in partials
        if not _close(p.exact, p.true_exact, fd_tolerance(problem.order), scale)
    ]
