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
