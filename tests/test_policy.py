"""Issue 19: the grader of record. The instructor's policy, the named mistakes that can be proven and the
sentence a student reads; every example of the issue by name."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli.grading.check import check as judge
from gradcli.grading.policy import Policy, decimals_written
from tests.budget import examples


def check(cli, *args):
    run = cli("check", *args, "--format", "json")
    assert all(line.startswith("note: ") for line in run.stderr.splitlines()), run.stderr
    return run, run.json


# ---------------------------------------------------------------- 1. the instructor's policy


def test_formula_with_a_point_is_judged_as_a_formula(cli):
    run, doc = check(cli, "x^3", "--answer", "3x", "--at", "x=1")
    assert run.code == 1 and doc["verdict"] == "wrong" and doc["method"] == "numeric"
    assert doc["reason"].startswith("your formula equals the derivative at x = 1 only; differs at 200 of 200")
    assert doc["feedback"].startswith("Your formula equals the derivative at x = 1 only: at x = ")
    assert doc["at"] == {"x": 1.0} and doc["score"] == 0


def test_right_formula_with_a_point_is_correct(cli):
    run, doc = check(cli, "x^3", "--answer", "3x^2", "--at", "x=1")
    assert run.code == 0 and doc["verdict"] == "correct" and doc["method"] == "symbolic"


def test_a_point_where_there_is_no_derivative_is_still_exit_3_for_a_formula(cli):
    run, doc = check(cli, "1/x", "--answer", "-1/x**2", "--at", "x=0")
    assert run.code == 3 and doc["verdict"] == "not differentiable" and doc["score"] is None
    assert doc["feedback"] == "The function has no derivative at x = 0, so there is no value to give there."


def test_fewer_digits_are_never_a_looser_tolerance(cli):
    run, doc = check(cli, "sin x", "--at", "x=1", "--answer", "0.5")
    assert run.code == 1 and doc["reason"] == "differs at the point to within 0.1% (relative tolerance 0.001)"
    assert doc["tolerance"] == {"rule": "relative", "rtol": 0.001, "atol": None, "decimals": None, "sig_figs": None}
    assert doc["feedback"] == "At x = 1 your answer gives 0.5 but the derivative is 0.54 (not to within 0.1%)."
    assert check(cli, "sin x", "--at", "x=1", "--answer", "0.5403")[0].code == 0


def test_nine_tenths_for_0_8944_is_wrong_and_so_is_1(cli):
    # d/dx sqrt(x^2 + 1) at x = 2 is 2/sqrt(5) = 0.8944...
    assert check(cli, "sqrt(x^2+1)", "--at", "x=2", "--answer", "0.9")[0].code == 1
    assert check(cli, "sqrt(x^2+1)", "--at", "x=2", "--answer", "1")[0].code == 1
    assert check(cli, "sqrt(x^2+1)", "--at", "x=2", "--answer", "0.8944")[0].code == 0


def test_trailing_zeros_are_decimals_as_written(cli):
    # d/dx sqrt(x) at x = 2 is 0.35355...: 0.350 has three decimals, so it is wrong to 3 decimals
    run, doc = check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.350", "--decimals")
    assert run.code == 1 and doc["tolerance"]["decimals"] == 3
    assert doc["reason"] == "differs at the point to the 3 decimals written (--decimals)"
    run, doc = check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.354", "--decimals")
    assert run.code == 0 and doc["tolerance"]["decimals"] == 3


def test_fifty_hundredths_has_two_decimals():
    assert decimals_written("0.50") == 2
    assert decimals_written("0.350") == 3
    assert decimals_written("14") == 0
    assert decimals_written("-1.50e-3") == 5
    assert decimals_written("1/2") is None


def test_atol_and_rtol_per_run(cli):
    run, doc = check(cli, "sin x", "--at", "x=1", "--answer", "0.54", "--atol", "0.001")
    assert run.code == 0 and doc["tolerance"]["rule"] == "absolute" and doc["tolerance"]["atol"] == 0.001
    assert check(cli, "sin x", "--at", "x=1", "--answer", "0.5", "--rtol", "0.1")[0].code == 0
    assert check(cli, "sin x", "--at", "x=1", "--answer", "0.5", "--atol", "0.01")[0].code == 1


def test_two_tolerance_rules_at_once_are_an_error(cli):
    run = cli("check", "sin x", "--at", "x=1", "--answer", "0.5", "--rtol", "0.1", "--sig-figs", "2")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == "error: --rtol/--atol and --sig-figs are two tolerance rules: give one\n"
    run = cli("check", "sin x", "--at", "x=1", "--answer", "0.5", "--decimals", "--atol", "0.1")
    assert run.code == 2 and "two tolerance rules" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--atol", "-1"], "--atol must be a positive number"),
        (["--points", "-2"], "--points must be a number of points"),
        (["--partial", "1.5"], "--partial must be a fraction between 0 and 1"),
    ],
)
def test_bad_policy_options_are_exit_2(cli, args, message):
    run = cli("check", "x^2", "--answer", "2x", *args)
    assert run.code == 2 and message in run.stderr and run.stdout == ""


def test_a_number_where_a_formula_was_asked_is_wrong_expected_a_formula(cli):
    run, doc = check(cli, "x^2", "--answer", "4")
    assert run.code == 1 and doc["verdict"] == "wrong" and doc["reason"].startswith("expected a formula: ")
    assert doc["mistake"]["kind"] == "expected a formula"
    assert doc["feedback"] == "Not quite: the derivative changes with x, so the answer is a formula in x, not a number."


def test_a_number_for_a_constant_derivative_is_judged_as_a_number(cli):
    run, doc = check(cli, "3x + 1", "--answer", "3")
    assert (
        run.code == 0 and doc["reason"] == "equal to the constant derivative to within 0.1% (relative tolerance 0.001)"
    )
    run, doc = check(cli, "3x + 1", "--answer", "3.1")
    assert run.code == 1 and doc["mistake"] is None
    assert doc["feedback"] == "Your answer gives 3.1 but the derivative is 3 (not to within 0.1%)."
    assert check(cli, "1e-12*x", "--answer", "0")[0].code == 1  # small is not zero, relatively


def test_the_policy_is_recorded_with_every_verdict(cli):
    run, doc = check(cli, "sin(3x)", "--answer", "cos(3x)", "--points", "4", "--partial", "0.25")
    assert doc["points"] == 4 and doc["score"] == 1.0 and doc["mistake"]["kind"] == "chain rule"
    run, doc = check(cli, "sin(3x)", "--answer", "3cos(3x)", "--points", "4", "--partial", "0.25")
    assert doc["score"] == 4 and doc["tolerance"]["rule"] == "exact"
    run, doc = check(cli, "sin(3x)", "--answer", "x", "--points", "4", "--partial", "0.25")
    assert doc["score"] == 0 and doc["mistake"] is None


def test_a_formula_is_judged_exactly_unless_the_instructor_sets_a_tolerance(cli):
    assert check(cli, "exp(x)", "--answer", "1.0001*exp(x)")[0].code == 1
    assert check(cli, "exp(x)", "--answer", "1.0001*exp(x)", "--rtol", "1e-3")[0].code == 0


def test_library_check_takes_the_policy():
    result = judge("sin(x)", "0.54", at={"x": 1}, atol=0.001, points=2)
    assert result.verdict == "correct" and result.score == 2 and result.tolerance.rule == "absolute"


# ---------------------------------------------------------------- 2. named mistakes, only when proven


def test_the_value_of_f_instead_of_f_prime_at_the_point(cli):
    run, doc = check(cli, "x^3", "--at", "x=2", "--answer", "8")
    assert run.code == 1 and doc["mistake"]["kind"] == "function itself"
    assert doc["feedback"] == (
        "At x = 2 your answer gives 8 but the derivative is 12 (not to within 0.1%): "
        "your answer is the function itself, not its derivative."
    )


def test_f_at_the_point_is_not_named_when_a_rule_also_gives_it(cli):
    # exp(2x) at 0: forgetting the chain rule also gives 1, so no one mistake is proven
    run, doc = check(cli, "exp(2x)", "--at", "x=0", "--answer", "1")
    assert run.code == 1 and doc["mistake"] is None


def test_the_function_given_for_its_derivative(cli):
    run, doc = check(cli, "x^3", "--answer", "x^3")
    assert doc["mistake"]["kind"] == "function itself"


def test_first_derivative_given_for_the_second(cli):
    run, doc = check(cli, "x^3", "--answer", "3x^2", "--order", "2")
    assert run.code == 1 and doc["mistake"]["kind"] == "lower order"
    run, doc = check(cli, "x^3", "--answer", "3", "--order", "2", "--at", "x=1")
    assert run.code == 1 and doc["mistake"]["kind"] == "lower order"


def test_plus_c_is_a_clear_hint_not_a_parse_error(cli):
    run, doc = check(cli, "x^2", "--answer", "2x + C")
    assert run.code == 1 and doc["verdict"] == "wrong" and doc["mistake"]["kind"] == "constant of integration"
    assert doc["answer"] == "2*x + C"
    assert doc["feedback"] == (
        "Not quite: a derivative has no + C (that constant belongs to antiderivatives), so leave it out."
    )


def test_plus_c_on_a_wrong_answer_is_wrong_without_the_named_mistake(cli):
    run, doc = check(cli, "x^2", "--answer", "x + C")
    assert run.code == 1 and doc["mistake"] is None or doc["mistake"]["kind"] != "constant of integration"
    assert doc["reason"].startswith("the answer has a constant C, and a derivative has none")


def test_c_inside_a_term_is_wrong_but_not_named(cli):
    run, doc = check(cli, "x^2", "--answer", "2x + C*x")
    assert run.code == 1 and doc["verdict"] == "wrong" and doc["mistake"] is None


def test_partial_credit_for_a_named_mistake(cli):
    run, doc = check(cli, "x^2", "--answer", "2x + C", "--points", "2", "--partial", "0.5")
    assert doc["score"] == 1.0 and doc["points"] == 2


def test_feedback_names_the_rule_and_where(cli):
    run, doc = check(cli, "sin(3x)", "--at", "x=1", "--answer", "cos(3)")
    assert doc["mistake"] is None  # one number at one point proves no rule
    run, doc = check(cli, "sin(3x)", "--answer", "cos(3x)")
    assert doc["feedback"].endswith(": check the chain rule on sin(3*x).")
    assert "sample points" not in doc["feedback"] and "simplifies" not in doc["feedback"]


def test_table_shows_the_sentence_for_the_student(cli):
    run = cli("check", "sin x", "--at", "x=1", "--answer", "0.5")
    assert run.stdout.splitlines()[-1] == (
        "  for the student: At x = 1 your answer gives 0.5 but the derivative is 0.54 (not to within 0.1%)."
    )


# ---------------------------------------------------------------- properties

DERIVATIVES = {"x^3": "3*x**2", "sin(x)": "cos(x)", "exp(2x)": "2*exp(2*x)", "x*log(x)": "log(x) + 1"}


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(DERIVATIVES)),
    st.integers(-3, 3),
    st.sampled_from(["+ (x - {p})**2", "* (1 + (x - {p})**2)"]),
)
def test_a_formula_wrong_anywhere_is_never_correct_whatever_the_point(expression, p, wrong):
    """The answer equals the derivative at x = p (and only there): never correct, with or without --at."""
    answer = f"({DERIVATIVES[expression]}) {wrong.format(p=p)}"
    point = {"x": p} if not (expression == "x*log(x)" and p <= 0) else None
    result = judge(expression, answer, at=point)
    assert result.verdict != "correct", (expression, answer, point, result.reason)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.floats(0.05, 3.0),
    st.integers(1, 6),
    st.floats(1e-5, 0.1),
    st.sampled_from(["rtol", "atol", "sig_figs", "decimals"]),
)
def test_a_number_within_the_tolerance_is_never_wrong_and_outside_never_correct(x, digits, rtol, rule):
    exact = math.cos(x)
    answer = f"{exact:.{digits}f}"
    options = {
        "rtol": {"rtol": rtol},
        "atol": {"atol": rtol},
        "sig_figs": {"sig_figs": digits},
        "decimals": {"decimals": True},
    }[rule]
    tolerance = Policy.of(**options).number_tolerance(answer, exact)
    gap = abs(float(answer) - exact)
    bound = max(tolerance.rtol or 0.0, 0.0) * max(abs(exact), abs(float(answer)))
    bound = max(bound, tolerance.atol or 0.0)
    if abs(gap - bound) <= 1e-9 * max(1.0, bound):
        return  # on the edge, float64 decides; both verdicts are honest
    result = judge("sin(x)", answer, at={"x": repr(x)}, **options)
    if gap < bound:
        assert result.verdict == "correct", (x, answer, options, result.reason)
    else:
        assert result.verdict == "wrong", (x, answer, options, result.reason)
