"""The one judge: its rules on plain arrays, the notes it makes, and the same verdicts per point and vectorised."""

import numpy as np
import pytest

import gradcli
from gradcli import tolerance
from gradcli.judge import verdict as judge
from gradcli.witnesses.numeric import Event

ABS = Event("abs", "kink", "x", "", frozenset({"x"}))


def sides_of(left, right, error=1e-12, noise=1e-16):
    return lambda k: (np.float64(left), np.float64(right), np.float64(error), np.float64(noise))


# --- the rule set, on arrays ----------------------------------------------------------------------------


def test_three_close_witnesses_agree_and_say_nothing():
    c = judge.column("x", 6.0, 6.0, 6.0 + 1e-9, 1e-10, scale=9.0)
    assert bool(c.agree) and c.notes == [] and not c.fd_within_error


def test_a_tape_off_by_more_than_its_dtype_allows_disagrees():
    assert not judge.column("x", 6.0 + 1e-6, 6.0, 6.0, 0.0, scale=9.0).agree
    assert judge.column("x", 6.0 + 1e-6, 6.0, 6.0, 0.0, scale=9.0, dtype="float32").agree


def test_a_noisy_finite_difference_agrees_only_within_its_error_bar():
    tight = judge.column("x", 1.0, 1.0, 1.001, 1e-6, scale=1.0)
    wide = judge.column("x", 1.0, 1.0, 1.001, 1e-3, scale=1.0)
    assert not tight.agree
    assert wide.agree and wide.fd_within_error


def test_unwatched_constants_are_judged_by_finite_differences_alone():
    c = judge.column("c", None, 2.0, 2.0, 0.0, scale=1.0, kink=ABS, at_kink=True, sides=sides_of(-1, 1))
    assert c.agree and not c.broken and c.notes == []


def test_sides_that_differ_make_the_derivative_undefined():
    c = judge.column("x", 0.0, 0.0, 0.0, 0.0, scale=0.0, kink=ABS, at_kink=True, sides=sides_of(-1, 1))
    assert c.broken and [n.kind for n in c.notes] == ["kink"]
    assert c.notes[0].severity == judge.UNDEFINED and c.notes[0].variable == "x"
    assert "-1 from the left and 1 from the right" in c.notes[0].message


def test_sides_that_agree_make_the_one_sided_mean_the_witness():
    c = judge.column("x", 0.0, 0.0, 3e-8, 1e-12, scale=0.0, kink=ABS, at_kink=True, sides=sides_of(0.0, 0.0))
    assert c.smooth and c.agree and float(c.fd) == 0.0
    assert [(n.kind, n.severity) for n in c.notes] == [("smooth_kink", judge.INFO)]


def test_a_tape_wrong_at_a_smooth_kink_disagrees_and_the_note_says_so():
    sides = sides_of(2.0, 2.0)  # the truth is 2; the tape says 0 and so does sympy's convention
    c = judge.column("x", 0.0, 0.0, 2.0, 0.0, scale=0.0, order=2, kink=ABS, at_kink=True, sides=sides)
    assert c.smooth and not c.agree
    assert not c.notes[0].data["tape_ok"] and not c.notes[0].data["exact_ok"]


def test_rounding_that_could_hide_a_jump_is_cannot_tell():
    c = judge.column("x", 0.0, 0.0, 0.0, 0.0, scale=1e7, kink=ABS, at_kink=True, sides=sides_of(0, 0, 1, 1.0))
    assert c.broken and [n.kind for n in c.notes] == ["kink_cannot_tell"]


def test_undefined_notes_decide_differentiable():
    info = judge.Note("smooth_kink", judge.INFO)
    wrong = judge.Note("odd_witness", judge.WRONG)
    assert judge.differentiable([info, wrong])
    assert not judge.differentiable([info, judge.Note("pole", judge.UNDEFINED)])


def test_float32_overflow_of_f_is_not_a_missing_derivative():
    c = judge.column("x", np.nan, 1.0, 1.0, 1e-12, scale=1.0, dtype="float32")
    notes = judge.conclude(np.inf, 100.0, "float32", [c], {"x": (np.nan, 1.0)}, [], lambda: {"x": 1.0})
    assert judge.differentiable(notes)
    assert [n.kind for n in notes] == ["overflow", "odd_witness"]
    assert notes[1].data["witness"] == "tape" and notes[1].data["reason"] == judge.OVERFLOW


def test_a_non_finite_exact_value_with_no_event_is_undefined():
    c = judge.column("x", np.inf, np.inf, np.nan, np.nan, scale=1.0)
    notes = judge.conclude(np.inf, np.inf, "float64", [c], {"x": (np.inf, np.inf)}, [])
    assert [n.kind for n in notes] == ["not_finite", "witnesses"] and not judge.differentiable(notes)


@pytest.mark.parametrize(
    ("tape", "exact", "fd", "witness"),
    [(5.0, 1.0, 1.0, "tape"), (1.0, 1.0, 5.0, "finite_difference"), (1.0, 5.0, 1.0, "exact"), (1.0, 2.0, 3.0, None)],
)
def test_the_odd_witness_is_the_one_the_other_two_outvote(tape, exact, fd, witness):
    c = judge.column("x", tape, exact, fd, 0.0, scale=1.0)
    notes = judge.conclude(1.0, 1.0, "float64", [c], {"x": (tape, exact)}, [])
    assert [(n.kind, n.data["witness"]) for n in notes] == [("odd_witness", witness)]


def test_vectorised_status_follows_the_same_rules():
    tape = np.array([1.0, 5.0, np.inf, np.nan])
    exact = np.array([1.0, 1.0, np.inf, 1.0])
    fd = np.array([1.0, 1.0, np.nan, 1.0])
    value = np.array([1.0, 1.0, np.inf, np.inf])
    value64 = np.array([1.0, 1.0, np.inf, 80.0])
    c = judge.column("x", tape, exact, fd, 0.0, scale=1.0, dtype="float32")
    status = judge.status([c], value, value64, "float32", {"x": tape}, {"x": exact}, np.zeros(4, bool))
    assert status.tolist() == ["agree", "disagree", "not differentiable", "disagree"]


def test_one_tolerance_table():
    assert tolerance.tape("float64").rtol == 1e-9 and tolerance.tape("float32").rtol == 1e-4
    assert tolerance.finite_difference(1) == tolerance.Tolerance(1e-6, 1e-8)
    assert tolerance.finite_difference(2).rtol == 1.5e-6  # 100 * eps**(1/2), two digits


# --- the examples, end to end --------------------------------------------------------------------


def test_float32_cancellation_names_the_tape_and_shows_the_float64_tape(cli):
    run = cli("grad", "(1 - cos(x))/x^2", "--at", "x=1e-3", "--dtype", "float32", "--format", "json")
    assert run.code == 1
    notes = run.json["results"][0]["notes"]
    odd = [n for n in notes if n["kind"] == "odd_witness"]
    assert odd and odd[0]["severity"] == "wrong" and odd[0]["variable"] == "x"
    assert "GradientTape is the odd one out" in odd[0]["message"] and "float32 rounding" in odd[0]["message"]
    assert "fd_within_error" in [n["kind"] for n in notes]


def test_float32_cancellation_is_named_in_the_table_row(cli):
    run = cli("grad", "(1 - cos(x))/x^2", "--at", "x=1e-3", "--dtype", "float32")
    assert run.code == 1 and "NO: tape" in run.stdout


def test_float64_cancellation_in_f_is_named_as_such():
    result = gradcli.grad("(1 - cos(x))/x^2", at={"x": 1e-3})
    odd = [n for n in result.results[0].notes if n.kind == "odd_witness"]
    assert result.exit_code == 1 and odd[0].data["reason"] == judge.CANCELLATION


def test_float32_overflow_of_log1pexp_is_a_wrong_tape_not_a_missing_derivative(cli):
    run = cli("grad", "log(1 + exp(x))", "--at", "x=100", "--dtype", "float32", "--format", "json")
    result = run.json["results"][0]
    assert run.code == 1 and result["differentiable"] is True
    assert [n["kind"] for n in result["notes"]] == ["overflow", "odd_witness"]
    assert "same tape in float64 gives 1" in result["notes"][1]["message"]


def test_complex_step_is_the_witness_where_the_expression_is_analytic(cli):
    doc = cli("grad", "exp(sin(x))*x", "--at", "x=0.7", "--format", "json").json
    partial = doc["results"][0]["gradient"]["x"]
    assert partial["finite_difference_method"] == "complex step"
    assert abs(partial["finite_difference"] - partial["exact"]) <= 1e-14 * abs(partial["exact"])
    assert partial["finite_difference_error"] < 1e-13


def test_kinks_keep_the_central_difference_and_report_one_sided_at_the_kink(cli):
    away = cli("grad", "abs(x)*x", "--at", "x=0.5", "--format", "json").json["results"][0]["gradient"]["x"]
    at = cli("grad", "abs(x)*x", "--at", "x=0", "--format", "json").json["results"][0]["gradient"]["x"]
    assert away["finite_difference_method"] == "central difference"
    assert at["finite_difference_method"] == "one-sided"


# --- one rule set, two strategies -----------------------------------------------------------------------

CASES = [
    ("x**2*y + sin(x*y)", [(0.5, 1.0), (-1.0, 2.0), (0.0, 0.0)]),
    ("abs(x) + y", [(0.0, 1.0), (0.3, 1.0)]),
    ("cosh(max(x, 3*x)) + y", [(0.0, 0.5), (1.0, 0.5)]),
    ("sqrt(x)*y", [(0.0, 1.0), (4.0, 1.0)]),
    ("1/cos(x) + y", [(1.5707963267948966, 0.0), (0.1, 0.0)]),
    ("relu(x)**2 + y", [(0.0, 0.0), (-1.0, 0.0)]),
]


@pytest.mark.parametrize(("expression", "points"), CASES)
def test_points_and_single_points_get_the_same_verdicts(cli, expression, points):
    stdin = "x,y\n" + "".join(f"{x!r},{y!r}\n" for x, y in points)
    run = cli("grad", expression, "--points", "-", "--format", "csv", stdin=stdin)
    statuses = [line.rsplit(",", 1)[1] for line in run.stdout.splitlines()[1:]]
    alone = [gradcli.grad(expression, at={"x": x, "y": y}).status for x, y in points]
    assert statuses == alone


# --- known misses closed ----------------------------------------------------------------------------------


def test_a_removable_zero_is_not_a_pole(cli):
    run = cli("grad", "cos(x)/cos(x)", "--at", "x=1.5707963267948966", "--format", "json")
    notes = run.json["results"][0]["notes"]
    assert run.code == 0 and [n["kind"] for n in notes] == ["removable"]


def test_a_real_pole_at_a_rounded_zero_stays_a_pole(cli):
    assert cli("grad", "1/cos(x)", "--at", "x=1.5707963267948966").code == 3


def test_a_sum_that_cancels_to_a_rounded_zero_is_a_pole(cli):
    run = cli("grad", "1/(sin(x)+cos(x))", "--at", "x=2.356194490192345", "--format", "json")
    assert run.code == 3 and run.json["results"][0]["notes"][0]["kind"] == "pole"
    assert "sin(x) + cos(x) is 0 here to float64 precision" in run.json["results"][0]["notes"][0]["message"]


def test_periodic_functions_at_huge_x_get_the_complex_step(cli):
    # the five-point step at 1e13 is far longer than the period; the complex step needs no step in x
    run = cli("grad", "1/sin(x)", "--at", "x=1e13", "--format", "json")
    partial = run.json["results"][0]["gradient"]["x"]
    assert run.code == 0 and partial["finite_difference_method"] == "complex step"


def test_points_get_the_cannot_tell_case(cli):
    stdin = "x\n0\n1\n"
    run = cli("grad", "x*abs(x) + 1e7", "--points", "-", "--format", "csv", stdin=stdin)
    assert [line.rsplit(",", 1)[1] for line in run.stdout.splitlines()[1:]] == ["not differentiable", "agree"]
    assert gradcli.grad("x*abs(x) + 1e7", at={"x": 0}).results[0].notes[0].kind == "kink_cannot_tell"


def test_a_kink_in_an_unwatched_constant_is_noted_without_failing(cli):
    run = cli("grad", "x*abs(c)", "--at", "x=1", "--const", "c=0", "--format", "json")
    assert run.code == 0 and [n["kind"] for n in run.json["results"][0]["notes"]] == ["kink_in_constant"]


def test_a_pole_in_a_constant_explains_why_f_is_not_finite(cli):
    run = cli("grad", "x/sin(y)", "--at", "x=1", "--const", "y=pi", "--format", "json")
    assert run.code == 3 and run.json["results"][0]["notes"][0]["kind"] == "pole"


def test_an_infinite_error_bar_never_makes_agreement():
    assert not tolerance.within_error(1.0, 2.0, np.inf)
