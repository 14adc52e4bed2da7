"""gradcli jvp (forward mode) and gradcli vjp (a seeded backward pass), judged like a gradient."""

import numpy as np
import pytest

import gradcli
from gradcli.solve.products import jvp, vjp

TOLERANCE = {"tape": {"rtol": 1e-9, "atol": 1e-12}, "finite_difference": {"rtol": 1e-6, "atol": 1e-8}}


def row(tape, symbolic, exact):
    return {
        "tape": tape,
        "symbolic": symbolic,
        "exact": exact,
        "finite_difference": pytest.approx(exact, rel=1e-9),
        "finite_difference_error": pytest.approx(0, abs=1e-13),
        "finite_difference_method": "complex step",
        "agree": True,
        "watched": True,
    }


def test_jvp_the_issue_example_exact_json(cli):
    run = cli("jvp", "x**2*y", "--at", "x=3,y=2", "--tangent", "x=1,y=0", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert run.json == {
        "product": "jvp",
        "tangent": {"x": 1.0, "y": 0.0},
        "expression": "x**2*y",
        "input": "x**2*y",
        "reading": [],
        "wrt": ["x", "y"],  # the variables (its one row is named jvp)
        "constants": {},
        "dtype": "float64",
        "order": 1,
        "clip": None,
        "tolerance": TOLERANCE,
        "status": "agree",
        "exit_code": 0,
        "results": [
            {
                "at": {"x": 3.0, "y": 2.0},
                "value": 18.0,
                "gradient": {"jvp": row(12.0, "2*x*y", 12.0)},
                "notes": [],
                "differentiable": True,
            }
        ],
    }


def test_jvp_table(cli):
    run = cli("jvp", "x**2*y", "--at", "x=3,y=2", "--tangent", "x=1,y=0")
    assert run.code == 0
    assert "ForwardAccumulator" in run.stdout and "J·t" in run.stdout
    assert "tangent t: x = 1, y = 0" in run.stdout
    cells = [c.strip() for c in next(line for line in run.stdout.splitlines() if "x = 3" in line).split("│")]
    assert cells[1:8] == ["x = 3, y = 2", "18", "jvp", "12", "2*x*y", "12", "12"]


def test_vjp_the_issue_example_exact_json(cli):
    run = cli("vjp", "[x*y, x + y]", "--at", "x=1,y=2", "--upstream", "[1, 2]", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert run.json == {
        "product": "vjp",
        "upstream": [1.0, 2.0],
        "expression": "[x*y, x + y]",
        "input": "[x*y, x + y]",
        "reading": [],
        "wrt": ["x", "y"],
        "constants": {},
        "dtype": "float64",
        "order": 1,
        "clip": None,
        "tolerance": TOLERANCE,
        "status": "agree",
        "exit_code": 0,
        "results": [
            {
                "at": {"x": 1.0, "y": 2.0},
                "value": 8.0,
                "gradient": {"x": row(4.0, "y + 2", 4.0), "y": row(3.0, "x + 2", 3.0)},
                "notes": [],
                "differentiable": True,
            }
        ],
    }


def test_vjp_table(cli):
    run = cli("vjp", "[x*y, x + y]", "--at", "x=1,y=2", "--upstream", "[1, 2]")
    assert run.code == 0
    assert "output_gradients=u" in run.stdout and "upstream gradient u = [1, 2]" in run.stdout


@pytest.mark.parametrize(
    ("expression", "at", "tangent"),
    [
        ("sin(x)*exp(y)", {"x": 0.7, "y": -0.3}, {"x": 2.0, "y": -1.5}),
        ("x**3 + 2*x", {"x": 2.0}, {"x": 1.0}),
        ("sum(x*x) + y", {"x": [1.0, -2.0], "y": 3.0}, {"x": [0.5, 1.0]}),
        ("log(1 + x**2)/y", {"x": 1.5, "y": 2.0}, {"y": 1.0}),
    ],
)
def test_jvp_is_the_gradient_dotted_with_the_tangent(expression, at, tangent):
    product = jvp(expression, at, tangent)
    assert product.exit_code == 0
    gradient = {p.name: p.exact for p in gradcli.grad(expression, at=at).results[0].gradient}
    dot = sum(float(np.sum(np.asarray(gradient[n]) * np.asarray(t))) for n, t in tangent.items())
    (partial,) = product.results[0].gradient
    assert partial.tape == pytest.approx(dot, rel=1e-12)
    assert partial.exact == pytest.approx(dot, rel=1e-12)


@pytest.mark.parametrize(
    ("expression", "at", "upstream"),
    [
        ("[x*y, x + y, sin(x)]", {"x": 1.0, "y": 2.0}, [1.0, -2.0, 0.5]),
        ("x*x", {"x": [1.0, 2.0, 3.0]}, [1.0, 1.0, 0.0]),
        ("[exp(x)*y]", {"x": 0.5, "y": -1.0}, [3.0]),
    ],
)
def test_vjp_is_the_jacobian_transposed_times_upstream(expression, at, upstream):
    from gradcli.solve.matrix import jacobian

    product = vjp(expression, at, upstream)
    assert product.exit_code == 0
    matrix = np.asarray(jacobian(expression, at=at).results[0].exact)
    expected = matrix.T @ np.asarray(upstream)
    got = np.concatenate([np.ravel(p.tape) for p in product.results[0].gradient])
    assert got == pytest.approx(expected, rel=1e-12)


def test_jvp_at_a_kink_along_the_kink_does_not_exist(cli):
    run = cli("jvp", "abs(x) + y", "--at", "x=0,y=1", "--tangent", "x=1", "--format", "json")
    assert run.code == 3
    (result,) = run.json["results"]
    assert result["differentiable"] is False
    (kink,) = [n for n in result["notes"] if n["kind"] == "kink"]
    assert kink["message"].startswith("abs has a kink where its argument x is 0, as it is here: the slope along the")
    assert "ForwardAccumulator returns 0" in kink["message"]


def test_jvp_at_a_kink_across_it_exists(cli):
    run = cli("jvp", "abs(x) + y", "--at", "x=0,y=1", "--tangent", "x=0,y=1", "--format", "json")
    assert run.code == 0
    assert run.json["results"][0]["gradient"]["jvp"]["tape"] == 1.0


def test_jvp_several_points_and_float32(cli):
    run = cli("jvp", "x*y", "--at", "x=1,y=2", "--at", "x=2,y=3", "--tangent", "x=1", "--dtype", "float32")
    assert run.code == 0
    plain = cli("jvp", "x*y", "--at", "x=1,y=2", "--at", "x=2,y=3", "--tangent", "x=1", "--format", "plain")
    assert plain.stdout == "2\n3\n"


def test_vjp_of_a_tensor_expression(cli):
    run = cli("vjp", "x*x", "--at", "x=[1,2]", "--upstream", "[1,1]", "--format", "csv")
    assert (run.code, run.stdout) == (0, "x[0],x[1],df/dx[0],df/dx[1],status\n1,2,2,4,agree\n")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["jvp", "x*y", "--at", "x=1,y=2", "--tangent", "q=1"], "--tangent q: not a variable of the expression"),
        (["jvp", "x*y", "--at", "x=1,y=2", "--tangent", "x=[1,2]"], "--tangent x has shape [2], but x has []"),
        (["jvp", "x*y", "--at", "x=1,y=2", "--tangent", "x=1", "--tangent", "x=2"], "--tangent x given twice"),
        (["jvp", "x*jvp", "--at", "x=1,jvp=2", "--tangent", "x=1"], "the name jvp is taken"),
        (["jvp", "x*y", "--at", "x=1,y=2"], "Missing option '--tangent'"),
        (["jvp", "x*y", "--at", "x=1,y=2", "--tangent", "x=__import__('os')"], "bad value for x"),
        (["vjp", "x*y", "--at", "x=1,y=2", "--upstream", "1"], "f is a single number"),
        (["vjp", "[x, y]", "--at", "x=1,y=2", "--upstream", "[1,2,3]"], "--upstream has shape [3], but f has [2]"),
        (["vjp", "[x, y]", "--at", "x=1,y=2", "--upstream", "[1,y]"], "--upstream"),
    ],
)
def test_bad_products_are_one_error_line(cli, args, error):
    run = cli(*args)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1 and error in run.stderr


def test_products_in_a_batch(cli):
    lines = "\n".join(
        [
            '{"command": "jvp", "expression": "x**2*y", "at": {"x": 3, "y": 2}, "tangent": {"x": 1}}',
            '{"command": "vjp", "expression": "[x*y, x + y]", "at": {"x": 1, "y": 2}, "upstream": [1, 2]}',
            'vjp "[x, y]" --at x=1,y=2 --upstream "[1]"',
        ]
    )
    run = cli("batch", "-", stdin=lines)
    import json

    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert answers[0]["results"][0]["gradient"]["jvp"]["tape"] == 12.0
    assert [answers[1]["results"][0]["gradient"][n]["tape"] for n in "xy"] == [4.0, 3.0]
    assert answers[2] == {
        "line": 3,
        "error": "--upstream has shape [1], but f has [2]: one number per output",
        "exit_code": 2,
    }
    assert run.code == 2


def test_jvp_of_a_list_is_a_row_per_item_from_one_forward_pass(cli):
    run = cli("jvp", "[x*y, x + y, abs(x)]", "--at", "x=1,y=2", "--tangent", "x=1", "--format", "json")
    assert run.code == 0
    doc = run.json
    assert (doc["targets"], doc["recordings"]) == (["f[0]", "f[1]", "f[2]"], 1)
    assert [(r["of"], r["gradient"]["jvp"]["tape"], r["gradient"]["jvp"]["symbolic"]) for r in doc["results"]] == [
        ("f[0]", 2.0, "y"),
        ("f[1]", 1.0, "1"),
        ("f[2]", 1.0, "sign(x)"),
    ]
    table = cli("jvp", "[x*y, x + y]", "--at", "x=1,y=2", "--tangent", "x=1")
    assert "one forward pass (ForwardAccumulator) gave J·t for every target" in table.stdout
    assert "recorded on its own tape" not in table.stdout


def test_jvp_of_a_tensor_expression_points_to_jacobian(cli):
    run = cli("jvp", "x*y", "--at", "x=[1,2],y=2", "--tangent", "x=[1,0]")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        "error: jvp takes a single number or a list of them, [f1, f2]; for a tensor f use gradcli jacobian\n"
    )
