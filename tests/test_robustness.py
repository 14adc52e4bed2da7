"""Regressions from an adversarial review: valid input never crashes, hangs, or is misreported."""

import time

import numpy as np
import pytest

import gradcli
from gradcli.errors import GradcliError
from gradcli.solve.problem import prepare


@pytest.mark.parametrize(
    ("expression", "at"),
    [
        ("sin(1/x)", {"x": 0}),
        ("relu(sqrt(x))", {"x": -1}),
        ("max(log(x), 1)", {"x": -1}),
        ("tanh(sinh(x))", {"x": 1e100}),
        ("exp(exp(exp(exp(x))))", {"x": 10}),
        ("exp(exp(x))", {"x": 1e100}),
        ("x*0/0", {"x": 1}),
    ],
)
def test_valid_input_where_sympy_cannot_give_a_real_number_is_exit_3(expression, at):
    started = time.perf_counter()
    result = gradcli.grad(expression, at=at)
    assert result.exit_code == 3
    assert result.results[0].notes
    assert time.perf_counter() - started < 8


@pytest.mark.parametrize(
    ("expression", "at", "fragment"),
    [
        ("x", {"x": "(1e-100**1000)**1000"}, "outside the range"),
        ("x*1e-300**15", {"x": 1}, "smaller than the limit"),
        ("1e-99999*x", {"x": 1}, "smaller than the limit"),
        ("x + (1e-100**1000)**1000", {"x": 1}, "outside the range"),
        ("max(x, sqrt(-1))", {"x": 1}, "not a finite real number"),
        ("x + atan(1/0)", {"x": 1}, "not a finite real number"),
        ("x**(0/0)", {"x": 1}, "not a finite real number"),
    ],
)
def test_constants_that_would_blow_up_sympy_are_refused_at_once(expression, at, fragment):
    started = time.perf_counter()
    with pytest.raises(GradcliError) as info:
        prepare(expression, at)
    assert fragment in info.value.describe()
    assert time.perf_counter() - started < 0.5


def test_stable_constant_folding_accepts_sigmoid_of_large_negative():
    assert gradcli.grad("sigmoid(-1000)*x + x", at={"x": 1}).exit_code == 0


def test_long_flat_sum_is_accepted():
    assert gradcli.grad("+".join(["x"] * 101), at={"x": 1}).results[0].gradient[0].tape == 101.0


@pytest.mark.parametrize(
    ("at", "fragment"),
    [("x=1", "a dict"), ({1: 2}, "names are text"), ({"x": True}, "a number"), ({"x": object()}, "a number")],
)
def test_library_rejects_malformed_points_with_its_own_error(at, fragment):
    with pytest.raises(GradcliError) as info:
        prepare("x", at)
    assert fragment in info.value.describe()


def test_library_accepts_numpy_values():
    result = gradcli.grad("sum(x*x)", at={"x": np.array([1.0, 2.0])})
    assert result.results[0].gradient[0].tape == [2.0, 4.0]


def test_large_tensors_are_refused_before_the_symbolic_engine_runs():
    started = time.perf_counter()
    with pytest.raises(GradcliError) as info:
        prepare("sum(A@A)", {"A": [[1.0] * 21] * 21})
    assert "limit" in info.value.describe()
    assert time.perf_counter() - started < 0.5


def test_an_internal_bug_is_one_line_and_exit_4(cli, monkeypatch):
    import gradcli.solve.gradient

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gradcli.solve.gradient, "grad", broken)
    run = cli("grad", "x", "--at", "x=1")
    assert run.code == 4 and run.stdout == ""
    assert run.stderr == "error: internal error, a bug in gradcli (please report it): RuntimeError: boom\n"


@pytest.mark.parametrize(
    ("expression", "at", "order"),
    [
        ("1/x", {"x": 1e-4}, 1),  # the first stencil straddles the pole
        ("1/(1 - x)", {"x": 0.9999}, 1),
        ("log(x)", {"x": 1e-10}, 1),  # the first stencils leave the domain
        ("sqrt(x)", {"x": 1e-10}, 1),
        ("1/x", {"x": 1e-100}, 1),  # only a step on the scale of x itself works
        ("1e40*exp(-x)", {"x": 80}, 1),  # small intermediate values must not be rounded to 0
        ("x**2/y", {"x": 1e-5, "y": 1e-5}, 1),
        ("1/x", {"x": 0.01}, 2),  # second differences need a step on the scale of x
        ("sin(x)", {"x": 0}, 3),
    ],
)
def test_smooth_points_near_poles_and_edges_agree(expression, at, order):
    result = gradcli.grad(expression, at=at, order=order)
    assert result.exit_code == 0, result.to_dict()
    assert result.results[0].notes == ()


def test_hessian_near_a_domain_edge_agrees():
    assert gradcli.hessian("log(x)", at={"x": 0.1}).exit_code == 0


def test_power_with_zero_base_has_a_finite_partial_in_the_base():
    partial = gradcli.grad("x**y", at={"x": 0, "y": 2}, wrt=["x"]).results[0].gradient[0]
    assert (partial.tape, partial.exact) == (0.0, 0.0)


def test_broken_pipe_is_not_a_verdict():
    import subprocess
    import sys

    points = "x,y\n" + "1,2\n" * 50_000
    proc = subprocess.run(
        f'{sys.executable} -m gradcli grad "x*y" --points - --format csv | head -1; echo "${{PIPESTATUS[0]}}"',
        shell=True, executable="/bin/bash", input=points, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.stdout.splitlines() == ["x,y,df/dx,df/dy,status", "0"]
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_wrt_an_unwatched_constant_says_how_to_watch_it(cli):
    run = cli("grad", "w*3 + bias", "--at", "w=2", "--const", "bias=1", "--wrt", "bias", "--format", "plain")
    assert run.code == 2 and "add --watch bias" in run.stderr
