"""Hostile files, broken streams, signals and untrusted batch files (issue 15).

Every command of the issue is a test here. Files are made in tmp_path (huge ones sparse, by
truncate, so they cost nothing); streams and signals are driven in real subprocesses, since
closed descriptors, full disks, file size limits and signals are properties of a process.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gradcli.runtime import files

GRADCLI = [sys.executable, "-m", "gradcli"]
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(*args: str, stdin=subprocess.DEVNULL, env=None, shell_prefix: str = "", **kwargs):
    """gradcli in a subprocess; with shell_prefix, through sh (for ulimit and closed descriptors)."""
    if shell_prefix:
        command = " ".join(["exec", *map(_quote, GRADCLI + list(args))])
        argv = ["sh", "-c", f"{shell_prefix} {command}" if "{}" not in shell_prefix else shell_prefix.format(command)]
    else:
        argv = GRADCLI + list(args)
    if "input" not in kwargs:
        kwargs["stdin"] = stdin
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run(argv, env=env or QUIET, timeout=120, **kwargs)


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def one_error(result, code: int = 2) -> str:
    """The single `error:` line of a failed run (in-process Run or CompletedProcess)."""
    stdout = result.stdout if isinstance(result.stdout, str) else result.stdout.decode()
    stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode()
    assert (getattr(result, "code", None) or getattr(result, "returncode", None)) == code, stderr
    assert stdout == ""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr


def answers(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# ---------------------------------------------------------------- 1. batch files are untrusted


def test_batch_line_cannot_overwrite_a_file_with_trace(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "victim.txt").write_text("precious\n")
    run = cli("batch", "-", stdin='descend "x**2" --from x=1 --steps 2 --trace victim.txt\n')
    [answer] = answers(run.stdout)
    assert answer == {
        "line": 1,
        "error": "a batch line cannot write files (--trace): run gradcli batch --output-dir DIR",
        "exit_code": 2,
    }
    assert (tmp_path / "victim.txt").read_text() == "precious\n"


def test_batch_line_cannot_overwrite_the_batch_file_itself(cli, tmp_path):
    problems = tmp_path / "problems.txt"
    lines = [f'descend "x**2" --from x={i} --steps 2 --trace problems.txt' for i in range(3)]
    problems.write_text("\n".join(lines) + '\ngrad "x**3" --at x=2\n')
    before = problems.read_text()
    run = cli("batch", str(problems), "--output-dir", str(tmp_path))
    got = answers(run.stdout)
    assert [a["line"] for a in got] == [1, 2, 3, 4]
    assert all("is also an input file" in a["error"] for a in got[:3])
    assert got[3]["results"][0]["gradient"]["x"]["tape"] == 12.0
    assert problems.read_text() == before


def test_batch_writes_only_inside_output_dir(cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    bad = ["/tmp/gradcli-escape.csv", "../escape.csv", "link/escape.csv"]
    lines = [f'descend "x**2" --from x=1 --steps 2 --trace {path}' for path in bad]
    lines.append('descend "x**2" --from x=1 --steps 2 --trace ok.csv --plot ok.png')
    run = cli("batch", "-", "--output-dir", str(out), stdin="\n".join(lines) + "\n")
    got = answers(run.stdout)
    assert [a.get("exit_code") for a in got[:3]] == [2, 2, 2]
    assert "relative path, without '..'" in got[0]["error"] and "relative path" in got[1]["error"]
    assert "'link' is a symbolic link" in got[2]["error"]
    assert "error" not in got[3], got[3]
    assert sorted(p.name for p in out.iterdir()) == ["link", "ok.csv", "ok.png"]
    assert not (tmp_path / "escape.csv").exists() and not os.path.exists("/tmp/gradcli-escape.csv")


def test_batch_line_cannot_read_etc_passwd(cli):
    run = cli("batch", "-", stdin='descend "x*y" --from x=1 --data /etc/passwd\n')
    [answer] = answers(run.stdout)
    assert answer["error"] == "a batch line cannot read files: run gradcli batch --data-dir DIR to allow files in DIR"
    assert "root" not in run.stdout


def test_batch_reads_data_only_inside_data_dir(cli, tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,4\n")
    lines = [
        'descend "(w*x - y)**2" --from w=0 --data /etc/passwd',
        'descend "(w*x - y)**2" --from w=0 --data ../../etc/passwd',
        'descend "(w*x - y)**2" --from w=0 --data d.csv --steps 3',
        'grad "x**2" --points d.csv --format plain',
        "check --file d.csv --format plain",
    ]
    run = cli("batch", "-", "--data-dir", str(tmp_path), stdin="\n".join(lines) + "\n")
    got = answers(run.stdout)
    assert "relative path" in got[0]["error"] and "relative path" in got[1]["error"]
    assert got[2]["runs"][0]["steps"] == 1  # full batch: one pass is one step
    assert all("--format" in a["error"] for a in got[3:])


@pytest.mark.parametrize("spelling", ["-fcsv", "-f csv", "--format=csv", "--format csv", "-f=csv"])
def test_batch_refuses_format_however_spelt(cli, spelling):
    run = cli("batch", "-", stdin=f'grad "x**2" --at x=1 {spelling}\n')
    [answer] = answers(run.stdout)
    assert answer["exit_code"] == 2
    assert answer["error"] in (
        "leave out --format: batch answers are always JSON lines",
        "Invalid value for '--format' / '-f': '=csv' is not one of 'table', 'json', 'jsonl', 'csv', 'plain'.",
    )


def test_batch_directories_must_exist(cli, tmp_path):
    error = one_error(cli("batch", "-", "--output-dir", str(tmp_path / "missing")))
    assert error == f"error: --output-dir {tmp_path / 'missing'}: not a directory\n"


# ---------------------------------------------------------------- 2. never exit 4: files that are not text


@pytest.fixture
def not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"x\n1\n2\xe9\n")
    return path


def test_points_file_not_utf8_names_file_and_line(cli, not_utf8):
    run = cli("grad", "x**2", "--points", str(not_utf8), "--format", "csv")
    assert run.code == 2
    assert f"error: {not_utf8} line 3: not UTF-8 text (byte 0xe9 at column 2); save the file as UTF-8" in run.stderr


def test_check_file_not_utf8_is_that_rows_error(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"expression,answer\nx**2,2*x\nx**3,3*x\xff\n")
    run_ = cli("check", "--file", str(path), "--format", "json")
    assert run_.code == 2
    assert run_.json["rows"][1] == {
        "line": 3,
        "error": "not UTF-8 text (byte 0xff at column 9): save the file as UTF-8",
        "exit_code": 2,
    }


def test_descend_data_not_utf8_names_file_and_line(cli, not_utf8):
    error = one_error(cli("descend", "(w - x)**2", "--from", "w=0", "--data", str(not_utf8)))
    assert error.startswith(f"error: {not_utf8} line 3: not UTF-8 text")


def test_batch_bad_line_is_that_lines_error_and_good_lines_are_answered(cli, tmp_path):
    path = tmp_path / "problems.txt"
    path.write_bytes(b'grad "x**2" --at x=1\ngrad "x**2" --at x=\xff\ngrad "x**3" --at x=1\n')
    run = cli("batch", str(path))
    got = answers(run.stdout)
    assert run.code == 2
    assert [a["line"] for a in got] == [1, 2, 3]
    assert got[1] == {
        "line": 2,
        "error": f"{path} line 2: not UTF-8 text (byte 0xff at column 20); save the file as UTF-8",
        "exit_code": 2,
    }
    assert got[0]["status"] == got[2]["status"] == "agree"


def test_batch_stops_at_binary_data_after_answering_the_lines_before(cli, tmp_path):
    path = tmp_path / "problems.txt"
    path.write_bytes(b'grad "x**2" --at x=1\n\x00\x01\x02\ngrad "x**3" --at x=1\n')
    run = cli("batch", str(path))
    assert run.code == 2 and [a["line"] for a in answers(run.stdout)] == [1]
    assert run.stderr == f"error: {path} line 2: binary data (a NUL byte), not a text file\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-8-sig"])
def test_points_file_with_a_byte_order_mark_is_decoded(cli, tmp_path, encoding):
    path = tmp_path / "points.csv"
    path.write_text("x\n1\n2\n", encoding=encoding)
    run = cli("grad", "x**2", "--points", str(path), "--format", "csv")
    assert run.code == 0, run.stderr
    assert [line.split(",")[0] for line in run.stdout.splitlines()[1:]] == ["1", "2"]


def test_binary_file_is_refused_at_its_first_line(cli, tmp_path):
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    error = one_error(cli("grad", "x**2", "--points", str(path), "--format", "csv"))
    assert error == f"error: {path} line 1: not UTF-8 text (byte 0x89 at column 1); save the file as UTF-8\n"


@pytest.mark.parametrize("command", [["grad", "x", "--points"], ["check", "--file"]])
def test_dev_urandom_is_refused(cli, command):
    """Exit 2 and one error line, in milliseconds; which line fails first is up to the random bytes."""
    one_error(cli(*command, "/dev/urandom", *(["--format", "csv"] if command[0] == "grad" else [])))


def test_dev_urandom_as_a_batch_file_ends_at_its_first_nul(cli):
    run_ = cli("batch", "/dev/urandom")
    assert run_.code == 2 and run_.stderr.startswith("error: /dev/urandom line ") and run_.stderr.count("\n") == 1
    assert "binary data (a NUL byte)" in run_.stderr or "longer than 128 KiB" in run_.stderr
    assert all(answer["exit_code"] == 2 for answer in answers(run_.stdout))


def test_binary_stdin_for_points_is_refused(tmp_path):
    result = run("grad", "x**2", "--points", "-", "--format", "csv", stdin=open("/dev/urandom", "rb"))  # noqa: SIM115
    assert one_error(result).startswith("error: stdin line ")


def test_check_file_row_with_more_cells_than_the_header(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("expression,wrt,answer\nx**2,x,2*x\nx**2+y,x,2*x,extra\nx**3,x\n")
    run = cli("check", "--file", str(path), "--format", "json")
    got = run.json["rows"]
    assert run.code == 2
    assert got[0]["verdict"] == "correct"
    assert got[1] == {
        "line": 3,
        "error": "4 columns but the header has 3 (expression, wrt, answer): quote a value that contains a comma",
        "text": "x**2+y,x,2*x,extra",
        "exit_code": 2,
    }
    assert got[2]["error"] == "2 column(s) but the header has 3 (expression, wrt, answer)"


@pytest.mark.parametrize("name", ["Pow", "Symbol", "Float", "Derivative", "Integral", "Subs", "Add", "Function"])
def test_custom_function_named_like_a_sympy_class(cli, name):
    run = cli("grad", f"{name}(x)*x", "--at", "x=1", "--custom", f"{name}(t) = t**2 : 2*t", "--format", "json")
    assert run.code == 0, run.stderr
    gradient = run.json["results"][0]["gradient"]["x"]
    assert gradient["tape"] == 3.0 and gradient["exact"] == 3.0
    assert gradient["symbolic"] == f"2*x**2 + {name}(x)"


def test_thirty_named_steps_of_five_nested_sin_is_a_length_error(cli):
    steps = "; ".join(f"s{i} = sin(sin(sin(sin(sin(s{i - 1})))))" for i in range(1, 31))
    error = one_error(cli("grad", f"s0 = x; {steps}; s30", "--at", "x=1"))
    assert error.startswith("error: expression is ") and "the limit is 1000" in error


def test_hundred_nested_sin_agrees_without_an_overflow_note(cli):
    expression = "sin(" * 100 + "x" + ")" * 100
    run = cli("grad", expression, "--at", "x=1", "--format", "json")
    assert run.code == 0, run.stderr
    assert run.json["status"] == "agree" and run.json["results"][0]["notes"] == []


@pytest.mark.parametrize("levels", [101, 150, 199])
def test_functions_nested_past_100_are_refused_at_once(cli, levels):
    error = one_error(cli("grad", "sin(" * levels + "x" + ")" * levels, "--at", "x=1"))
    assert error.startswith(
        ("error: expression is nested too deeply; the limit is 200 levels", "error: the expression nests functions")
    )


def test_named_steps_nesting_past_100_functions_are_refused(cli):
    steps = "; ".join(f"a{i} = sin(sin(sin(sin(sin(a{i - 1})))))" for i in range(1, 25))
    error = one_error(cli("grad", f"a0 = x; {steps}; a24", "--at", "x=1"))
    assert error == "error: step 'a21' (with the steps it uses) nests functions 105 deep; the limit is 100\n"


def test_a_sum_nested_200_deep_never_overflows_the_stack(cli):
    run_ = cli("grad", "+".join(["x"] * 199), "--at", "x=1", "--format", "json")
    assert run_.code == 0, run_.stderr
    assert run_.json["results"][0]["gradient"]["x"]["exact"] == 199.0


def test_two_hundred_fifty_nested_parentheses_are_nested_too_deeply(cli):
    error = one_error(cli("grad", "(" * 250 + "x" + ")" * 250, "--at", "x=1"))
    assert error.startswith("error: expression is nested too deeply; the limit is 200 levels")


def test_five_thousand_digit_literal_is_a_length_error(cli):
    error = one_error(cli("grad", "9" * 5000 + "*x", "--at", "x=1"))
    assert error == "error: expression is 5002 characters long; the limit is 1000\n"


def test_underscore_step_name_is_named(cli):
    error = one_error(cli("grad", "__y = x; __y", "--at", "x=1"))
    assert error == "error: bad step name '__y': names start with a letter (column 1)\n"


def test_negative_seed(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n2,4\n")
    error = one_error(cli("descend", "(w*x - y)**2", "--from", "w=0", "--data", str(data), "--seed", "-1"))
    assert error == "error: --seed must be between 0 and 4294967295\n"


@pytest.mark.parametrize(
    "bounds, message",
    [
        ("-1e308:1e308", "LOW and HIGH must be between -1e+15 and 1e+15"),
        ("1e-320:2e-320", "is too narrow to sample"),
        ("1:1.0000000001", "is too narrow to sample"),
    ],
)
def test_plot_range_at_the_ends_of_float64(cli, bounds, message):
    assert message in one_error(cli("plot", "x**2", "--range", bounds))


def test_plot_range_at_the_limit_draws(cli):
    run = cli("plot", "x**2", "--range=-1e15:1e15")
    assert run.code == 0 and "f = x**2" in run.stdout and any(0x2800 < ord(c) < 0x2900 for c in run.stdout)


def test_terminal_plot_of_values_too_large_to_draw(cli):
    error = one_error(cli("plot", "x**4", "--range=-1e15:1e15"))
    assert error == "error: values reach 1e+60, too large to draw in a terminal: add --out FILE.png\n"


# ---------------------------------------------------------------- 2. output that cannot be written


def test_stdout_to_dev_full():
    with open("/dev/full", "w") as full:
        result = run("data", "line", "-n", "5", stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 5
    assert result.stderr.decode() == "error: cannot write output: No space left on device\n"


def test_help_to_dev_full():
    with open("/dev/full", "w") as full:
        result = run("--help", stdout=full, stderr=subprocess.PIPE)
    assert (result.returncode, result.stderr.decode()) == (5, "error: cannot write output: No space left on device\n")


def test_stdout_over_the_file_size_limit(tmp_path):
    result = run("data", "line", "-n", "5000", shell_prefix=f"ulimit -f 1; {{}} > {tmp_path / 'big.csv'}")
    assert (result.returncode, result.stderr.decode()) == (5, "error: cannot write output: File too large\n")


def test_stdout_closed():
    result = run("data", "line", "-n", "5", shell_prefix="{} >&-")
    assert (result.returncode, result.stderr.decode()) == (5, "error: cannot write output: stdout is closed\n")


def test_stderr_closed_keeps_the_exit_code():
    result = run("grad", "x**", "--at", "x=1", shell_prefix="{} 2>&-")
    assert (result.returncode, result.stdout) == (2, b"")


@pytest.mark.parametrize("args", [["batch", "-"], ["grad", "x**2", "--points", "-", "--format", "csv"]])
def test_stdin_closed(args):
    result = run(*args, shell_prefix="{} <&-")
    assert one_error(result) == "error: cannot read stdin: it is closed\n"


def test_proc_self_mem_as_input(cli):
    error = one_error(cli("grad", "x**2", "--points", "/proc/self/mem", "--format", "csv"))
    assert error == "error: cannot read /proc/self/mem: Input/output error\n"


def test_a_directory_as_input(cli, tmp_path):
    assert one_error(cli("check", "--file", str(tmp_path))) == f"error: cannot read {tmp_path}: Is a directory\n"


def test_ascii_terminal_gets_an_ascii_table():
    table = run("hessian", "x**2*y", "--at", "x=1,y=2", env={**QUIET, "PYTHONIOENCODING": "ascii"})
    assert table.returncode == 0, table.stderr
    assert table.stdout.isascii() and b"d2f/dxdy" in table.stdout and b"+---" in table.stdout


def test_latin1_terminal_gets_an_ascii_plot():
    picture = run("plot", "sin(x)", env={**QUIET, "PYTHONIOENCODING": "latin-1"})
    assert picture.returncode == 0, picture.stderr
    assert picture.stdout.isascii() and b"f = sin(x)" in picture.stdout


# ---------------------------------------------------------------- 3. bounded memory and time


def nul_file(path, header: bytes):
    """2 GiB of NULs after a header, sparse: it costs no disk and no time to make."""
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(2 << 30)
    return path


@pytest.mark.parametrize(
    "command, header",
    [
        (["grad", "x", "--format", "csv", "--points"], b"x\n"),
        (["check", "--file"], b"expression,answer\n"),
        (["batch"], b"# problems\n"),
        (["descend", "(w - x)**2", "--from", "w=0", "--data"], b"x\n"),
    ],
)
def test_two_gib_of_nuls_is_refused_at_once(cli, tmp_path, command, header):
    bare, headed = nul_file(tmp_path / "zeros", b""), nul_file(tmp_path / "headed", header)
    for path, line in ((bare, 1), (headed, 2)):
        started = time.monotonic()
        run_ = cli(*command, str(path))
        assert time.monotonic() - started < 5
        assert run_.code == 2 and run_.stderr.count("\n") == 1
        assert run_.stderr.startswith(f"error: {path} line {line}")
        assert run_.stdout in ("", "x,df/dx,status\n")  # --points has written its header


def test_a_class_file_read_whole_is_bounded(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1 << 20)  # 64 MiB in use; 1 MiB keeps the test small
    path = tmp_path / "answers.csv"
    path.write_text("expression,answer\n" + "x**2,2*x            \n" * 60_000)  # within MAX_ROWS
    error = one_error(cli("check", "--file", str(path)))
    assert error == f"error: {path} is larger than 1 MiB, the limit for a whole-file read\n"


def test_a_utf16_class_file_is_graded(cli, tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("expression,answer\nx**2,2*x\n", encoding="utf-16")
    run_ = cli("check", "--file", str(path), "--format", "json")
    assert run_.code == 0 and run_.json["rows"][0]["verdict"] == "correct"


def test_points_from_dev_zero_is_refused_at_once(cli):
    error = one_error(cli("grad", "x", "--points", "/dev/zero", "--format", "csv"))
    assert error == "error: /dev/zero line 1 is longer than 128 KiB: not a data file\n"


def test_a_line_longer_than_the_limit_from_stdin():
    result = run("batch", "-", input=b"x" * (files.MAX_LINE_BYTES + 10) + b"\n")
    assert one_error(result) == "error: stdin line 1 is longer than 128 KiB: not a data file\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["grad", "x", "--points", "-", "--format", "csv", "--chunk-size", "100001"], "between 1 and 100000"),
        (["descend", "x**2", "--from", "x=1", "--steps", "100001"], "100001 steps is more than the limit of 100000"),
        (["descend", "x**2", "--from", "x=1", "--lr", ",".join(["0.1"] * 11)], "the limit is 10"),
        (["descend", "x**2", "--from", "x=1", "--lr", "0.1,0.2", "--steps", "60000"], "for each of 2 rates"),
    ],
)
def test_upper_bounds(cli, args, message):
    assert message in one_error(cli(*args, stdin="x\n1\n"))


def test_epochs_bound(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x\n1\n2\n")
    args = ["descend", "(w - x)**2", "--from", "w=0", "--data", str(data), "--batch-size", "1"]
    assert "limit of 100000 updates" in one_error(cli(*args, "--epochs", "1000000000"))


def test_a_matrix_too_big_for_a_table_points_to_json(cli):
    values = ",".join(str(i) for i in range(1, 51))
    error = one_error(cli("jacobian", "x*2", "--at", f"x=[{values}]"))
    assert error == "error: 2500 entries are too many for a table (the limit is 2000): add --format json or csv\n"


def test_hessian_of_many_variables_with_kinks_is_bounded(cli, monkeypatch):
    from gradcli.solve import matrix

    monkeypatch.setattr(matrix, "FD_SECONDS", 0.05)  # 40 variables take minutes without the limit
    expression = " + ".join(f"abs(x{i})*x{(i + 1) % 20}" for i in range(20))
    point = ",".join(f"x{i}=0" for i in range(20))
    error = one_error(cli("hessian", expression, "--at", point, "--format", "json"))
    assert error == "error: finite differences took longer than the limit of 0.05 s\n"


def test_steps_on_a_71_factor_product_is_bounded(cli, monkeypatch):
    from gradcli.witnesses import symbolic

    monkeypatch.setattr(symbolic, "SYMPY_SECONDS", 0.5)
    product = "*".join(f"(x+{i})" for i in range(71))
    assert "took longer than the limit of 0.5 s" in one_error(cli("grad", product, "--at", "x=1", "--steps"))


# ---------------------------------------------------------------- 4. never lose or corrupt data


def test_trace_is_atomic_old_file_survives_a_failed_write(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("old trace\n")
    result = run(
        "descend", "x**2", "--from", "x=1", "--steps", "400", "--trace", str(trace), shell_prefix="ulimit -f 8; {}"
    )
    assert (result.returncode, result.stdout) == (5, b"")
    assert result.stderr.decode() == f"error: cannot write {trace}: File too large\n"
    assert trace.read_text() == "old trace\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]  # no temporary file left behind


def test_output_path_equal_to_input_path_is_refused_before_any_work(cli, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n")
    error = one_error(cli("descend", "(w*x - y)**2", "--from", "w=0", "--data", str(data), "--trace", str(data)))
    assert error == f"error: --trace {data} is also an input file; writing it would destroy the input\n"
    assert data.read_text() == "x,y\n1,2\n"


def test_trace_into_a_missing_directory_fails_at_once(cli, tmp_path):
    target = tmp_path / "missing" / "t.csv"
    error = one_error(cli("descend", "x**2", "--from", "x=1", "--steps", "100000", "--trace", str(target)))
    assert error == f"error: --trace {target}: the directory {tmp_path / 'missing'} does not exist\n"


def test_trace_with_a_bad_plot_name_writes_nothing(cli, tmp_path):
    trace = tmp_path / "t.csv"
    error = one_error(cli("descend", "x**2", "--from", "x=1", "--trace", str(trace), "--plot", str(tmp_path / "b.xyz")))
    assert error == f"error: --plot {tmp_path / 'b.xyz'}: write .png, .pdf or .svg\n"
    assert list(tmp_path.iterdir()) == []


def test_plot_out_without_suffix_prints_the_name_written(cli, tmp_path):
    run_ = cli("plot", "x**2", "--out", str(tmp_path / "noext"))
    assert run_.stdout == f"wrote {tmp_path / 'noext.png'}\n"
    assert (tmp_path / "noext.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("out, message", [("", "--out: give a file name, e.g. plot.png"), (" ", "--out: give")])
def test_plot_out_empty(cli, out, message):
    assert message in one_error(cli("plot", "x**2", "--out", out))


def test_plot_out_dev_full_fails(cli):
    error = one_error(cli("plot", "x**2", "--out", "/dev/full"))
    assert error == "error: --out /dev/full: not a regular file; give the name of a file to (over)write\n"
    assert not os.path.exists("/dev/full.png")


def test_plot_replaces_an_old_picture_whole(cli, tmp_path):
    picture = tmp_path / "p.png"
    picture.write_bytes(b"old")
    assert cli("plot", "x**2", "--out", str(picture)).code == 0
    assert picture.read_bytes().startswith(b"\x89PNG") and sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


# ---------------------------------------------------------------- 5. signals


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_whole_batch_with_whole_lines(tmp_path, signum, code):
    problems = tmp_path / "slow.txt"
    problems.write_text("".join(f'descend "(w - {i})**2" --from w=0 --steps 600\n' for i in range(40)))
    process = subprocess.Popen(
        GRADCLI + ["batch", str(problems)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=QUIET
    )
    first = process.stdout.readline()  # the first answer is out: the batch is under way
    process.send_signal(signum)
    started = time.monotonic()
    rest, _ = process.communicate(timeout=30)
    assert time.monotonic() - started < 3
    assert process.returncode == code
    lines = (first + rest).decode().splitlines(keepends=True)
    assert 1 <= len(lines) < 40 and all(line.endswith("\n") for line in lines)
    assert [json.loads(line)["line"] for line in lines] == list(range(1, len(lines) + 1))


def test_typer_exit_130_inside_a_batch_line_is_an_interrupt(cli, monkeypatch):
    """In-process: a KeyboardInterrupt that Typer turned into Exit(130) stops the batch, not just the line."""
    from gradcli.runtime import streams
    from gradcli.solve import gradient as api

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "grad", interrupted)
    with pytest.raises(streams.Interrupted):
        cli("batch", "-", stdin='grad "x**2" --at x=1\ngrad "x**3" --at x=1\n')


# ---------------------------------------------------------------- 6. smaller


def test_narrow_terminal_keeps_every_cell(cli, monkeypatch):
    from gradcli.present import render

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "20")
    from gradcli.solve.gradient import grad

    out = Terminal()
    render.write(grad("x**2 + y", at=[{"x": "1", "y": "2"}]), "table", out)
    assert "x = 1, y = 2" in out.getvalue() and "2*x" in out.getvalue()


def test_read_only_home_gives_no_matplotlib_warnings(tmp_path):
    env = {**QUIET, "HOME": "/proc", "XDG_CONFIG_HOME": "/proc/none"}
    env.pop("MPLCONFIGDIR", None)
    result = run("plot", "x**2", "--out", str(tmp_path / "p.png"), env=env)
    assert (result.returncode, result.stderr) == (0, b"")


def test_negative_seed_for_synthetic_data(cli):
    run = cli("data", "line", "--seed", "-1", "-n", "3")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1 and "--seed" in run.stderr
