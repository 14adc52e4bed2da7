"""Issue 22, section 3: the language learners meet. Comparisons and where(cond, a, b), clip, square, softmax,
log_softmax and logsumexp in every witness, the grader, the steps and both readers; kinks at clip's bounds and
at where's switch; the where trap (a nan from the branch where does not take) and its double-where fix."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.judge import verdict as judge
from gradcli.lang.parser import parse
from gradcli.lang.printers import to_latex, to_text, to_textbook
from gradcli.lang.tree import BinOp, Call, Name, Num
from gradcli.witnesses import numeric
from gradcli.witnesses.frameworks import installed

needs_jax = pytest.mark.skipif("jax" not in installed(), reason="JAX is not installed")

SINC = "where(x**2 < 0.01, 1 - x**2/6, sin(x)/x)"
SINC_FIXED = "where(x**2 < 0.01, 1 - x**2/6, sin(where(x**2 >= 0.01, x, 1))/where(x**2 >= 0.01, x, 1))"


def kinds(run) -> list[str]:
    return [n["kind"] for n in run.json["results"][0]["notes"]]


def gradient(run, name: str = "x"):
    return run.json["results"][0]["gradient"][name]


# ---------------------------------------------------------------- reading and printing


@pytest.mark.parametrize(
    "text",
    [
        "where(x > 0, sqrt(x), 0)",
        "where(x <= y + 1, -x, y)",
        "where(x**2 != 1, x, 2*x)",
        "where(x == 0, 1, sin(x)/x)",
        "where(x >= 0, where(x < 1, x, 1), 0)",
        "clip(x, 0, 1)",
        "square(x) + log_softmax(x) + softmax(x) + logsumexp(x)",
    ],
)
def test_every_printer_reads_back_comparisons_and_the_new_functions(text):
    tree = parse(text)
    assert parse(to_text(tree)) == tree
    assert parse(to_textbook(tree)) == tree
    assert parse(to_latex(tree)) == tree


def test_a_comparison_is_a_binop_in_where_s_first_argument():
    condition = BinOp(">", Name("x"), Num("0", 0.0))
    assert parse("where(x > 0, x, 1)") == Call("where", (condition, Name("x"), Num("1", 1.0)))


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"\operatorname{where}\left(x \le 0, 0, x\right)", "where(x <= 0, 0, x)"),
        (r"\operatorname{where}\left(x \geq 1, x, 1\right)", "where(x >= 1, x, 1)"),
        (r"\operatorname{where}(x \neq 0, x, 1)", "where(x != 0, x, 1)"),
        (r"\operatorname{where}(x = 0, 1, x)", "where(x == 0, 1, x)"),
        (r"\operatorname{where}(x < 0, 0, x)", "where(x < 0, 0, x)"),
        (r"\operatorname{clip}\left(x, 0, 1\right)", "clip(x, 0, 1)"),
        (r"\operatorname{log\_softmax}\left(x\right)", "log_softmax(x)"),
    ],
)
def test_latex_reads_comparisons_and_the_new_functions(latex, text):
    assert parse(latex) == parse(text)


def test_softmax_is_a_function_not_a_misspelt_max(cli):
    run = cli("grad", "sum(w*softmax(x))", "--at", "x=[1,2,3]", "--const", "w=[1,0,0]")
    assert run.code == 0, run.stderr
    assert "did you mean" not in run.stderr


def test_log_softmax_is_not_a_log_with_base_softmax():
    assert parse("log_softmax(x)") == Call("log_softmax", (Name("x"),))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x < 1", "error: a comparison is allowed only as the condition of where(cond, a, b) (column 1): "
                  "for example where(x > 0, sqrt(x), 0)\n"),
        ("where(x, 1, 2)", "error: the first argument of where() must be a comparison, as in where(x > 0, a, b) "
                           "(column 7)\n"),
        ("where(0 < x < 1, 1, 2)", "error: a chained comparison (0 < x < 1) is not allowed (column 7): nest two "
                                   "conditions: where(x > 0, where(x < 1, a, b), b)\n"),
        ("where(x > 0, x < 1, 2)", "error: a comparison is allowed only as the condition of where(cond, a, b) "
                                   "(column 14): for example where(x > 0, sqrt(x), 0)\n"),
        ("softmax(x)", "error: softmax() is taken over a vector (the last axis of a tensor), not a scalar "
                       "(column 1): give it a vector variable, e.g. --at x=[1,2,3]\n"),
        ("clip_by_value(x, 0, 1)", "error: unknown function 'clip_by_value' (column 1): did you mean clip?\n"),
    ],
)  # fmt: skip
def test_what_the_language_refuses_is_one_error_line(cli, text, error):
    run = cli("grad", text, "--at", "x=1")
    assert (run.code, run.stdout, run.stderr) == (2, "", error)


# ---------------------------------------------------------------- the functions, every witness


def test_square(cli):
    run = cli("grad", "square(x)", "--at", "x=3", "--format", "json")
    assert run.code == 0
    assert gradient(run)["tape"] == 6.0


def test_logsumexp_has_softmax_as_its_gradient(cli):
    run = cli("grad", "logsumexp(x)", "--at", "x=[1,2,3]", "--format", "json")
    assert run.code == 0
    x = np.array([1.0, 2.0, 3.0])
    assert gradient(run)["tape"] == pytest.approx(np.exp(x) / np.exp(x).sum(), rel=1e-12)
    assert run.json["results"][0]["value"] == pytest.approx(np.log(np.exp(x).sum()), rel=1e-12)


def test_cross_entropy_with_log_softmax_has_the_gradient_softmax_minus_the_label(cli):
    run = cli("grad", "-sum(y*log_softmax(z))", "--at", "z=[2,1,0.1]", "--const", "y=[0,1,0]", "--format", "json")
    assert run.code == 0
    z = np.array([2.0, 1.0, 0.1])
    assert gradient(run, "z")["tape"] == pytest.approx(np.exp(z) / np.exp(z).sum() - [0, 1, 0], rel=1e-12)


def test_softmax_of_a_matrix_is_taken_over_its_last_axis():
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    rows = numeric.value(parse("softmax(x)"), {"x": x})
    assert rows == pytest.approx(np.exp(x) / np.exp(x).sum(axis=1, keepdims=True), rel=1e-12)


def test_clip_inside_its_bounds_and_outside(cli):
    inside = cli("grad", "clip(x, 0, 1)", "--at", "x=0.5", "--format", "json")
    outside = cli("grad", "clip(x, 0, 1)", "--at", "x=2", "--format", "json")
    assert (inside.code, gradient(inside)["tape"], outside.code, gradient(outside)["tape"]) == (0, 1.0, 0, 0.0)


@pytest.mark.parametrize(("point", "left", "right"), [("x=0", 0.0, 1.0), ("x=1", 1.0, 0.0)])
def test_clip_at_its_bounds_is_a_kink_where_tf_passes_the_whole_gradient(cli, point, left, right):
    run = cli("grad", "clip(x, 0, 1)", "--at", point, "--format", "json")
    assert run.code == 3
    assert kinds(run) == ["kink"]
    assert gradient(run)["tape"] == 1.0  # tf.clip_by_value: lo <= x <= hi passes the gradient, bounds included
    message = run.json["results"][0]["notes"][0]["message"]
    assert message.startswith("clip(x, 0, 1) has a kink where its first argument meets a bound, as it is here")
    assert f"is {left:g} from the left and {right:g} from the right" in message
    assert "tf.clip_by_value passes the whole gradient to its first argument" in message


def test_where_away_from_its_switch_is_the_taken_branch(cli):
    run = cli("grad", "where(x > 0, x**2, sin(x))", "--at", "x=2", "--at", "x=-1", "--format", "json")
    assert run.code == 0
    assert [r["gradient"]["x"]["tape"] for r in run.json["results"]] == pytest.approx([4.0, np.cos(-1.0)])


def test_where_at_its_switch_is_a_kink(cli):
    run = cli("grad", "where(x > 0, x, 0)", "--at", "x=0", "--format", "json")
    assert run.code == 3
    assert kinds(run) == ["kink"]
    assert run.json["results"][0]["notes"][0]["message"].startswith(
        "where switches branches where the two sides of its condition x > 0 are equal, as it is here: the slope with "
        "respect to x is 0 from the left and 1 from the right, so the derivative does not exist."
    )


def test_where_whose_branches_meet_smoothly_at_the_switch_has_a_derivative(cli):
    run = cli("grad", "where(x > 0, x**2, x**3)", "--at", "x=0", "--format", "json")
    assert run.code == 0
    assert kinds(run) == ["smooth_kink"]


# ---------------------------------------------------------------- the where trap


def test_the_where_trap_away_from_the_switch_names_the_tape_and_the_double_where(cli):
    run = cli("grad", SINC, "--at", "x=0", "--format", "json")
    assert run.code == 1
    assert kinds(run) == ["where_nan", "odd_witness"]
    row = gradient(run)
    assert (row["tape"], row["exact"], row["agree"]) == ("nan", 0.0, False)
    trap, odd = (n["message"] for n in run.json["results"][0]["notes"])
    assert trap.startswith("d/dx: GradientTape gives nan, and the exact value is 0: the where trap.")
    assert "0·inf = nan" in trap
    assert trap.endswith(f"The fix is the double where, which keeps the untaken branch finite: {SINC_FIXED}.")
    assert odd.endswith("why: the where trap (see the where note).")


def test_the_double_where_that_the_note_names_agrees(cli):
    run = cli("grad", SINC_FIXED, "--at", "x=0", "--format", "json")
    assert run.code == 0
    assert gradient(run)["tape"] == 0.0


def test_where_log_at_0_the_jax_faq_example_jumps_and_springs_the_trap(cli):
    run = cli("grad", "where(x > 0, log(x), 0)", "--at", "x=0", "--format", "json")
    assert run.code == 3
    assert kinds(run) == ["jump", "where_nan"]
    assert gradient(run)["tape"] == "nan"
    jump, trap = (n["message"] for n in run.json["results"][0]["notes"])
    assert "f jumps, so it is not continuous here" in jump
    assert trap.endswith("where(x > 0, log(where(x > 0, x, 1)), 0).")


def test_where_sqrt_at_0_is_a_kink_and_tensorflow_2_21_gives_0_not_nan(cli):
    """TensorFlow's SqrtGrad gives 0 for a zero upstream gradient: the issue's example springs no trap on the tape."""
    run = cli("grad", "where(x > 0, sqrt(x), 0)", "--at", "x=0", "--format", "json")
    assert run.code == 3
    assert kinds(run) == ["kink"]
    assert gradient(run)["tape"] == 0.0


def test_where_sqrt_below_0_agrees(cli):
    run = cli("grad", "where(x > 0, sqrt(x), 0)", "--at", "x=-1", "--format", "json")
    assert run.code == 0
    assert kinds(run) == []


@needs_jax
def test_where_sqrt_at_0_springs_the_trap_in_jax_and_the_frameworks_note_says_so(cli):
    run = cli("grad", "where(x > 0, sqrt(x), 0)", "--at", "x=0", "--frameworks", "--format", "json")
    assert run.code == 3
    assert gradient(run)["frameworks"]["jax"] == "nan"
    note = next(n for n in run.json["results"][0]["notes"] if n["kind"] == "frameworks_differ")
    fix = "where(x > 0, sqrt(where(x > 0, x, 1)), 0)"
    assert f"JAX nan (the where trap: sqrt(x) in the untaken branch; fix: {fix})" in note["message"]


def test_the_where_trap_in_points_is_a_disagreement_not_a_singularity(cli, tmp_path):
    points = tmp_path / "points.csv"
    points.write_text("x\n0\n2\n")
    run = cli("grad", SINC, "--points", str(points), "--format", "csv")
    assert run.code == 1
    assert [line.split(",")[-1] for line in run.stdout.splitlines()[1:]] == ["disagree", "agree"]


def test_an_untaken_singular_point_is_not_f_s_own():
    events = numeric.events_at(parse("where(x > 0, sqrt(x), 0)"), {"x": np.asarray(-1.0)}, frozenset("x"))
    assert [(e.kind, e.inner, e.detail) for e in events] == [
        ("untaken", "sqrt(x)", "where(x > 0, sqrt(where(x > 0, x, 1)), 0)")
    ]
    taken = numeric.events_at(parse("where(x < 0, 1, sqrt(x))"), {"x": np.asarray(0.0)}, frozenset("x"))
    assert [e.kind for e in taken] == ["kink", "singular"]


def test_the_double_where_guards_the_else_branch_with_the_negated_condition():
    events = numeric.events_at(parse("where(x <= 0, 0, log(x))"), {"x": np.asarray(-2.0)}, frozenset("x"))
    assert [e.detail for e in events] == ["where(x <= 0, 0, log(where(x > 0, x, 1)))"]


def test_the_judge_springs_the_trap_only_where_the_tape_is_not_finite_and_the_exact_value_is():
    event = numeric.Event("where", "untaken", "where(x > 0, log(x), 0)", "fix", frozenset("x"), "log(x)")
    c = judge.column("x", np.nan, 0.0, 0.0, 1e-9, scale=1.0)
    assert list(judge.where_traps([c], {"x": (np.nan, 0.0)}, [event])) == ["x"]
    assert judge.where_traps([c], {"x": (0.0, 0.0)}, [event]) == {}
    assert judge.where_traps([c], {"x": (np.nan, np.nan)}, [event]) == {}
    assert judge.where_traps([c], {"x": (np.nan, 0.0)}, []) == {}


# ---------------------------------------------------------------- the grader and the steps


@pytest.mark.parametrize(
    ("function", "answer"),
    [
        ("where(x > 0, x**2, 0)", "where(x > 0, 2*x, 0)"),
        ("x*clip(x, 0, 1)", "clip(x, 0, 1) + x*(sign(x) - sign(x - 1))/2"),
        ("square(sin(x))", "2*sin(x)*cos(x)"),
    ],
)
def test_the_grader_judges_where_clip_and_square(cli, function, answer):
    run = cli("check", function, "--answer", answer)
    assert run.code == 0, run.stdout
    assert run.stdout.startswith("CORRECT")


def test_the_grader_finds_a_wrong_branch(cli):
    run = cli("check", "where(x > 0, x**2, 0)", "--answer", "where(x > 0, 2*x, 1)")
    assert run.code == 1
    assert run.stdout.startswith("WRONG")


def test_the_steps_name_where_clip_and_square():
    from gradcli.grading.steps import derive

    steps, _ = derive(parse("where(x > 0, x**2, 0) + clip(x, 0, 1) + square(x)"), "x")
    rules = [s.rule for s in steps]
    assert "where (the derivative of the branch the condition takes; not differentiable where it switches)" in rules
    assert "clip (piecewise; not differentiable where u meets a bound)" in rules
    assert "power (square(u) = u**2)" in rules
