"""Issue 22 §4: the smaller things a learner meets."""

import gradcli


def test_the_overflow_note_names_the_part_that_overflowed(cli):
    run = cli("grad", "log(1+exp(x))", "--at", "x=100", "--dtype", "float32", "--format", "json")
    notes = {n["kind"]: n["message"] for n in run.json["results"][0]["notes"]}
    assert notes["overflow"].startswith("exp(x) overflows float32 here (exp(x) = 2.688117142e+43 in float64")
    assert "so f = inf in float32 (100 in float64)" in notes["overflow"]
    assert "a part of f overflows the dtype" in notes["odd_witness"]


def test_an_int32_none_is_not_agree_yes(cli):
    run = cli("grad", "x**2", "--at", "x=3", "--dtype", "int32")
    row = next(line for line in run.stdout.splitlines() if "x = 3" in line)
    assert "tape: None" in row and "yes" not in row


def test_the_vjp_header_reads_as_a_derivative(cli):
    run = cli("vjp", "[x*y, x + y]", "--at", "x=1,y=2", "--upstream", "[1, 2]")
    assert run.code == 0
    assert "∂(u·f)/∂" in run.stdout and "(Jᵀu)/∂" not in run.stdout


def test_a_result_prints_short_and_readable():
    result = gradcli.grad("x**2 + 2*x - 1", at={"x": 2})
    assert (
        repr(result)
        == str(result)
        == (
            "<GradResult f = x**2 + 2*x - 1: agree (exit 0)>\n"
            "  at x = 2: f = 7\n"
            "    d/dx: tape 6, exact 6, finite diff. 6  agree"
        )
    )
    step = gradcli.grad("y = x*x; z = y*y", at={"x": 3}, wrt=["y"])
    assert repr(step).splitlines()[0] == "<GradResult y = x*x; z = y*y: agree (exit 0)>"
    assert repr(step).splitlines()[2] == "    d/dy (intermediate): tape 18, exact 18, finite diff. 18  agree"
    many = gradcli.grad("x**2", at=[{"x": i} for i in range(8)])
    assert repr(many).endswith("  ... 3 more points") and len(repr(many)) < 600
