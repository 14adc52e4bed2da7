"""THE function registry: every function of gradcli's language, declared once.

What a name means to the language is here: how many arguments it takes, the other names people type
for it, its inverse (``sin^-1``), how a textbook and LaTeX spell it, whether numpy evaluates it at
complex points as its analytic continuation (so the complex step may be used), whether it has a kink
or a jump, and its constant value (folded by the parser). The language tables (arity, aliases,
inverses, spellings, folding) are derived from it; each backend keeps its own implementation (a numpy,
sympy, TensorFlow, JAX or PyTorch callable) and tests/test_functions.py checks every backend, the
translator, the printers, the readers and the rule tables against this list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

SCALAR, REDUCTION, GRADIENT = "scalar", "reduction", "gradient"
VECTOR = "vector"  # over the last axis of a tensor, keeping its shape (softmax)
SELECT = "select"  # where(cond, a, b): the first argument is a comparison, the others are values


@dataclass(frozen=True)
class Function:
    name: str
    fold: Callable[..., float]  # the constant value, in math (the parser folds constants with it)
    arity: tuple[int, ...] = (1,)
    aliases: tuple[str, ...] = ()  # other names gradcli reads as this function (ln, arcsin, sgn)
    inverse: str | None = None  # what f^-1 means
    textbook: str | None = None  # the textbook spelling, when it is not the name
    latex: str | None = None  # the LaTeX gradcli prints; None: \operatorname{name}
    latex_names: tuple[str, ...] = ()  # LaTeX command names read as this function (\arcsin, \ln)
    analytic: bool = True  # numpy's complex evaluation is the analytic continuation: complex step safe
    kink: bool = False  # f or its slope changes across a point (a corner or a jump)
    kind: str = SCALAR  # SCALAR (elementwise), REDUCTION (sum, mean), VECTOR (softmax), SELECT (where), GRADIENT
    glued: bool = True  # read when glued to a one-letter argument (sinx is sin(x))


def _log(u: float, base: float | None = None) -> float:
    return math.log(u) / math.log(base) if base is not None else math.log(u)


def _softplus(u: float) -> float:
    return max(u, 0.0) + math.log1p(math.exp(-abs(u)))


def _clip(u: float, low: float, high: float) -> float:
    return min(max(u, low), high)


def _where(condition: float, a: float, b: float) -> float:
    return a if condition else b


def _logsumexp(u: float) -> float:
    return u  # of one number: log(exp(u)); the parser folds only scalars


REGISTRY: tuple[Function, ...] = (
    Function("sin", math.sin, inverse="asin", latex=r"\sin", latex_names=("sin",)),
    Function("cos", math.cos, inverse="acos", latex=r"\cos", latex_names=("cos",)),
    Function("tan", math.tan, aliases=("tg",), inverse="atan", latex=r"\tan", latex_names=("tan",)),
    Function(
        "asin", math.asin, aliases=("arcsin",), inverse="sin", textbook="arcsin", latex=r"\arcsin",
        latex_names=("arcsin",),
    ),
    Function(
        "acos", math.acos, aliases=("arccos",), inverse="cos", textbook="arccos", latex=r"\arccos",
        latex_names=("arccos",),
    ),
    Function(
        "atan", math.atan, aliases=("arctan", "arctg"), inverse="tan", textbook="arctan", latex=r"\arctan",
        latex_names=("arctan",),
    ),
    Function("sinh", math.sinh, inverse="asinh", latex=r"\sinh", latex_names=("sinh",)),
    Function("cosh", math.cosh, inverse="acosh", latex=r"\cosh", latex_names=("cosh",)),
    Function("tanh", math.tanh, inverse="atanh", latex=r"\tanh", latex_names=("tanh",)),
    Function("sec", lambda u: 1 / math.cos(u), inverse="asec", latex=r"\sec", latex_names=("sec",)),
    Function(
        "csc", lambda u: 1 / math.sin(u), aliases=("cosec",), inverse="acsc", latex=r"\csc", latex_names=("csc",)
    ),
    Function(
        "cot", lambda u: math.cos(u) / math.sin(u), aliases=("ctg",), inverse="acot", latex=r"\cot",
        latex_names=("cot",),
    ),
    Function("asec", lambda u: math.acos(1 / u), aliases=("arcsec",), latex_names=("arcsec",)),
    Function("acsc", lambda u: math.asin(1 / u), aliases=("arccsc",), latex_names=("arccsc",)),
    Function(
        "acot", lambda u: math.atan(1 / u), aliases=("arccot", "arcctg"), latex_names=("arccot",), kink=True
    ),
    Function("sech", lambda u: 1 / math.cosh(u), latex_names=("sech",)),
    Function("csch", lambda u: 1 / math.sinh(u), latex_names=("csch",)),
    Function("coth", lambda u: 1 / math.tanh(u), latex=r"\coth", latex_names=("coth",)),
    Function("asinh", math.asinh, aliases=("arcsinh", "arsinh"), latex_names=("arcsinh", "arsinh", "asinh")),
    Function("acosh", math.acosh, aliases=("arccosh", "arcosh"), latex_names=("arccosh", "arcosh", "acosh")),
    Function("atanh", math.atanh, aliases=("arctanh", "artanh"), latex_names=("arctanh", "artanh", "atanh")),
    Function(
        "sign", lambda u: float((u > 0) - (u < 0)), aliases=("sgn",), textbook="sgn",
        latex=r"\operatorname{sgn}", latex_names=("sgn",), analytic=False, kink=True, glued=False,
    ),
    Function("exp", math.exp, inverse="log", latex=r"\exp", latex_names=("exp",)),
    Function(
        "log", _log, arity=(1, 2), aliases=("ln",), inverse="exp", textbook="ln", latex=r"\ln",
        latex_names=("ln", "log"),
    ),
    Function("log2", math.log2, textbook="log_2", latex=r"\log_{2}"),
    Function("log10", math.log10, aliases=("lg",), latex=r"\log_{10}", latex_names=("lg",)),
    Function("sqrt", math.sqrt),
    Function("cbrt", math.cbrt),  # the real cube root: cbrt(-8) = -2
    Function("abs", abs, analytic=False, kink=True, glued=False),
    Function("sigmoid", lambda u: 0.5 * (1.0 + math.tanh(0.5 * u)), glued=False),
    Function("relu", lambda u: max(u, 0.0), analytic=False, kink=True, glued=False),
    Function("softplus", _softplus, analytic=False, glued=False),
    Function("square", lambda u: u * u, glued=False),
    Function("clip", _clip, arity=(3,), analytic=False, kink=True, glued=False),
    Function("max", max, arity=(2,), latex=r"\max", latex_names=("max",), analytic=False, kink=True, glued=False),
    Function("min", min, arity=(2,), latex=r"\min", latex_names=("min",), analytic=False, kink=True, glued=False),
    Function("sum", float, kind=REDUCTION, glued=False),
    Function("mean", float, kind=REDUCTION, glued=False),
    Function("logsumexp", _logsumexp, kind=REDUCTION, glued=False),
    Function("softmax", lambda u: 1.0, kind=VECTOR, glued=False),
    Function("log_softmax", lambda u: 0.0, kind=VECTOR, glued=False),
    Function("where", _where, arity=(3,), analytic=False, kink=True, kind=SELECT, glued=False),
    Function("stop_gradient", float, kind=GRADIENT, glued=False),
)  # fmt: skip

BY_NAME: dict[str, Function] = {f.name: f for f in REGISTRY}
ARITIES: dict[str, tuple[int, ...]] = {f.name: f.arity for f in REGISTRY}
SCALARS: tuple[str, ...] = tuple(f.name for f in REGISTRY if f.kind == SCALAR)
REDUCTIONS = frozenset(f.name for f in REGISTRY if f.kind == REDUCTION)
VECTORS = frozenset(f.name for f in REGISTRY if f.kind == VECTOR)
NOT_ANALYTIC = frozenset(f.name for f in REGISTRY if not f.analytic)
KINKS = tuple(f.name for f in REGISTRY if f.kink)
ALIASES: dict[str, str] = {alias: f.name for f in REGISTRY for alias in f.aliases}
INVERSES: dict[str, str] = {f.name: f.inverse for f in REGISTRY if f.inverse}
TEXTBOOK: dict[str, str] = {f.name: f.textbook for f in REGISTRY if f.textbook}
LATEX: dict[str, str] = {f.name: f.latex for f in REGISTRY if f.latex}
LATEX_NAMES: dict[str, str] = {command: f.name for f in REGISTRY for command in f.latex_names}
NOT_GLUED = frozenset(name for f in REGISTRY if not f.glued for name in (f.name, *f.aliases))


def fold(name: str, values: list[float]) -> float:
    """The constant value of name(*values), in float64."""
    return float(BY_NAME[name].fold(*values))
