"""Many points in one call (--points) and many problems in one process (gradcli batch)."""

import json

import numpy as np
import pytest

import gradcli
from gradcli.solve.points import grad_points, prepare_points, read_points

EXPRESSION = "x**2*y + sin(x*y)"


def grid(n: int) -> str:
    xs = [float(x) for x in np.linspace(-2, 2, n)]
    return "x,y\n" + "".join(f"{x!r},{0.5 + x / 3!r}\n" for x in xs)


def test_points_csv_equal_single_point_results(cli, tmp_path):
    path = tmp_path / "grid.csv"
    path.write_text(grid(7))
    run = cli("grad", EXPRESSION, "--points", str(path), "--format", "csv")
    lines = run.stdout.splitlines()
    assert run.code == 0 and lines[0] == "x,y,df/dx,df/dy,status"
    for line in lines[1:]:
        x, y, dx, dy, status = line.split(",")
        alone = gradcli.grad(EXPRESSION, at={"x": float(x), "y": float(y)}).results[0].gradient
        assert (float(dx), float(dy)) == pytest.approx((alone[0].tape, alone[1].tape), rel=1e-14, abs=1e-15)
        assert status == "agree"


@pytest.mark.parametrize("chunk", [1, 3, 4, 10])
def test_chunk_edges_do_not_change_results(cli, chunk):
    whole = cli("grad", EXPRESSION, "--points", "-", "--format", "csv", stdin=grid(10))
    chunked = cli("grad", EXPRESSION, "--points", "-", "--format", "csv", "--chunk-size", str(chunk), stdin=grid(10))
    assert chunked.code == 0
    # vectorised kernels may round the last bit differently for other array lengths
    for a, b in zip(chunked.stdout.splitlines()[1:], whole.stdout.splitlines()[1:], strict=True):
        *numbers_a, status_a = a.split(",")
        *numbers_b, status_b = b.split(",")
        assert [float(v) for v in numbers_a] == pytest.approx([float(v) for v in numbers_b], rel=1e-14)
        assert status_a == status_b


def test_jsonl_from_stdin_with_line_numbers(cli):
    run = cli("grad", "x*y", "--points", "-", "--format", "jsonl", stdin="x,y\n1,2\n3,4\n")
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["line"] for r in records] == [2, 3]
    assert records[1] == {
        "line": 3,
        "at": {"x": 3.0, "y": 4.0},
        "value": 12.0,
        "gradient": {
            "x": {"tape": 4.0, "exact": 4.0, "finite_difference": pytest.approx(4.0, rel=1e-9)},
            "y": {"tape": 3.0, "exact": 3.0, "finite_difference": pytest.approx(3.0, rel=1e-9)},
        },
        "status": "agree",
    }


def test_bad_rows_are_reported_with_line_numbers_and_skipped(cli):
    run = cli("grad", "x*y", "--points", "-", "--format", "plain", stdin="x,y\n1,2\nfoo,2\n2\n3,4\n")
    assert run.code == 2
    assert run.stdout == "2 1\n4 3\n"  # every good row written
    assert run.stderr == (
        "error: stdin line 3: column x: 'foo' is not a number\nerror: stdin line 4: 1 values for 2 columns (x, y)\n"
    )


def test_on_error_stop_stops_after_the_good_rows_before(cli):
    run = cli("grad", "x*y", "--points", "-", "--format", "plain", "--on-error", "stop", stdin="x,y\n1,2\nfoo,2\n3,4\n")
    assert (run.code, run.stdout) == (2, "2 1\n")


def test_points_output_streams_before_the_input_ends():
    def lines():
        yield "x\n"
        yield "1\n"
        yield "2\n"
        raise AssertionError("read past the first chunk before yielding it")

    header, blocks = read_points(lines(), chunk_size=2)
    problem = prepare_points("x**2", header)
    first = next(grad_points(problem, header, blocks))
    assert first.tape["x"].tolist() == [2.0, 4.0]


def test_points_kinks_and_singularities_are_flagged_per_row(cli):
    run = cli("grad", "abs(x) + sqrt(y)", "--points", "-", "--format", "csv", stdin="x,y\n0,1\n1,0\n1,1\n")
    statuses = [line.rsplit(",", 1)[1] for line in run.stdout.splitlines()[1:]]
    assert statuses == ["not differentiable", "not differentiable", "agree"] and run.code == 3


@pytest.mark.parametrize(
    ("stdin", "options", "message"),
    [
        ("", [], "empty"),
        ("x,z\n1,2\n", [], "z not in the expression"),
        ("x\n1\n", ["--format", "table"], "csv, jsonl or plain"),
        ("x\n1\n", ["--at", "x=1"], "--at does not apply with --points"),
        ("x\n1\n", ["--chunk-size", "0"], "between 1 and 100000"),
    ],
)
def test_points_input_errors(cli, stdin, options, message):
    args = ["grad", "x*2", "--points", "-", *options]
    if "--format" not in options:
        args += ["--format", "csv"]
    run = cli(*args, stdin=stdin)
    assert run.code == 2 and message in run.stderr and run.stdout == ""


def test_points_needs_elementwise_scalars(cli):
    run = cli("grad", "sum(x)", "--points", "-", "--format", "csv", stdin="x\n1\n")
    assert run.code == 2 and "elementwise" in run.stderr


def test_stop_gradient_and_constants_in_points_mode(cli):
    run = cli(
        "grad", "s = stop_gradient(x*x); f = s*x + c*x", "--const", "c=2",
        "--points", "-", "--format", "plain", stdin="x\n3\n",
    )  # fmt: skip
    assert (run.code, run.stdout) == (0, "11\n")  # 9 + 2


# ---------------------------------------------------------------- batch


PROBLEMS = "\n".join(
    [
        '{"command": "grad", "expression": "x**2", "at": {"x": 3}}',
        'grad "x**3+2*x" --at x=2',
        '{"command": "hessian", "expression": "x**2*y", "at": {"x": 1, "y": 2}}',
        'grad "sqr(x)" --at x=1',
        "",
        "# a comment",
        '{"expression": "abs(x)", "at": [{"x": 0}, {"x": 1}]}',
        '{"command": "jacobian", "expression": "[x*y, x + y]", "at": {"x": 1, "y": 2}}',
        '{"command": "grad", "expression": "y = x*x; w = y + x", "at": {"x": 3}, "stop": ["y"], "clip_value": "-5:5"}',
    ]
)


def test_batch_answers_in_input_order_with_line_numbers(cli):
    run = cli("batch", "-", stdin=PROBLEMS)
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert [a["line"] for a in answers] == [1, 2, 3, 4, 7, 8, 9]
    assert answers[0]["results"][0]["gradient"]["x"]["tape"] == 6.0
    assert answers[1]["results"][0]["gradient"]["x"]["tape"] == 14.0
    assert answers[2]["results"][0]["hessian"]["tape"] == [[4.0, 2.0], [2.0, 0.0]]
    assert answers[3] == {"line": 4, "error": "unknown function 'sqr' (column 1): did you mean 'sqrt'?", "exit_code": 2}
    assert answers[4]["exit_code"] == 3 and answers[4]["status"] == "not differentiable"
    assert answers[5]["results"][0]["jacobian"]["tape"] == [[2.0, 1.0], [1.0, 1.0]]
    assert answers[6]["results"][0]["gradient"]["x"]["tape"] == 1.0
    assert run.code == 3  # the highest exit code seen


def test_batch_answer_is_the_single_command_json_plus_line(cli):
    single = cli("grad", "x**3+2*x", "--at", "x=2", "--format", "json").json
    batched = json.loads(cli("batch", "-", stdin='grad "x**3+2*x" --at x=2\n').stdout)
    assert batched.pop("line") == 1
    assert batched == single


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"command": "plot", "expression": "x"}', "unknown command"),
        ('{"command": "grad"}', "expression"),
        ('{"expression": "x", "at": {"x": 1}, "colour": 1}', "unknown key"),
        ("{not json", "not valid JSON"),
        ('grad "x" --at x=1 --format csv', "leave out --format"),
        ('grad "unclosed --at x=1', "cannot split"),
    ],
)
def test_batch_error_records(cli, line, message):
    run = cli("batch", "-", stdin=line + "\n")
    answer = json.loads(run.stdout)
    assert answer["exit_code"] == 2 and message in answer["error"] and run.code == 2


def test_batch_all_good_is_exit_0(cli):
    run = cli("batch", "-", stdin='grad "x**2" --at x=1\ngrad "x*y" --at x=1,y=2\n')
    assert run.code == 0 and len(run.stdout.splitlines()) == 2


def test_progress_is_drawn_only_on_a_terminal():
    import io

    from gradcli.present.render import PointsProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet, terminal = io.StringIO(), Terminal()
    with PointsProgress(quiet) as progress:
        progress.advance(5)
    with PointsProgress(terminal) as progress:
        progress.advance(5)
    assert quiet.getvalue() == ""
    assert progress.progress is not None and progress.progress.tasks[0].completed == 5


def test_batch_guards_from_review(cli):
    lines = [
        "grad --help",
        '{"expression": "-x**2", "at": {"x": 3}}',
        '{"expression": "x*y", "at": [{"x": 1}, {"y": 2}]}',
        '{"expression": "y = x**2; z = y**2", "at": {"x": 3}, "of": ["y", "z"], "persistent": "false"}',
    ]
    answers = [json.loads(line) for line in cli("batch", "-", stdin="\n".join(lines) + "\n").stdout.splitlines()]
    assert "--help" in answers[0]["error"]
    assert answers[1]["results"][0]["gradient"]["x"]["tape"] == -6.0
    assert "same names" in answers[2]["error"]
    assert "true or false" in answers[3]["error"]


def test_points_accepts_a_byte_order_mark(cli):
    run = cli("grad", "x*y", "--points", "-", "--format", "plain", stdin="\ufeffx,y\n1,2\n")
    assert (run.code, run.stdout) == (0, "2 1\n")


def test_batch_runs_check_and_descend(cli):
    lines = [
        '{"command": "check", "expression": "sin(x)**2", "answer": "sin(2*x)"}',
        'check "exp(2*x)" --answer "exp(2*x)"',
        json.dumps(
            {"command": "descend", "expression": "(w*2 - 6)**2", "from": {"w": 0.5}, "lr": 0.1, "clip_value": "-1:1"}
        ),
    ]
    answers = [json.loads(line) for line in cli("batch", "-", stdin="\n".join(lines) + "\n").stdout.splitlines()]
    assert answers[0]["verdict"] == "correct" and answers[1]["verdict"] == "wrong"
    assert answers[2]["runs"][0]["final"]["params"]["w"] == pytest.approx(3.0)


def test_points_on_a_tan_pole_are_not_differentiable(cli):
    run = cli("grad", "tan(x)", "--points", "-", "--format", "csv", stdin="x\n1.5707963267948966\n1\n")
    assert [line.rsplit(",", 1)[1] for line in run.stdout.splitlines()[1:]] == ["not differentiable", "agree"]


def test_input_files_are_closed_when_the_command_ends(cli, tmp_path):
    from gradcli.runtime import files

    points = tmp_path / "p.csv"
    points.write_text("x\n1\n")
    problems = tmp_path / "problems.txt"
    problems.write_text(f'grad "x**2" --points {points} --format plain\n')
    opened = []
    real_open = files.open_input
    files.open_input = lambda path: opened.append(real_open(path)) or opened[-1]
    try:
        run = cli("batch", str(problems))
    finally:
        files.open_input = real_open
    assert run.code == 2  # --format inside a batch line is refused, so only the problems file is opened
    assert opened and all(handle.closed for handle in opened)


def test_points_plain_names_each_point_that_does_not_agree_on_stderr(cli):
    run = cli("grad", "abs(x)*y + 1/y", "--points", "-", "--format", "plain", stdin="x,y\n1,2\n0,1\n3,0\n2,2\n")
    statuses = [
        json.loads(line)["status"]
        for line in cli(
            "grad", "abs(x)*y + 1/y", "--points", "-", "--format", "jsonl", stdin="x,y\n1,2\n0,1\n3,0\n2,2\n"
        ).stdout.splitlines()
    ]
    assert run.code == 3 and len(run.stdout.splitlines()) == 4
    expected = [f"note: stdin line {i + 2}: {s}" for i, s in enumerate(statuses) if s != "agree"]
    assert run.stderr.splitlines() == expected and len(expected) == 2


def test_points_plain_that_all_agree_keeps_stderr_empty(cli):
    run = cli("grad", "x*y", "--points", "-", "--format", "plain", stdin="x,y\n1,2\n3,4\n")
    assert (run.code, run.stdout, run.stderr) == (0, "2 1\n4 3\n", "")
