"""The derivative with no point: the formula, simplified and factored, checked at sample points.

`gradcli grad "x^3*sin(x)"` answers the question a derivative calculator gets most: what is the
derivative? sympy gives the formula; it is then checked the way every gradcli answer is, by
GradientTape and finite differences, at a few sample points of the function's real domain:
candidates where f is finite and no kink or singularity event fires, then api.grad (or
matrix.hessian / matrix.jacobian) at those points, which judges agreement exactly as with --at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gradcli.errors import Deadline, ExitCode, GradcliError, LimitError, PointError
from gradcli.judge import verdict as judge
from gradcli.lang.parser import inline, operator_wrt, parse_program
from gradcli.lang.tree import Custom, ListOf, Node, free_names, uses_tensor_ops, walk

SAMPLES = 5
CANDIDATES = 12  # points tried by the tape; the first SAMPLES where the derivative exists are kept
_VALUES = (0.7, -1.3, 1.9, 0.35, -0.55, 2.6, 1.15, -2.2, 3.1, 0.45, -0.85, 1.6, 4.3, 0.2, -3.4, 5.7, 0.9, -0.3)


@dataclass(frozen=True)
class DerivativeResult:
    kind: str  # "grad", "hessian" or "jacobian"
    expression: str  # as gradcli read it
    input: str  # as typed
    wrt: tuple[str, ...]
    order: int
    derivative: dict[str, str] | list[list[str]]  # by variable (grad) or a matrix (hessian, jacobian)
    factored: dict[str, str]  # grad: where the factored form differs from the simplified one
    checked_at: tuple[dict[str, float], ...]
    agree: bool
    notes: tuple = ()  # of judge.Note
    rows: tuple[str, ...] = ()  # matrices: output labels (jacobian) or names (hessian)
    steps: dict = field(default_factory=dict)
    latex: dict = field(default_factory=dict)
    reading: tuple = ()  # of lang.notation.Note: how the expression was read where it could surprise

    @property
    def exit_code(self) -> ExitCode:
        if not self.agree:
            return ExitCode.DISAGREE
        return ExitCode.OK if self.checked_at else ExitCode.NOT_DIFFERENTIABLE

    @property
    def status(self) -> str:
        return {ExitCode.OK: "agree", ExitCode.DISAGREE: "disagree"}.get(self.exit_code, "not checked")

    def to_dict(self) -> dict:
        matrix = {"kind": self.kind, "rows": list(self.rows)} if self.kind != "grad" else {}
        return {
            **matrix,
            "expression": self.expression,
            "input": self.input,
            "reading": [n.to_dict() for n in self.reading],
            "wrt": list(self.wrt),
            "order": 2 if self.kind == "hessian" else self.order,
            "derivative": self.derivative,
            **({"factored": self.factored} if self.kind == "grad" else {}),
            "checked_at": [dict(p) for p in self.checked_at],
            "status": self.status,
            "exit_code": int(self.exit_code),
            "notes": [n.to_dict() for n in self.notes],
            **({"steps": {n: [s.to_dict() for s in steps] for n, steps in self.steps.items()}} if self.steps else {}),
            **({"latex": self.latex} if self.latex else {}),
        }


def derivative(
    expression: str,
    kind: str = "grad",
    wrt=None,
    order: int = 1,
    steps: bool = False,
    latex: bool = False,
    from_latex: bool = False,
) -> DerivativeResult:
    """d expression / d each name in wrt (all its variables by default), or its Hessian or Jacobian.

    steps and latex show the derivation and LaTeX of it; from_latex reads the expression as LaTeX."""
    from gradcli.lang.printers import to_text
    from gradcli.witnesses.symbolic import Symbolic

    tree, wrt, reading = _tree(expression, kind, from_latex, wrt)
    names = _names(tree, wrt)
    symbolic = Symbolic(tree, dict.fromkeys(free_names(tree), ()))
    deadline = Deadline("the derivative's formula", "name fewer variables (--wrt), or ask at a point (--at)")
    if kind == "grad":
        formulas = {}
        for number, name in enumerate(names):
            deadline.check(number, len(names))
            formulas[name] = _forms(symbolic.derivative(name, order))
        shown = {name: simple for name, (simple, _) in formulas.items()}
        factored = {name: f for name, (simple, f) in formulas.items() if f is not None}
        rows = ()
    else:
        matrix = symbolic.hessian(list(names)) if kind == "hessian" else symbolic.jacobian(list(names))
        shown, factored = [[_forms(entry)[0] for entry in row] for row in matrix], {}
        rows = names if kind == "hessian" else tuple(f"f[{i}]" for i in range(len(matrix)))
    deadline.check()
    checked, agree, notes = _check(expression, tree, kind, names, order, from_latex)
    deadline.check()
    extra = _derivation(tree, names, order, steps, latex) if kind == "grad" and (steps or latex) else {}
    return DerivativeResult(
        kind, to_text(tree), expression, names, order, shown, factored, checked, agree, notes, rows,
        reading=reading, **extra,
    )  # fmt: skip


def _tree(expression: str, kind: str, from_latex: bool, wrt=None) -> tuple[Node, tuple[str, ...] | None, tuple]:
    """The expression's tree, --wrt (or the variable of a `d/dx ...` the expression starts with), and the
    reading notes."""
    program = parse_program(expression, allow_lists=kind == "jacobian", latex=from_latex)
    wrt = operator_wrt(program, wrt)
    tree = list(inline(program).values())[-1]
    if uses_tensor_ops(tree) or any(isinstance(n, Custom) for n in walk(tree)):
        raise PointError("without --at, give a scalar expression (no sum, mean, @ or custom functions)")
    if kind != "jacobian" and isinstance(tree, ListOf):
        raise PointError("a list of expressions has a Jacobian: use gradcli jacobian")
    return tree, wrt, program.notes


def _names(tree: Node, wrt) -> tuple[str, ...]:
    from gradcli.solve.problem import _order_of_appearance

    names = tuple(_order_of_appearance(tree))
    if not names:
        raise PointError("the expression has no variables to differentiate")
    for name in wrt or ():
        if name not in names:
            raise PointError(f"--wrt {name}: '{name}' is not in the expression ({', '.join(sorted(names))})")
    return tuple(wrt) if wrt else names


def _forms(expr) -> tuple[str, str | None]:
    """The simplified derivative, and its factored form where that reads differently."""
    import sympy

    from gradcli.witnesses.symbolic import SIMPLIFY_SECONDS, time_limit

    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying the derivative"):
            simple = sympy.simplify(expr)
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        simple = expr
    if simple.has(sympy.Piecewise) and not expr.has(sympy.Piecewise):  # sign(x) is not x/Abs(x) with a zoo at 0
        simple = expr
    try:
        with time_limit(SIMPLIFY_SECONDS, "factoring the derivative"):
            factored = sympy.sstr(sympy.factor(simple))
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError, sympy.PolynomialError):
        factored = None
    text = sympy.sstr(simple)
    return text, (factored if factored != text else None)


def _derivation(tree: Node, names, order: int, steps: bool, latex: bool) -> dict:
    from gradcli.grading.steps import derive
    from gradcli.grading.steps import latex as to_latex

    if order != 1:
        raise GradcliError("--steps and --latex are for first derivatives")
    derived = {name: derive(tree, name) for name in names}
    out = {}
    if steps:
        out["steps"] = {name: s for name, (s, _) in derived.items()}
    if latex:
        out["latex"] = to_latex(tree, {name: d for name, (_, d) in derived.items()})
    return out


def with_gradient_derivation(result, steps: bool, latex: bool, from_latex: bool = False):
    """grad --steps / --latex: the GradResult with the derivation steps and/or LaTeX of f and each derivative."""
    from dataclasses import replace

    if result.order != 1 or result.summed:
        raise GradcliError("--steps and --latex are for first derivatives of one expression, not of a list")
    tree = list(inline(parse_program(result.input, latex=from_latex)).values())[-1]
    return replace(result, **_derivation(tree, result.wrt, 1, steps, latex))


def with_check_derivation(result, steps: bool, latex: bool):
    """check --steps / --latex: the CheckResult with the derivation steps and/or LaTeX of f and its derivative."""
    from dataclasses import replace

    from gradcli.grading.steps import derive
    from gradcli.grading.steps import latex as to_latex

    derived = {name: derive(result.tree, name) for name in result.wrt}
    return replace(
        result,
        steps={n: s for n, (s, _) in derived.items()} if steps else {},
        latex=to_latex(result.tree, {n: d for n, (_, d) in derived.items()}) if latex else {},
    )


# ---------------------------------------------------------------- checking at sample points


def sample_points(tree: Node, limit: int = CANDIDATES) -> list[dict[str, float]]:
    """Points of the real domain away from kinks and singularities: f finite there, no event fires."""
    from gradcli.witnesses.numeric import events_at, value

    names = sorted(free_names(tree))
    points = []
    for i in range(len(_VALUES)):
        point = {name: _VALUES[(i + 5 * j) % len(_VALUES)] for j, name in enumerate(names)}
        env = {name: np.float64(v) for name, v in point.items()}
        with np.errstate(all="ignore"):
            f = np.asarray(value(tree, env), dtype=np.float64)
        if np.all(np.isfinite(f)) and not events_at(tree, env, frozenset(names)):
            points.append(point)
        if len(points) == limit:
            break
    return points


def _check(expression: str, tree: Node, kind: str, names, order: int, from_latex: bool):
    """(points where the tape, sympy and finite differences were compared, whether they agree, notes)."""
    from gradcli.solve import gradient as api
    from gradcli.solve import matrix

    points = sample_points(tree)
    if not points:
        return (), True, (judge.Note("unchecked", judge.UNDEFINED, None, {"why": "no sample point"}),)
    if kind == "grad":
        result = api.grad(expression, at=points, wrt=list(names), order=order, from_latex=from_latex)
    else:
        compute = matrix.hessian if kind == "hessian" else matrix.jacobian
        result = compute(expression, at=points, wrt=list(names), from_latex=from_latex)
    kept = [r for r in result.results if r.differentiable][:SAMPLES]
    wrong = [r for r in kept if not r.agree]
    notes = []
    for r in wrong:
        rows = [(p.name, p.tape, p.exact, p.finite_difference) for p in r.gradient] if kind == "grad" else []
        notes.append(judge.Note("sample_disagrees", judge.WRONG, None, {"at": dict(r.at), "rows": rows}))
    if not kept:
        notes.append(judge.Note("unchecked", judge.UNDEFINED, None, {"why": "not finite"}))
    checked = tuple(
        {n: float(v) for n, v in r.at.items()} for r in kept if all(math.isfinite(v) for v in r.at.values())
    )
    return checked, not wrong, tuple(notes)
