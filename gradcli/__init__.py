"""gradcli: gradients three ways, TensorFlow's GradientTape beside sympy and finite differences.

Every verb of the command line is a function here, returning a frozen result whose to_dict() is the
JSON the command prints:

>>> import gradcli
>>> r = gradcli.grad("x**2 + y", at={"x": 3, "y": 1})
>>> r.results[0].gradient["x"].tape, r.results[0].gradient[1].symbolic
(6.0, '1')
>>> gradcli.check("x**2", "2*x").verdict
'correct'

Nothing heavy is imported until a verb needs it: `check` and `derivative` load sympy, never TensorFlow.
Arguments after the expression and its required values are keyword-only. Inside IPython (Jupyter),
importing gradcli teaches the notebook to show results as HTML tables and LaTeX.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from os import PathLike

__version__ = "0.1.0"

# Result classes and errors, loaded on first use: name -> the module that defines it.
_LAZY = {
    "GradResult": "gradcli.results.gradient",
    "PointResult": "gradcli.results.gradient",
    "Partial": "gradcli.results.gradient",
    "Partials": "gradcli.results.gradient",
    "MatrixResult": "gradcli.results.gradient",
    "MatrixPoint": "gradcli.results.gradient",
    "ProductResult": "gradcli.results.gradient",
    "CheckResult": "gradcli.results.grading",
    "Grade": "gradcli.results.grading",
    "GradeSheet": "gradcli.results.grading",
    "Run": "gradcli.results.descent",
    "Step": "gradcli.results.descent",
    "DerivativeResult": "gradcli.solve.formula",
    "DerivedResult": "gradcli.solve.derived",
    "DerivedPoint": "gradcli.solve.derived",
    "Curve": "gradcli.present.pictures",
    "Clip": "gradcli.witnesses.clip",
    "Node": "gradcli.lang.parser",
    "ExitCode": "gradcli.errors",
    "GradcliError": "gradcli.errors",
    "ParseError": "gradcli.errors",
    "LimitError": "gradcli.errors",
    "PointError": "gradcli.errors",
    "OutputError": "gradcli.errors",
}

_VERBS = [
    "grad", "jacobian", "hessian", "jvp", "vjp", "derivative", "implicit", "directional",
    "check", "grade", "descend", "plot_data", "parse", "to_latex",
]  # fmt: skip
__all__ = ["__version__", *_VERBS, *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gradcli' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})


# ---------------------------------------------------------------- the tape beside sympy


def grad(
    expression: str,
    at: Mapping[str, object] | Sequence[Mapping[str, object]],
    *,
    const: Mapping[str, object] | None = None,
    wrt: Iterable[str] | None = None,
    watch: Iterable[str] | None = None,
    dtype: str = "float64",
    order: int = 1,
    clip: Clip | None = None,
    stop: Iterable[str] = (),
    of: Iterable[str] = (),
    persistent: bool = False,
    custom: Iterable[str] = (),
    unconnected: str = "none",
    frameworks: bool = False,
    graph: bool = False,
):
    """The gradient at each point of `at` (one assignment or a list), by GradientTape, sympy and finite
    differences: `gradcli grad`. Returns a GradResult; each point's rows are `gradient[0]` or `gradient["x"]`.
    graph=True adds `result.graph`: the computation graph at the one point, every node's value and adjoint.

    >>> gradcli.grad("x**2", at={"x": 3}).results[0].gradient["x"].tape
    6.0
    """
    from gradcli.solve.gradient import grad as solve

    options = {"clip": clip, "stop": stop, "of": of, "persistent": persistent, "custom": custom, "graph": graph}
    return solve(
        expression, at, const, wrt, watch, dtype, order, unconnected=unconnected, frameworks=frameworks, **options
    )


def jacobian(expression: str, at, *, const=None, wrt=None, watch=None, dtype: str = "float64"):
    """The Jacobian of a list of expressions (or a tensor-valued one): `gradcli jacobian`. A MatrixResult.

    >>> gradcli.jacobian("[x*y, x + y]", at={"x": 1, "y": 2}).results[0].tape
    [[2.0, 1.0], [1.0, 1.0]]
    """
    from gradcli.solve.matrix import jacobian as solve

    return solve(expression, at, const, wrt, watch, dtype)


def hessian(expression: str, at, *, const=None, wrt=None, watch=None, dtype: str = "float64"):
    """The Hessian of a scalar expression, nested tapes beside sympy: `gradcli hessian`. A MatrixResult.

    >>> gradcli.hessian("x**2*y", at={"x": 1, "y": 2}).results[0].tape
    [[4.0, 2.0], [2.0, 0.0]]
    """
    from gradcli.solve.matrix import hessian as solve

    return solve(expression, at, const, wrt, watch, dtype)


def jvp(expression: str, at, tangent: Mapping[str, object], *, const=None, dtype: str = "float64"):
    """J·t by ForwardAccumulator, beside sympy and finite differences: `gradcli jvp`. A ProductResult.

    >>> gradcli.jvp("x**2*y", at={"x": 3, "y": 2}, tangent={"x": 1}).results[0].gradient[0].tape
    12.0
    """
    from gradcli.solve.products import jvp as solve

    return solve(expression, at, tangent, const, dtype)


def vjp(expression: str, at, upstream, *, const=None, dtype: str = "float64"):
    """uᵀ·J by the tape's output_gradients, beside sympy and finite differences: `gradcli vjp`.

    >>> gradcli.vjp("[x*y, x + y]", at={"x": 1, "y": 2}, upstream=[1, 2]).results[0].gradient["x"].tape
    4.0
    """
    from gradcli.solve.products import vjp as solve

    return solve(expression, at, upstream, const, dtype)


def implicit(expression: str, y: str, at, *, wrt: Sequence[str] | None = None):
    """dy/dx on the curve `expression` (`left = right`, or F = 0) at points on it: `gradcli grad --implicit y`.

    >>> gradcli.implicit("x**2 + y**2 = 25", "y", at={"x": 3, "y": 4}).results[0].exact
    -0.75
    """
    from gradcli.solve.derived import implicit as solve

    return solve(expression, y, at, list(wrt) if wrt is not None else None)


def directional(expression: str, direction: Sequence[float | str], at, *, wrt: Sequence[str] | None = None):
    """grad f · u, u the unit vector along `direction` (in `wrt` or alphabetical order): `--direction`.

    >>> gradcli.directional("x*y", [3, 4], at={"x": 1, "y": 2}).results[0].exact
    2.0
    """
    from gradcli.solve.derived import directional as solve

    return solve(expression, [str(d) for d in direction], at, list(wrt) if wrt is not None else None)


# ---------------------------------------------------------------- sympy alone


def derivative(
    expression: str, *, kind: str = "grad", wrt=None, order: int = 1, steps: bool = False, latex: bool = False
):
    """The derivative as a formula, with no point (`gradcli grad EXPR` without --at), checked against the
    tape at sample points; kind "hessian" or "jacobian" gives the matrix. A DerivativeResult.

    >>> gradcli.derivative("x**3").derivative
    {'x': '3*x**2'}
    """
    from gradcli.solve.formula import derivative as solve

    return solve(expression, kind, list(wrt) if wrt is not None else None, order, steps, latex)


def check(
    expression: str,
    answer: str,
    *,
    wrt: Sequence[str] | None = None,
    at: Mapping[str, object] | None = None,
    order: int = 1,
    implicit: str | None = None,
    direction: Sequence[float | str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    sig_figs: int | None = None,
    decimals: bool = False,
    points: float | None = None,
    partial: float | None = None,
):
    """Is `answer` the derivative of `expression`? `gradcli check`. A CheckResult: verdict "correct",
    "wrong" (with a counterexample and the likely mistake), "undecided" or "not differentiable".

    >>> gradcli.check("sin(3*x)", "cos(3*x)").verdict
    'wrong'
    """
    from gradcli.grading.check import check as judge

    vector = [str(d) for d in direction] if direction is not None else None
    names = list(wrt) if wrt is not None else None
    options = {"order": order, "implicit": implicit, "direction": vector, "ranges": ranges}
    policy = {"rtol": rtol, "atol": atol, "sig_figs": sig_figs, "decimals": decimals, "points": points}
    return judge(expression, answer, names, dict(at) if at else None, **options, **policy, partial=partial)


def grade(
    answers: str | PathLike | bytes,
    *,
    rtol: float | None = None,
    sig_figs: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
):
    """Grade a class file (a CSV path, or its bytes) with columns expression and answer (optionally wrt,
    at, order, implicit): `gradcli check --file`. A GradeSheet: its rows, `summary` and `exit_code`."""
    from gradcli.grading.sheet import grade_file, read

    data = answers if isinstance(answers, bytes) else read(str(answers))
    return grade_file(data, rtol=rtol, sig_figs=sig_figs, ranges=ranges or {})


# ---------------------------------------------------------------- descent and plots


def descend(
    expression: str,
    start: Mapping[str, object],
    *,
    lr: float = 0.1,
    steps: int = 100,
    optimizer: str = "sgd",
    clip: Clip | None = None,
    tol: float | None = None,
    const: Mapping[str, object] | None = None,
    callback: Callable | None = None,
    data: Mapping[str, object] | None = None,
    epochs: int = 1,
    batch_size: int | None = None,
    seed: int = 0,
):
    """Gradient descent on `expression` from `start` (sgd, momentum or adam), never printing; `callback`
    gets each Step: `gradcli descend`. A Run.

    >>> round(gradcli.descend("(w - 3)**2", {"w": 0}, steps=200).final.params["w"], 6)
    3.0
    """
    from gradcli.solve.descent import descend as run

    options = {"tol": tol, "const": const, "callback": callback, "data": data, "epochs": epochs}
    return run(expression, start, lr, steps, optimizer, clip, **options, batch_size=batch_size, seed=seed)


def plot_data(expression: str, *, lo: float = -5.0, hi: float = 5.0, const=None, samples: int = 400):
    """The numbers of `gradcli plot`: f, the tape's gradient and sympy's derivative at `samples` points
    of [lo, hi], with the kinks and singular points marked. A Curve (a notebook shows it as a PNG)."""
    from gradcli.present.pictures import curve, parse_range

    low, high = parse_range(f"{float(lo)!r}:{float(hi)!r}")  # the CLI's checks of --range; repr round-trips
    return curve(expression, low, high, const, samples)


# ---------------------------------------------------------------- the language


def parse(text: str, *, latex: bool = False):
    """gradcli's checked tree of `text` (gradcli's syntax, textbook notation, Unicode or LaTeX, which is
    recognised by its backslashes and braces, or always with latex=True); raises ParseError or LimitError.
    Never eval: the same safe parser as the command line.

    >>> tree = gradcli.parse("x^2 + sin x")
    >>> type(tree).__name__, gradcli.to_latex(tree)
    ('BinOp', 'x^{2} + \\\\sin\\\\left(x\\\\right)')
    """
    from gradcli.lang.parser import parse as read

    return read(text, latex=latex)


def to_latex(expression) -> str:
    """LaTeX of an expression (text, parsed first, or a tree from parse).

    >>> gradcli.to_latex("x^2/2")
    '\\\\frac{x^{2}}{2}'
    """
    from gradcli.lang.printers import to_latex as write

    return write(parse(expression) if isinstance(expression, str) else expression)


if TYPE_CHECKING:
    from gradcli.witnesses.clip import Clip


def _register_display() -> None:
    """Inside IPython, results display as HTML and LaTeX (gradcli.present.notebook), without the result
    classes importing the presentation layer."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is not None and hasattr(shell, "display_formatter"):
        from gradcli.present.notebook import register

        register(shell)


_register_display()
