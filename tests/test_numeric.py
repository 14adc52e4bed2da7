"""Finite differences and kink detection as pure functions."""

import math

import numpy as np
import pytest

from gradcli.lang.parser import parse
from gradcli.witnesses.differences import central_difference, hessian_difference, higher_difference, one_sided_order
from gradcli.witnesses.numeric import events_at, function


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("x**2", 3.0, 6.0),
        ("sin(x)", 0.0, 1.0),
        ("exp(10*x)", 1.0, 10 * math.exp(10)),
        ("log(x)", 1e-3, 1e3),  # the first stencil would leave the domain
        ("sqrt(x)", 1e-6, 500.0),
        ("1e4*(sin(x) - x)", 1e-3, 1e4 * (math.cos(1e-3) - 1)),  # cancellation: do not chase rounding noise
    ],
)
def test_central_difference_accuracy(text, x, expected):
    env = {"x": np.float64(x)}
    estimate = central_difference(function(parse(text), env), env, "x")
    assert float(estimate) == pytest.approx(expected, rel=1e-7)


def test_tiny_slope_next_to_a_large_value_is_not_chased_into_rounding_noise():
    # f ~ 1 and f' ~ 7e-6: successive stencils can only agree to rounding (~1e-12 here), never to
    # 1e-8 relative; the ladder used to go on down and keep a noisy pair 1e-7 off (a CI failure).
    x, c = 1e-3, 2 + math.pi**2
    g = x**2 + x / c
    expected = (2 * x + 1 / c) * g / math.sqrt(1 + g**2)
    env = {"x": np.float64(x)}
    estimate = central_difference(function(parse("sqrt(1 + (x**2 + x/(2 + pi**2))**2)"), env), env, "x")
    assert float(estimate) == pytest.approx(expected, abs=1e-11)


@pytest.mark.parametrize(
    ("text", "x", "order", "expected"),
    [
        ("sin(x)", 1e-3, 2, -math.sin(1e-3)),
        ("1/x", 0.01, 2, 2e6),
        ("x**0.001", 1e-3, 2, 0.001 * -0.999 * 1e-3**-1.999),  # the best step is between the two ends
        ("sin(x**3)", math.pi, 2, 3 * math.pi * (-3 * math.pi**3 * math.sin(math.pi**3) + 2 * math.cos(math.pi**3))),
        ("exp(x) - cos(x)", 0.0, 2, 2.0),  # f = 0 at the point: its rounding noise is not |f|-sized
    ],
)
def test_higher_difference_picks_the_step_by_gap_plus_rounding_noise(text, x, order, expected):
    # sin(x)'' at 1e-3: the step on the scale of |x| (1.2e-7) gave two noisy estimates that happened to agree
    # (-0.000990 instead of -0.001000; found by make fuzz); 1/x at 0.01 still needs that small step.
    env = {"x": np.float64(x)}
    estimate = higher_difference(function(parse(text), env), env, "x", order)
    assert float(estimate) == pytest.approx(expected, rel=1e-6)


def test_batched_difference_equals_one_by_one():
    xs = np.array([-2.0, 0.1, 0.5, 3.0])
    tree = parse("x**3*sin(x)")
    together = central_difference(function(tree, {"x": xs}), {"x": xs}, "x", batched=True)
    alone = [float(central_difference(function(tree, {"x": v}), {"x": np.float64(v)}, "x")) for v in xs]
    assert together == pytest.approx(alone, rel=1e-12)


def test_tensor_difference_per_element():
    env = {"x": np.array([[1.0, 2.0], [3.0, 4.0]])}
    estimate = central_difference(function(parse("sum(x*x)"), env), env, "x")
    assert estimate == pytest.approx(np.array([[2.0, 4.0], [6.0, 8.0]]), rel=1e-9)


def test_events_only_for_watched_dependencies():
    tree = parse("abs(x) + abs(c)")
    env = {"x": np.float64(0.0), "c": np.float64(0.0)}
    assert [e.arg for e in events_at(tree, env, frozenset({"x"}))] == ["x"]
    assert events_at(tree, env, frozenset()) == []


def test_one_sided_slopes_of_abs():
    env = {"x": np.float64(0.0)}
    left, right, error, _ = one_sided_order(function(parse("abs(x)"), env), env, "x", 1)
    assert (float(left), float(right)) == (-1.0, 1.0) and error < 1e-9


def test_higher_difference_next_to_a_kink_takes_the_side_without_it():
    # max(x, y) at x = 0, y = 1e-8: the kink is 1e-8 away, inside every central stencil; f_xx = 0 there
    # (the central estimate was 16381; found by make fuzz)
    env = {"x": np.float64(0.0), "y": np.float64(1e-8)}
    estimate = higher_difference(function(parse("max(x, y)"), env), env, "x", 2)
    assert float(estimate) == 0.0


def test_hessian_difference_next_to_a_kink_takes_a_quadrant_without_it():
    env = {"x": np.float64(0.0), "y": np.float64(1.0)}
    tree = parse("abs(x - 1e-9)*y + x*y**2")  # f_xy = sign(x - 1e-9) + 2y = 1 at the point
    estimate = hessian_difference(function(tree, env), env, ["x", "y"])
    assert estimate == pytest.approx(np.array([[0.0, 1.0], [1.0, 0.0]]), abs=1e-9)
