"""How a question is posed: every option of grad, jacobian, hessian, jvp, vjp, --points and descend, held
once (Options), and `prepare`, which checks the expression, the points and the options into one Problem."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from gradcli import tolerance
from gradcli.errors import LimitError, ParseError, PointError
from gradcli.lang.parser import CustomSpec, Program, inline, operator_wrt, parse_custom, parse_program
from gradcli.lang.tree import BinOp, Call, ListOf, Node, free_names, infer_shape, uses_tensor_ops, walk
from gradcli.lang.tree import Name as NameNode
from gradcli.lang.values import Value, check_name, parse_value
from gradcli.witnesses.clip import Clip


@dataclass(frozen=True)
class Options:
    """The options of one question; `prepare` checks them against the expression and the points.

    `from_latex` reads the expression (and --custom bodies) as LaTeX, as --from-latex asks; point values and
    constants are never read as LaTeX. `vector_output`, `several`, `unconnected` and `integers` are the
    tape's own answers that only some commands pose (jacobian's tensors; grad's summed targets, unconnected
    sources and int32)."""

    const: Mapping[str, object] | None = None
    wrt: tuple[str, ...] | None = None
    watch: tuple[str, ...] = ()
    dtype: str = "float64"
    order: int = 1
    clip: Clip | None = None
    stop: tuple[str, ...] = ()
    of: tuple[str, ...] = ()
    persistent: bool = False
    custom: tuple[str | CustomSpec, ...] = ()
    from_latex: bool = False
    vector_output: bool = False
    several: bool = False
    unconnected: str | None = None
    integers: bool = False

    def __post_init__(self):
        for name in ("watch", "stop", "of", "custom"):  # any iterable a caller gives, held as a tuple
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        if self.wrt is not None:
            object.__setattr__(self, "wrt", _tuple(self.wrt))


def _tuple(items: Iterable | None) -> tuple:
    return tuple(items or ())


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
    watch: tuple[str, ...] = ()  # the constants the user asked the tape to watch (--watch)
    intermediates: tuple[str, ...] = ()  # --wrt names of steps: tape.gradient(f, y) for an intermediate y
    steps: tuple[tuple[str, Node], ...] = ()  # with intermediates: the program's steps up to the target, as typed
    reading: tuple = ()  # of lang.notation.Note: how the text was read where it could surprise

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        first = {**self.points[0], **self.constants}
        return {name: value.shape for name, value in first.items()}

    @property
    def batchable(self) -> bool:
        """Scalar-only and elementwise: many points can go through as one tensor."""
        if self.intermediates:  # each step is a tensor of its own, recorded point by point
            return False
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
    program = parse_program(
        expression, allow_lists=lists, customs=customs, latex=options.from_latex, variables=_declared(at, options)
    )
    options = replace(options, wrt=operator_wrt(program, options.wrt))  # d/dx x^2 sin x asks for d/dx
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
    variables, rows = _rows(whole, names, extras, constants, options, program.names)
    intermediates = tuple(n for n in rows if n in program.names and n not in names)
    _check_intermediates(intermediates, options, program, targets, summed)
    _check_tape_options(options, shapes, rows)
    watched = frozenset(variables) | set(options.watch) | set(intermediates)
    upto = program.names.index(targets[0][0]) + 1 if targets[0][0] in program.names else 0
    return Problem(
        program.text, targets[0][1], points, constants, variables, rows, watched, options.dtype, options.order,
        options.clip, targets=targets, of=bool(options.of) or summed is not None, persistent=options.persistent,
        source=expression, customs=tuple(customs.values()), unconnected=options.unconnected, summed=summed,
        intermediates=intermediates, steps=program.steps[:upto], watch=options.watch,
        reading=program.notes,
    )  # fmt: skip


def _declared(at, options: Options) -> frozenset[str] | None:
    """The names the user gave (--at, --const, --wrt): glued letters split into them; None if none."""
    raw = [at] if isinstance(at, Mapping | str) else list(at)
    names = {str(k) for point in raw if isinstance(point, Mapping) for k in point}
    names |= {str(k) for k in (options.const or {})} | set(options.wrt or ())
    return frozenset(names) or None


def _check_intermediates(intermediates, options: Options, program: Program, targets, summed) -> None:
    """--wrt a named step: tape.gradient(target, step) on the plain tape of one target."""
    from gradcli.solve.intermediate import cut

    for name in intermediates:
        if summed or len(targets) > 1:
            raise PointError(f"--wrt {name}: a named step is a source for one target at a time (one --of)")
        unsupported = {"--order above 1": options.order > 1, "clipping": options.clip is not None,
                       "--stop": bool(options.stop), "--persistent": options.persistent,
                       "--custom": bool(options.custom), "--dtype int32": options.dtype == INTEGER}  # fmt: skip
        for what, used in unsupported.items():
            if used:
                raise PointError(f"--wrt {name}: a named step as a source works on the plain tape, not with {what}")
        target = targets[0][0]
        if name == target:
            raise PointError(f"--wrt {name}: {name} is the target itself (its gradient by itself is 1)")
        position = program.names.index
        uses = position(name) < position(target) and any(
            isinstance(n, NameNode) and n.id == name for n in walk(cut(program.steps, target, name))
        )
        if not uses:
            raise PointError(f"--wrt {name}: the target {target} does not use the step {name}")


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
    if not raw_points and options.watch:  # watched constants alone are the point (tape.watch on a constant)
        raw_points = [{}]
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


def _rows(whole: Node, names, extras, constants, options: Options, steps=()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The variables (in order of appearance, then unconnected sources) and the rows: what is differentiated
    (a row may name a step: an intermediate source)."""
    appearance = [n for n in _order_of_appearance(whole) if n in names]
    variables = tuple(n for n in appearance if n not in constants) + extras
    const_names = tuple(n for n in appearance if n in constants)
    for name in options.watch:
        if name not in constants:
            raise PointError(f"--watch {name}: only constants (--const) need watching; variables are watched already")
    rows = options.wrt if options.wrt else variables + const_names
    for name in rows:
        if name not in names | set(extras) | set(steps):
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
