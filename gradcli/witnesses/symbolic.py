"""The symbolic witness: the same tree built as a sympy expression, differentiated exactly.

Tensor variables become numpy object arrays of element symbols (``x[0,1]``), so
sums, means and ``@`` are ordinary sympy sums and products; a compact
elementwise form (``2*x``) is shown only after it is checked against every
element's derivative.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from fractions import Fraction

import numpy as np
import sympy
from mpmath.libmp import prec_to_dps

from gradcli.errors import LimitError
from gradcli.lang.tree import Node, evaluate, odd_root
from gradcli.lang.values import Value

SYMPY_SECONDS = 10
SIMPLIFY_SECONDS = 5
EVAL_SECONDS = 2  # one exact value; past it the value is reported as not available (nan)
DIGITS = 30
_SHOW_ELEMENTS = 16
# sympy recurses about 8 frames per level of an expression (diff, free_symbols, evalf, printing):
# the parser's 200 levels (expr.MAX_DEPTH) need about 2,000 frames, past Python's default of 1,000
RECURSION_LIMIT = 10_000
sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Bound a sympy step that could run away; a no-op outside the main thread.

    Nested limits keep the outer one: the inner alarm is the sooner of the two,
    and on leaving, the outer alarm is set again for the time it has left.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    limit = min(seconds, outer_left) if outer_left > 0 else seconds
    started = time.monotonic()

    def expire(signum, frame):
        raise LimitError(f"{what} took longer than the limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 1e-3))


def _obj(x):
    if isinstance(x, np.ndarray):
        return x
    array = np.empty((), dtype=object)
    array[()] = x
    return array


def _map(fn, *args):
    if any(isinstance(a, np.ndarray) for a in args):
        return np.vectorize(fn, otypes=[object])(*args)
    return fn(*args)


def _total(u):
    return sympy.Add(*u.flat) if isinstance(u, np.ndarray) else u


def _size(u):
    return u.size if isinstance(u, np.ndarray) else 1


_FUNCS = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan,
    "asin": sympy.asin, "acos": sympy.acos, "atan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh,
    "sec": sympy.sec, "csc": sympy.csc, "cot": sympy.cot,
    "asec": sympy.asec, "acsc": sympy.acsc, "acot": sympy.acot,
    "sech": sympy.sech, "csch": sympy.csch, "coth": sympy.coth,
    "asinh": sympy.asinh, "acosh": sympy.acosh, "atanh": sympy.atanh, "sign": sympy.sign,
    "exp": sympy.exp, "sqrt": sympy.sqrt, "cbrt": lambda u: real_power(u, 1, 3), "abs": sympy.Abs,
    "log2": lambda u: sympy.log(u, 2), "log10": lambda u: sympy.log(u, 10),
    "sigmoid": lambda u: 1 / (1 + sympy.exp(-u)),
    "relu": lambda u: sympy.Max(0, u),
    "softplus": lambda u: sympy.log(1 + sympy.exp(u)),
    "max": sympy.Max, "min": sympy.Min, "log": sympy.log,
    "square": lambda u: sympy.Pow(u, 2),
    "clip": lambda u, low, high: sympy.Piecewise((low, u < low), (high, u > high), (u, True)),
    "where": lambda condition, a, b: sympy.Piecewise((a, condition), (b, True)),
}  # fmt: skip
_RELATIONS = {
    "<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "==": sympy.Eq, "!=": sympy.Ne,
}  # fmt: skip


def _exp_last_axis(u):
    """exp of every element, and their sums over the last axis (kept as an axis of length 1)."""
    e = _map(sympy.exp, u)
    return e, np.sum(e, axis=-1, keepdims=True)


def _softmax(u):
    e, total = _exp_last_axis(u)
    return e / total


def _log_softmax(u):
    _, total = _exp_last_axis(u)
    return u - _map(sympy.log, total)


_VECTORS = {"softmax": _softmax, "log_softmax": _log_softmax}


class SympyBackend:
    """Builds sympy objects. With rule=True a custom function differentiates by the user's rule
    (what the tape does); with rule=False it is its body, so sympy gives the true derivative."""

    def __init__(self, rule: bool = True):
        self.stopped: list[tuple[sympy.Symbol, object]] = []  # stop_gradient(u): a constant symbol standing for u
        self.rule = rule
        self.functions: dict[str, type] = {}

    def custom(self, node, u):
        if not self.rule:
            return _map(lambda v: evaluate(node.body, {node.param: v}, self), u)
        return _map(self._function(node), u)

    def _function(self, node):
        """A sympy Function whose derivative is the user's rule and whose value is the body."""
        if node.name not in self.functions:
            backend = self

            def fdiff(self, argindex=1):
                return evaluate(node.rule, {node.param: self.args[0]}, backend)

            def _eval_evalf(self, prec):
                return evaluate(node.body, {node.param: self.args[0]}, backend).evalf(prec_to_dps(prec))

            def _sympystr(self, printer):
                return f"{node.name}({printer._print(self.args[0])})"

            def _latex(self, printer):
                return rf"\operatorname{{{node.name}}}\left({printer._print(self.args[0])}\right)"

            # sympy dispatches on class names (_print_Pow, ...): a user's "Pow" must not be taken for sympy's
            methods = {"fdiff": fdiff, "_eval_evalf": _eval_evalf, "_sympystr": _sympystr, "_latex": _latex}
            self.functions[node.name] = type(f"custom_{node.name}", (sympy.Function,), methods)
        return self.functions[node.name]

    def _stop(self, u):
        symbol = sympy.Symbol(f"stop_gradient({sympy.sstr(u)})", real=True)
        if all(symbol is not s for s, _ in self.stopped):
            self.stopped.append((symbol, u))
        return symbol

    def number(self, node):
        return (
            sympy.Rational(Fraction(node.text))
            if "." in node.text or "e" in node.text.lower()
            else sympy.Integer(node.text)
        )

    def constant(self, name):
        return {"pi": sympy.pi, "e": sympy.E}[name]

    def neg(self, a):
        return -a

    def stack(self, items):
        array = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            array[i] = item
        return array

    def binop(self, node, a, b):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = _obj(a), _obj(b)
        if node.op == "@":
            return np.matmul(a, b)
        if node.op in _RELATIONS:
            return _map(_RELATIONS[node.op], a, b)
        if node.op == "**" and (root := odd_root(node.right)):
            return _map(lambda u: real_power(u, *root), a)
        ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b, "**": lambda: a**b}
        return ops[node.op]()

    def call(self, node, args):
        if node.func == "stop_gradient":
            return _map(self._stop, args[0])
        if node.func == "sum":
            return _total(args[0])
        if node.func == "mean":
            return _total(args[0]) / _size(args[0])
        if node.func == "logsumexp":
            return sympy.log(_total(_map(sympy.exp, args[0])))
        if node.func in _VECTORS:
            return _VECTORS[node.func](_obj(args[0]))
        return _map(_FUNCS[node.func], *args)


def real_power(u, p: int, q: int):
    """u**(p/q) with q odd, real for u < 0: a Piecewise, whose derivative is the Piecewise of the sides' (no
    DiracDelta, as sign(u)*|u|**(p/q) would give); a number folds to its real value."""
    power = sympy.Rational(p, q)
    negative = (-u) ** power if p % 2 == 0 else -((-u) ** power)
    return sympy.Piecewise((negative, u < 0), (u**power, True))


def symbols_for(name: str, shape: tuple[int, ...]):
    if not shape:
        return sympy.Symbol(name, real=True)
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        array[index] = sympy.Symbol(f"{name}[{','.join(map(str, index))}]", real=True)
    return array


def exact_value(value: Value):
    """The point's value as exact sympy numbers (0.1 is 1/10, pi/4 is pi/4)."""
    from gradcli.lang.tree import ListOf

    def build(tree):
        if isinstance(tree, ListOf):
            return [build(item) for item in tree.items]
        return evaluate(tree, {}, SympyBackend())

    built = build(value.tree)
    if not value.shape:
        return built
    array = np.empty(value.shape, dtype=object)
    for index in np.ndindex(value.shape):
        item = built
        for i in index:
            item = item[i]
        array[index] = item
    return array


def gradient(f, symbols: list) -> list:
    """d f / d s for many symbols s at once.

    A sum over a tensor has one term per element; differentiating the whole sum
    by every element is quadratic, so each term is differentiated only by the
    symbols it contains.
    """
    wanted = set(symbols)
    parts: dict = {s: [] for s in symbols}
    for term in f.args if f.is_Add else (f,):
        for symbol in term.free_symbols & wanted:
            parts[symbol].append(sympy.diff(term, symbol))
    return [sympy.Add(*parts[s]) for s in symbols]


class Symbolic:
    """f as a sympy expression in the point's shapes, and its partial derivatives."""

    def __init__(
        self,
        tree: Node,
        shapes: dict[str, tuple[int, ...]],
        constants: dict[str, Value] | None = None,
        rule: bool = True,
    ):
        self.shapes = shapes
        self.symbols = {name: symbols_for(name, shape) for name, shape in shapes.items()}
        backend = SympyBackend(rule)
        with time_limit(SYMPY_SECONDS, "building the symbolic expression"):
            self.f = evaluate(tree, self.symbols, backend)
        self.stopped = backend.stopped
        with time_limit(SYMPY_SECONDS, "building the symbolic expression"):
            # Shown derivatives are functions of the variables: constants' values are put in.
            self.constant_values = self.substitutions(constants or {})
        self._derivatives: dict[str, object] = {}

    def derivative(self, name: str, order: int = 1):
        """sympy expression (scalar variable) or object array (tensor variable)."""
        key = (name, order)
        if key not in self._derivatives:
            with time_limit(SYMPY_SECONDS, f"differentiating symbolically with respect to {name}"):
                symbols = self.symbols[name]
                if isinstance(symbols, np.ndarray):
                    array = np.empty(symbols.shape, dtype=object)
                    array.flat[:] = gradient(self.f, list(symbols.flat))
                    self._derivatives[key] = array
                else:
                    # powsimp turns x**y*y/x into y*x**(y - 1), which is finite at x = 0
                    self._derivatives[key] = sympy.powsimp(sympy.diff(self.f, symbols, order))
        return self._derivatives[key]

    def describe(self, name: str, order: int = 1) -> str:
        """Readable form of df/dname: compact when it holds for every element."""
        with time_limit(SYMPY_SECONDS, f"simplifying the derivative with respect to {name}"):
            derivative = _map(lambda d: d.xreplace(self.constant_values), self.derivative(name, order))
        if not isinstance(derivative, np.ndarray):
            return sympy.sstr(derivative)
        compact = self._elementwise(name, derivative)
        if compact is not None:
            return f"{sympy.sstr(compact)} (elementwise)"
        if derivative.size <= _SHOW_ELEMENTS:
            return sympy.sstr(derivative.tolist())
        return f"per element ({'x'.join(map(str, derivative.shape))} expressions)"

    def _elementwise(self, name: str, derivative: np.ndarray):
        shape = self.shapes[name]
        same = [n for n, s in self.shapes.items() if s == shape]
        first = (0,) * len(shape)
        to_generic = {self.symbols[n][first]: sympy.Symbol(n, real=True) for n in same}
        candidate = derivative[first].xreplace(to_generic)
        element_symbols = {s for n, syms in self.symbols.items() if isinstance(syms, np.ndarray) for s in syms.flat}
        if candidate.free_symbols & element_symbols:
            return None
        for index in np.ndindex(shape):
            back = {sympy.Symbol(n, real=True): self.symbols[n][index] for n in same}
            if sympy.expand(derivative[index] - candidate.xreplace(back)) != 0:
                return None
        return candidate

    def elements(self, names) -> list:
        """The symbols of `names`, element by element, in the order of the matrix columns."""
        out = []
        for name in names:
            symbols = self.symbols[name]
            out.extend(symbols.flat if isinstance(symbols, np.ndarray) else [symbols])
        return out

    def outputs(self) -> list:
        return list(self.f.flat) if isinstance(self.f, np.ndarray) else [self.f]

    def jacobian(self, names) -> list[list]:
        with time_limit(SYMPY_SECONDS, "building the symbolic Jacobian"):
            return [gradient(out, self.elements(names)) for out in self.outputs()]

    def hessian(self, names) -> list[list]:
        with time_limit(SYMPY_SECONDS, "building the symbolic Hessian"):
            symbols = self.elements(names)
            return [gradient(g, symbols) for g in gradient(self.f, symbols)]

    def show(self, matrix: list[list]) -> list[list[str]]:
        with time_limit(SYMPY_SECONDS, "printing the symbolic matrix"):
            return [[sympy.sstr(e.xreplace(self.constant_values)) for e in row] for row in matrix]

    def evaluate_matrix(self, matrix: list[list], subs: dict) -> list[list[float]]:
        return [[_to_float(e, subs) for e in row] for row in matrix]

    def substitutions(self, point: dict[str, Value | float]) -> dict:
        subs = {}
        for name, value in point.items():
            # a point value is exact (0.1 is 1/10); a float read from a file is taken as it is
            exact = exact_value(value) if isinstance(value, Value) else sympy.Float(value, DIGITS)
            symbols = self.symbols[name]
            if isinstance(symbols, np.ndarray):
                subs.update(zip(symbols.flat, exact.flat, strict=True))
            else:
                subs[symbols] = exact
        for symbol, expr in self.stopped:  # inner stops first, so each value can use the ones before
            if expr.free_symbols <= set(subs):
                subs[symbol] = expr.evalf(DIGITS, subs=subs)
        return subs

    def exact(self, name: str, subs: dict, order: int = 1):
        """float (or float array) of df/dname at the point, to DIGITS digits then rounded."""
        derivative = self.derivative(name, order)
        if isinstance(derivative, np.ndarray):
            return np.vectorize(lambda d: _to_float(d, subs), otypes=[float])(derivative)
        return _to_float(derivative, subs)


def _to_float(expr, subs) -> float:
    """Numeric evaluation with mpmath, bounded in time: never an exact substitution that could blow up.

    Where sympy or mpmath cannot give a real number (a complex value, an
    unsigned infinity inside a function, an overflow, a timeout), the answer is
    nan, which the caller reports as "not finite here" (exit 3).
    """
    try:
        with time_limit(EVAL_SECONDS, "evaluating a derivative"):
            return _evaluate_real(expr, subs)
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        return math.nan


def _evaluate_real(expr, subs) -> float:
    result = expr.evalf(DIGITS, subs=subs)
    if result.has(sympy.nan) or result.free_symbols:
        return math.nan
    if result == sympy.zoo:  # an infinity of unknown sign, such as 1/0: not a number we can state
        return math.nan
    if result in (sympy.oo, -sympy.oo):
        return float(result)
    real, imag = result.as_real_imag()
    if imag != 0 and abs(complex(imag)) > 1e-25:
        return math.nan
    return float(real)


# ---------------------------------------------------------------- the one sympy -> numpy translator


class NotVectorisable(Exception):
    """The expression has a part the numpy translation does not cover; evaluate point by point."""


def _dirac(u):
    return np.where(u == 0, np.inf, 0.0)


# every sympy function gradcli's functions (lang/functions.py) and their derivatives are made of
_NUMPY = {
    sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan,
    sympy.asin: np.arcsin, sympy.acos: np.arccos, sympy.atan: np.arctan,
    sympy.sinh: np.sinh, sympy.cosh: np.cosh, sympy.tanh: np.tanh,
    sympy.exp: np.exp, sympy.log: np.log, sympy.Abs: np.abs, sympy.sign: np.sign,
    sympy.DiracDelta: _dirac,
    sympy.sec: lambda u: 1 / np.cos(u), sympy.csc: lambda u: 1 / np.sin(u), sympy.cot: lambda u: np.cos(u) / np.sin(u),
    sympy.asec: lambda u: np.arccos(1 / u), sympy.acsc: lambda u: np.arcsin(1 / u),
    sympy.acot: lambda u: np.arctan(1 / u),
    sympy.sech: lambda u: 1 / np.cosh(u), sympy.csch: lambda u: 1 / np.sinh(u), sympy.coth: lambda u: 1 / np.tanh(u),
    sympy.asinh: np.arcsinh, sympy.acosh: np.arccosh, sympy.atanh: np.arctanh,
}  # fmt: skip


def to_numpy(expr, names: dict, magnitudes: bool = False) -> object:
    """Translate a sympy expression into nested numpy calls over an environment, walking its tree.

    This is gradcli's own small printer-free translation (no lambdify, no generated source), the one
    every caller uses: the many-points path and the plots evaluate the symbolic derivative in float64,
    vectorised, instead of one mpmath evaluation per point; the grader samples the real domain with it.
    `names` maps sympy symbols to environment keys. With magnitudes=True the function returns
    (value, magnitude): a bound on the size of the terms the value was made from (grading/domain.py).
    """
    if expr in names:
        key = names[expr]
        return _leaf_magnitude(key) if magnitudes else lambda env: env[key]
    if isinstance(expr, sympy.Piecewise):
        return _piecewise(expr, names, magnitudes)
    if expr in (sympy.true, sympy.false):
        truth = bool(expr)
        return (lambda env: (np.bool_(truth), np.float64(0.0))) if magnitudes else (lambda env: np.bool_(truth))
    if isinstance(expr, sympy.And | sympy.Or | sympy.Not):
        logic, parts = _LOGIC[type(expr)], [to_numpy(arg, names) for arg in expr.args]
        if magnitudes:
            return lambda env: (logic(*(part(env) for part in parts)), np.float64(0.0))
        return lambda env: logic(*(part(env) for part in parts))
    if expr.is_Relational:
        compare, (left, right) = _RELATIONAL[type(expr)], (to_numpy(arg, names) for arg in expr.args)
        if magnitudes:
            return lambda env: (compare(left(env), right(env)), np.float64(0.0))
        return lambda env: compare(left(env), right(env))
    if expr.is_Number or expr in (sympy.pi, sympy.E):
        constant = _real(expr)
        if magnitudes:
            return lambda env: (np.float64(constant), np.float64(abs(constant)))
        return lambda env: constant
    parts = [to_numpy(arg, names, magnitudes) for arg in expr.args]
    function = None
    structural = expr.is_Add or expr.is_Mul or expr.is_Pow or isinstance(expr, sympy.Max | sympy.Min)
    if not structural and expr.func is not sympy.Heaviside:
        function = _NUMPY.get(expr.func)
        if function is None or len(parts) != 1:
            raise NotVectorisable(str(expr.func))
    if magnitudes:
        return lambda env: _with_magnitude(expr, function, [part(env) for part in parts])
    return _value(expr, function, parts)


_RELATIONAL = {
    sympy.StrictLessThan: np.less, sympy.LessThan: np.less_equal, sympy.StrictGreaterThan: np.greater,
    sympy.GreaterThan: np.greater_equal, sympy.Equality: np.equal, sympy.Unequality: np.not_equal,
}  # fmt: skip


_LOGIC = {
    sympy.And: lambda *parts: np.logical_and.reduce(np.broadcast_arrays(*parts)),
    sympy.Or: lambda *parts: np.logical_or.reduce(np.broadcast_arrays(*parts)),
    sympy.Not: np.logical_not,
}


def _piecewise(expr, names: dict, magnitudes: bool):
    """Piecewise((a, cond), (b, True)), from where(): the first piece whose condition holds, elementwise."""
    pieces = [(to_numpy(value, names, magnitudes), to_numpy(condition, names)) for value, condition in expr.args]

    def select(env):
        conditions = np.broadcast_arrays(*(np.asarray(condition(env), dtype=bool) for _, condition in pieces))
        values = [value(env) for value, _ in pieces]
        if not magnitudes:
            return np.select(conditions, values, default=np.nan)[()]
        chosen = np.select(conditions, [v for v, _ in values], default=np.nan)[()]
        return chosen, np.select(conditions, [np.broadcast_to(m, np.shape(chosen)) for _, m in values], np.nan)[()]

    return select


def _real(expr) -> float:
    if expr in (sympy.zoo, sympy.nan) or not expr.is_real:
        return math.nan
    return float(expr)


def _leaf_magnitude(key):
    def leaf(env):
        value = np.asarray(env[key], dtype=float)
        return value, np.abs(value)

    return leaf


def _value(expr, function, parts):
    if expr.is_Add:
        return lambda env: _fold(np.add, parts, env)
    if expr.is_Mul:
        return lambda env: _fold(np.multiply, parts, env)
    if expr.is_Pow:
        base, exponent = parts
        return lambda env: np.power(base(env), exponent(env))
    if isinstance(expr, sympy.Max | sympy.Min):
        op = np.maximum if isinstance(expr, sympy.Max) else np.minimum
        return lambda env: _fold(op, parts, env)
    if expr.func is sympy.Heaviside:
        inner, at_zero = parts[0], float(expr.args[1]) if len(expr.args) > 1 else 0.5
        return lambda env: np.heaviside(inner(env), at_zero)
    (inner,) = parts
    return lambda env: function(inner(env))


def _fold(op, parts, env):
    result = parts[0](env)
    for part in parts[1:]:
        result = op(result, part(env))
    return result


def _with_magnitude(expr, function, parts):
    """(value, magnitude) of one node from its parts' (value, magnitude)."""
    if expr.is_Add:
        return sum(v for v, _ in parts), sum(m for _, m in parts)
    if expr.is_Mul:
        value, mag = parts[0]
        for v, m in parts[1:]:
            value, mag = value * v, mag * m
        return value, mag
    if expr.is_Pow:
        (base, base_mag), (exponent, _) = parts
        value = np.power(base, exponent)
        if expr.exp.is_Integer and expr.exp > 0:
            return value, np.power(base_mag, exponent)
        # a root or a quotient: its relative error is that of the base, scaled by the exponent
        relative = np.where(base != 0, base_mag / np.abs(np.where(base != 0, base, 1.0)), 1.0)
        return value, np.abs(value) * np.maximum(1.0, relative * np.maximum(1.0, np.abs(exponent)))
    if isinstance(expr, sympy.Max | sympy.Min):
        op = np.maximum if isinstance(expr, sympy.Max) else np.minimum
        value = parts[0][0]
        for v, _ in parts[1:]:
            value = op(value, v)
        return value, np.abs(value) + sum(m for _, m in parts)
    if expr.func is sympy.Heaviside:
        at_zero = float(expr.args[1]) if len(expr.args) > 1 else 0.5
        return np.heaviside(parts[0][0], at_zero), np.float64(1.0)
    (inner, inner_mag), value = parts[0], function(parts[0][0])
    if expr.func is sympy.exp:
        return value, np.abs(value) * (1 + inner_mag)
    if expr.func is sympy.log:
        return value, np.abs(value) + inner_mag / np.abs(inner)
    return value, np.abs(value) + inner_mag
