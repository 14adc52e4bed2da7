"""The third witness: float64 numpy evaluation and kink detection (the finite differences are in differences.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcli.lang.functions import KINKS, NOT_ANALYTIC
from gradcli.lang.printers import to_text
from gradcli.lang.tree import (
    COMPARISONS,
    CONSTANTS,
    BinOp,
    Call,
    Custom,
    Neg,
    Node,
    Num,
    constant_value,
    evaluate,
    free_names,
    odd_root,
    substitute_node,
    walk,
)

EPS = np.finfo(np.float64).eps
ROUNDED = "rounded"  # Event.detail of a kink whose argument is 0 only up to rounding (sin(x) at x = pi)
ROUNDING_ULPS = 2  # |sin(u)| within this many spacings of u: u is the float nearest a zero of sin


@dataclass(frozen=True)
class Event:
    """A place where the point sits on a kink or a singularity of one function in the tree."""

    func: str  # abs, relu, max, min, clip, where, sqrt, log, division, power, asin, acos
    # "kink", "singular", "pole" (a zero that float64 can only come near, as cos at pi/2), or "untaken": a
    # singular point or pole inside the branch of a where that the condition does not take here
    kind: str
    arg: str  # the argument's text, as gradcli prints it (untaken: the where; where's kink: its condition)
    detail: str = ""  # untaken: the same where with the double-where guard, which keeps the branch finite
    names: frozenset[str] = frozenset()  # the watched names the argument depends on
    inner: str = ""  # untaken: the singular part of the untaken branch (sqrt(x), division by x)


_UNARY = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "exp": np.exp,
    "log2": np.log2, "log10": np.log10, "sqrt": np.sqrt, "cbrt": lambda u: _real_power(u, 1 / 3, 1), "abs": np.abs,
    "sec": lambda u: 1 / np.cos(u), "csc": lambda u: 1 / np.sin(u), "cot": lambda u: np.cos(u) / np.sin(u),
    "asec": lambda u: np.arccos(1 / u), "acsc": lambda u: np.arcsin(1 / u), "acot": lambda u: np.arctan(1 / u),
    "sech": lambda u: 1 / np.cosh(u), "csch": lambda u: 1 / np.sinh(u), "coth": lambda u: 1 / np.tanh(u),
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "sign": np.sign,
    "sigmoid": lambda u: 0.5 * (1 + np.tanh(0.5 * u)),
    "relu": lambda u: np.maximum(u, 0.0),
    "softplus": lambda u: np.logaddexp(0.0, u), "square": np.square,
}  # fmt: skip


def _real_power(a, b, p: int):
    """a**(p/q), q odd, real for a < 0; near a real a the analytic continuation (the complex step works)."""
    side = np.where(np.real(a) < 0, -1.0, 1.0)
    return (side if p % 2 else 1) * np.power(side * a, b)


def _softmax(u):
    e = np.exp(u - np.max(np.real(u), axis=-1, keepdims=True))  # the shift changes nothing, even at complex u
    return e / np.sum(e, axis=-1, keepdims=True)


def _log_softmax(u):
    return u - _logsumexp(u, axis=-1)


def _logsumexp(u, axis=None):
    top = np.max(np.real(u), axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    total = np.log(np.sum(np.exp(u - top), axis=axis, keepdims=True)) + top
    return total if axis is not None else total.reshape(())


_VECTORS = {"softmax": _softmax, "log_softmax": _log_softmax}
# what the double where puts in place of an untaken branch's argument: a value where the function is smooth
_SAFE = {"asin": 0.0, "acos": 0.0, "atanh": 0.0, "tan": 0.0, "sec": 0.0, "acosh": 2.0, "asec": 2.0, "acsc": 2.0}
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


_KINKS = KINKS  # where f or its slope changes across a point


class NumpyBackend:
    """Evaluates in float64; records kinks and singular points of parts that depend on `watched`."""

    def __init__(self, watched: frozenset[str] = frozenset(), record: bool = False, frozen: dict | None = None):
        self.watched = watched
        self.record = record
        self.events: list[Event] = []
        self.masks: dict[Event, np.ndarray] = {}
        self.frozen = frozen
        self.rounded: dict[int, np.ndarray] = {}  # id(call node) -> where sin/cos/tan is 0 up to rounding
        self.branches: list[np.ndarray] | None = None  # when a list: the side of every kink, in evaluation order
        self.context: list[tuple[Call, int, np.ndarray]] = []  # the where branches being evaluated, and where taken

    def number(self, node):
        return np.float64(node.value)

    def constant(self, name):
        return np.float64(CONSTANTS[name])

    def neg(self, a):
        return -a

    def stack(self, items):
        return np.stack(np.broadcast_arrays(*items))

    def custom(self, node, u):
        # finite differences see the true function: the body, not the user's backward rule
        return evaluate(node.body, {node.param: u}, self)

    def binop(self, node: BinOp, a, b):
        with np.errstate(all="ignore"):
            if node.op in "+-":
                result = a + b if node.op == "+" else a - b
                if self.record and free_names(node):  # a sum that cancels to within rounding of 0
                    self.rounded[id(node)] = _cancels(a, b, result)
                return result
            if node.op == "*":
                return a * b
            if node.op == "/":
                if self.record:
                    self._check(node.right, b == 0, "division", "singular", node.right)
                    self._check(node.right, self._near_zero(node.right) & (b != 0), "division", "pole", node.right)
                return a / b
            if node.op == "@":
                return np.matmul(a, b)
            root = odd_root(node.right)
            if self.record:
                self._check_power(node, a, b, real=root is not None)
            return np.power(a, b) if root is None else _real_power(a, b, root[0])

    def _check_power(self, node: BinOp, a, b, real: bool) -> None:
        at_zero = a == 0
        fractional_slope = at_zero & (b < 1) & (b != 0)
        power = f"**{to_text(node.right)}" if isinstance(node.right, Num) else f"**({to_text(node.right)})"
        self._check(node.left, fractional_slope, "power", "singular", node.left, power)
        near = self._near_zero(node.left) & (a != 0) & (b < 1) & (b != 0)
        self._check(node.left, near, "power", "pole", node.left, power)
        self._check(node.right, at_zero, "power", "singular", node.left, "exponent")
        if not real:  # an odd root (x**(1/3)) is real for a negative base
            self._check(node.left, (a < 0) & (b != np.round(b)), "power", "singular", node.left, "negative base")

    def select(self, node: Call, evaluate_child):
        """where(cond, a, b): the condition's sides first (its switch is a kink), then each branch knowing
        where it is taken, so that a singular point in the untaken branch is not one of f's own."""
        condition, *branches = node.args
        left, right = evaluate_child(condition.left), evaluate_child(condition.right)
        with np.errstate(all="ignore"):
            taken = np.asarray(COMPARISONS[condition.op](left, right))
            if self.branches is not None:
                self.branches.append(np.sign(left - right))
        if self.record:
            self._check(condition, left == right, "where", "kink", condition)
        values = []
        for index, (branch, mask) in enumerate(zip(branches, (taken, ~taken), strict=True), start=1):
            self.context.append((node, index, mask))
            try:
                values.append(evaluate_child(branch))
            finally:
                self.context.pop()
        return np.where(taken, *values)

    def call(self, node: Call, args):
        func, u = node.func, args[0]
        if func == "stop_gradient":
            if self.frozen is None:
                return u
            return self.frozen.setdefault(id(node), u)
        with np.errstate(all="ignore"):
            if self.record:  # only the evaluation at the point itself looks for events, not the stencils
                self._check_call(node, args)
            if self.branches is not None and func in _KINKS:
                self.branches.extend(_sides(func, args))
            if func in ("max", "min"):
                result = np.maximum(*args) if func == "max" else np.minimum(*args)
                if self.record:  # a rounded zero passes through when its side is the one chosen
                    first, second = (self._near_zero(n) for n in node.args)
                    self.rounded[id(node)] = np.where(result == args[0], first, second)
                return result
            if func in ("sin", "cos", "tan") and self.record:
                result = _UNARY[func](u)
                self.rounded[id(node)] = _rounded_zero(func, u, result)
                return result
            if func == "log":
                return np.log(u) / np.log(args[1]) if len(args) == 2 else np.log(u)
            if func == "sum":
                return np.sum(u)
            if func == "mean":
                return np.mean(u)
            if func == "logsumexp":
                return _logsumexp(u)
            if func == "clip":
                return np.minimum(np.maximum(u, args[1]), args[2])
            if func in _VECTORS:
                return _VECTORS[func](u)
            return _UNARY[func](u)

    def _check_call(self, node: Call, args) -> None:
        func, u, arg = node.func, args[0], node.args[0]
        if func in ("abs", "relu"):  # a kink at 0, or at a zero of sin or cos float64 only comes near
            self._check(arg, u == 0, func, "kink", arg)
            self._check(arg, self._near_zero(arg) & (u != 0), func, "kink", arg, ROUNDED)
        if func == "clip":  # a kink where u meets a bound
            self._check(node, (u == args[1]) | (u == args[2]), func, "kink", node)
        if func in ("max", "min"):
            self._check(node, args[0] == args[1], func, "kink", node)
            a, b = node.args
            rounded_tie = (self._near_zero(a) & (args[1] == 0)) | (self._near_zero(b) & (args[0] == 0))
            self._check(node, rounded_tie & (args[0] != args[1]), func, "kink", node, ROUNDED)
        if func == "cbrt":  # an infinite slope at 0
            self._check(arg, u == 0, func, "singular", arg)
            self._check(arg, self._near_zero(arg) & (u != 0), func, "pole", arg)
        if func in ("sqrt", "log", "log2", "log10"):
            self._check(arg, u <= 0, func, "singular", arg)
            self._check(arg, self._near_zero(arg) & (u > 0), func, "pole", arg)
        if func in ("tan", "sec"):  # a pole where cos(u) = 0; in floats pi/2 is only near it
            self._check(arg, _rounded_zero("cos", u, np.cos(u)), func, "pole", arg)
        if func in ("csc", "cot"):  # a pole where sin(u) = 0: exactly at 0, only near it at pi, 2pi, ...
            self._check(arg, _rounded_zero("sin", u, np.sin(u)), func, "pole", arg)
        if func in ("asin", "acos", "atanh"):
            self._check(arg, np.abs(u) >= 1, func, "singular", arg)
        if func in ("asec", "acsc"):
            self._check(arg, np.abs(u) <= 1, func, "singular", arg)
        if func in ("csc", "cot", "csch", "coth", "acot", "sign"):  # a pole, or a jump (acot, sign), at 0
            self._check(arg, u == 0, func, "singular", arg)
        if func == "acosh":
            self._check(arg, u <= 1, func, "singular", arg)

    def _near_zero(self, node: Node):
        """Where the node's value is a zero that float64 can only come near: of sin, cos or tan (cos(pi/2) =
        6e-17) or a sum that cancels (sin(x) + cos(x) at 3*pi/4), seen through signs, products, quotients
        and positive powers: -cos(x), 2*cos(x)**2."""
        if isinstance(node, Call) or (isinstance(node, BinOp) and node.op in "+-"):
            return self.rounded.get(id(node), False)
        if isinstance(node, Neg):
            return self._near_zero(node.operand)
        if isinstance(node, BinOp) and node.op == "*":
            return self._near_zero(node.left) | self._near_zero(node.right)
        if isinstance(node, BinOp) and node.op == "/":
            return self._near_zero(node.left)
        if isinstance(node, BinOp) and node.op == "**":
            exponent = constant_value(node.right)
            return self._near_zero(node.left) if exponent is not None and exponent > 0 else False
        return False

    def _check(self, depends_on: Node, hit, func: str, kind: str, arg: Node, detail: str = "") -> None:
        """Record an event where `hit` is true; `masks` keeps, per event, which elements (points) hit it."""
        names = free_names(depends_on) & self.watched
        if not self.record or not np.any(hit) or not names:
            return
        hit = np.asarray(hit)
        for where, index, taken in reversed(self.context):
            untaken = hit & ~taken
            if np.any(untaken) and kind in ("singular", "pole"):
                self._add(_untaken(where, index, func, arg, names), untaken)
            hit = hit & taken
        if np.any(hit):
            self._add(Event(func, kind, to_text(arg), detail, frozenset(names)), hit)

    def _add(self, event: Event, hit) -> None:
        if event not in self.events:
            self.events.append(event)
        self.masks[event] = self.masks.get(event, False) | np.asarray(hit)


def _sides(func: str, args) -> list:
    """The side of each of a kink function's switches: where two points differ, a kink lies between."""
    if func in ("max", "min"):
        return [np.sign(args[0] - args[1])]
    if func == "clip":
        return [np.sign(args[0] - args[1]), np.sign(args[0] - args[2])]
    return [np.sign(args[0])]


def _untaken(where: Call, index: int, func: str, arg: Node, names) -> Event:
    """The where trap: `arg` makes `func` singular in a branch the condition does not take here. The fix is
    the double where: the branch's argument guarded by the same condition, so it is finite where unused."""
    condition = where.args[0]
    if index == 2:
        condition = BinOp(_NEGATED[condition.op], condition.left, condition.right, condition.col)
    safe = _SAFE.get(func, 1.0)
    guard = Call("where", (condition, arg, Num(f"{safe:g}", safe)), arg.col)
    branches = list(where.args)
    branches[index] = substitute_node(branches[index], arg, guard)
    fixed = Call("where", tuple(branches), where.col)
    inner = f"division by {to_text(arg)}" if func == "division" else f"{func}({to_text(arg)})"
    if func == "power":
        inner = f"{to_text(arg)} to a power"
    return Event("where", "untaken", to_text(where), to_text(fixed), frozenset(names), inner)


def _cancels(a, b, result):
    """Where a sum is 0 only up to rounding: nonzero, and within two spacings of its larger term (sin(x) +
    cos(x) at the float nearest 3*pi/4 is 1.1e-16)."""
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(a), np.abs(b))
        return (result != 0) & (np.abs(result) <= ROUNDING_ULPS * np.spacing(size)) & (size > 0)


def _rounded_zero(func: str, u, result):
    """Where u is the float nearest a zero of sin, cos or tan (none is a float except sin(0) = tan(0) = 0).

    The nearest float to a zero lies within half a spacing of it, and these functions have slope 1 there,
    so |result| is at most about one spacing of u; two allow for u's own rounding (u = x + pi).
    """
    near = np.abs(result) <= ROUNDING_ULPS * np.spacing(np.abs(np.asarray(u, dtype=np.float64)))
    return near if func == "cos" else near & (np.abs(u) > 1)


def value(tree: Node, env: dict[str, np.ndarray], frozen: dict | None = None) -> np.ndarray:
    return evaluate(tree, env, NumpyBackend(frozen=frozen))


class Function:
    """f as a function of the environment, for finite differences around a base point.

    stop_gradient(u) is frozen at its value at the base: to the finite
    differences, as to the tape, a stopped part is a constant.
    """

    def __init__(self, tree: Node, base: dict[str, np.ndarray]):
        self.tree, self.frozen, self._center = tree, {}, None
        self.base = value(tree, base, self.frozen)
        self._noise = None
        self.kinky = any(  # custom bodies are not walked: a custom function may hide a kink
            isinstance(n, Custom) or (isinstance(n, Call) and n.func in _KINKS) for n in walk(tree)
        )
        self.analytic = analytic(tree)

    def __call__(self, env: dict) -> np.ndarray:
        return value(self.tree, env, self.frozen)

    def noise(self, env: dict) -> np.ndarray:
        """f's own rounding error at the base point, measured: |f in float64 - f in extended precision|,
        at least eps |f|. Where f is a cancellation ((1 - cos(x))/x**2 at 1e-3 loses ten digits), eps |f|
        alone would promise finite differences far more than float64 can give."""
        if self._noise is None:
            wide = {k: np.asarray(v, dtype=np.longdouble) for k, v in env.items()}
            with np.errstate(all="ignore"):
                try:
                    measured = np.abs(np.asarray(self.base, dtype=np.longdouble) - value(self.tree, wide, self.frozen))
                except TypeError:  # an operation with no extended-precision loop
                    measured = np.zeros(np.shape(self.base))
                measured = np.where(np.isfinite(measured), measured, 0).astype(np.float64)
            self._noise = np.maximum(EPS * np.abs(np.asarray(self.base, dtype=np.float64)), measured)
        return self._noise

    def center_branches(self, env: dict) -> list[np.ndarray]:
        """branches(env), remembered for the last env: every stencil of a ladder compares with the same point."""
        if self._center is None or self._center[0] is not env:
            self._center = (env, self.branches(env))
        return self._center[1]

    def branches(self, env: dict) -> list[np.ndarray]:
        """The side (sign) of every kink's argument at env: where two points differ, a kink lies between."""
        backend = NumpyBackend(frozen=self.frozen)
        backend.branches = []
        with np.errstate(all="ignore"):
            evaluate(self.tree, env, backend)
        return backend.branches


def analytic(tree: Node) -> bool:
    """Whether numpy evaluates the tree at complex points as the analytic continuation of f (custom
    functions' bodies included), so that the complex-step derivative applies."""
    for node in walk(tree):
        if isinstance(node, Custom) and not analytic(node.body):
            return False
        if isinstance(node, Call) and node.func in NOT_ANALYTIC:
            return False
    return True


def function(tree: Node, base: dict[str, np.ndarray]) -> Function:
    return Function(tree, base)


def crosses_kink(fn: Function, env: dict, shifted: list[dict], shape) -> np.ndarray:
    """Where (elementwise, for many points at once) some shifted point is across a kink from env."""
    crossed = np.zeros(shape, dtype=bool)
    if not fn.kinky:
        return crossed
    center = fn.center_branches(env)
    for other in shifted:
        for a, b in zip(center, fn.branches(other), strict=True):
            differ = np.asarray((a != b) & np.isfinite(a) & np.isfinite(b))  # leaving the domain is not a kink
            try:
                crossed = crossed | np.broadcast_to(differ, shape)
            except ValueError:  # a kink inside a tensor operation: any element counts for the whole
                crossed = crossed | bool(np.any(differ))
    return crossed


def events_at(tree: Node, env: dict[str, np.ndarray], watched: frozenset[str]) -> list[Event]:
    backend = NumpyBackend(watched, record=True)
    evaluate(tree, env, backend)
    return backend.events


def event_masks(tree: Node, env: dict[str, np.ndarray], watched: frozenset[str]) -> dict[Event, np.ndarray]:
    """For many points at once: each event and the points (elements) where it happens."""
    backend = NumpyBackend(watched, record=True)
    evaluate(tree, env, backend)
    return backend.masks
