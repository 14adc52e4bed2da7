"""Issue 22 §1: watched constants are sources on their own, and a named step is a source (--wrt y)."""

import pytest

import gradcli
from gradcli.lang.parser import parse_program
from gradcli.lang.printers import to_text
from gradcli.solve.intermediate import cut


def test_the_watch_example_without_at_is_a_gradient_at_the_constant(cli):
    run = cli("grad", "x**2", "--const", "x=3", "--watch", "x")
    assert run.code == 0, run.stderr
    assert "the constants" in run.stdout and "tape.watch(x) makes it a source" in run.stdout
    assert "All three methods agree" in run.stdout


def test_a_constant_without_watch_or_at_is_still_a_usage_error(cli):
    run = cli("grad", "x**2", "--const", "x=3")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: --const does not apply without --at (grad prints the derivative's formula)")


def test_watch_alone_still_needs_every_variable(cli):
    run = cli("grad", "x*w", "--const", "x=3", "--watch", "x")
    assert (run.code, run.stdout) == (2, "")
    assert "no value for w" in run.stderr


def test_the_issue_example_an_intermediate_source(cli):
    # tape.gradient(z, y) for y = x*x, z = y*y at x = 3: 2y = 18
    run = cli("grad", "y = x*x; z = y*y", "--at", "x=3", "--of", "z", "--wrt", "y", "--format", "json")
    assert run.code == 0, run.stderr
    row = run.json["results"][0]["gradient"]["y"]
    assert (row["tape"], row["symbolic"], row["exact"], row["intermediate"]) == (18.0, "2*y", 18.0, True)
    assert row["finite_difference"] == pytest.approx(18.0, rel=1e-9)
    notes = run.json["results"][0]["notes"]
    assert [(n["kind"], n["variable"]) for n in notes] == [("intermediate", "y")]
    assert "y*y" in notes[0]["message"]


def test_the_table_says_a_row_is_an_intermediate(cli):
    run = cli("grad", "y = x*x; z = y*y + x", "--at", "x=3", "--wrt", "x,y")
    assert run.code == 0
    assert "y (intermediate)" in run.stdout
    assert "4*x**3 + 1" in run.stdout  # x keeps its total derivative: dz/dx through y and directly


def test_an_intermediate_used_twice_sums_its_paths():
    # y reaches z directly and through w: dz/dy = w + y = (y + 1) + y
    result = gradcli.grad("y = x*x; w = y + 1; z = w*y", at={"x": 2}, wrt=["y"])
    row = result.results[0].gradient["y"]
    assert row.tape == row.exact == 9.0 and row.agree and row.symbolic == "2*y + 1"


def test_an_intermediate_tensor_step():
    result = gradcli.grad("y = x*x; z = sum(sin(y))", at={"x": [1.0, 2.0]}, wrt=["y"])
    row = result.results[0].gradient["y"]
    assert result.exit_code == 0 and row.agree
    import math

    assert row.tape == pytest.approx([math.cos(1.0), math.cos(4.0)], rel=1e-12)


def test_an_intermediate_of_constants_alone_is_watched():
    # c is a tf.constant; y = 2*c is not on the tape unless watched: gradcli watches every intermediate it is asked for
    result = gradcli.grad("y = 2*c; z = y*x", at={"x": 5}, const={"c": 1}, wrt=["y"])
    assert result.results[0].gradient["y"].tape == 5.0 and result.exit_code == 0


def test_an_alias_step_is_its_own_tensor():
    # y = x is tf.identity(x) on the tape: dz/dy holds x fixed, as sympy's partial does
    result = gradcli.grad("y = x; z = y*x", at={"x": 3}, wrt=["y"])
    row = result.results[0].gradient["y"]
    assert row.tape == row.exact == 3.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "z"], "z is the target itself"),
        (["y = x*x; z = x + 1", "--at", "x=3", "--wrt", "y"], "the target z does not use the step y"),
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "y", "--order", "2"], "not with --order above 1"),
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "y", "--dtype", "int32"], "not with --dtype int32"),
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "y", "--of", "y,z"], "one target at a time"),
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "y", "--frameworks"], "not with --wrt a named step"),
        (["y = x*x; z = y*y", "--at", "x=3", "--wrt", "q"], "'q' is not in the expression"),
    ],
)
def test_intermediates_say_what_they_do_not_do(cli, args, message):
    run = cli("grad", *args)
    assert (run.code, run.stdout) == (2, "")
    assert message in run.stderr and run.stderr.startswith("error: ") and run.stderr.count("\n") == 1


def test_cut_keeps_the_step_as_a_name():
    program = parse_program("y = x*x; w = y + 1; z = w*y")
    assert to_text(cut(program.steps, "z", "y")) == "(y + 1)*y"
    assert to_text(cut(program.steps, "z", "w")) == "w*(x*x)"
