"""Property tests of the grader: a mutated derivative is never correct, an equivalent form is never wrong,
and every counterexample lies where the function is real and differentiable."""

import math

import numpy as np
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError
from gradcli.grading.check import check
from gradcli.lang.parser import parse
from gradcli.lang.tree import free_names
from tests.budget import examples

X = sympy.Symbol("x", real=True)


def expressions(domains: bool = False):
    leaves = st.one_of(st.just("x"), st.integers(1, 4).map(str))
    unary = ["sin", "cos", "exp", "atan"]

    def extend(inner):
        options = [
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.integers(2, 3)).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(st.sampled_from(unary), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]})/(2 + ({t[1]})**2)"),
            inner.map(lambda t: f"2**({t})"),
        ]
        if domains:
            options += [
                st.tuples(st.integers(-120, 120), inner).map(lambda t: f"log(x - {t[0]}) + {t[1]}"),
                st.tuples(st.integers(-60, 60), inner).map(lambda t: f"sqrt({t[0]} - x)*({t[1]})"),
                st.tuples(st.integers(1, 5), inner).map(lambda t: f"asin(x/{t[0]}) + {t[1]}"),
            ]
        return st.one_of(*options)

    return st.recursive(leaves, extend, max_leaves=4).filter(lambda t: "x" in t)


def _parsed(text: str):
    try:
        return parse(text)
    except GradcliError:  # a constant part too large (exp(2**8)): not a grading case
        assume(False)


def _sympy(text: str):
    from gradcli.lang.tree import evaluate
    from gradcli.witnesses.symbolic import SympyBackend

    return evaluate(_parsed(text), {"x": X}, SympyBackend())


def _numbers(expr, points):
    from gradcli.grading import domain

    with np.errstate(all="ignore"):
        value, _ = domain.evaluate(expr, {X: "x"}, {"x": points})
    return np.broadcast_to(value, points.shape)


def _differs(a, b) -> bool:
    points = np.linspace(-2.9, 2.9, 41)
    u, v = _numbers(a, points), _numbers(b, points)
    both = np.isfinite(u) & np.isfinite(v)
    return bool(np.any(np.abs(u[both] - v[both]) > 1e-6 * np.maximum(1, np.maximum(np.abs(u[both]), np.abs(v[both])))))


def _answer_text(expr) -> str | None:
    text = sympy.sstr(expr)
    try:
        tree = parse(text)
    except GradcliError:
        return None
    return text if free_names(tree) <= {"x"} else None


@settings(max_examples=examples(12), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions())
def test_a_mutated_derivative_is_never_called_correct(text):
    from gradcli.grading.mistakes import _Mutant, _sites

    tree = _parsed(text)
    truth = sympy.diff(_sympy(text), X)
    checked = 0
    for node, _kind, wrong, _message in list(_sites(tree, "x"))[:3]:
        mutant = _Mutant("x", {"x": X}, node, wrong).d(tree)
        answer = _answer_text(mutant)
        if answer is None or not _differs(mutant, truth):
            continue
        result = check(text, answer)
        assert result.verdict != "correct", (text, answer, result.reason)
        checked += 1
    assume(checked)


FORMS = [sympy.expand, sympy.factor, sympy.together, sympy.expand_trig, sympy.trigsimp, sympy.powsimp]


@settings(max_examples=examples(15), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions(), st.sampled_from(FORMS))
def test_a_correct_derivative_in_an_equivalent_form_is_never_wrong(text, form):
    derivative = sympy.diff(_sympy(text), X)
    answer = _answer_text(form(derivative))
    assume(answer is not None)
    result = check(text, answer)
    assert result.verdict != "wrong" and result.mistake is None, (text, answer, result.reason)


WRONG_WAYS = [lambda d: d + 1, lambda d: 2 * d, lambda d: d * X, lambda d: -d, lambda d: d + X / 1000]


@settings(max_examples=examples(15), suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(expressions(domains=True), st.sampled_from(WRONG_WAYS))
def test_every_counterexample_is_in_the_domain(text, wrong):
    f = _sympy(text)
    derivative = sympy.diff(f, X)
    answer = _answer_text(wrong(derivative))
    assume(answer is not None)
    result = check(text, answer)
    assume(result.verdict == "wrong" and result.counterexample["at"])  # a number for a constant: no point
    x = result.counterexample["at"]["x"]
    point = np.array([x])
    assert math.isfinite(_numbers(f, point)[0]) and math.isfinite(_numbers(derivative, point)[0]), (text, x)
