"""A derivation, rule by rule, from gradcli's own tree: what a student would write down.

Each step names the rule (constant, sum, constant multiple, power, product,
quotient, chain, exp, log, trig, inverse trig, hyperbolic, sqrt, abs, ...),
the expression it differentiates and the result, inner parts first; the last
line is the simplified derivative, which a property test checks against sympy.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from gradcli.errors import LimitError, PointError
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, Custom, ListOf, Name, Neg, Node, free_names, walk
from gradcli.witnesses.symbolic import real_power


@dataclass(frozen=True)
class Step:
    rule: str
    expression: str  # what is differentiated, as gradcli prints it
    derivative: str  # its derivative, as sympy prints it
    latex: str = ""  # the derivative in LaTeX

    def to_dict(self) -> dict:
        return {"rule": self.rule, "expression": self.expression, "derivative": self.derivative, "latex": self.latex}


_OUTER = {  # f'(u) for f(u), as a function of the sympy argument u
    "sin": ("trig", lambda u: sympy.cos(u)),
    "cos": ("trig", lambda u: -sympy.sin(u)),
    "tan": ("trig", lambda u: 1 + sympy.tan(u) ** 2),
    "asin": ("inverse trig", lambda u: 1 / sympy.sqrt(1 - u**2)),
    "acos": ("inverse trig", lambda u: -1 / sympy.sqrt(1 - u**2)),
    "atan": ("inverse trig", lambda u: 1 / (1 + u**2)),
    "sec": ("trig", lambda u: sympy.sec(u) * sympy.tan(u)),
    "csc": ("trig", lambda u: -sympy.csc(u) * sympy.cot(u)),
    "cot": ("trig", lambda u: -1 - sympy.cot(u) ** 2),
    "asec": ("inverse trig", lambda u: 1 / (u**2 * sympy.sqrt(1 - 1 / u**2))),
    "acsc": ("inverse trig", lambda u: -1 / (u**2 * sympy.sqrt(1 - 1 / u**2))),
    "acot": ("inverse trig", lambda u: -1 / (1 + u**2)),
    "sech": ("hyperbolic", lambda u: -sympy.sech(u) * sympy.tanh(u)),
    "csch": ("hyperbolic", lambda u: -sympy.csch(u) * sympy.coth(u)),
    "coth": ("hyperbolic", lambda u: 1 - sympy.coth(u) ** 2),
    "asinh": ("inverse hyperbolic", lambda u: 1 / sympy.sqrt(u**2 + 1)),
    "acosh": ("inverse hyperbolic", lambda u: 1 / sympy.sqrt(u**2 - 1)),
    "atanh": ("inverse hyperbolic", lambda u: 1 / (1 - u**2)),
    "sign": ("sign (0; it jumps where u = 0, and has no derivative there)", lambda u: sympy.Integer(0)),
    "sinh": ("hyperbolic", lambda u: sympy.cosh(u)),
    "cosh": ("hyperbolic", lambda u: sympy.sinh(u)),
    "tanh": ("hyperbolic", lambda u: 1 - sympy.tanh(u) ** 2),
    "exp": ("exp", lambda u: sympy.exp(u)),
    "log": ("log", lambda u: 1 / u),
    "log2": ("log", lambda u: 1 / (u * sympy.log(2))),
    "log10": ("log", lambda u: 1 / (u * sympy.log(10))),
    "sqrt": ("sqrt", lambda u: 1 / (2 * sympy.sqrt(u))),
    "cbrt": ("cube root", lambda u: 1 / (3 * real_power(u, 2, 3))),
    "abs": ("abs (sign(u); not differentiable where u = 0)", lambda u: sympy.sign(u)),
    "sigmoid": ("sigmoid", lambda u: sympy.exp(-u) / (1 + sympy.exp(-u)) ** 2),
    "softplus": ("softplus", lambda u: 1 / (1 + sympy.exp(-u))),
    "relu": ("relu (Heaviside(u); not differentiable where u = 0)", lambda u: sympy.Heaviside(u)),
    "square": ("power (square(u) = u**2)", lambda u: 2 * u),
}


class _Derivation:
    def __init__(self, name: str, symbols: dict):
        self.name = name
        self.symbols = symbols
        self.steps: list[Step] = []

    def value(self, node: Node):
        from gradcli.lang.tree import evaluate
        from gradcli.witnesses.symbolic import SympyBackend

        return evaluate(node, self.symbols, SympyBackend())

    def record(self, rule: str, node: Node, result):
        self.steps.append(Step(rule, to_text(node), sympy.sstr(result), sympy.latex(result)))
        return result

    def d(self, node: Node):
        if self.name not in free_names(node):
            return self.record("constant", node, sympy.Integer(0))
        if isinstance(node, Name):
            return self.record("variable: d/dx x = 1", node, sympy.Integer(1))
        if isinstance(node, Neg):
            return self.record("constant multiple (-1)", node, -self.d(node.operand))
        if isinstance(node, BinOp):
            return self.binop(node)
        if isinstance(node, Call):
            return self.call(node)
        raise PointError(f"steps are not available for {to_text(node)}")

    def binop(self, node: BinOp):
        left, right = node.left, node.right
        has_left, has_right = self.name in free_names(left), self.name in free_names(right)
        if node.op in "+-":
            result = self.d(left) + self.d(right) if node.op == "+" else self.d(left) - self.d(right)
            return self.record("sum" if node.op == "+" else "difference", node, result)
        if node.op == "*":
            if not (has_left and has_right):
                inner, const = (left, right) if has_left else (right, left)
                return self.record("constant multiple", node, self.value(const) * self.d(inner))
            result = self.d(left) * self.value(right) + self.value(left) * self.d(right)
            return self.record("product", node, result)
        if node.op == "/":
            if not has_right:
                return self.record("constant multiple", node, self.d(left) / self.value(right))
            u, v = self.value(left), self.value(right)
            return self.record("quotient", node, (self.d(left) * v - u * self.d(right)) / v**2)
        if node.op == "**":
            return self.power(node, has_left, has_right)
        raise PointError("steps are not available for the matrix product @")

    def power(self, node: BinOp, has_base: bool, has_exponent: bool):
        base, exponent = self.value(node.left), self.value(node.right)
        chain = "" if isinstance(node.left, Name) else " + chain"
        if has_base and not has_exponent:
            return self.record("power" + chain, node, exponent * base ** (exponent - 1) * self.d(node.left))
        if has_exponent and not has_base:
            return self.record("exponential a**u", node, base**exponent * sympy.log(base) * self.d(node.right))
        result = base**exponent * (self.d(node.right) * sympy.log(base) + exponent * self.d(node.left) / base)
        return self.record("general power (logarithmic differentiation)", node, result)

    def call(self, node: Call):
        args = node.args
        if node.func == "log" and len(args) == 2:
            return self.record(
                "log with base", node, self.d(args[0]) / (self.value(args[0]) * sympy.log(self.value(args[1])))
            )
        if node.func in ("max", "min"):
            a, b = (self.value(x) for x in args)
            chosen = sympy.Heaviside(a - b) if node.func == "max" else sympy.Heaviside(b - a)
            result = chosen * self.d(args[0]) + (1 - chosen) * self.d(args[1])
            return self.record(f"{node.func} (piecewise; not differentiable where the arguments tie)", node, result)
        if node.func == "clip":
            u, low, high = (self.value(x) for x in args)
            inside = sympy.Heaviside(u - low) * sympy.Heaviside(high - u)
            du, dlow, dhigh = (self.d(x) for x in args)
            result = inside * du + sympy.Heaviside(low - u) * dlow + sympy.Heaviside(u - high) * dhigh
            return self.record("clip (piecewise; not differentiable where u meets a bound)", node, result)
        if node.func == "where":
            condition = self.value(args[0])
            result = sympy.Piecewise((self.d(args[1]), condition), (self.d(args[2]), True))
            return self.record(
                "where (the derivative of the branch the condition takes; not differentiable where it switches)",
                node,
                result,
            )
        if node.func not in _OUTER:
            raise PointError(f"steps are not available for {node.func}()")
        rule, outer = _OUTER[node.func]
        u = self.value(args[0])
        chain = "" if isinstance(args[0], Name) else " + chain"
        return self.record(rule + chain, node, outer(u) * self.d(args[0]))


def derive(tree: Node, name: str) -> tuple[list[Step], object]:
    """The steps for d tree / d name, and the simplified derivative (a sympy expression)."""
    from gradcli.witnesses.symbolic import SIMPLIFY_SECONDS, SYMPY_SECONDS, symbols_for, time_limit

    if any(isinstance(n, ListOf | Custom) for n in walk(tree)):
        raise PointError("steps are available for scalar expressions without custom functions")
    symbols = {n: symbols_for(n, ()) for n in free_names(tree) | {name}}
    derivation = _Derivation(name, symbols)
    with time_limit(SYMPY_SECONDS, "deriving the steps"):  # a 71-factor product has thousands of steps
        result = derivation.d(tree)
    rule = "simplify"
    try:
        with time_limit(SIMPLIFY_SECONDS, "simplifying the derivative"):
            final = sympy.simplify(result)
    except (LimitError, ValueError, TypeError, ArithmeticError, RecursionError):
        # sympy.simplify can run for minutes, or raise on its own rewrites ("argument ... is not
        # comparable" from Max of a complex rewrite); the derivation is complete without it.
        final, rule = result, "simplify (sympy could not simplify this; shown as derived)"
    derivation.steps.append(Step(rule, f"d/d{name} {to_text(tree)}", sympy.sstr(final), sympy.latex(final)))
    return derivation.steps, final


def latex(tree: Node, derivatives: dict) -> dict:
    """LaTeX of the function as gradcli read it (it reads back to the same tree), and of each derivative
    (sympy's printer)."""
    from gradcli.lang.printers import to_latex

    return {"function": to_latex(tree), "derivatives": {n: sympy.latex(d) for n, d in derivatives.items()}}
