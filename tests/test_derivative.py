"""The derivative with no point (issue 9): the formula, checked against the tape at sample points."""

import pytest

from gradcli.lang.parser import parse
from gradcli.solve.formula import SAMPLES, sample_points

FIRST_FIVE = [{"x": 0.7}, {"x": -1.3}, {"x": 1.9}, {"x": 0.35}, {"x": -0.55}]


def test_grad_without_at_prints_the_derivative_as_json(cli):
    run = cli("grad", "x^3*sin(x)", "--format", "json")
    assert run.code == 0, run
    assert run.json == {
        "expression": "x**3*sin(x)",
        "input": "x^3*sin(x)",
        "reading": [],
        "wrt": ["x"],
        "order": 1,
        "derivative": {"x": "x**2*(x*cos(x) + 3*sin(x))"},
        "factored": {},
        "checked_at": FIRST_FIVE,
        "status": "agree",
        "exit_code": 0,
        "notes": [],
    }


def test_grad_without_at_table_says_how_it_was_checked(cli):
    run = cli("grad", "x^3*sin(x)")
    assert run.code == 0, run
    assert run.stdout == (
        "f = x**3*sin(x)\n"
        "d/dx = x**2*(x*cos(x) + 3*sin(x))\n"
        "checked against GradientTape at 5 points, with finite differences: they agree\n"
        "  x = 0.7; x = -1.3; x = 1.9; x = 0.35; x = -0.55\n"
    )


def test_plain_prints_the_derivative(cli):
    run = cli("grad", "x^2*y + ln y", "--format", "plain")
    assert run.code == 0, run
    assert run.stdout == "2*x*y\nx**2 + 1/y\n"


def test_a_factored_form_where_it_differs(cli):
    run = cli("grad", "(3x+2)^2", "--format", "json")
    assert run.json["derivative"] == {"x": "18*x + 12"}
    assert run.json["factored"] == {"x": "6*(3*x + 2)"}


def test_sample_points_stay_in_the_real_domain(cli):
    run = cli("grad", "sqrt(x)*ln(x - 1)", "--format", "json")
    assert run.code == 0, run
    assert len(run.json["checked_at"]) == SAMPLES
    assert all(point["x"] > 1 for point in run.json["checked_at"])


@pytest.mark.parametrize(
    ("text", "bad"), [("abs(x - 0.7) + cot(x)", 0.7), ("sign(x + 1.3)*sec(x)", -1.3), ("1/(x - 1.9)", 1.9)]
)
def test_sample_points_avoid_kinks_and_poles(text, bad):
    points = [p["x"] for p in sample_points(parse(text))]
    assert bad not in points
    assert len(points) >= SAMPLES


def test_higher_order_without_at(cli):
    run = cli("grad", "ln x", "--order", "3", "--format", "json")
    assert run.code == 0, run
    assert run.json["derivative"] == {"x": "2/x**3"}
    assert run.json["order"] == 3
    assert all(p["x"] > 0 for p in run.json["checked_at"])


def test_steps_and_latex_without_at(cli):
    run = cli("grad", "sin^2 x", "--steps", "--latex", "--format", "json")
    assert run.code == 0, run
    assert run.json["steps"]["x"][-1]["derivative"] == "sin(2*x)"
    assert run.json["latex"] == {
        "function": r"\sin\left(x\right)^{2}",
        "derivatives": {"x": r"\sin{\left(2 x \right)}"},
    }


def test_hessian_without_at(cli):
    run = cli("hessian", "x^2*y + sin(x*y)", "--format", "json")
    assert run.code == 0, run
    document = run.json
    assert document["kind"] == "hessian"
    assert document["rows"] == ["x", "y"]
    assert document["derivative"] == [
        ["y*(-y*sin(x*y) + 2)", "-x*y*sin(x*y) + 2*x + cos(x*y)"],
        ["-x*y*sin(x*y) + 2*x + cos(x*y)", "-x**2*sin(x*y)"],
    ]
    assert len(document["checked_at"]) == SAMPLES


def test_jacobian_without_at(cli):
    run = cli("jacobian", "[x*y, x + y, sin x]")
    assert run.code == 0, run
    assert run.stdout.splitlines()[:7] == [
        "f = [x*y, x + y, sin(x)]",
        "∂f[0]/∂x = y",
        "∂f[0]/∂y = x",
        "∂f[1]/∂x = 1",
        "∂f[1]/∂y = 1",
        "∂f[2]/∂x = cos(x)",
        "∂f[2]/∂y = 0",
    ]


def test_a_disagreement_at_a_sample_point_is_exit_1(cli, monkeypatch):
    import sympy

    from gradcli.witnesses import symbolic

    monkeypatch.setitem(symbolic._FUNCS, "sinh", sympy.cosh)  # a wrong symbolic witness
    run = cli("grad", "sinh(x)", "--format", "json")
    assert run.code == 1
    assert run.json["status"] == "disagree"
    assert run.json["notes"][0]["kind"] == "sample_disagrees"
    assert run.json["notes"][0]["message"].startswith("at x = 0.7: d/dx: GradientTape gives 1.255")


def test_nowhere_real_is_not_checked(cli):
    run = cli("grad", "sqrt(-1 - x^2)", "--format", "json")
    assert run.code == 3
    assert run.json["checked_at"] == []
    assert [n["kind"] for n in run.json["notes"]] == ["unchecked"]
    assert run.json["notes"][0]["message"] == (
        "no sample point found where f is real and smooth, so the formula was not checked"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["grad", "x^2", "--format", "csv"],
            "error: without --at, the derivative is written as a table, json or plain\n",
        ),
        (
            ["grad", "x^2", "--clip-norm", "1"],
            "error: --clip-norm does not apply without --at (grad prints the derivative's formula); "
            "it applies at a point (--at)\n",
        ),
        (["grad", "sum(x)"], "error: without --at, give a scalar expression (no sum, mean, @ or custom functions)\n"),
        (["grad", "x^2", "--wrt", "y"], "error: --wrt y: 'y' is not in the expression (x)\n"),
        (["grad", "x^2", "--order", "2", "--steps"], "error: --steps and --latex are for first derivatives\n"),
    ],
)
def test_what_needs_a_point_says_so(cli, args, message):
    run = cli(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", message)
