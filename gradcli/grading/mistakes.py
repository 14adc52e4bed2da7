"""Naming the mistake in a wrong derivative: differentiate again with one rule applied wrongly.

The derivation is the one `--steps` shows (gradcli/steps.py); a mutant applies one
rule wrongly at one place in the tree and every other rule rightly. A mistake is
named only when a mutant equals the answer at every sample point (to rounding
error), and only when the mutants that match agree on one kind: never a guess.

Kinds (the JSON `mistake.kind`):

- chain rule: the inner derivative is missing (d/dx sin(3x) = cos(3x)).
- product rule: one term of (uv)' = u'v + uv' is missing, or u'v' was written.
- quotient rule: the numerator is reversed (uv' - u'v) or the denominator not squared.
- power rule: the exponent was not lowered (d/dx x**3 = 3x**3).
- trig sign: the sign of the derivative of sin or cos is wrong.
- exponential: a**u was differentiated as a power (u*a**(u - 1)), or without the factor ln(a).
- log base: the 1/ln(b) of a log to base b is missing.
- constant factor: a constant factor was dropped.
- antiderivative: the answer is an antiderivative of the function, not its derivative.
- sign: the whole answer has the wrong sign.
- function itself: the function (or its value at the point) was given for its derivative.
- lower order: the derivative one order lower was given (f' for f'').
- constant of integration: the answer is right but for a `+ C`.
- expected a formula: a number was given where the derivative depends on the variable.

The last four are named by gradcli/grading/check.py, each only when it is proven.
"""

from __future__ import annotations

import numpy as np
import sympy

from gradcli.grading.steps import _OUTER, _Derivation
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, Name, Node, free_names, walk

MAX_MUTANTS = 80
KINDS = (
    "chain rule", "product rule", "quotient rule", "power rule", "trig sign", "exponential",
    "log base", "constant factor", "antiderivative", "sign",
    "function itself", "lower order", "constant of integration", "expected a formula",
)  # fmt: skip


class _Mutant(_Derivation):
    """The derivation with one rule applied wrongly at the node `target`."""

    def __init__(self, name, symbols, target: Node, wrong):
        super().__init__(name, symbols)
        self.target = target
        self.wrong = wrong

    def record(self, rule, node, result):
        return result

    def d(self, node):
        if node is self.target:
            return self.wrong(self, node)
        return super().d(node)


class _Numbered(_Derivation):
    """The right derivation, remembering which step each node is (as --steps numbers them)."""

    def __init__(self, name, symbols):
        super().__init__(name, symbols)
        self.step_of: dict[int, int] = {}

    def record(self, rule, node, result):
        self.steps.append(rule)
        self.step_of[id(node)] = len(self.steps)
        return result


def _sites(tree: Node, name: str):
    """(node, kind, wrong derivative rule, message maker) for each place a rule can be misapplied."""
    for node in walk(tree):
        if name not in free_names(node):
            continue
        if isinstance(node, Call) and node.func in _OUTER and len(node.args) == 1:
            yield from _call_sites(node)
        elif isinstance(node, Call) and node.func == "log" and len(node.args) == 2:
            yield node, "log base", lambda m, n: m.d(n.args[0]) / m.value(n.args[0]), _log_message
        elif isinstance(node, BinOp):
            yield from _binop_sites(node, name)


def _call_sites(node: Call):
    outer = _OUTER[node.func][1]
    if not isinstance(node.args[0], Name):
        yield node, "chain rule", lambda m, n: outer(m.value(n.args[0])), _chain_message
    if node.func in ("sin", "cos"):
        yield node, "trig sign", lambda m, n: -outer(m.value(n.args[0])) * m.d(n.args[0]), _trig_message
    if node.func in ("log2", "log10"):
        yield node, "log base", lambda m, n: m.d(n.args[0]) / m.value(n.args[0]), _log_message


def _binop_sites(node: BinOp, name: str):
    has_left, has_right = name in free_names(node.left), name in free_names(node.right)
    if node.op == "*" and has_left and has_right:
        yield node, "product rule", lambda m, n: m.d(n.left) * m.value(n.right), _product("the term uv' is missing")
        yield node, "product rule", lambda m, n: m.value(n.left) * m.d(n.right), _product("the term u'v is missing")
        yield node, "product rule", lambda m, n: m.d(n.left) * m.d(n.right), _product("it is not u'v'")
    elif node.op == "*":
        inner = node.left if has_left else node.right
        yield node, "constant factor", lambda m, n, inner=inner: m.d(inner), _constant_message
    elif node.op == "/" and has_right:
        yield node, "quotient rule", _reversed, _quotient("the numerator was reversed")
        yield node, "quotient rule", _unsquared, _quotient("the denominator was not squared")
    elif node.op == "/":
        yield node, "constant factor", lambda m, n: m.d(n.left), _constant_message
    elif node.op == "**" and has_left and not has_right:
        yield node, "power rule", lambda m, n: m.value(n.right) * m.value(n) * m.d(n.left), _power_message
        if not isinstance(node.left, Name):
            yield (
                node,
                "chain rule",
                lambda m, n: m.value(n.right) * m.value(n.left) ** (m.value(n.right) - 1),
                (_chain_message),
            )
    elif node.op == "**" and has_right and not has_left:
        yield node, "exponential", _as_power, _exponential_message
        yield node, "exponential", lambda m, n: m.value(n) * m.d(n.right), _exponential_message
        if not isinstance(node.right, Name):
            yield node, "chain rule", lambda m, n: m.value(n) * sympy.log(m.value(n.left)), _chain_message


def _reversed(m, n):
    v = m.value(n.right)
    return (m.value(n.left) * m.d(n.right) - m.d(n.left) * v) / v**2


def _unsquared(m, n):
    v = m.value(n.right)
    return (m.d(n.left) * v - m.value(n.left) * m.d(n.right)) / v


def _as_power(m, n):
    return m.value(n.right) * m.value(n.left) ** (m.value(n.right) - 1) * m.d(n.right)


def _chain_message(node, name, right):
    inner = node.args[0] if isinstance(node, Call) else node.right if name in free_names(node.right) else node.left
    return f"d/d{name} {to_text(node)} needs the inner derivative {_text(right(inner))}"


def _trig_message(node, name, right):
    right_rule = "cos(u)" if node.func == "sin" else "-sin(u)"
    return f"d/du {node.func}(u) = {right_rule}, so the sign of d/d{name} {to_text(node)} is wrong"


def _log_message(node, name, right):
    base = {"log2": "2", "log10": "10"}.get(node.func) or to_text(node.args[1])
    return f"d/d{name} {to_text(node)} needs the factor 1/ln({base}) of the base"


def _product(what: str):
    def message(node, name, right):
        u, v = to_text(node.left), to_text(node.right)
        return f"d/d{name} {to_text(node)} is u'v + uv' with u = {u}, v = {v}; {what}"

    return message


def _quotient(what: str):
    def message(node, name, right):
        u, v = to_text(node.left), to_text(node.right)
        return f"d/d{name} {to_text(node)} is (u'v - uv')/v**2 with u = {u}, v = {v}; {what}"

    return message


def _power_message(node, name, right):
    return f"d/d{name} {to_text(node)}: the exponent {to_text(node.right)} is lowered by 1"


def _exponential_message(node, name, right):
    return f"d/d{name} {to_text(node)}: a**u is not a power of u; its derivative is a**u*ln(a) times u's derivative"


def _constant_message(node, name, right):
    return f"d/d{name} {to_text(node)} keeps the constant factor"


def _text(expr) -> str:
    return sympy.sstr(sympy.simplify(expr)) if sympy.count_ops(expr) < 40 else sympy.sstr(expr)


def name_mistake(tree: Node, name: str, answer, symbolic, env: dict) -> dict | None:
    """{"kind", "step", "message", "where"} when one misapplied rule gives exactly the answer, else None."""
    found = _explanations(tree, name, answer, symbolic, env)
    if found is None:
        return None
    matches, whole = found
    named = _outermost(matches)
    if whole and not matches:
        return whole
    if whole or named is None:
        return None  # two different mistakes give this answer: do not guess
    kind, step, text, node = named
    message = f"likely mistake: the {kind}: {text} (step {step})"
    return {"kind": kind, "step": step, "message": message, "where": to_text(node)}


def explained(tree: Node, name: str, answer, symbolic, env: dict) -> bool:
    """Does some misapplied rule (or a whole-answer slip) give the answer? Then a coarser mistake is not
    named on top of it. Unknown (sympy gave up) counts as explained."""
    found = _explanations(tree, name, answer, symbolic, env)
    return found is None or bool(found[0] or found[1])


def _explanations(tree: Node, name: str, answer, symbolic, env: dict):
    """(the matching mutants, the whole answer's mistake or None), or None when sympy gave up."""
    from gradcli.errors import GradcliError, LimitError
    from gradcli.grading import domain
    from gradcli.witnesses.symbolic import time_limit

    symbols = {n: symbolic.symbols[n] for n in free_names(tree) | {name}}
    mapping = {s: n for n, s in symbolic.symbols.items()}
    try:
        with time_limit(5, "naming the mistake"):
            numbered = _Numbered(name, symbols)
            truth = numbered.d(tree)
            plain = _Mutant(name, symbols, None, None)
            matches = []
            for count, (node, kind, wrong, message) in enumerate(_sites(tree, name)):
                if count >= MAX_MUTANTS:
                    break
                mutant = _Mutant(name, symbols, node, wrong).d(tree)
                if _same(mutant, answer, mapping, env) and not _same(mutant, truth, mapping, env):
                    matches.append((kind, numbered.step_of.get(id(node)), message(node, name, plain.d), node))
            return matches, _whole(truth, answer, symbolic.f, symbols[name], mapping, env, bool(matches))
    except (GradcliError, LimitError, domain.NotVectorisable, ValueError, TypeError, ArithmeticError, RecursionError):
        return None


def _outermost(matches):
    """The match whose place in the tree holds every other match's place (dropping the 3 of 3*x inside
    sin(3*x) is the chain rule's missing inner derivative), else None."""
    for match in matches:
        inside = {id(n) for n in walk(match[3])}
        if all(id(other[3]) in inside for other in matches):
            return match
    return None


def _whole(truth, answer, f, symbol, mapping, env, explained: bool) -> dict | None:
    """The whole answer's mistakes; a wrong sign is not a second explanation of a rule already named."""
    if not explained and _same(-truth, answer, mapping, env) and not _same(truth, answer, mapping, env):
        return {
            "kind": "sign",
            "step": None,
            "message": "likely mistake: the sign: the whole answer has the wrong sign",
            "where": None,
        }
    if answer.free_symbols and _same(sympy.diff(answer, symbol), f, mapping, env):
        return {
            "kind": "antiderivative",
            "step": None,
            "message": "likely mistake: the antiderivative: the answer's derivative is the function; "
            "it was integrated, not differentiated",
            "where": None,
        }
    return None


def _same(a, b, mapping, env) -> bool:
    """Equal at every sample point, to rounding error (and undefined at the same points)."""
    from gradcli.grading import domain

    n = len(next(iter(env.values())))
    with np.errstate(all="ignore"):
        (x, x_mag), (y, y_mag) = domain.evaluate(a, mapping, env), domain.evaluate(b, mapping, env)
        x, x_mag, y, y_mag = (np.broadcast_to(v, (n,)) for v in (x, x_mag, y, y_mag))
        both = np.isfinite(x) & np.isfinite(y)
        if both.sum() < min(10, n) or np.any(np.isfinite(x) != np.isfinite(y)):
            return False
        return bool(np.all(domain.close(x[both], x_mag[both], y[both], y_mag[both], 1e-9)))
