"""Kinks and singular points: named tests, each with a plain explanation and exit 3."""

import pytest

import gradcli
from gradcli.errors import ExitCode


def only(result):
    assert len(result.results) == 1
    return result.results[0]


def test_abs_at_zero_is_a_kink_with_the_subgradient_explained():
    result = gradcli.grad("abs(x)", at={"x": 0})
    point = only(result)
    assert result.exit_code == ExitCode.NOT_DIFFERENTIABLE
    assert point.gradient[0].tape == 0.0
    assert "abs has a kink" in point.notes[0].message
    assert "-1 from the left and 1 from the right" in point.notes[0].message
    assert "sign(0) = 0" in point.notes[0].message


def test_relu_at_zero():
    point = only(gradcli.grad("relu(x)", at={"x": 0}))
    assert not point.differentiable
    assert (
        "relu has a kink" in point.notes[0].message and "0 from the left and 1 from the right" in point.notes[0].message
    )


def test_max_at_a_tie_names_tensorflows_convention():
    result = gradcli.grad("max(x, y)", at={"x": 1, "y": 1})
    point = only(result)
    assert result.exit_code == 3
    assert [p.tape for p in point.gradient] == [1.0, 0.0]
    assert "first one" in point.notes[0].message


def test_min_at_a_tie():
    assert gradcli.grad("min(x, 2*x)", at={"x": 0}).exit_code == 3


def test_sqrt_at_zero_has_infinite_slope():
    point = only(gradcli.grad("sqrt(x)", at={"x": 0}))
    assert not point.differentiable
    assert point.gradient[0].tape == float("inf")
    assert "sqrt(x) has an infinite slope" in point.notes[0].message
    assert "GradientTape gives inf" in point.notes[1].message


def test_log_at_zero():
    point = only(gradcli.grad("log(x)", at={"x": 0}))
    assert not point.differentiable and "log(x) is only defined for x > 0" in point.notes[0].message


def test_log_of_negative_is_not_real():
    assert gradcli.grad("log(x)", at={"x": -1}).exit_code == 3


def test_reciprocal_at_zero():
    point = only(gradcli.grad("1/x", at={"x": 0}))
    assert not point.differentiable and "division by x" in point.notes[0].message


def test_fractional_power_at_zero():
    point = only(gradcli.grad("x**0.5 + x", at={"x": 0}))
    assert not point.differentiable and "x**0.5 has an infinite slope" in point.notes[0].message


def test_overflow_is_explained():
    point = only(gradcli.grad("exp(x)", at={"x": 1000}))
    assert not point.differentiable and "not finite" in point.notes[0].message


def test_kink_that_cancels_is_differentiable_and_says_why():
    # abs(x)**2 = x**2 is smooth at 0: differentiable (exit 0), with a note on why the kink does not matter
    result = gradcli.grad("abs(x)**2", at={"x": 0})
    assert result.exit_code == 0 and only(result).differentiable
    assert "but f is smooth there: its slopes with respect to x from the left and from the right agree" in (
        only(result).notes[0].message
    )


def test_smooth_kink_is_judged_by_one_sided_differences_not_a_straddling_central_one():
    # cosh(max(x, 3x)) at 0: f' = 0, but f is 1 + x**2/2 on the left and 1 + 9x**2/2 on the right, so a
    # central difference is O(h) off (2e-8 > 1e-8) and used to report a disagreement (found by make fuzz)
    result = gradcli.grad("cosh(max(x, x*3))", at={"x": 0})
    assert result.exit_code == 0
    assert abs(only(result).gradient[0].finite_difference) < 1e-9


def test_smooth_kink_in_many_points(cli):
    run = cli("grad", "cosh(max(x, x*3))", "--points", "-", "--format", "csv", stdin="x\n0\n1\n")
    assert run.code == 0 and run.stdout.splitlines()[1] == "0,0,agree"


@pytest.mark.parametrize(
    ("expression", "at"),
    [
        ("abs(x)", {"x": 0.5}),
        ("relu(x)", {"x": -2}),
        ("max(x, y)", {"x": 1, "y": 2}),
        ("sqrt(x)", {"x": 1e-6}),
        ("log(x)", {"x": 1e-3}),
        ("1/x", {"x": -0.25}),
    ],
)
def test_smooth_points_never_get_a_note(expression, at):
    result = gradcli.grad(expression, at=at)
    assert result.exit_code == 0
    assert only(result).notes == ()


def test_a_kink_in_a_constant_only_gets_an_informational_note():
    result = gradcli.grad("abs(c) * x", at={"x": 1}, const={"c": 0})
    assert result.exit_code == 0
    assert [(n.kind, n.severity) for n in only(result).notes] == [("kink_in_constant", "info")]


def test_cli_prints_results_and_note_then_exit_3(cli):
    run = cli("grad", "abs(x)", "--at", "x=0")
    assert run.code == 3
    assert "note at x = 0: abs has a kink" in " ".join(run.stdout.split())
    assert run.stderr == ""


def test_two_kinks_each_note_names_its_own_variable():
    notes = [n.message for n in gradcli.grad("abs(x) + relu(y)", at={"x": 0, "y": 0}).results[0].notes]
    assert len(notes) == 2
    assert notes[0].startswith("abs has a kink") and "with respect to x is -1 from the left and 1" in notes[0]
    assert notes[1].startswith("relu has a kink") and "with respect to y is 0 from the left and 1" in notes[1]


def test_tan_at_its_pole_is_exit_3_not_a_disagreement():
    result = gradcli.grad("tan(x)", at={"x": "pi/2"})
    assert result.exit_code == 3
    assert "tan(x) has a pole where cos(x) = 0" in result.results[0].notes[0].message
    assert gradcli.grad("tan(x)", at={"x": 1.5}).exit_code == 0


@pytest.mark.parametrize(
    ("expression", "at", "says"),
    [
        ("1/cos(x)", "1.5707963267948966", "division by cos(x): cos(x) is 0 here to float64 precision"),
        ("1/cos(x)", "pi/2", "division by cos(x)"),
        ("1/(2*sin(x)**2)", "-pi", "division by 2*sin(x)**2: 2*sin(x)**2 is 0 here"),
        ("1/cos(x)", "1e6*pi + pi/2", "division by cos(x)"),  # relative to |x|: x itself is rounded
        ("log(sin(x))", "pi", "and log(sin(x)) has an infinite slope there"),
        ("sqrt(cos(x))", "pi/2", "and sqrt(cos(x)) has an infinite slope there"),
        ("cos(x)**0.5", "pi/2", "and cos(x)**0.5 has an infinite slope there"),
    ],
)
def test_zeros_of_sin_and_cos_that_floats_only_come_near_are_poles_not_disagreements(expression, at, says):
    # cos(pi/2) is 6e-17 in float64: 1/cos(x) there is finite for the tape and wild for finite
    # differences; it used to be reported as a disagreement (exit 1) rather than a pole (exit 3).
    result = gradcli.grad(expression, at={"x": at})
    assert result.exit_code == 3
    assert says in result.results[0].notes[0].message


@pytest.mark.parametrize(
    ("expression", "at"),
    [
        ("1/sin(x)", 1e-13),  # sin's zero at 0 is a float: 1e-13 is a true, representable point near it
        ("1/(cos(x) + 1)", "pi/2"),  # a sum moves the zero: cos(x) + 1 is 1
        ("x/cos(x)", 1.5),
    ],
)
def test_near_a_zero_is_not_on_it(expression, at):
    assert gradcli.grad(expression, at={"x": at}).exit_code == 0


def test_jacobian_at_a_pole_is_exit_3(cli):
    run = cli("jacobian", "[tan(x), 1/cos(x)]", "--at", "x=pi/2")
    assert run.code == 3
    assert "tan(x) has a pole" in " ".join(run.stdout.split())


@pytest.mark.parametrize(("expression", "at"), [("abs(sin(x + pi))", 0), ("relu(cos(x))", "pi/2")])
def test_kink_at_a_zero_float64_only_comes_near(expression, at):
    # sin(pi) is 1.2e-16 in float64: the tape takes one side's slope (-1), sympy's exact sign(0) gives 0;
    # found by `make fuzz` as a tape/symbolic disagreement with no note.
    result = gradcli.grad(expression, at={"x": at})
    assert result.exit_code == 3
    note = result.results[0].notes[0].message
    assert "has a kink" in note and "to float64 precision" in note and "takes one side's slope" in note


@pytest.mark.parametrize(("expression", "expected"), [("max(1, cos(x))", 0.0), ("max(x**2, x**4)", 2.0)])
def test_symbolic_conventions_at_a_tie_do_not_count_as_a_disagreement(cli, expression, expected):
    # f'' exists at 0 (both sides agree), the tape gets it right, but sympy's expression evaluated at the
    # tie uses Heaviside(0) = 1/2 (-0.5 and 1 here). Found by the whole-language property test.
    for command in (["grad", "--order", "2"], ["hessian"]):
        run = cli(*command, expression, "--at", "x=0", "--format", "json")
        assert run.code == 0, run.stdout
        note = run.json["results"][0]["notes"][0]["message"]
        assert "The symbolic value" in note and "Heaviside(0) = 1/2" in note
    result = gradcli.grad(expression, at={"x": 0}, order=2)
    assert result.results[0].gradient[0].tape == expected
    assert result.results[0].gradient[0].finite_difference == pytest.approx(expected, abs=1e-9)


def test_where_float64_gives_out_the_tape_is_reported_not_excused():
    # tanh(log(x)) at 1e-8: f' = 4x/(1 + x**2)**2 = 4e-8, but the tape computes (1 - tanh(u)**2)/x with
    # tanh(u) = -0.9999999999999998, so 1 - tanh**2 = 4.44e-16 and the gradient 4.44e-8 (11% off).
    # That is TensorFlow's float64 formula losing digits: a real disagreement, exit 1.
    result = gradcli.grad("tanh(log(x))", at={"x": 1e-8})
    partial = result.results[0].gradient[0]
    assert partial.exact == pytest.approx(4e-8, rel=1e-12)
    assert partial.tape == pytest.approx(4.440892098500626e-08, rel=1e-9)
    assert result.exit_code == 1


# Found by an adversarial review of the kink and pole handling.
@pytest.mark.parametrize(
    ("expression", "at", "order", "code"),
    [
        ("abs(x)**2*5e-7", "0", 2, 1),  # tape 0 against truth 1e-6: no absolute floor may excuse it
        ("abs(x)**4*1e-5", "0", 4, 1),
        ("1e-6*abs(x)**3", "0", 3, 3),  # the third derivative jumps from -6e-6 to 6e-6
        ("x*abs(x) + 1e7", "0", 2, 3),  # -2 and 2 drown in rounding of about 2: cannot say it exists
        ("abs(x)**2 + 1e6", "0", 2, 3),
        ("abs(x) + 1e9", "0", 1, 3),  # the slopes -1 and 1 must not hide behind |f| = 1e9
        ("abs(sin(x))", "3.141592653589993", 1, 0),  # 450 ulps from pi: a genuine, differentiable point
        ("cosh(max(x, 3*x))", "1e-9", 1, 0),  # a kink 1e-9 away: one-sided differences from the far side
        ("1 + 100*relu(x)**2", "-1e-9", 1, 0),
        ("abs(x)", "1e-4", 3, 0),
        ("abs(x) + x**2", "5e-5", 2, 0),
        ("max(x, x**0.5)", "1e-3", 1, 0),  # a domain edge within the stencil is not a kink
        ("max(y, cos(x))", "pi/2", 1, 3),  # with y = 0: cos(pi/2) = 6e-17 ties with 0 to float64 precision
        ("abs(min(x, cos(x)))", "pi/2", 1, 3),  # a rounded zero passes through min when it is the side chosen
    ],
)
def test_review_cases(expression, at, order, code):
    point = {"x": at, "y": 0} if "y" in expression else {"x": at}
    assert gradcli.grad(expression, at=point, order=order).exit_code == code


def test_rounded_zeros_are_within_a_couple_of_spacings_not_a_fixed_fraction():
    # 1e13 has a spacing of 0.002; sin(1e13) = 0.33 is not a zero of sin, and x = 1e13 must not be a pole
    notes = gradcli.grad("1/sin(x)", at={"x": 1e13}).results[0].notes
    assert not any("float64 precision" in n.message for n in notes)


def test_smooth_kink_of_a_tensor_variable(cli):
    for command in ("grad", "jacobian"):
        expression = "sum(cosh(max(x, 3*x)))" if command == "grad" else "cosh(max(x, 3*x))"
        run = cli(command, expression, "--at", "x=[0,0]", "--format", "json")
        assert run.code == 0 and "f is smooth there" in run.json["results"][0]["notes"][0]["message"]


def test_tensorflow_tie_convention_is_wrong_where_the_derivative_exists():
    # max(min(x, 0), 0) is 0 for every x, but at the tie TensorFlow passes the whole gradient on, twice: 1
    result = gradcli.grad("max(min(x, 0), 0)", at={"x": 0})
    partial = result.results[0].gradient[0]
    assert (partial.tape, partial.exact, partial.finite_difference) == (1.0, 0.0, 0.0)
    assert result.exit_code == 1
    assert "GradientTape's 1 is wrong here" in result.results[0].notes[0].message
