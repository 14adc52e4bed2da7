"""Issue 19 section 2: files a course already has. Every data line of a class file is one row of the sheet."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gradcli.present.grading import as_text
from gradcli.runtime import files


def sheet(stdout: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(stdout)))


def test_unterminated_quote_costs_one_row_and_reading_resumes(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text('expression,answer\nx**2,2*x\nx**3,3*x**2\n"x**4,4*x**3\nx**5,5*x**4\nx**6,6*x**5\n')
    run = cli("check", "--file", str(path), "--format", "json")
    assert run.code == 2
    assert [r.get("verdict", "invalid") for r in run.json["rows"]] == [
        "correct",
        "correct",
        "invalid",
        "correct",
        "correct",
    ]
    assert run.json["rows"][2] == {
        "line": 4,
        "error": "unterminated quote starting on line 4 (column 1): close the quote",
        "text": '"x**4,4*x**3',
        "exit_code": 2,
    }
    summary = run.json["summary"]
    assert (
        summary["rows"]
        == 5
        == sum(summary[v] for v in ("correct", "wrong", "undecided", "not differentiable", "invalid"))
    )


def test_the_table_summary_counts_every_data_line(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text('expression,answer\nx**2,2*x\n\n"x**3,3*x**2\nx**4,x\n')
    run = cli("check", "--file", str(path))
    assert (
        run.stdout.splitlines()[-1]
        == "summary: 3 rows: 1 correct, 1 wrong, 0 undecided, 0 not differentiable, 1 invalid"
    )


def test_a_row_with_a_nul_byte_costs_only_that_row(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"expression,answer\nx**2,2*x\nx**3,\x00\x01\nx**4,4*x**3\n")
    run = cli("check", "--file", str(path), "--format", "json")
    assert run.code == 2 and run.stderr == ""
    assert run.json["rows"][1] == {"line": 3, "error": "binary data (a NUL byte), not text", "exit_code": 2}
    assert [r["line"] for r in run.json["rows"]] == [2, 3, 4] and run.json["rows"][2]["verdict"] == "correct"


def test_a_row_over_128_kib_costs_only_that_row(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"expression,answer\nx**2,2*x\nx**3," + b"x" * (200 << 10) + b"\nx**4,4*x**3\n")
    run = cli("check", "--file", str(path), "--format", "json")
    assert run.code == 2 and run.stderr == ""
    assert run.json["rows"][1] == {"line": 3, "error": "longer than 128 KiB, not a row of a class file", "exit_code": 2}
    assert run.json["rows"][2]["line"] == 4 and run.json["rows"][2]["verdict"] == "correct"


def test_a_header_with_a_nul_byte_is_still_the_whole_file_refused(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"expression,\x00answer\nx**2,2*x\n")
    run = cli("check", "--file", str(path))
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: line 1: binary data (a NUL byte), not text\n"


def test_read_rows_keeps_line_numbers_across_bad_lines_and_cr_endings():
    data = io.BytesIO(b"a\r\nb\x00\n\xff\nc\rd\n" + b"e" * (MAX := files.MAX_LINE_BYTES + 5) + b"\nf")
    rows = list(files.read_rows(io.BufferedReader(data), "t"))
    assert [n for n, _ in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert [t for _, t in rows if isinstance(t, str)] == ["a", "c", "d", "f"]
    assert [type(t).__name__ for _, t in rows] == ["str", "LineError", "LineError", "str", "str", "LineError", "str"]
    assert MAX > files.MAX_LINE_BYTES


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_detected_from_the_header(cli, tmp_path, delimiter):
    path = tmp_path / "answers.csv"
    rows = [["student", "expression", "at", "answer"], ["ann", "x**2", "x=1", "2"], ["bob", "sin(x)", "x=0", "0.5"]]
    path.write_text("".join(delimiter.join(r) + "\n" for r in rows))
    run = cli("check", "--file", str(path), "--format", "json")
    assert [r["verdict"] for r in run.json["rows"]] == ["correct", "wrong"]
    assert [r["columns"] for r in run.json["rows"]] == [{"student": "ann"}, {"student": "bob"}]


def test_a_semicolon_export_with_a_quoted_point(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text('expression;at;answer\nx*y;"x=1,y=2";[2, 1]\n')
    run = cli("check", "--file", str(path), "--format", "json")
    assert run.code == 0 and run.json["rows"][0]["verdict"] == "correct"


def test_header_error_does_not_name_wrt_as_required(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("student;problem;answer\nann;P1;2*x\n")
    run = cli("check", "--file", str(path))
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (
        "error: line 1: the answers file needs a header naming the columns expression and answer "
        "(optionally wrt, at, order, implicit); missing expression\n"
    )


def test_file_dash_reads_stdin(cli):
    run = cli("check", "--file", "-", "--format", "json", stdin="expression,answer\nx**2,2*x\n")
    assert run.code == 0 and run.json["summary"]["rows"] == 1 and run.json["rows"][0]["verdict"] == "correct"


def test_extra_columns_are_carried_to_the_sheet(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text(
        "student,section,email,expression,answer\nann,A,ann@x.edu,sin(3*x),cos(3*x)\nbob,B,bob@x.edu,x**2,\n"
    )
    rows = sheet(cli("check", "--file", str(path), "--format", "csv").stdout)
    assert [(r["line"], r["student"], r["section"], r["email"], r["verdict"]) for r in rows] == [
        ("2", "ann", "A", "ann@x.edu", "wrong"),
        ("3", "bob", "B", "bob@x.edu", "invalid"),
    ]
    ann = rows[0]
    assert (ann["score"], ann["points"], ann["answer"], ann["read_as"]) == ("0", "1", "cos(3*x)", "cos(3*x)")
    assert (ann["derivative"], ann["mistake"]) == ("3*cos(3*x)", "chain rule")
    assert ann["feedback"].endswith("check the chain rule on sin(3*x).")
    assert rows[1]["answer"] == "bob,B,bob@x.edu,x**2," and rows[1]["reason"] == "the answer is empty"


def test_the_sheet_shows_how_gradcli_read_the_answer(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("student,expression,answer\nann,x**3,3x^2\n")
    (row,) = sheet(cli("check", "--file", str(path), "--format", "csv").stdout)
    assert (row["answer"], row["read_as"], row["verdict"]) == ("3x^2", "3*x**2", "correct")


def test_jsonl_is_one_row_per_line_then_the_summary(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("student,expression,answer\nann,x**2,2*x\nbob,x**2,x\n")
    lines = [json.loads(line) for line in cli("check", "--file", str(path), "--format", "jsonl").stdout.splitlines()]
    assert [(r["line"], r["columns"], r["verdict"]) for r in lines[:2]] == [
        (2, {"student": "ann"}, "correct"),
        (3, {"student": "bob"}, "wrong"),
    ]
    assert lines[2] == {
        "summary": {
            "correct": 1, "wrong": 1, "undecided": 0, "not differentiable": 0, "invalid": 0, "rows": 2,
            "mistakes": {},
        }
    }  # fmt: skip


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+1", "-x", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell):
    assert as_text(cell) == "'" + cell


def test_ordinary_cells_are_unchanged():
    assert [as_text(c) for c in ("2*x", "ann", "", "0.5")] == ["2*x", "ann", "", "0.5"]


def test_formula_cells_in_the_sheet_are_text(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text('student,expression,answer\n=cmd|"/c calc"!A1,x**2,-2*x\n@me,x**2,=2*x\n')
    rows = sheet(cli("check", "--file", str(path), "--format", "csv").stdout)
    assert [r["student"] for r in rows] == ['\'=cmd|"/c calc"!A1', "'@me"]
    assert [r["answer"] for r in rows] == ["'-2*x", "'=2*x"]
    assert rows[0]["read_as"] == "(-2)*x"


# ---------------------------------------------------------------- a problems file beside the answers


PROBLEMS = "problem,expression,wrt,at,points,tolerance\nP1,x**3,,,2,\nP2,sin(x),,x=1,1,rtol=0.01\nP3,exp(2*x),,,1,\n"


@pytest.fixture
def course(tmp_path):
    path = tmp_path / "problems.csv"
    path.write_text(PROBLEMS)
    return path


def test_wide_answers_with_a_problems_file(cli, tmp_path, course):
    answers = tmp_path / "answers.csv"
    answers.write_text("student;section;P1;P2;P3\nann;A;3x^2;0.54;2exp(2x)\nbob;B;3x;0.5;exp(2x)\n")
    rows = sheet(cli("check", "--file", str(answers), "--problems", str(course), "--format", "csv").stdout)
    got = [(r["line"], r["student"], r["section"], r["problem"], r["verdict"], r["score"], r["points"]) for r in rows]
    assert got == [
        ("2", "ann", "A", "P1", "correct", "2", "2"),
        ("2", "ann", "A", "P2", "correct", "1", "1"),
        ("2", "ann", "A", "P3", "correct", "1", "1"),
        ("3", "bob", "B", "P1", "wrong", "0", "2"),
        ("3", "bob", "B", "P2", "wrong", "0", "1"),
        ("3", "bob", "B", "P3", "wrong", "0", "1"),
    ]
    assert rows[1]["reason"] == "equal at the point to within 1% (relative tolerance 0.01)"
    assert rows[5]["mistake"] == "chain rule"


def test_long_answers_with_a_problems_file(cli, tmp_path, course):
    answers = tmp_path / "answers.csv"
    answers.write_text("student,problem,answer\nann,P1,3*x**2\nann,p2,0.5403\nbob,P3,exp(2*x)\ncid,P9,1\n")
    run = cli("check", "--file", str(answers), "--problems", str(course), "--format", "json")
    assert run.code == 2
    assert [(r["line"], r["columns"], r.get("verdict", "invalid")) for r in run.json["rows"]] == [
        (2, {"student": "ann", "problem": "P1"}, "correct"),
        (3, {"student": "ann", "problem": "p2"}, "correct"),
        (4, {"student": "bob", "problem": "P3"}, "wrong"),
        (5, {"student": "cid", "problem": "P9"}, "invalid"),
    ]
    assert run.json["rows"][3]["error"] == "unknown problem 'P9' (the problems file has P1, P2, P3)"
    assert run.json["rows"][0]["points"] == 2


def test_totals_per_student(cli, tmp_path, course):
    answers = tmp_path / "answers.csv"
    answers.write_text("student,P1,P2,P3\nann,3x^2,0.54,2exp(2x)\nbob,3x,0.54,\n")
    run = cli("check", "--file", str(answers), "--problems", str(course), "--totals")
    assert run.code == 2 and run.stdout == (
        "ann: 4 of 4 points (3 rows: 3 correct)\nbob: 1 of 4 points (3 rows: 1 correct, 1 wrong, 1 invalid)\n"
    )
    csv_run = cli("check", "--file", str(answers), "--problems", str(course), "--totals", "--format", "csv")
    assert csv_run.stdout.splitlines() == [
        "student,rows,correct,wrong,undecided,not differentiable,invalid,score,points",
        "ann,3,3,0,0,0,0,4,4",
        "bob,3,1,1,0,0,1,1,4",
    ]


def test_totals_without_a_problems_file_add_the_rows_points(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("student,expression,answer\nann,x**2,2*x\nann,x**3,3*x\n")
    run = cli("check", "--file", str(answers), "--totals", "--points", "5", "--format", "json")
    assert run.json == {
        "totals": [
            {"student": "ann", "rows": 2, "correct": 1, "wrong": 1, "undecided": 0, "not differentiable": 0,
             "invalid": 0, "score": 5.0, "points": 10.0},
        ]
    }  # fmt: skip


def test_totals_need_a_student_column(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("expression,answer\nx**2,2*x\n")
    run = cli("check", "--file", str(answers), "--totals")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --totals adds up each student's rows: the answers file needs a student column\n"


def test_problems_and_totals_apply_only_with_file(cli, course):
    run = cli("check", "x**2", "--answer", "2*x", "--problems", str(course))
    assert run.code == 2 and run.stderr.startswith("error: --problems does not apply without --at")
    run = cli("check", "x**2", "--answer", "2*x", "--totals")
    assert run.code == 2 and run.stderr.startswith("error: --totals does not apply without --at")


@pytest.mark.parametrize(
    "text, error",
    [
        ("problem,expression,points\nP1,x**2,lots\n", "the problems file line 2: points 'lots' is not a number"),
        ("problem,expression\nP1,x**2\np1,x**3\n", "the problems file line 3: problem 'p1' is given twice"),
        ("problem,expression,weight\nP1,x**2,1\n", "the problems file line 1: unknown column 'weight' (columns: "
         "problem, expression, wrt, at, order, implicit, points, tolerance)"),
        ("problem,expression,tolerance\nP1,x**2,loose\n", "the problems file line 2: tolerance 'loose': 'loose' is "
         "not a number"),
    ],
)  # fmt: skip
def test_a_bad_problems_file_stops_the_run_naming_its_line(cli, tmp_path, text, error):
    problems, answers = tmp_path / "problems.csv", tmp_path / "answers.csv"
    problems.write_text(text)
    answers.write_text("student,problem,answer\nann,P1,2*x\n")
    run = cli("check", "--file", str(answers), "--problems", str(problems))
    assert (run.code, run.stdout, run.stderr) == (2, "", f"error: {error}\n")


def test_an_answers_header_that_fits_no_form(cli, tmp_path, course):
    answers = tmp_path / "answers.csv"
    answers.write_text("student,question,response\nann,P1,2*x\n")
    run = cli("check", "--file", str(answers), "--problems", str(course))
    assert run.stderr == (
        "error: line 1: with --problems the answers file's header names the columns problem and answer "
        "(long form), or has a column per problem (wide form: P1, P2, P3)\n"
    )
