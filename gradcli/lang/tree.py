"""The expression tree: frozen node classes and the helpers that walk, rebuild and fold them.

The parser (:mod:`gradcli.lang.parser`) builds these trees; the printers, the witnesses and the
grader read them. Nothing here parses or prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction

from gradcli.errors import LimitError, ParseError
from gradcli.lang import functions
from gradcli.lang.functions import REDUCTIONS, SELECT, VECTORS

MAX_EXPONENT = 1000
MAX_CONSTANT = 1e100
MIN_CONSTANT = 1e-100  # a smaller nonzero constant would make sympy's exact rationals enormous
CONSTANTS = {"pi": math.pi, "e": math.e}
# a BinOp with one of these is a condition: it is allowed only as the first argument of where(cond, a, b)
COMPARISONS = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}  # fmt: skip


@dataclass(frozen=True)
class Num:
    text: str
    value: float
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Name:
    id: str
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Neg:
    operand: Node
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ListOf:
    items: tuple[Node, ...]
    col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Custom:
    """A user-defined function with a user-given backward rule (tf.custom_gradient), applied to arg.

    body and rule are trees in the single parameter `param`; rule is d body / d param as the user
    claims it, which need not be the truth.
    """

    name: str
    param: str
    body: Node
    rule: Node
    arg: Node
    col: int = field(default=0, compare=False)


Node = Num | Name | Neg | BinOp | Call | ListOf | Custom


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Custom):
        return (node.arg,)
    if isinstance(node, Neg):
        return (node.operand,)
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Call | ListOf):
        return node.args if isinstance(node, Call) else node.items
    return ()


def walk(node: Node):
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def call_depth(node: Node) -> int:
    """How deeply function calls nest (sin(sin(x)) is 2): what sympy's work grows with."""
    deepest, stack = 0, [(node, 0)]
    while stack:
        current, depth = stack.pop()
        depth += isinstance(current, Call | Custom)
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children(current))
    return deepest


def free_names(node: Node) -> frozenset[str]:
    """Names of variables in the tree (not functions, not pi or e)."""
    return frozenset(n.id for n in walk(node) if isinstance(n, Name) and n.id not in CONSTANTS)


def uses_tensor_ops(node: Node) -> bool:
    return any(
        (isinstance(n, Call) and n.func in REDUCTIONS) or (isinstance(n, BinOp) and n.op == "@") for n in walk(node)
    )


# ---------------------------------------------------------------- constant folding


def constant_value(node: Node) -> float | None:
    """Float value of a tree with no free names; None if it has variables.

    Raises LimitError when a constant part, or a constant exponent, is too large:
    that is what keeps ``10**10**10`` from ever reaching sympy.
    """
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        return CONSTANTS.get(node.id)
    if isinstance(node, Custom):
        constant_value(node.arg)
        return None
    values = [constant_value(child) for child in children(node)]
    if isinstance(node, BinOp) and node.op == "**" and values[1] is not None and abs(values[1]) > MAX_EXPONENT:
        raise LimitError(f"exponent {values[1]:g} is larger than the limit {MAX_EXPONENT}", node.col)
    if any(v is None for v in values) or isinstance(node, ListOf):
        return None
    if isinstance(node, BinOp) and node.op == "**":
        _check_power_magnitude(values[0], values[1], node)
    try:
        value = _fold(node, values)
    except OverflowError as exc:
        raise LimitError(f"a constant is larger than the limit {MAX_CONSTANT:g}", node.col) from exc
    except (ValueError, ZeroDivisionError):
        return math.nan
    if abs(value) > MAX_CONSTANT:
        raise LimitError(f"a constant is larger than the limit {MAX_CONSTANT:g}", node.col)
    if value != 0 and abs(value) < MIN_CONSTANT or (value == 0 and _underflowed(node, values)):
        raise LimitError(f"a constant is smaller than the limit {MIN_CONSTANT:g}", node.col)
    return value


def odd_root(exponent: Node) -> tuple[int, int] | None:
    """(p, q) when the exponent is written p/q with literal integers, q odd and > 1 in lowest terms.

    Calculus courses read u**(p/q) as the real root for u < 0 (x**(1/3) at -8 is -2), and so does gradcli;
    an even root, or a decimal exponent (x**0.5), keeps its principal value and is not real for u < 0.
    """
    sign = 1
    if isinstance(exponent, Neg):
        sign, exponent = -1, exponent.operand
    if not (isinstance(exponent, BinOp) and exponent.op == "/"):
        return None
    top, bottom = exponent.left, exponent.right
    if isinstance(top, Neg):
        sign, top = -sign, top.operand
    if not (isinstance(top, Num) and isinstance(bottom, Num) and _small(top) and _small(bottom)):
        return None
    ratio = Fraction(int(top.text), int(bottom.text)) if int(bottom.text) else Fraction(0)
    if ratio.denominator % 2 == 0 or ratio.denominator == 1:
        return None
    return sign * ratio.numerator, ratio.denominator


def _small(node: Num) -> bool:
    return node.text.isdigit() and len(node.text) <= 18


def real_power(base: float, p: int, q: int) -> float:
    """base**(p/q) with the real odd root of a negative base."""
    magnitude = abs(base) ** (p / q) if base or p > 0 else math.inf
    return -magnitude if base < 0 and p % 2 else magnitude


def _check_power_magnitude(base: float, exponent: float, node: Node) -> None:
    """Judge a**b on a log scale before computing it: floats underflow silently, exact rationals do not."""
    if base == 0 or not (math.isfinite(base) and math.isfinite(exponent)):
        return
    if abs(exponent * math.log10(abs(base))) > math.log10(MAX_CONSTANT):
        raise LimitError(f"a constant power is outside the range {MIN_CONSTANT:g} to {MAX_CONSTANT:g}", node.col)


def _underflowed(node: Node, values: list[float]) -> bool:
    return isinstance(node, BinOp) and node.op in "*/" and all(v != 0 for v in values)


def _fold(node: Node, values: list[float]) -> float:
    if isinstance(node, Neg):
        return -values[0]
    if isinstance(node, BinOp):
        a, b = values
        if node.op == "**" and a < 0 and (root := odd_root(node.right)):
            return real_power(a, *root)
        if node.op == "**":
            result = a**b
            return math.nan if isinstance(result, complex) else float(result)
        if node.op in COMPARISONS:
            return float(COMPARISONS[node.op](a, b))
        return {"+": a + b, "-": a - b, "*": a * b}.get(node.op, a / b if node.op == "/" else math.nan)
    return functions.fold(node.func, values)


# ---------------------------------------------------------------- evaluation


def evaluate(node: Node, env: dict, backend):
    """Evaluate the tree with a backend (numpy, sympy or TensorFlow ops).

    Every backend sees the same tree through the same five hooks, which is what
    makes the tape, the symbolic derivative and the finite differences
    witnesses of one function.
    """
    if isinstance(node, Num):
        return backend.number(node)
    if isinstance(node, Name):
        return env[node.id] if node.id in env else backend.constant(node.id)
    if isinstance(node, Neg):
        return backend.neg(evaluate(node.operand, env, backend))
    if isinstance(node, BinOp):
        return backend.binop(node, evaluate(node.left, env, backend), evaluate(node.right, env, backend))
    if isinstance(node, Call):
        if hasattr(backend, "select") and functions.BY_NAME[node.func].kind == SELECT:
            return backend.select(node, lambda child: evaluate(child, env, backend))  # a backend that tracks branches
        return backend.call(node, [evaluate(arg, env, backend) for arg in node.args])
    if isinstance(node, Custom):
        return backend.custom(node, evaluate(node.arg, env, backend))
    return backend.stack([evaluate(item, env, backend) for item in node.items])


def infer_shape(node: Node, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The shape of the tree's value, or a ParseError naming the mismatch (numpy rules)."""
    if isinstance(node, Custom):  # custom bodies are elementwise
        return infer_shape(node.arg, shapes)
    if isinstance(node, Num):
        return ()
    if isinstance(node, Name):
        return shapes.get(node.id, ())
    if isinstance(node, Neg):
        return infer_shape(node.operand, shapes)
    if isinstance(node, Call):
        arg_shapes = [infer_shape(arg, shapes) for arg in node.args]
        if node.func in REDUCTIONS:
            return ()
        if node.func in VECTORS and not arg_shapes[0]:
            raise ParseError(
                f"{node.func}() is taken over a vector (the last axis of a tensor), not a scalar",
                node.col,
                "give it a vector variable, e.g. --at x=[1,2,3]",
            )
        return _broadcast(arg_shapes, node)
    if isinstance(node, BinOp):
        left, right = infer_shape(node.left, shapes), infer_shape(node.right, shapes)
        if node.op == "@":
            if len(left) != 2 or len(right) != 2 or left[1] != right[0]:
                raise ParseError(
                    f"shapes {_fmt(left)} and {_fmt(right)} cannot be multiplied with @ "
                    "(both sides must be matrices, columns of the left = rows of the right)",
                    node.col,
                )
            return (left[0], right[1])
        return _broadcast([left, right], node)
    item_shapes = {infer_shape(item, shapes) for item in node.items}
    if len(item_shapes) != 1:
        raise ParseError("the items of a list must all have the same shape", node.col)
    return (len(node.items), *item_shapes.pop())


def _broadcast(shapes: list[tuple[int, ...]], node: Node) -> tuple[int, ...]:
    rank = max(len(s) for s in shapes)
    result = []
    for axis in range(rank):
        sizes = {s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0} - {1}
        if len(sizes) > 1:
            raise ParseError(f"shapes {' and '.join(_fmt(s) for s in shapes)} do not match", node.col)
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _fmt(shape: tuple[int, ...]) -> str:
    return "scalar" if not shape else "(" + "x".join(str(n) for n in shape) + ")"


# ---------------------------------------------------------------- rebuilding


def rebuild(node: Node, fn) -> Node:
    """The same node with fn applied to each child: the one place that knows every node's children."""
    if isinstance(node, Neg):
        return Neg(fn(node.operand), node.col)
    if isinstance(node, BinOp):
        return BinOp(node.op, fn(node.left), fn(node.right), node.col)
    if isinstance(node, Call):
        return Call(node.func, tuple(fn(a) for a in node.args), node.col)
    if isinstance(node, ListOf):
        return ListOf(tuple(fn(i) for i in node.items), node.col)
    if isinstance(node, Custom):
        return replace(node, arg=fn(node.arg))
    return node


def shift(node: Node, offset: int) -> Node:
    """Columns relative to the whole program text, not to one step."""
    if not offset:
        return node
    moved = rebuild(node, lambda child: shift(child, offset))
    return replace(moved, col=moved.col + offset)


def substitute(node: Node, mapping: dict[str, Node]) -> Node:
    """Replace names by trees (steps inlined into later steps)."""
    if isinstance(node, Name):
        return mapping.get(node.id, node)
    return rebuild(node, lambda child: substitute(child, mapping))


def substitute_node(node: Node, old: Node, new: Node) -> Node:
    """Replace every subtree equal to `old` by `new`."""
    if node == old:
        return new
    return rebuild(node, lambda child: substitute_node(child, old, new))


def without_stops(node: Node) -> Node:
    """The same tree with every stop_gradient(u) replaced by u: what the gradient would be unstopped."""
    if isinstance(node, Call) and node.func == "stop_gradient":
        return without_stops(node.args[0])
    return rebuild(node, without_stops)


def has_stops(node: Node) -> bool:
    return any(isinstance(n, Call) and n.func == "stop_gradient" for n in walk(node))
