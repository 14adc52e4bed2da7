"""Pictures: a function beside its tape gradient, a landscape with gradient arrows, descent runs.

matplotlib (PNG) and plotext (terminal) are imported only here, inside the functions.
Kinks and singular points inside the range are found from the tree itself (where
the argument of abs, relu, max/min, sqrt, log or a divisor changes sign), marked,
and the curves are broken there instead of being joined through infinity.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from gradcli.errors import GradcliError, PointError
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, Node, free_names, walk
from gradcli.solve.problem import Options, prepare
from gradcli.witnesses import numeric

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # plain text: the same in a terminal, a pipe or a snapshot test
SAMPLES = 400
GRID = 120
ARROWS = 15
PNG_SIZE = (8, 5)  # inches, at 100 dpi: 800 x 500 pixels
DPI = 100
TERMINAL_SIZE = (80, 20)
RANGE_LIMIT = 1e15  # x**2 over it stays within what a terminal plot can draw
TERMINAL_LIMIT = 1e30  # plotext draws an empty frame past about 1e40
RANGE_RESOLUTION = 1e-9  # the samples of a range must be distinct floats, with room for finite differences


@dataclass(frozen=True)
class Mark:
    x: float
    kind: str  # "kink" or "singular"
    what: str


@dataclass(frozen=True)
class Curve:
    """f, the tape's gradient and sympy's derivative over a range, with the marks."""

    expression: str
    variable: str
    x: np.ndarray = field(repr=False)  # hundreds of samples: a notebook shows the picture instead
    f: np.ndarray = field(repr=False)
    tape: np.ndarray = field(repr=False)
    symbolic: np.ndarray = field(repr=False)
    marks: tuple[Mark, ...] = ()

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def parse_range(text: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    try:
        lo, hi = float(low), float(high)
    except ValueError:
        raise PointError(f"--range {text!r}: write LOW:HIGH, for example -6:6") from None
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise PointError(f"--range {text!r}: write LOW:HIGH with LOW < HIGH, for example -6:6")
    if max(abs(lo), abs(hi)) > RANGE_LIMIT:
        raise PointError(f"--range {text!r}: LOW and HIGH must be between {-RANGE_LIMIT:g} and {RANGE_LIMIT:g}")
    if hi - lo < max(1 / RANGE_LIMIT, RANGE_RESOLUTION * max(abs(lo), abs(hi))):
        raise PointError(
            f"--range {text!r} is too narrow to sample: make it at least {1 / RANGE_LIMIT:g} wide "
            f"and {RANGE_RESOLUTION:g} times its largest bound"
        )
    return lo, hi


def curve(expression: str, lo: float, hi: float, const=None, samples: int = SAMPLES, from_latex: bool = False) -> Curve:
    """One vectorised tape over all the samples, and the symbolic derivative evaluated over them too."""
    from gradcli.witnesses.symbolic import NotVectorisable, Symbolic, to_numpy
    from gradcli.witnesses.tape import record

    problem = _one_variable(expression, const, from_latex)
    name = problem.variables[0]
    x = np.linspace(lo, hi, samples)
    env = {name: x, **{c: np.full(samples, float(v.data)) for c, v in problem.constants.items()}}
    values, grads = record(problem.tree, env, frozenset({name}), frozenset(), "float64")
    symbolic = Symbolic(problem.tree, problem.shapes, problem.constants)
    try:
        names = {symbolic.symbols[n]: n for n in problem.shapes}
        with np.errstate(all="ignore"):
            exact = np.broadcast_to(to_numpy(symbolic.derivative(name), names)(env), x.shape).astype(float)
    except NotVectorisable:
        exact = np.full(samples, np.nan)
    marks = find_marks(problem.tree, env, name)
    f, tape, exact = (_broken(a, x, marks) for a in (values, grads[name], exact))
    return Curve(problem.text, name, x, f, tape, exact, marks)


def _one_variable(expression: str, const, from_latex: bool):
    names = [n for n in free_names_of(expression, from_latex) if n not in (const or {})]
    if len(names) != 1:
        raise PointError(f"this plot needs exactly one variable; the expression has {', '.join(names) or 'none'}")
    problem = prepare(expression, {names[0]: 0}, Options(const=const, from_latex=from_latex))
    if not problem.batchable:
        raise PointError("plots need an elementwise expression of scalars (no sum, mean or @)")
    return problem


def _watch_points(tree: Node):
    """(subtree whose sign change matters, kind, description) for every kink or singularity in the tree."""
    for node in walk(tree):
        if isinstance(node, Call) and node.func in ("abs", "relu", "sign"):
            yield node.args[0], "kink", f"{node.func}({to_text(node.args[0])})"
        elif isinstance(node, Call) and node.func in ("max", "min"):
            yield BinOp("-", *node.args), "kink", to_text(node)
        elif isinstance(node, Call) and node.func in ("sqrt", "log", "log2", "log10"):
            yield node.args[0], "singular", f"{node.func}({to_text(node.args[0])})"
        elif isinstance(node, Call) and node.func in ("tan", "sec", "csc", "cot"):
            zero = "cos" if node.func in ("tan", "sec") else "sin"
            yield Call(zero, node.args), "singular", f"{node.func}({to_text(node.args[0])})"
        elif isinstance(node, Call) and node.func in ("csch", "coth", "acot"):
            yield node.args[0], "singular", f"{node.func}({to_text(node.args[0])})"
        elif isinstance(node, BinOp) and node.op == "/" and free_names(node.right):
            yield node.right, "singular", f"division by {to_text(node.right)}"


def find_marks(tree: Node, env: dict, name: str) -> tuple[Mark, ...]:
    x = env[name]
    marks = []
    with np.errstate(all="ignore"):
        for subtree, kind, what in _watch_points(tree):
            if name not in free_names(subtree):
                continue
            u = np.broadcast_to(numeric.value(subtree, env), x.shape)
            for i in np.nonzero(np.sign(u[:-1]) * np.sign(u[1:]) <= 0)[0]:
                if u[i] == 0 and i > 0 and u[i - 1] == 0:
                    continue  # a run of zeros: marked once, where it starts
                t = 0.0 if u[i] == u[i + 1] else u[i] / (u[i] - u[i + 1])
                marks.append(Mark(float(x[i] + t * (x[i + 1] - x[i])), kind, what))
    return tuple(sorted(set(marks), key=lambda m: m.x))


def _broken(y: np.ndarray, x: np.ndarray, marks) -> np.ndarray:
    """NaN on either side of each singular mark, and wherever y is not finite, so no line crosses it."""
    y = np.array(y, dtype=float)
    y[~np.isfinite(y)] = np.nan
    for mark in marks:
        if mark.kind == "singular":
            i = int(np.searchsorted(x, mark.x))
            y[max(i - 1, 0) : i + 1] = np.nan
    return y


def _limits(*arrays) -> tuple[float, float] | None:
    """A y-range from the central 98% of the finite values, so a pole does not flatten the picture."""
    values = np.concatenate([a[np.isfinite(a)] for a in arrays])
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [1, 99])
    pad = 0.1 * (hi - lo or 1.0)
    return float(lo - pad), float(hi + pad)


def png_curve(c: Curve, out: str) -> None:
    _save(_curve_figure(c), out)


def png_bytes(c: Curve) -> bytes:
    """The same picture as PNG bytes, for a notebook (no pyplot state touched, no backend chosen)."""
    import io

    fig = _curve_figure(c)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _curve_figure(c: Curve):
    _quiet_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=PNG_SIZE, dpi=DPI)
    ax = fig.subplots()
    ax.plot(c.x, c.f, label=f"f({c.variable}) = {c.expression}", color="tab:blue", linewidth=2)
    ax.plot(c.x, c.tape, label="GradientTape gradient", color="tab:orange", linewidth=2)
    ax.plot(c.x, c.symbolic, label="sympy derivative", color="black", linestyle="--", linewidth=1)
    for x in sorted({m.x for m in c.marks}):
        here = [m for m in c.marks if m.x == x]
        singular = any(m.kind == "singular" for m in here)
        ax.axvline(x, color="tab:red" if singular else "tab:gray", linestyle=":", linewidth=1)
        label = "; ".join(f"{m.kind}: {m.what}" for m in here)
        ax.annotate(
            label, (x, 0.02), xycoords=("data", "axes fraction"), fontsize=7, xytext=(3, 0), textcoords="offset points"
        )
    limits = _limits(c.f, c.tape, c.symbolic)
    if limits:
        ax.set_ylim(*limits)
    ax.set_xlabel(c.variable)
    ax.set_ylabel("value")
    ax.set_title(f"f = {c.expression} and its gradient")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return fig


def png_landscape(expression: str, lo: float, hi: float, out: str, const=None, from_latex: bool = False) -> None:
    """Two variables: contours of f with the tape's gradient as arrows (one batched tape over the arrow grid)."""
    from gradcli.witnesses.tape import record

    names = [n for n in free_names_of(expression, from_latex) if n not in (const or {})]
    if len(names) != 2:
        raise PointError(f"a landscape needs exactly two variables; the expression has {', '.join(names)}")
    problem = prepare(expression, dict.fromkeys(names, 0), Options(const=const, from_latex=from_latex))
    a, b = problem.variables
    grid = np.linspace(lo, hi, GRID)
    ga, gb = np.meshgrid(grid, grid)
    consts = {c: float(v.data) for c, v in problem.constants.items()}
    with np.errstate(all="ignore"):
        z = np.broadcast_to(numeric.value(problem.tree, {a: ga, b: gb, **consts}), ga.shape)
    coarse = np.linspace(lo, hi, ARROWS)
    ca, cb = (m.ravel() for m in np.meshgrid(coarse, coarse))
    env = {a: ca, b: cb, **{c: np.full(ca.shape, v) for c, v in consts.items()}}
    _, grads = record(problem.tree, env, frozenset({a, b}), frozenset(), "float64")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=PNG_SIZE, dpi=DPI)
    contours = ax.contourf(ga, gb, np.where(np.isfinite(z), z, np.nan), levels=30, cmap="viridis")
    fig.colorbar(contours, ax=ax, label="f")
    ax.quiver(ca, cb, grads[a], grads[b], color="white", angles="xy", pivot="middle")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title(f"f = {problem.text}: contours and gradient arrows (GradientTape)")
    _save(fig, out)


def free_names_of(expression: str, from_latex: bool = False) -> list[str]:
    from gradcli.lang.parser import inline, parse_program

    return sorted(frozenset().union(*map(free_names, inline(parse_program(expression, latex=from_latex)).values())))


# Each curve has its own marker always (a pipe or a monochrome terminal still tells them apart) and its own
# colour where the terminal has colours. The legend is printed under the frame, so it never covers data.
TERMINAL_STYLES = (("braille", "blue", "f"), ("•", "red", "GradientTape gradient"))


def terminal_curve(c: Curve, width: int = TERMINAL_SIZE[0], height: int = TERMINAL_SIZE[1], color: bool = False) -> str:
    import plotext as plx

    largest = max((float(np.max(np.abs(a[np.isfinite(a)]), initial=0)) for a in (c.f, c.tape)), default=0)
    if largest > TERMINAL_LIMIT:
        raise PointError(f"values reach {largest:.3g}, too large to draw in a terminal: add --out FILE.png")
    plx.clear_figure()
    plx.plotsize(width, height)
    plx.theme("clear")
    for values, (marker, colour, _label) in zip((c.f, c.tape), TERMINAL_STYLES, strict=True):
        finite = np.isfinite(values)
        plx.plot(c.x[finite].tolist(), values[finite].tolist(), marker=marker, color=colour)
    for mark in c.marks:
        plx.vline(mark.x)
    limits = _limits(c.f, c.tape)
    if limits:
        plx.ylim(*limits)
    plx.title(f"f = {c.expression} and its gradient")
    plx.xlabel(c.variable)
    text = plx.build()
    legend = "   ".join(f"{_paint(_SAMPLE.get(m, m * 2), k, color)} {label}" for m, k, label in TERMINAL_STYLES)
    if not color:
        text = _ANSI.sub("", text)
    notes = "".join(f"\n{m.kind} at {c.variable} = {m.x:.6g}: {m.what}" for m in c.marks)
    return text.rstrip("\n") + "\n" + legend + notes + "\n"


_SAMPLE = {"braille": "⠤⠤"}  # what a marker looks like, for the legend
_COLOURS = {"blue": 4, "red": 1}  # plotext's own 256-colour numbers, so the legend matches the curves


def _paint(text: str, colour: str, color: bool) -> str:
    return f"\x1b[38;5;{_COLOURS[colour]}m{text}\x1b[0m" if color else text


def png_descent(runs, out: str, data=None) -> None:
    """The loss per step; for two parameters, the path over the landscape; for data with one input, the fit."""
    plt = _pyplot()
    first = runs[0]
    names = list(first.history[0].params)
    panels = 1 + (len(names) == 2 and data is None) + (data is not None and _fit(first, data) is not None)
    fig, axes = plt.subplots(1, panels, figsize=(PNG_SIZE[0] * panels / 1.5, PNG_SIZE[1]), dpi=DPI, squeeze=False)
    ax = axes[0][0]
    for run in runs:
        losses = np.array([s.loss for s in run.history], dtype=float)
        ax.plot(np.arange(len(losses)), losses, label=f"lr {run.lr:g} ({run.optimizer})")
    if all(s.loss > 0 for run in runs for s in run.history if math.isfinite(s.loss)):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"descend f = {first.expression}")
    ax.legend()
    if panels > 1 and data is None:
        _path_panel(axes[0][1], runs, names)
    elif panels > 1:
        _fit_panel(axes[0][1], first, data)
    _save(fig, out)


def _path_panel(ax, runs, names) -> None:
    a, b = names
    points = np.array([[s.params[a], s.params[b]] for run in runs for s in run.history], dtype=float)
    finite = points[np.all(np.isfinite(points), axis=1)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = 0.2 * np.maximum(hi - lo, 1e-3)
    ga, gb = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID), np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID)
    )
    problem = prepare(runs[0].expression, {a: 0, b: 0})
    with np.errstate(all="ignore"):
        z = np.broadcast_to(numeric.value(problem.tree, {a: ga, b: gb}), ga.shape)
    ax.contour(ga, gb, z, levels=30, cmap="viridis")
    for run in runs:
        path = np.array([[s.params[a], s.params[b]] for s in run.history], dtype=float)
        ax.plot(path[:, 0], path[:, 1], marker=".", label=f"lr {run.lr:g}")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("path over the loss landscape")
    ax.legend()


def _fit(run, data):
    """For a loss (model - column)**2 with one other column, the model as a tree; else None."""
    from gradcli.lang.parser import parse_program
    from gradcli.lang.tree import Name, Num

    tree = parse_program(run.expression).steps[-1][1]
    columns = [c for c in data if c in free_names(tree)]
    if not (isinstance(tree, BinOp) and tree.op == "**" and isinstance(tree.right, Num) and tree.right.value == 2):
        return None
    inner = tree.left
    if not (isinstance(inner, BinOp) and inner.op == "-" and isinstance(inner.right, Name)):
        return None
    target, inputs = inner.right.id, [c for c in columns if c != inner.right.id]
    if target not in data or len(inputs) != 1:
        return None
    return inner.left, inputs[0], target


def _fit_panel(ax, run, data) -> None:
    model, x_name, y_name = _fit(run, data)
    x = np.asarray(data[x_name], dtype=float)
    ax.scatter(x, data[y_name], s=8, alpha=0.5, label="data")
    grid = np.linspace(x.min(), x.max(), 200)
    params = {n: float(v) for n, v in run.final.params.items()}
    ax.plot(grid, np.broadcast_to(numeric.value(model, {x_name: grid, **params}), grid.shape), color="tab:red")
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(f"fitted: {to_text(model)} with " + ", ".join(f"{n} = {v:.4g}" for n, v in params.items()))


def _quiet_matplotlib() -> None:
    """Before matplotlib is first imported: a cache directory it can write, and no notices on stderr."""
    import logging
    import os
    import tempfile

    if "MPLCONFIGDIR" not in os.environ and not _writable(_matplotlib_config()):
        # a read-only HOME: matplotlib would warn on stderr and rebuild its font cache in a new temporary
        # directory on every run; one per user under the temporary directory keeps it quiet and fast
        os.environ["MPLCONFIGDIR"] = os.path.join(tempfile.gettempdir(), f"gradcli-matplotlib-{os.getuid()}")
    logging.getLogger("matplotlib").setLevel(logging.ERROR)  # cache notices are not gradcli's output
    os.environ.pop("MPLBACKEND", None)  # gradcli draws files with Agg; a bogus backend would end matplotlib's import


def _pyplot():
    _quiet_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    return plt


def _matplotlib_config() -> str:
    import os

    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "matplotlib")


def _writable(directory: str) -> bool:
    """Can a file be made there? Tried, not asked: os.access says yes to root on a read-only file system."""
    import os
    import tempfile

    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _save(fig, out: str) -> None:
    """Whole or not at all: drawn into a temporary file beside `out`, renamed onto it when complete."""
    from gradcli.runtime.files import atomic_write

    plt = _pyplot()
    try:
        fig.tight_layout()
        with atomic_write(out, binary=True) as handle:
            fig.savefig(handle, format=str(out).rsplit(".", 1)[-1].lower())
    except ValueError as exc:
        raise GradcliError(f"cannot write {out}: {exc}") from exc
    finally:
        plt.close(fig)
