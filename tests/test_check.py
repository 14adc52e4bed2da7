"""gradcli check: homework-style pairs, judged soundly, with counterexamples and exit codes."""

import pytest

CORRECT = [
    ("x**2 + 2*x", "2*(x+1)"),  # factored vs expanded
    ("x**2 + 2*x", "2x + 2"),
    ("sin(x)**2", "sin(2*x)"),  # trig identity
    ("sin(x)**2", "2*sin(x)*cos(x)"),
    ("cos(x)**2", "-sin(2*x)"),
    ("log(x**2)", "2/x"),  # log rule
    ("log(3*x)", "1/x"),
    ("exp(2*x)", "2*exp(2*x)"),
    ("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"),  # exp forms of sigmoid
    ("sigmoid(x)", "exp(-x)/(1 + exp(-x))**2"),
    ("tanh(x)", "1 - tanh(x)**2"),  # and of tanh
    ("tanh(x)", "1/cosh(x)**2"),
    ("(3*x + 2)**2", "6*(3*x + 2)"),  # seed 002 chain rule
    ("x**3 + 2*x", "3x^2 + 2"),
    ("x/(1 + x)", "1/(1 + x)**2"),  # quotient rule done right
    ("sqrt(x)", "1/(2*sqrt(x))"),
    ("atan(x)", "1/(1 + x**2)"),
    ("x*exp(x)", "(x + 1)*exp(x)"),
    ("softplus(x)", "sigmoid(x)"),
]
WRONG = [
    ("exp(2*x)", "exp(2*x)"),  # chain rule forgotten
    ("sin(3*x)", "cos(3*x)"),  # chain rule forgotten
    ("cos(x)", "sin(x)"),  # sign of cos' derivative
    ("x/(1 + x)", "-1/(1 + x)**2"),  # quotient-rule numerator reversed
    ("(3*x + 2)**2", "2*(3*x + 2)"),
    ("x**3", "3*x**3"),
    ("log(x)", "1/x**2"),
    ("x*sin(x)", "cos(x)"),  # product rule forgotten
    ("sqrt(x**2)", "1"),  # domain trap: right only for x > 0
    ("abs(x)", "1"),
]


@pytest.mark.parametrize(("expression", "answer"), CORRECT)
def test_equivalent_forms_are_correct(cli, expression, answer):
    run = cli("check", expression, "--answer", answer, "--format", "json")
    assert run.code == 0, run.json
    assert run.json["correct"] is True and run.json["verdict"] == "correct" and run.json["counterexample"] is None


@pytest.mark.parametrize(("expression", "answer"), WRONG)
def test_classic_mistakes_are_wrong_with_a_counterexample(cli, expression, answer):
    run = cli("check", expression, "--answer", answer, "--format", "json")
    doc = run.json
    assert run.code == 1 and doc["verdict"] == "wrong" and doc["correct"] is False
    counter = doc["counterexample"]
    assert counter["answer"] != pytest.approx(counter["derivative"], rel=1e-6)


def test_domain_trap_names_the_region(cli):
    run = cli("check", "sqrt(x**2)", "--answer", "1", "--format", "json")
    assert "all with x < 0 (it agrees where x > 0)" in run.json["reason"]
    assert run.json["counterexample"]["at"]["x"] < 0


def test_gradient_answer_in_alphabetical_or_wrt_order(cli):
    assert cli("check", "x**2 + x*y + y**2", "--answer", "[2*x + y, x + 2*y]").code == 0  # seed 002 exercise 1
    assert cli("check", "x**2 + x*y + y**2", "--wrt", "y,x", "--answer", "[x + 2*y, 2*x + y]").code == 0
    assert cli("check", "x**2 + x*y + y**2", "--answer", "[x + 2*y, 2*x + y]").code == 1


def test_one_partial_derivative(cli):
    assert cli("check", "x*y + y**2", "--wrt", "y", "--answer", "x + 2*y").code == 0  # seed 002 12.2
    assert cli("check", "x*y + y**2", "--wrt", "x", "--answer", "y").code == 0


def test_numeric_answer_at_a_point(cli):
    assert cli("check", "x**3 + 2*x", "--at", "x=2", "--answer", "14").code == 0  # seed 002 exercise 2
    run = cli("check", "x**3 + 2*x", "--at", "x=2", "--answer", "12", "--format", "json")
    assert run.code == 1 and run.json["counterexample"] == {"at": {"x": 2.0}, "answer": 12.0, "derivative": 14.0}


def test_table_output_shows_the_counterexample(cli):
    run = cli("check", "exp(2*x)", "--answer", "exp(2*x)")
    assert run.stdout.startswith("WRONG: d/dx of exp(2*x)")
    assert "your answer gives" in run.stdout and "the derivative is" in run.stdout


def test_json_keys(cli):
    doc = cli("check", "x**2", "--answer", "2*x", "--format", "json").json
    assert doc == {
        "correct": True,
        "verdict": "correct",
        "expression": "x**2",
        "kind": "derivative",
        "order": 1,
        "wrt": ["x"],
        "derivative": "2*x",
        "answer": "2*x",
        "method": "symbolic",
        "reason": "sympy simplifies the difference to 0",
        "tolerance": {"rule": "exact", "rtol": 1e-10, "atol": None, "decimals": None, "sig_figs": None},
        "counterexample": None,
        "mistake": None,
        "at": {},
        "points": 1.0,
        "score": 1.0,
        "feedback": "Correct.",
        "reading": [],
        "answer_reading": [],
        "exit_code": 0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x**2", "--answer", "2*z"], "in the answer: z is not a variable"),
        (["x**2", "--answer", "2*"], "in the answer: the expression ends with"),
        (["x**2", "--answer", "2 3"], "in the answer: invalid syntax"),
        (["x*y", "--answer", "y"], "2 derivative(s) to check"),
        (["sqr(x)", "--answer", "1"], "unknown function 'sqr'"),
        (["x**2"], "give EXPRESSION and --answer"),
    ],
)
def test_invalid_input_says_which_part(cli, args, message):
    run = cli("check", *args)
    assert run.code == 2 and message in run.stderr and run.stdout == ""


def test_grading_a_class_file(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "expression,wrt,answer,at\n"
        "x**2 + 2*x,,2*(x+1),\n"
        "exp(2*x),x,exp(2*x),\n"
        "x**3 + 2*x,,14,x=2\n"
        "sqr(x),,1,\n"
        "x*y + y**2,y,x + 2*y,\n"
    )
    run = cli("check", "--file", str(answers), "--format", "json")
    doc = run.json
    assert doc["summary"] == {
        "correct": 3, "wrong": 1, "undecided": 0, "not differentiable": 0, "invalid": 1, "rows": 5,
        "mistakes": {"chain rule": 1},
    }  # fmt: skip
    assert [r.get("verdict", "invalid") for r in doc["rows"]] == ["correct", "wrong", "correct", "invalid", "correct"]
    assert doc["rows"][3]["line"] == 5 and "sqr" in doc["rows"][3]["error"]
    assert run.code == 2  # the highest: an invalid row; wrong alone would be 1
    text = cli("check", "--file", str(answers)).stdout.splitlines()
    assert text[-2:] == [
        "summary: 5 rows: 3 correct, 1 wrong, 0 undecided, 0 not differentiable, 1 invalid",
        "mistakes: 1 answer got wrong the chain rule",
    ]


def test_grading_file_all_correct_is_exit_0(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,wrt,answer\nx**2,,2*x\nsin(x),x,cos(x)\n")
    run = cli("check", "--file", str(answers), "--format", "csv")
    assert run.code == 0 and run.stdout.splitlines()[0] == (
        "line,verdict,score,points,expression,answer,read_as,derivative,mistake,feedback,reason,reading"
    )
    assert [line.split(",")[1] for line in run.stdout.splitlines()[1:]] == ["correct", "correct"]
