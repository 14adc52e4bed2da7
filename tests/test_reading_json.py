"""Issue 20, part 2: say what was read, in JSON too (a `reading` list of notes), and in class files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gradcli.lang import notation
from tests.test_schema import SCHEMAS, assert_valid

XY = {"kind": "glued_letters", "typed": "xy", "read": "x*y", "message": "'xy' is read as x*y"}
SINX = {"kind": "glued_function", "typed": "sinx", "read": "sin(x)", "message": "'sinx' is read as sin(x)"}
COSX = {"kind": "glued_function", "typed": "cosx", "read": "cos(x)", "message": "'cosx' is read as cos(x)"}
HALF_X = {
    "kind": "juxtaposition",
    "typed": "1/2x",
    "read": "(1/2)*x",
    "message": "'1/2x' is read as (1/2)*x; for 1/(2x) write 1/(2*x)",
}
X2_Y = {
    "kind": "juxtaposition",
    "typed": "x^2 y",
    "read": "(x^2)*y",
    "message": "'x^2 y' is read as (x^2)*y; for x^(2y) write x^(2*y)",
}


def _stderr_notes(run) -> list[str]:
    return [line.removeprefix("note: ") for line in run.stderr.splitlines() if line.startswith("note: ")]


def test_grad_json_says_what_was_read(cli):
    run = cli("grad", "2xy + y^2", "--at", "x=1", "--at", "y=2", "--format", "json")
    assert run.code == 0, run
    assert run.json["reading"] == [XY]
    assert_valid("grad.json", run.json)


def test_the_formula_json_says_what_was_read(cli):
    run = cli("grad", "1/2x + sinx", "--format", "json")
    assert run.code == 0, run
    assert run.json["reading"] == [SINX, HALF_X]
    assert_valid("derivative.json", run.json)


@pytest.mark.parametrize("command", ["jacobian", "hessian"])
def test_matrices_say_what_was_read(cli, command):
    expression = "[sinx, 2xy]" if command == "jacobian" else "sinx + 2xy"
    run = cli(command, expression, "--at", "x=1", "--at", "y=2", "--format", "json")
    assert run.code == 0, run
    assert run.json["reading"] == [SINX, XY]
    assert_valid(f"{command}.json", run.json)


def test_check_says_how_the_expression_and_the_answer_were_read(cli):
    run = cli("check", "x^2 y", "--answer", "2xy", "--wrt", "x", "--format", "json")
    assert run.code == 0, run
    assert run.json["reading"] == [X2_Y]  # quoted as typed, with its space
    assert run.json["answer_reading"] == [XY]  # in an answer, xy splits into the expression's x and y
    assert_valid("check.json", run.json)


def test_an_answer_with_a_constant_keeps_the_whole_answers_reading(cli):
    run = cli("check", "sinx", "--answer", "cosx + C", "--format", "json")
    assert run.code == 1, run
    assert run.json["mistake"]["kind"] == "constant of integration"
    assert (run.json["reading"], run.json["answer_reading"]) == ([SINX], [COSX])


def test_nothing_surprising_is_an_empty_reading(cli):
    run = cli("check", "x**2", "--answer", "2*x", "--format", "json")
    assert (run.json["reading"], run.json["answer_reading"]) == ([], [])
    assert cli("grad", "x**2", "--at", "x=1", "--format", "json").json["reading"] == []


@pytest.mark.parametrize(
    "args",
    [
        ("grad", "2xy + y^2", "--at", "x=1", "--at", "y=2"),
        ("grad", "1/2x + sinx", "--at", "x=1"),
        ("grad", "x^2 y + log x", "--at", "x=1", "--at", "y=2"),
        ("grad", "d/dx x^2 sin x", "--at", "x=1"),
        ("grad", "1/2x + sinx"),
        ("check", "x^2 y", "--answer", "2xy", "--wrt", "x"),
        ("check", "sin x^2", "--answer", "2x cos x^2"),
        ("grad", "sinx + y^2 = 25", "--implicit", "y"),
        ("check", "sinx + y^2 = 25", "--implicit", "y", "--answer", "-cosx/(2y)"),
        ("grad", "sinx + 2xy", "--direction", "1,1", "--at", "x=1", "--at", "y=2"),
    ],
)
def test_the_json_reading_is_what_stderr_says(cli, args):
    """One reading, two outputs: the JSON's notes are the stderr lines, in order, with the same words."""
    run = cli(*args, "--format", "json")
    assert run.code in (0, 1), run
    notes = run.json["reading"] + run.json.get("answer_reading", [])
    assert notes and [n["message"] for n in notes] == _stderr_notes(run)


@pytest.mark.parametrize(
    ("args", "reading"),
    [
        (("sinx + y^2 = 25", "--implicit", "y"), [SINX]),  # an equation: each side's notes
        (("sinx + 2xy", "--direction", "1,1", "--at", "x=1", "--at", "y=2"), [SINX, XY]),
    ],
)
def test_implicit_and_directional_derivatives_say_what_was_read(cli, args, reading):
    run = cli("grad", *args, "--format", "json")
    assert run.code == 0, run
    assert run.json["reading"] == reading
    assert_valid("derived.json", run.json)


def test_an_equations_notes_reach_stderr(cli):
    run = cli("check", "sinx + y^2 = 25", "--implicit", "y", "--answer", "-cosx/(2y)")
    assert run.code == 0, run
    assert run.stderr == f"note: {SINX['message']}\nnote: {COSX['message']}\n"


def test_a_batch_line_says_what_was_read(cli, tmp_path):
    problems = tmp_path / "problems.txt"
    problems.write_text('grad "2xy" --at x=1 --at y=2\ncheck "sinx" --answer "cosx"\n')
    run = cli("batch", str(problems))
    assert run.code == 0, run
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [(d["line"], d["reading"], d.get("answer_reading")) for d in lines] == [
        (1, [XY], None),
        (2, [SINX], [COSX]),
    ]
    for line in lines:
        assert_valid("batch-line.json", line)


def _class_file(tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,wrt,answer\nx^2 y,x,2xy\nx**2,,2*x\nsin(x),,\n")
    return answers


def test_class_file_rows_say_what_was_read_in_json(cli, tmp_path):
    run = cli("check", "--file", str(_class_file(tmp_path)), "--format", "json")
    rows = run.json["rows"]
    assert [(r["line"], r.get("reading"), r.get("answer_reading")) for r in rows] == [
        (2, [X2_Y], [XY]),
        (3, [], []),
        (4, None, None),  # an empty answer: the row could not be graded
    ]
    assert_valid("grades.json", run.json)


def test_class_file_csv_has_a_reading_column(cli, tmp_path):
    run = cli("check", "--file", str(_class_file(tmp_path)), "--format", "csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0][-1] == "reading"  # the grade sheet's last column
    assert [r[-1] for r in rows[1:]] == [f"{X2_Y['message']}; {XY['message']}", "", ""]


def test_the_schema_knows_every_kind_of_reading_note():
    kinds = SCHEMAS["common.json"]["$defs"]["reading_note"]["properties"]["kind"]["enum"]
    defined = [
        notation.GLUED_FUNCTION, notation.GLUED_LETTERS, notation.WHOLE_NAME, notation.POWER_ARGUMENT,
        notation.JUXTAPOSITION, notation.NATURAL_LOG, notation.DERIVATIVE, notation.WRAPPER, notation.REAL_ROOT,
    ]  # fmt: skip
    assert kinds == defined
