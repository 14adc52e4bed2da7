"""Issue 10: `gradcli check` as a grader people can trust. Every example of the issue, by name."""

import math

import pytest


def check(cli, *args):
    run = cli("check", *args, "--format", "json")
    # only notes on how a text was read (issue 9: 1/2sqrt(x) is (1/2)*sqrt(x)), never an error
    assert all(line.startswith("note: ") for line in run.stderr.splitlines()), run.stderr
    return run, run.json


# ---------------------------------------------------------------- 1. sample where the function lives


def test_sqrt_shifted_right_is_sampled_past_5(cli):
    run, doc = check(cli, "sqrt(x-5)", "--answer", "1/sqrt(x-5)")
    assert run.code == 1 and doc["verdict"] == "wrong"
    assert doc["counterexample"]["at"]["x"] > 5
    assert doc["counterexample"]["answer"] == pytest.approx(2 * doc["counterexample"]["derivative"])


def test_log_far_right_counterexample_is_where_log_is_real(cli):
    run, doc = check(cli, "log(x-100)", "--answer", "1/(x+100)")
    assert run.code == 1 and doc["verdict"] == "wrong"
    assert doc["counterexample"]["at"]["x"] > 100
    assert "x in [100" in doc["reason"]


def test_sqrt_region_note_only_for_sampled_regions(cli):
    run, doc = check(cli, "sqrt(x)", "--answer", "1/2sqrt(x)")
    assert run.code == 1 and doc["verdict"] == "wrong"
    assert "x < 0" not in doc["reason"] and "agrees" not in doc["reason"]
    assert doc["counterexample"]["at"]["x"] > 0


@pytest.mark.parametrize(
    ("expression", "answer", "inside"),
    [
        ("log(-50 - x)", "1/(50 + x)**2", lambda p: p["x"] < -50),
        ("sqrt(x - 1000)", "1/sqrt(x - 1000)", lambda p: p["x"] > 1000),
        ("asin(x)", "1/sqrt(1 + x**2)", lambda p: -1 < p["x"] < 1),
        ("acos(x/3)", "1/sqrt(9 - x**2)", lambda p: -3 < p["x"] < 3),
        ("log(x*y - 1)", "[1/(x*y - 1), 1/(x*y - 1)]", lambda p: p["x"] * p["y"] > 1),
        ("x**(1/3) + sqrt(x - 20)", "x**(-2/3) + 1/sqrt(x - 20)", lambda p: p["x"] > 20),
    ],
)
def test_domains_far_from_0_narrow_or_of_two_variables(cli, expression, answer, inside):
    run, doc = check(cli, expression, "--answer", answer)
    assert run.code == 1 and doc["verdict"] == "wrong", doc["reason"]
    assert inside(doc["counterexample"]["at"])


def test_right_answers_on_far_domains_are_correct_even_numerically(cli):
    # sympy cannot simplify the difference of these two forms: the sampled domain decides
    run, doc = check(cli, "log(x - 100)", "--answer", "sqrt((x - 100)**2)/(x - 100)**2")
    assert run.code == 0 and doc["verdict"] == "correct"
    assert doc["method"] in ("symbolic", "numeric")


def test_range_restricts_sampling(cli):
    run, doc = check(cli, "sqrt(x**2)", "--answer", "1", "--range", "x=1:5")
    assert run.code == 0 and doc["verdict"] == "correct", doc["reason"]
    run, doc = check(cli, "sqrt(x**2)", "--answer", "1", "--range", "x=-5:5")
    assert run.code == 1 and -5 <= doc["counterexample"]["at"]["x"] < 0


@pytest.mark.parametrize("bad", ["x=5:1", "x=1", "x=a:b", "z=1:2"])
def test_bad_range_is_exit_2(cli, bad):
    run = cli("check", "x**2", "--answer", "x", "--range", bad)
    assert run.code == 2 and run.stderr.startswith("error: ") and "range" in run.stderr and run.stdout == ""


def test_empty_domain_is_undecided_and_says_so(cli):
    run, doc = check(cli, "sqrt(-1 - x**2)", "--answer", "x")
    assert run.code == 1 and doc["verdict"] == "undecided"
    assert "domain" in doc["reason"] and "empty" in doc["reason"]


# ---------------------------------------------------------------- 2. tolerances a grader can state


@pytest.mark.parametrize(
    ("expression", "answer"),
    [("1e-12*x**2", "0"), ("x**2/1e10", "x/1e10"), ("exp(x)", "1.00000001*exp(x)"), ("1e-30*sin(x)", "0")],
)
def test_small_is_not_zero(cli, expression, answer):
    run, doc = check(cli, expression, "--answer", answer)
    assert run.code == 1 and doc["verdict"] == "wrong"
    assert doc["tolerance"]["rule"] == "exact"


def test_tiny_derivatives_answered_right_are_correct(cli):
    assert check(cli, "x**2/1e10", "--answer", "2*x/1e10")[0].code == 0
    assert check(cli, "1e-12*x**2", "--answer", "2e-12*x")[0].code == 0


def test_rtol_allows_a_rounded_coefficient_and_says_so(cli):
    run, doc = check(cli, "exp(x)", "--answer", "1.00000001*exp(x)", "--rtol", "1e-6")
    assert run.code == 0 and doc["verdict"] == "correct"
    assert doc["tolerance"] == {"rule": "relative", "rtol": 1e-6, "atol": None, "decimals": None, "sig_figs": None}
    assert "relative tolerance 1e-06" in doc["reason"]


def test_no_derivative_at_the_point_is_exit_3(cli):
    run, doc = check(cli, "1/x", "--answer", "-1/x**2", "--at", "x=0")
    assert run.code == 3 and doc["verdict"] == "not differentiable" and doc["exit_code"] == 3
    assert "x = 0" in doc["reason"] and "nan" not in doc["reason"]
    run, doc = check(cli, "abs(x)", "--answer", "1", "--at", "x=0")
    assert run.code == 3 and "corner" in doc["reason"]
    run, doc = check(cli, "max(x, y)", "--answer", "[1, 0]", "--at", "x=1,y=1")
    assert run.code == 3 and doc["verdict"] == "not differentiable"


def test_a_corner_the_derivative_does_not_feel_is_no_reason_for_exit_3(cli):
    run, doc = check(cli, "x*abs(x)", "--answer", "0", "--at", "x=0")
    assert run.code == 0 and doc["verdict"] == "correct"
    assert check(cli, "max(x, y)", "--answer", "[1, 0]", "--at", "x=2,y=1")[0].code == 0


def test_number_answer_judged_to_the_decimals_written_with_decimals(cli):
    run, doc = check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.3536", "--decimals")
    assert run.code == 0 and doc["reason"] == "equal at the point to the 4 decimals written (--decimals)"
    assert doc["tolerance"] == {"rule": "decimals", "rtol": None, "atol": 5e-05, "decimals": 4, "sig_figs": None}
    assert check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.3535", "--decimals")[0].code == 1
    assert check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.35", "--decimals")[0].code == 0  # to 2 decimals
    assert check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.36", "--decimals")[0].code == 1
    assert check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.354", "--decimals")[0].code == 0


def test_sig_figs_and_rtol_are_the_instructors_rules(cli):
    run, doc = check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.35", "--sig-figs", "2")
    assert run.code == 0 and doc["tolerance"]["rule"] == "significant figures" and doc["tolerance"]["sig_figs"] == 2
    assert "2 significant figures" in doc["reason"]
    assert check(cli, "sqrt(x)", "--at", "x=2", "--answer", "0.3536", "--rtol", "1e-9")[0].code == 1


def test_sig_figs_everywhere_is_a_relative_tolerance(cli):
    run, doc = check(cli, "exp(x)", "--answer", "1.0001*exp(x)", "--sig-figs", "3")
    assert run.code == 0 and doc["tolerance"]["rule"] == "significant figures" and doc["tolerance"]["rtol"] == 0.005
    run, doc = check(cli, "exp(x)", "--answer", "1.01*exp(x)", "--sig-figs", "3")
    assert run.code == 1 and doc["reason"].endswith("; judged to 3 significant figures (--sig-figs)")


def test_integer_answer_at_a_point_is_judged_to_the_default_tolerance(cli):
    assert check(cli, "x**3 + 2*x", "--at", "x=2", "--answer", "14")[0].code == 0
    assert check(cli, "x**3 + 2.1*x", "--at", "x=2", "--answer", "14")[0].code == 1  # 14.2: 1.4% off


# ---------------------------------------------------------------- 3. more kinds of answer


def test_implicit_answer_checked_on_the_curve(cli):
    run, doc = check(cli, "x^2 + y^2 = 25", "--implicit", "y", "--answer", "-x/y")
    assert run.code == 0 and doc["kind"] == "implicit" and doc["derivative"] == "-x/y"
    run, doc = check(cli, "x^2 + y^2 = 25", "--implicit", "y", "--answer", "-x/sqrt(25 - x^2)")
    assert run.code == 1 and doc["counterexample"]["at"]["y"] < 0  # right on the upper half only
    point = doc["counterexample"]["at"]
    assert point["x"] ** 2 + point["y"] ** 2 == pytest.approx(25)


def test_implicit_answer_that_differs_only_off_the_curve_is_correct(cli):
    run, doc = check(cli, "x^2 + y^2 = 25", "--implicit", "y", "--answer", "-x/y + (x^2 + y^2 - 25)")
    assert run.code == 0 and doc["verdict"] == "correct" and doc["method"] == "numeric"


def test_equation_without_implicit_is_a_clear_error(cli):
    run = cli("check", "x^2 + y^2 - 25", "--answer", "-x/y")
    assert run.code == 2 and "--implicit y" in run.stderr and run.stdout == ""
    run = cli("check", "x^2 + y^2 = 25", "--answer", "-x/y")
    assert run.code == 2 and "--implicit" in run.stderr


def test_grad_implicit_by_tape_sympy_and_finite_differences(cli):
    run = cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=4", "--format", "json")
    assert run.code == 0
    doc = run.json
    assert doc["kind"] == "implicit" and doc["of"] == "dy/dx" and doc["symbolic"] == "-x/y"
    (point,) = doc["results"]
    assert point["tape"] == pytest.approx(-0.75) and point["exact"] == -0.75
    assert point["finite_difference"] == pytest.approx(-0.75, rel=1e-6)
    text = cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=4").stdout
    assert text.startswith("dy/dx on x**2 + y**2 - 25 = 0: -x/y")


def test_grad_implicit_point_off_the_curve_is_exit_2(cli):
    run = cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=3")
    assert run.code == 2 and "not on the curve" in run.stderr and run.stdout == ""
    run = cli("check", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=3", "--answer", "-1")
    assert run.code == 2 and "not on the curve" in run.stderr


def test_second_order_and_hessian_answers(cli):
    assert check(cli, "x**3", "--order", "2", "--answer", "6*x")[0].code == 0
    assert check(cli, "x**3", "--order", "2", "--answer", "3*x**2")[0].code == 1
    run, doc = check(cli, "x**2*y", "--answer", "[[2*y, 2*x], [2*x, 0]]")
    assert run.code == 0 and doc["kind"] == "hessian"
    run, doc = check(cli, "x**2*y", "--order", "2", "--answer", "[[2*y, 2*x], [2*x, 1]]")
    assert run.code == 1 and doc["counterexample"]["answer"][1][1] == 1.0


def test_hessian_of_the_wrong_size_is_exit_2(cli):
    run = cli("check", "x**2*y", "--answer", "[[2*y, 2*x]]")
    assert run.code == 2 and "2x2 matrix" in run.stderr


def test_directional_derivatives(cli):
    run = cli("grad", "x**2 + x*y", "--direction", "1,1", "--at", "x=1,y=2", "--format", "json")
    assert run.code == 0
    doc = run.json
    assert doc["direction"] == pytest.approx([1 / math.sqrt(2)] * 2)
    assert doc["results"][0]["exact"] == pytest.approx(5 / math.sqrt(2))
    assert check(cli, "x**2 + x*y", "--direction", "1,1", "--answer", "(3*x + y)/sqrt(2)")[0].code == 0
    assert check(cli, "x**2 + x*y", "--direction", "1,1", "--answer", "3*x + y")[0].code == 1
    assert cli("check", "x*y", "--direction", "0,0", "--answer", "0").code == 2


def test_constant_functions(cli):
    run, doc = check(cli, "5", "--answer", "0", "--wrt", "x")
    assert run.code == 0 and doc["wrt"] == ["x"]
    run, doc = check(cli, "0", "--answer", "sqrt((x + sqrt(x^2+1))^2) - sqrt(x^2+1) - x")
    assert run.code == 0 and doc["verdict"] == "correct" and doc["wrt"] == ["x"]
    assert check(cli, "5", "--answer", "1", "--wrt", "t")[0].code == 1


# ---------------------------------------------------------------- 4. name the mistake


MISTAKES = [
    ("sin(3*x)", "cos(3*x)", "chain rule", "needs the inner derivative 3"),
    ("exp(x**2)", "exp(x**2)", "chain rule", "needs the inner derivative 2*x"),
    ("(3*x + 2)**2", "2*(3*x + 2)", "chain rule", "needs the inner derivative 3"),
    ("x*sin(x)", "cos(x)", "product rule", "it is not u'v'"),
    ("x**2*exp(x)", "2*x*exp(x)", "product rule", "the term uv' is missing"),
    ("x/(1 + x)", "-1/(1 + x)**2", "quotient rule", "the numerator was reversed"),
    ("x/(1 + x)", "1/(1 + x)", "quotient rule", "the denominator was not squared"),
    ("x**3", "3*x**3", "power rule", "the exponent 3 is lowered by 1"),
    ("x + cos(x)", "1 + sin(x)", "trig sign", "the sign of d/dx cos(x) is wrong"),
    ("x + sin(x)", "1 - cos(x)", "trig sign", "d/du sin(u) = cos(u)"),
    ("2**x", "x*2**(x - 1)", "exponential", "a**u is not a power of u"),
    ("3**x", "3**x", "exponential", "a**u*ln(a)"),
    ("log10(x)", "1/x", "log base", "1/ln(10)"),
    ("log(x, 2)", "1/x", "log base", "1/ln(2)"),
    ("5*x**2", "2*x", "constant factor", "keeps the constant factor"),
    ("x**2", "x**3/3", "antiderivative", "integrated, not differentiated"),
    ("x**2 + exp(x)", "-2*x - exp(x)", "sign", "the whole answer has the wrong sign"),
]


@pytest.mark.parametrize(("expression", "answer", "kind", "words"), MISTAKES)
def test_the_mistake_is_named(cli, expression, answer, kind, words):
    run, doc = check(cli, expression, "--answer", answer)
    assert run.code == 1 and doc["verdict"] == "wrong"
    assert doc["mistake"]["kind"] == kind and words in doc["mistake"]["message"]
    assert doc["mistake"]["message"].startswith(f"likely mistake: the {kind}: ")
    table = cli("check", expression, "--answer", answer).stdout
    assert f"likely mistake: the {kind}" in table


def test_the_step_is_the_step_of_the_derivation(cli):
    doc = check(cli, "sin(3*x)", "--answer", "cos(3*x)", "--steps")[1]
    step = doc["mistake"]["step"]
    assert doc["steps"]["x"][step - 1]["rule"] == "trig + chain"
    assert doc["mistake"]["message"] == (
        f"likely mistake: the chain rule: d/dx sin(3*x) needs the inner derivative 3 (step {step})"
    )


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        ("sin(x)", "-cos(x)"),  # a sign slip or an antiderivative: two stories, so none is told
        ("cos(x)", "sin(x)"),
        ("x**3", "3*x"),  # no single misapplied rule gives it
        ("log(x)", "1/x**2"),
        ("x**2 + x*y", "[2*x, 2*y]"),
    ],
)
def test_no_guess_when_no_single_mistake_explains_the_answer(cli, expression, answer):
    run, doc = check(cli, expression, "--answer", answer)
    assert run.code == 1 and doc["mistake"] is None
    assert "likely mistake" not in cli("check", expression, "--answer", answer).stdout


def test_a_gradient_names_the_mistake_of_its_first_wrong_part(cli):
    run, doc = check(cli, "x**2 + sin(3*y)", "--answer", "[2*x, cos(3*y)]")
    assert run.code == 1 and doc["mistake"]["kind"] == "chain rule"
    assert "d/dy sin(3*y) needs the inner derivative 3" in doc["mistake"]["message"]


def test_no_mistake_is_named_for_higher_orders(cli):
    run, doc = check(cli, "sin(3*x)", "--order", "2", "--answer", "-3*sin(3*x)")
    assert run.code == 1 and doc["mistake"] is None


def test_correct_answers_have_no_mistake(cli):
    assert check(cli, "sin(3*x)", "--answer", "3*cos(3*x)")[1]["mistake"] is None


# ---------------------------------------------------------------- 5. class files that never lose a row


def test_unquoted_comma_row_is_reported_and_the_rest_graded(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,wrt,answer,at\nx**2,,2*x,\nmax(x, 0),,1,\nsin(3*x),,cos(3*x),\n")
    run = cli("check", "--file", str(answers), "--format", "json")
    assert run.code == 2 and "internal error" not in run.stdout + run.stderr
    rows = run.json["rows"]
    assert [r["line"] for r in rows] == [2, 3, 4]
    assert rows[1]["error"] == (
        '5 columns but the header has 4 (expression, wrt, answer, at): quote the expression: "max(x, 0)"'
    )
    assert rows[1]["exit_code"] == 2
    assert rows[0]["verdict"] == "correct" and rows[2]["mistake"]["kind"] == "chain rule"


def test_malformed_rows_of_every_kind(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_bytes(
        b"expression,wrt,answer,at\n"
        b"x**2,,2*x,\n"
        b"x**3\n"  # too few columns
        b"caf\xe9(x),,1,\n"  # not UTF-8
        b"x**2,,,\n"  # empty answer
        b"x**3,,3*x**2,,extra\n"  # too many columns, no comma inside brackets
        b"x**4,,4*x**3,\n"
    )
    run = cli("check", "--file", str(answers), "--format", "json")
    assert run.code == 2
    rows = run.json["rows"]
    assert [r["line"] for r in rows] == [2, 3, 4, 5, 6, 7]
    assert [r.get("verdict", "invalid") for r in rows] == [
        "correct",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
        "correct",
    ]
    assert rows[1]["error"] == "1 column(s) but the header has 4 (expression, wrt, answer, at)"
    assert rows[2]["error"] == "not UTF-8 text (byte 0xe9 at column 4): save the file as UTF-8"
    assert rows[3]["error"] == "the answer is empty"
    text = cli("check", "--file", str(answers)).stdout.splitlines()
    assert text[1] == "line 3: invalid: 1 column(s) but the header has 4 (expression, wrt, answer, at)"
    assert rows[4]["error"].endswith("quote a value that contains a comma")


def test_unquoted_point_is_reported_with_the_quoted_form(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text('expression,wrt,answer,at\nx**2 + y,,"[2*x, 1]",x=1,y=2\nx*y,,"[y, x]","x=1,y=2"\n')
    rows = cli("check", "--file", str(answers), "--format", "json").json["rows"]
    assert rows[0]["error"].endswith('quote the at: "x=1,y=2"')
    assert rows[1]["verdict"] == "correct"


def test_repeated_rows_are_each_reported(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,answer\nsin(3*x),cos(3*x)\nsin(3*x),cos(3*x)\nsqr(x),1\nsqr(x),1\n")
    rows = cli("check", "--file", str(answers), "--format", "json").json["rows"]
    assert [(r["line"], r.get("verdict", "invalid")) for r in rows] == [
        (2, "wrong"), (3, "wrong"), (4, "invalid"), (5, "invalid"),
    ]  # fmt: skip
    assert rows[0] == {**rows[1], "line": 2} and rows[2]["error"] == rows[3]["error"]


def test_csv_grade_sheet_has_one_row_per_input_row(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,wrt,answer\nx**2,,2*x\nsin(3*x),,cos(3*x)\nmax(x, 0),,1\n")
    run = cli("check", "--file", str(answers), "--format", "csv")
    import csv
    import io

    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == [
        "line", "verdict", "score", "points", "expression", "answer", "read_as", "derivative", "mistake", "feedback",
        "reason", "reading",
    ]  # fmt: skip
    assert [(r[0], r[1], r[8]) for r in rows[1:]] == [
        ("2", "correct", ""),
        ("3", "wrong", "chain rule"),
        ("4", "invalid", ""),
    ]
    assert "likely mistake: the chain rule" in rows[2][10]


def test_class_report_counts_mistakes_by_kind(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "expression,answer\nsin(3*x),cos(3*x)\nexp(2*x),exp(2*x)\nx**3,3*x**3\ncos(5*x),-sin(5*x)\nx**2,2*x\n"
    )
    run = cli("check", "--file", str(answers), "--format", "json")
    assert run.json["summary"]["mistakes"] == {"chain rule": 3, "power rule": 1}
    text = cli("check", "--file", str(answers)).stdout.splitlines()
    assert text[-1] == "mistakes: 3 answers got wrong the chain rule, 1 answer got wrong the power rule"


def test_batch_check_lines_carry_exit_code(cli):
    stdin = 'check "sin(3*x)" --answer "cos(3*x)"\n{"command": "check", "expression": "x**2", "answer": "2*x"}\n'
    run = cli("batch", "-", stdin=stdin)
    import json

    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(d["line"], d["exit_code"], d["verdict"]) for d in lines] == [(1, 1, "wrong"), (2, 0, "correct")]
    assert run.code == 1


def test_batch_help_lists_every_command(capsys):
    from gradcli.app.main import main
    from gradcli.runtime.batchfile import COMMANDS

    assert main(["batch", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert all(command in text for command in COMMANDS)
    assert f"{', '.join(COMMANDS[:-1])} and {COMMANDS[-1]}" in text


def test_grad_implicit_plain_and_csv(cli):
    run = cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=3,y=4", "--at", "x=0,y=5", "--format", "csv")
    assert run.code == 0
    assert run.stdout.splitlines()[0] == "x,y,tape,exact,finite_difference,agree,differentiable"
    assert [line.split(",")[3] for line in run.stdout.splitlines()[1:]] == ["-0.75", "0"]
    assert cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=0,y=5", "--format", "plain").stdout == "0\n"


def test_grad_implicit_vertical_tangent_is_exit_3(cli):
    run = cli("grad", "x^2 + y^2 = 25", "--implicit", "y", "--at", "x=5,y=0", "--format", "json")
    assert run.code == 3 and run.json["results"][0]["differentiable"] is False
