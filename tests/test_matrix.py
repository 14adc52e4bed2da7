"""`gradcli jacobian` and `gradcli hessian`: examples with exact numbers, batching, JSON, properties."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli.solve.matrix import hessian, jacobian
from tests.budget import examples


def test_jacobian_of_a_list(cli):
    run = cli("jacobian", "[x*y, x + y, sin(x)]", "--at", "x=1,y=2", "--format", "json")
    doc = run.json
    assert run.code == 0
    assert doc["kind"] == "jacobian" and doc["rows"] == ["x*y", "x + y", "sin(x)"] and doc["columns"] == ["x", "y"]
    matrix = doc["results"][0]["jacobian"]
    assert matrix["tape"] == [[2.0, 1.0], [1.0, 1.0], [pytest.approx(math.cos(1), rel=1e-15), 0.0]]
    assert matrix["symbolic"] == [["y", "x"], ["1", "1"], ["cos(x)", "0"]]
    assert matrix["agree"] is True
    assert doc["results"][0]["value"] == [2.0, 3.0, pytest.approx(math.sin(1))]


def test_jacobian_json_keys(cli):
    doc = cli("jacobian", "[x*y]", "--at", "x=1,y=2", "--format", "json").json
    assert list(doc) == [
        "kind", "expression", "input", "reading", "wrt", "rows", "columns", "constants",
        "dtype", "tolerance", "status", "exit_code", "results",
    ]  # fmt: skip
    assert list(doc["results"][0]) == ["at", "value", "jacobian", "notes", "differentiable"]
    assert list(doc["results"][0]["jacobian"]) == ["tape", "symbolic", "exact", "finite_difference", "agree"]


def test_jacobian_vector_input_and_output(cli):
    run = cli("jacobian", "x*x", "--at", "x=[1,2,3]", "--format", "plain")
    assert run.code == 0 and run.stdout == "2 0 0 0 4 0 0 0 6\n"


def test_hessian_example(cli):
    run = cli("hessian", "x**2*y + sin(x*y)", "--at", "x=1,y=2", "--format", "json")
    h = run.json["results"][0]["hessian"]
    s2, c2 = math.sin(2), math.cos(2)
    expected = [[4 - 4 * s2, 2 + c2 - 2 * s2], [2 + c2 - 2 * s2, -s2]]
    assert run.code == 0
    for got_row, want_row in zip(h["tape"], expected, strict=True):
        assert got_row == pytest.approx(want_row, rel=1e-12)
    assert h["symbolic"][1][1] == "-x**2*sin(x*y)"
    assert run.json["tolerance"]["finite_difference"]["rtol"] == 1.5e-6


def test_hessian_of_tensor_variable():
    result = hessian("sum(x**3)", at={"x": [1.0, 2.0]})
    assert result.results[0].tape == [[6.0, 0.0], [0.0, 12.0]]
    assert result.columns == ("x[0]", "x[1]")


def test_several_points_are_one_batched_computation_equal_to_each_alone():
    points = [{"x": 1.0, "y": 2.0}, {"x": 0.3, "y": -0.7}, {"x": -2.0, "y": 0.5}]
    for compute, expression in ((jacobian, "[x*y, exp(x) + y, sin(x*y)]"), (hessian, "x**2*y + sin(x*y)")):
        together = compute(expression, at=points)
        for i, point in enumerate(points):
            alone = compute(expression, at=point).results[0]
            for got, want in zip(together.results[i].tape, alone.tape, strict=True):
                assert got == pytest.approx(want, rel=1e-14, abs=1e-15)
            assert together.results[i].exact == alone.exact


def test_jacobian_at_a_kink_is_exit_3(cli):
    run = cli("jacobian", "[abs(x), x]", "--at", "x=0")
    assert run.code == 3
    assert "slope with respect to x is -1 from the left and 1 from the right" in " ".join(run.stdout.split())


def test_hessian_at_a_kink_is_exit_3():
    assert hessian("abs(x)*y", at={"x": 0, "y": 1}).exit_code == 3


def test_hessian_of_one_variable_at_a_kink_checks_one_sided_second_derivatives():
    assert hessian("abs(x)**3", at={"x": 0}).exit_code == 0  # f'' = 6|x| exists
    result = hessian("relu(x)**2", at={"x": 0})
    assert result.exit_code == 3 and "0 from the left and 2 from the right" in result.results[0].notes[0].message
    # with two variables, each mixed partial is checked from the four quadrants around the kink
    result = hessian("abs(x)**3 + y**2", at={"x": 0, "y": 1})
    assert result.exit_code == 0
    assert [n.kind for n in result.results[0].notes] == ["smooth_kink", "smooth_kink_mixed"]


def test_a_mixed_partial_that_differs_between_quadrants_does_not_exist():
    result = hessian("abs(x)*y", at={"x": 0, "y": 1})
    notes = result.results[0].notes
    assert result.exit_code == 3 and "kink_mixed" in [n.kind for n in notes]
    assert (
        "-1, -1, 1, 1, so this mixed partial does not exist" in next(n for n in notes if n.kind == "kink_mixed").message
    )


def test_a_kink_through_the_quadrants_cannot_be_decided():
    result = hessian("max(x, y)**2", at={"x": 1, "y": 1})
    assert result.exit_code == 3 and "kink_cannot_tell" in [n.kind for n in result.results[0].notes]


def test_tensor_hessians_at_a_kink_keep_the_hedged_note():
    result = hessian("sum(abs(x)**3)", at={"x": [0.0, 1.0]})
    assert result.exit_code == 3 and [n.kind for n in result.results[0].notes] == ["hessian_kink"]


def test_jacobian_csv_and_table(cli):
    csv_run = cli("jacobian", "[x*y, x + y]", "--at", "x=1,y=2", "--at", "x=3,y=4", "--format", "csv")
    assert csv_run.stdout.splitlines() == [
        "x,y,d(x*y)/dx,d(x*y)/dy,d(x + y)/dx,d(x + y)/dy",
        "1,2,2,1,1,1",
        "3,4,4,3,1,1",
    ]
    table = cli("jacobian", "[x*y, x + y, sin(x)]", "--at", "x=1,y=2").stdout
    assert "Jacobian of f = [x*y, x + y, sin(x)]" in table and "∂(sin(x))/∂x" in table


def test_hessian_size_limit(cli):
    run = cli("hessian", "sum(x*x)", "--at", "x=[" + ",".join(["1"] * 60) + "]")
    assert run.code == 2 and "limit is 50" in run.stderr


def test_grad_refuses_nested_list_and_so_does_jacobian(cli):
    for command in ("grad", "jacobian"):
        run = cli(command, "[x, [y]]", "--at", "x=1,y=2")
        assert run.code == 2 and "a list may only be the whole expression" in run.stderr


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-2, 2).map(lambda v: round(v, 3)), st.floats(-2, 2).map(lambda v: round(v, 3)))
def test_hessian_three_ways_on_a_smooth_function(x, y):
    result = hessian("exp(x*y/3) + x**3*y - cos(x + 2*y)", at={"x": x, "y": y})
    point = result.results[0]
    assert result.exit_code == 0
    for tape_row, exact_row in zip(point.tape, point.exact, strict=True):
        assert tape_row == pytest.approx(exact_row, rel=1e-9, abs=1e-12)
    assert point.tape[0][1] == pytest.approx(point.tape[1][0], rel=1e-12)  # symmetric


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(-2, 2).map(lambda v: round(v, 3)), st.floats(-2, 2).map(lambda v: round(v, 3)))
def test_jacobian_rows_are_the_gradients_of_each_output(x, y):
    import gradcli

    outputs = ["x*y**2", "sin(x) + exp(y)", "sqrt(1 + x**2*y**2)"]
    result = jacobian("[" + ", ".join(outputs) + "]", at={"x": x, "y": y})
    for row, expression in zip(result.results[0].tape, outputs, strict=True):
        grad = gradcli.grad(expression, at={"x": x, "y": y}, wrt=["x", "y"]).results[0]
        assert row == pytest.approx([p.exact for p in grad.gradient], rel=1e-9, abs=1e-12)
