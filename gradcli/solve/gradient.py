"""The library: gradcli.grad() computes a gradient three ways and judges whether they agree."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, ParseError, PointError
from gradcli.judge import verdict as judge
from gradcli.lang.parser import CustomSpec, Program, inline, parse_custom, parse_program
from gradcli.lang.tree import (
    BinOp,
    Call,
    Custom,
    ListOf,
    Node,
    free_names,
    has_stops,
    infer_shape,
    uses_tensor_ops,
    walk,
    without_stops,
)
from gradcli.lang.tree import Name as NameNode
from gradcli.lang.values import Value, check_name, parse_value
from gradcli.results.gradient import GradResult, Partial, PointResult
from gradcli.solve.problem import Options
from gradcli.witnesses import clip as clipping
from gradcli.witnesses import differences, numeric
from gradcli.witnesses.clip import Clip

MAX_ORDER = 6
INTEGER = "int32"  # grad --dtype int32: the tape's answer for integers (no gradient)
SUM = "sum"  # the target a list or tensor expression is to tape.gradient
# The symbolic witness works element by element; past these sizes sympy needs seconds to minutes.
MAX_SYMBOLIC_ELEMENTS = 300
MAX_MATMUL_PRODUCTS = 2000


Assignment = Mapping[str, object]
DEFAULTS = Options()


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
    unconnected: str | None = None  # "none" or "zero": TensorFlow's answer for a source f does not use
    summed: str | None = None  # "list" or "tensor": several targets, which tape.gradient sums
    frameworks: bool = False  # also JAX and PyTorch, where installed

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        first = {**self.points[0], **self.constants}
        return {name: value.shape for name, value in first.items()}

    @property
    def batchable(self) -> bool:
        """Scalar-only and elementwise: many points can go through as one tensor."""
        elementwise = not uses_tensor_ops(self.tree) and all(not s for s in self.shapes.values())
        return elementwise and bool(free_names(self.tree))  # a constant f has one value, not one per point

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


def prepare(expression: str, at: Assignment | Sequence[Assignment], options: Options = DEFAULTS) -> Problem:
    """Parse and check everything; raise GradcliError on any invalid input.

    With options.vector_output (jacobian), the expression may be a list of scalar expressions,
    `[x*y, x + y]`, or any tensor-valued expression. The tape's own answers to what it accepts (grad):
    with `several`, a list or tensor target is the sum of its targets, each also a target of its own;
    with `unconnected` ("none" or "zero"), names given with --at that f does not use are sources the
    tape answers None or 0 for; with `integers`, dtype may be int32.
    """
    _check_options(options)
    customs = _customs(options.custom, options.from_latex)
    several = options.several and not options.of
    lists = options.vector_output or several
    program = parse_program(expression, allow_lists=lists, customs=customs, latex=options.from_latex)
    steps = inline(program, _check_steps(program, "--stop", options.stop))
    targets = tuple((name, steps[name]) for name in _check_steps(program, "--of", options.of) or program.names[-1:])
    for _, tree in targets:
        _check_lists(tree)
    names = frozenset().union(*(free_names(tree) for tree in steps.values()))
    points, constants, extras = _given(at, options, names)
    shapes = _check_shapes(points, constants)
    if options.dtype == INTEGER:
        _check_integers(points, constants)
    for _, tree in targets:
        _check_target_shape(tree, shapes, lists)
    summed = None
    if several and infer_shape(targets[0][1], shapes):
        summed, targets = _sum_targets(targets[0][1])
    whole = ListOf(tuple(tree for _, tree in program.steps))
    variables, rows = _rows(whole, names, extras, constants, options)
    _check_tape_options(options, shapes, rows)
    watched = frozenset(variables) | set(options.watch)
    return Problem(
        program.text, targets[0][1], points, constants, variables, rows, watched, options.dtype, options.order,
        options.clip, targets=targets, of=bool(options.of) or summed is not None, persistent=options.persistent,
        source=expression, customs=tuple(customs.values()), unconnected=options.unconnected, summed=summed,
    )  # fmt: skip


def _check_options(options: Options) -> None:
    if options.dtype not in tolerance.TAPE and not (options.integers and options.dtype == INTEGER):
        kinds = "float64, float32 or int32" if options.integers else "float64 or float32"
        raise PointError(f"dtype must be {kinds}, not {options.dtype!r}")
    if options.unconnected not in (None, "none", "zero"):
        raise PointError(f"--unconnected must be none or zero, not {options.unconnected!r}")
    if not 1 <= options.order <= MAX_ORDER:
        raise PointError(f"--order must be between 1 and {MAX_ORDER}, not {options.order}")


def _given(at, options: Options, names: frozenset[str]):
    """The points and constants, read as values (never as LaTeX) and checked against the expression's
    names; and the names given at every point that the expression does not use (unconnected sources)."""
    raw_points = [at] if isinstance(at, Mapping | str) else list(at)
    unconnected = options.unconnected is not None
    sources_given = unconnected and bool(raw_points) and all(isinstance(p, Mapping) and p for p in raw_points)
    if not names and not sources_given:  # a constant f is still a question for the tape when sources are given
        raise ParseError("the expression has no variables to differentiate")
    if not raw_points:
        raise PointError(f"no point given: add --at, for example --at {sorted(names)[0]}=1")
    points = tuple(_values(p) for p in raw_points)
    constants = _values(options.const or {})
    for point in points:
        _check_names(names, point, constants, unconnected)
    extras = tuple(n for n in points[0] if n not in names)
    if any(set(point) - names != set(extras) for point in points):
        raise PointError("give the same names at every point")
    return points, constants, extras


def _rows(whole: Node, names, extras, constants, options: Options) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The variables (in order of appearance, then unconnected sources) and the rows: what is differentiated."""
    appearance = [n for n in _order_of_appearance(whole) if n in names]
    variables = tuple(n for n in appearance if n not in constants) + extras
    const_names = tuple(n for n in appearance if n in constants)
    for name in options.watch:
        if name not in constants:
            raise PointError(f"--watch {name}: only constants (--const) need watching; variables are watched already")
    rows = options.wrt if options.wrt else variables + const_names
    for name in rows:
        if name not in names | set(extras):
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(sorted(names))})")
    if len(set(rows)) != len(rows):
        raise PointError("--wrt names a variable twice")
    for name in options.wrt or ():
        if name in constants and name not in options.watch:
            raise PointError(f"--wrt {name}: {name} is a constant, which the tape does not watch: add --watch {name}")
    return variables, rows


def _check_tape_options(options: Options, shapes, rows) -> None:
    if options.order > 1 and any(shapes[name] for name in rows):
        raise PointError("--order above 1 needs scalar variables; use gradcli hessian for tensors")
    if options.clip is not None and options.order > 1:
        raise PointError("clipping applies to first-order gradients; drop --order or the --clip option")
    if options.persistent and not options.of:
        raise PointError("--persistent matters only with several targets: add --of, e.g. --of y,z")


def _sum_targets(tree: Node) -> tuple[str, tuple[tuple[str, Node], ...]]:
    """A list or tensor target: tape.gradient of several targets is the gradient of their sum. The sum
    comes first (what the tape returns), then each item of a list as a target of its own."""
    items = tree.items if isinstance(tree, ListOf) else ()
    own = tuple((f"f[{i}]", item) for i, item in enumerate(items))
    return ("list" if items else "tensor"), ((SUM, Call("sum", (tree,), tree.col)), *own)


def _check_integers(points, constants) -> None:
    limit = np.iinfo(np.int32)
    for values in (*points, constants):
        for name, value in values.items():
            array = np.asarray(value.as_list(), dtype=np.float64)
            if not np.all((array == np.round(array)) & (array >= limit.min) & (array <= limit.max)):
                raise PointError(f"--dtype int32 takes whole numbers that fit in 32 bits; {name} is not one")


def _customs(custom: Iterable[str | CustomSpec], from_latex: bool = False) -> dict[str, CustomSpec]:
    specs: dict[str, CustomSpec] = {}
    for item in custom or ():
        spec = item if isinstance(item, CustomSpec) else parse_custom(item, from_latex)
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


def _check_names(
    names: frozenset[str], point: dict[str, Value], constants: dict[str, Value], unconnected: bool = False
) -> None:
    both = set(point) & set(constants)
    if both:
        raise PointError(f"{', '.join(sorted(both))} given both with --at and --const")
    given = set(point) | set(constants)
    missing, extra = names - given, given - names
    if missing:
        listed = ", ".join(sorted(missing))
        raise PointError(f"no value for {listed}: give it with --at {sorted(missing)[0]}=... or --const")
    if unconnected:
        extra -= set(point)
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
    unconnected: str = "none",
    frameworks: bool = False,
    from_latex: bool = False,
) -> GradResult:
    """The gradient of `expression` at each point, by GradientTape, sympy and finite differences.

    With order > 1, each row is the pure partial derivative of that order (nested tapes). A list or
    tensor expression is several targets (the tape returns the gradient of their sum); a name given in
    `at` that the expression does not use is an unconnected source (None, or 0 with unconnected="zero");
    dtype "int32" shows what the tape does with integers (no gradient). from_latex=True reads the expression
    as LaTeX (--from-latex); point values never are.

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
    return solve(replace(problem, frameworks=frameworks))


def _check_frameworks(problem: Problem) -> None:
    unsupported = {
        "--order above 1": problem.order > 1, "--custom": bool(problem.customs),
        "clipping": problem.clip is not None, "--dtype int32": problem.dtype == INTEGER,
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
        unconnected=problem.unconnected if any(n.kind == "unconnected" for r in results for n in r.notes) else None,
    )


def _solve_target(problem: Problem, envs, recorded, of: str | None, several: bool = False) -> list[PointResult]:
    from gradcli.witnesses.symbolic import Symbolic

    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    described = {name: symbolic.describe(name, problem.order) for name in problem.rows}
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
        tape64 = _tape64(problem, env) if problem.dtype == "float32" else None
        extra["notes"] = notes + _integer_notes(problem, warnings[i])
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
    notes, partials = [], []
    for p in result.gradient:
        if p.name not in rows:
            partials.append(p)
            continue
        values = {"tensorflow": p.tape, **{fw: _plain(g[p.name]) for fw, g in others.items()}}
        partials.append(replace(p, frameworks=values))
        notes += judge.frameworks(p.name, values, p.exact, result.notes, problem.dtype)
    return replace(result, gradient=tuple(partials), notes=result.notes + tuple(notes))


def _tape_rule_notes(problem: Problem, several: bool) -> list:
    """What the tape does with several targets and with sources f does not use, one note each."""
    used = free_names(problem.tree)
    notes = [judge.Note("unconnected", judge.INFO, name, {"mode": problem.unconnected})
             for name in problem.differentiated if name not in used and problem.unconnected]  # fmt: skip
    if several:
        own = [name for name, _ in problem.targets if name != SUM]
        shape = infer_shape(problem.tree.args[0], problem.shapes)
        notes.insert(0, judge.Note("several_targets", judge.INFO, None, {"form": problem.summed, "targets": own,
                                                                          "shape": shape}))  # fmt: skip
    return notes


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
    from gradcli.witnesses.tape import record

    variables = frozenset(problem.variables)
    watched_constants = problem.watched - variables
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
            return {name: differences.derivative(fn, env, name, batched=batched) for name in problem.rows}
        return {name: _higher(fn, env, name, problem.order) for name in problem.rows}

    if problem.batchable and len(envs) > 1:
        columns = estimates(_stack(envs), True)
        return [{name: _element(columns[name], i) for name in problem.rows} for i in range(len(envs))]
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
            )
        )
    rules = (_rule_notes(problem, exact, truth, scale) if truth else []) + list(notes)
    rules += [judge.Note("kink_in_constant", judge.INFO, None, {"event": e}) for e in still]
    witnesses = {c.name: (tape[c.name] if c.name in differentiated else None, exact[c.name]) for c in columns}
    fn = fn or numeric.function(problem.tree, env)
    value64 = float(fn.base)
    continuous = lambda: bool(np.all(differences.continuous(fn, env, differentiated)))  # noqa: E731
    notes = judge.conclude(
        value, value64, problem.dtype, columns, witnesses, events, tape64, rules, fn.noise(env), continuous
    )
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
                odd=odd.get(name), **extra,
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


def _rule_notes(problem: Problem, exact, truth, scale: float) -> list:
    """A custom rule that differs from the truth is what the user asked for: say so, without failing."""
    names = ", ".join(spec.name for spec in problem.customs)
    fd_tol = tolerance.finite_difference(problem.order)
    return [
        judge.Note("custom_rule", judge.INFO, name, {"names": names, "rule": exact[name], "truth": truth[name][1]})
        for name in problem.rows
        if not np.all(tolerance.close_each(exact[name], truth[name][1], fd_tol, scale))
    ]
