"""gradcli batch --jobs N: the same answers, line for line and in input order, as --jobs 1."""

import sys

import pytest

from gradcli.app.commands import batch as batch_command
from gradcli.runtime import jobs

PROBLEMS = "\n".join(
    [
        'grad "x**2" --at x=3',
        "# a comment",
        "",
        '{"command": "hessian", "expression": "x*y**2", "at": {"x": 1, "y": 2}}',
        "nope",
        'grad "abs(x)" --at x=0',
        '{"command": "jacobian", "expression": "[x*y, x + y]", "at": [{"x": 1, "y": 2}, {"x": 0, "y": 1}]}',
        'check "x**2" --answer "3*x"',
        'grad "sqr(x)" --at x=1',
        *[f'grad "sin(x)*exp(-x/5)" --at x={i}' for i in range(12)],
    ]
)


@pytest.fixture(autouse=True)
def helpers_at_once(monkeypatch):
    monkeypatch.setattr(jobs, "SPAWN_AFTER", 0)  # these inputs are short; make the helpers work anyway


def test_several_jobs_answer_every_line_as_one_job_does(cli):
    one = cli("batch", "-", "--jobs", "1", stdin=PROBLEMS)
    three = cli("batch", "-", "--jobs", "3", stdin=PROBLEMS)
    assert (three.code, three.stdout, three.stderr) == (one.code, one.stdout, one.stderr)
    assert one.code == 3  # the kink at abs(x), x=0 is the highest exit code
    numbers = [int(line.split(",")[0].removeprefix('{"line":')) for line in one.stdout.splitlines()]
    assert numbers == [1, 4, 5, 6, 7, 8, 9, *range(10, 22)]


def test_problems_of_a_helper_that_dies_are_answered_by_the_main_process(cli, monkeypatch):
    dying = "import sys; print('{\"ready\": true}', flush=True); sys.stdin.readline()"
    monkeypatch.setattr(batch_command, "HELPER", [sys.executable, "-c", dying])
    one = cli("batch", "-", "--jobs", "1", stdin=PROBLEMS)
    assert cli("batch", "-", "--jobs", "2", stdin=PROBLEMS).stdout == one.stdout


@pytest.mark.parametrize("value", ["0", "-1"])
def test_jobs_must_be_at_least_one(cli, value):
    run = cli("batch", "-", "--jobs", value, stdin=PROBLEMS)
    assert (run.code, run.stdout, run.stderr) == (2, "", "error: --jobs must be at least 1\n")


def test_the_default_is_the_machines_cores():
    assert jobs.default_jobs() >= 1


def test_an_unreadable_line_stops_the_batch_after_the_lines_before_it_as_with_one_job(cli, tmp_path):
    path = tmp_path / "problems.txt"
    path.write_bytes(b'grad "x**2" --at x=1\ngrad "x**3" --at x=2\n\x00\x01\x02\ngrad "x**4" --at x=1\n')
    one = cli("batch", str(path), "--jobs", "1")
    two = cli("batch", str(path), "--jobs", "2")
    assert (two.code, two.stdout, two.stderr) == (one.code, one.stdout, one.stderr)
    assert one.code == 2 and one.stdout.count("\n") == 2
