"""`gradcli grad` through the command line: exit codes, exact JSON, CSV, plain, table."""

import pytest


def approx_fd(document):
    """Finite differences are estimates: compare them approximately, everything else exactly."""
    for result in document["results"]:
        for partial in result["gradient"].values():
            partial["finite_difference"] = pytest.approx(partial["finite_difference"], rel=1e-9)
    return document


def test_json_is_one_object_with_the_documented_keys(cli):
    run = cli("grad", "x**2", "--at", "x=3", "--format", "json")
    assert run.code == 0 and run.stderr == ""
    assert run.json == approx_fd(
        {
            "expression": "x**2",
            "input": "x**2",
            "reading": [],
            "wrt": ["x"],
            "constants": {},
            "dtype": "float64",
            "order": 1,
            "clip": None,
            "tolerance": {"tape": {"rtol": 1e-9, "atol": 1e-12}, "finite_difference": {"rtol": 1e-6, "atol": 1e-8}},
            "status": "agree",
            "exit_code": 0,
            "results": [
                {
                    "at": {"x": 3.0},
                    "value": 9.0,
                    "gradient": {
                        "x": {
                            "tape": 6.0,
                            "symbolic": "2*x",
                            "exact": 6.0,
                            "finite_difference": 6.0,
                            "finite_difference_error": pytest.approx(0, abs=1e-13),
                            "finite_difference_method": "complex step",
                            "agree": True,
                            "watched": True,
                        }
                    },
                    "notes": [],
                    "differentiable": True,
                }
            ],
        }
    )


def test_json_constant_not_watched_is_null(cli):
    run = cli("grad", "weight*3 + bias", "--at", "weight=2", "--const", "bias=1", "--format", "json")
    doc = run.json
    assert run.code == 0
    assert doc["constants"] == {"bias": 1.0}
    bias = doc["results"][0]["gradient"]["bias"]
    assert bias["tape"] is None and bias["watched"] is False
    assert bias["symbolic"] == "1" and bias["exact"] == 1.0
    assert doc["results"][0]["gradient"]["weight"]["tape"] == 3.0


def test_watch_makes_the_tape_differentiate_a_constant(cli):
    run = cli(
        "grad", "weight*3 + bias", "--at", "weight=2", "--const", "bias=1", "--watch", "bias", "--format", "plain"
    )
    assert run.stdout == "3 1\n"


def test_json_tensor_gradient_is_nested_list(cli):
    run = cli("grad", "sum(x*x + 2*z)", "--at", "x=[[3,3,3],[3,3,3]]", "--at", "z=5", "--format", "json")
    gradient = run.json["results"][0]["gradient"]
    assert gradient["x"]["tape"] == [[6.0, 6.0, 6.0], [6.0, 6.0, 6.0]]
    assert gradient["x"]["symbolic"] == "2*x (elementwise)"
    assert gradient["z"]["tape"] == 12.0
    assert run.json["results"][0]["at"] == {"x": [[3.0] * 3] * 2, "z": 5.0}


def test_json_non_finite_numbers_are_strings(cli):
    run = cli("grad", "sqrt(x)", "--at", "x=0", "--format", "json")
    assert run.code == 3
    partial = run.json["results"][0]["gradient"]["x"]
    assert partial["tape"] == "inf"
    assert run.json["status"] == "not differentiable" and run.json["exit_code"] == 3


def test_plain_prints_only_numbers(cli):
    run = cli("grad", "x**2", "--at", "x=3", "--format", "plain")
    assert (run.code, run.stdout, run.stderr) == (0, "6\n", "")


def test_plain_several_points_one_line_each_in_wrt_order(cli):
    run = cli("grad", "x**2 + y**3", "--at", "x=1,y=2", "--at", "x=3,y=1", "--wrt", "y,x", "--format", "plain")
    assert run.stdout == "12 2\n3 6\n"


def test_wrt_selects_partials(cli):
    run = cli("grad", "sin(x)*exp(y)", "--at", "x=pi/4,y=0", "--wrt", "x", "--format", "json")
    gradient = run.json["results"][0]["gradient"]
    assert list(gradient) == ["x"]
    assert gradient["x"]["tape"] == pytest.approx(2**-0.5, rel=1e-15)
    assert gradient["x"]["symbolic"] == "exp(y)*cos(x)"


def test_csv_header_and_rows(cli):
    run = cli("grad", "x**3+2*x", "--at", "x=1", "--at", "x=2", "--at", "x=3", "--format", "csv")
    assert run.stdout == "x,df/dx,status\n1,5,agree\n2,14,agree\n3,29,agree\n"


def test_csv_tensor_columns(cli):
    run = cli("grad", "sum(x*x) + z", "--at", "x=[1,2]", "--at", "z=5", "--format", "csv")
    assert run.stdout.splitlines() == ["x[0],x[1],z,df/dx[0],df/dx[1],df/dz,status", "1,2,5,2,4,1,agree"]


def test_linear_model_example(cli):
    run = cli(
        "grad", "sum((x @ W + b - y)**2)",
        "--const", "x=[[1,2],[3,4]]", "--const", "y=[[1],[0]]",
        "--at", "W=[[0.1],[0.2]]", "--at", "b=0.5", "--format", "json",
    )  # fmt: skip
    gradient = run.json["results"][0]["gradient"]
    assert run.code == 0
    assert [w[0] for w in gradient["W"]["tape"]] == pytest.approx([9.6, 12.8], rel=1e-12)
    assert gradient["b"]["tape"] == pytest.approx(3.2, rel=1e-12)
    assert gradient["x"]["tape"] is None and gradient["y"]["tape"] is None


def test_table_shows_understood_expression_point_and_agreement(cli):
    run = cli("grad", "2x^2", "--at", "x=3")
    assert run.code == 0
    assert "f = 2*x**2" in run.stdout
    assert "x = 3" in run.stdout and "4*x" in run.stdout and "12" in run.stdout
    assert "All three methods agree" in run.stdout


def test_table_several_points_one_table(cli):
    run = cli("grad", "x**3+2*x", "--at", "x=1", "--at", "x=2", "--at", "x=3")
    assert run.stdout.count("f = x**3 + 2*x") == 1
    for point, slope in (("x = 1", "5"), ("x = 2", "14"), ("x = 3", "29")):
        line = next(line for line in run.stdout.splitlines() if point in line)
        assert f" {slope} " in line


def test_table_constant_row_says_not_watched(cli):
    run = cli("grad", "weight*3 + bias", "--at", "weight=2", "--const", "bias=1")
    assert "not watched" in run.stdout and "constant" in run.stdout


def test_float32_uses_tf_default_precision_and_looser_tolerance(cli):
    run = cli("grad", "sin(x)", "--at", "x=0.3", "--dtype", "float32", "--format", "json")
    doc = run.json
    assert run.code == 0
    assert doc["dtype"] == "float32" and doc["tolerance"]["tape"]["rtol"] == 1e-4
    tape = doc["results"][0]["gradient"]["x"]["tape"]
    assert tape != doc["results"][0]["gradient"]["x"]["exact"]  # float32 rounding shows
    assert tape == pytest.approx(0.955336489125606, rel=1e-6)


def test_point_values_accept_constant_expressions(cli):
    run = cli("grad", "x**2", "--at", "x=1/3", "--format", "plain")
    assert float(run.stdout) == pytest.approx(2 / 3, rel=1e-15)


def test_float32_cancellation_is_a_real_disagreement_exit_1(cli):
    # d/dx 1e4*(sin(x) - x) = 1e4*(cos(x) - 1): float32 cannot resolve cos(0.001) - 1
    run32 = cli("grad", "1e4*(sin(x) - x)", "--at", "x=0.001", "--dtype", "float32", "--format", "json")
    partial = run32.json["results"][0]["gradient"]["x"]
    assert run32.code == 1 and run32.json["status"] == "disagree"
    assert partial["agree"] is False
    assert partial["exact"] == pytest.approx(-0.004999999583, rel=1e-9)
    assert abs(partial["tape"] - partial["exact"]) > 1e-5
    run64 = cli("grad", "1e4*(sin(x) - x)", "--at", "x=0.001", "--format", "plain")
    assert run64.code == 0 and float(run64.stdout) == pytest.approx(-0.004999999583, rel=1e-9)


def test_table_marks_disagreement(cli):
    run = cli("grad", "1e4*(sin(x) - x)", "--at", "x=0.001", "--dtype", "float32")
    assert run.code == 1 and "NO" in run.stdout and "DISAGREE" in run.stdout


def test_order_three_by_nested_tapes(cli):
    run = cli("grad", "x**5", "--at", "x=2", "--order", "3", "--format", "json")
    partial = run.json["results"][0]["gradient"]["x"]
    assert run.code == 0 and run.json["order"] == 3
    assert partial["tape"] == 240.0 and partial["exact"] == 240.0 and partial["symbolic"] == "60*x**2"
    assert partial["finite_difference"] == pytest.approx(240.0, rel=run.json["tolerance"]["finite_difference"]["rtol"])


def test_order_two_several_points_and_variables(cli):
    run = cli("grad", "sin(x)*y**3", "--at", "x=1,y=2", "--at", "x=0.5,y=1", "--order", "2", "--format", "plain")
    rows = [[float(v) for v in line.split()] for line in run.stdout.splitlines()]
    import math

    expected = [[-math.sin(1) * 8, 6 * 2 * math.sin(1)], [-math.sin(0.5), 6 * math.sin(0.5)]]
    assert run.code == 0
    for got, want in zip(rows, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12)


def test_order_at_a_kink_where_the_derivative_does_not_exist_is_exit_3(cli):
    # |x|**3 has f'' = 6|x|, which exists at 0, but the third derivative jumps from -6 to 6
    run = cli("grad", "abs(x)**3", "--at", "x=0", "--order", "3")
    text = " ".join(run.stdout.split())
    assert run.code == 3
    assert "the derivative of order 3 with respect to x is -6 from the left and 6 from the right" in text
    run = cli("grad", "relu(x)**2", "--at", "x=0", "--order", "3", "--format", "json")
    assert run.code == 3
    assert (
        "order 2 with respect to x is 0 from the left and 2 from the right, so the derivative of order 3"
        in (run.json["results"][0]["notes"][0]["message"])
    )


def test_order_at_a_kink_where_the_derivative_exists_is_judged_not_refused(cli):
    run = cli("grad", "abs(x)**3", "--at", "x=0", "--order", "2", "--format", "json")
    assert run.code == 0
    partial = run.json["results"][0]["gradient"]["x"]
    assert (partial["tape"], partial["exact"], partial["finite_difference"]) == (0.0, 0.0, 0.0)
    assert run.json["results"][0]["differentiable"] is True
    assert "agree at every order up to 2" in run.json["results"][0]["notes"][0]["message"]


def test_order_at_a_kink_the_tapes_convention_can_be_wrong(cli):
    # abs(x)**2 is x**2: f'' = 2 everywhere, but nested tapes use sign(0) = 0 and return 0 (exit 1, explained)
    run = cli("grad", "abs(x)**2", "--at", "x=0", "--order", "2", "--format", "json")
    assert run.code == 1
    partial = run.json["results"][0]["gradient"]["x"]
    assert (partial["tape"], partial["exact"], partial["finite_difference"]) == (0.0, 2.0, pytest.approx(2.0))
    assert "GradientTape's 0 is wrong here" in run.json["results"][0]["notes"][0]["message"]
    run = cli("grad", "abs(x)**2", "--at", "x=0", "--order", "3", "--format", "json")  # the tape gives nan
    assert run.code == 1 and run.json["results"][0]["gradient"]["x"]["exact"] == 0.0


@pytest.mark.parametrize("order", ["0", "7"])
def test_order_out_of_range_is_invalid(cli, order):
    run = cli("grad", "x**2", "--at", "x=1", "--order", order)
    assert run.code == 2 and "--order must be between 1 and 6" in run.stderr


def test_csv_at_points_carries_the_status_column_that_points_has(cli):
    run = cli("grad", "abs(x)*y", "--at", "x=0,y=1", "--at", "x=1,y=2", "--format", "csv")
    assert run.code == 3 and run.stderr == ""
    assert run.stdout == "x,y,df/dx,df/dy,status\n0,1,0,0,not differentiable\n1,2,2,1,agree\n"


def test_csv_status_says_disagree_at_a_disagreeing_point(cli):
    run = cli("grad", "(1 - cos(x))/x^2", "--at", "x=1e-3", "--at", "x=1", "--dtype", "float32", "--format", "csv")
    assert run.code == 1
    assert [line.rsplit(",", 1)[1] for line in run.stdout.splitlines()] == ["status", "disagree", "agree"]


def test_plain_prints_each_note_on_stderr_and_only_numbers_on_stdout(cli):
    run = cli("grad", "abs(x)*y", "--at", "x=0,y=1", "--at", "x=1,y=2", "--format", "plain")
    assert (run.code, run.stdout) == (3, "0 0\n2 1\n")
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("note: at x = 0, y = 1: abs has a kink where its argument x is 0")
    json_notes = cli("grad", "abs(x)*y", "--at", "x=0,y=1", "--format", "json").json["results"][0]["notes"]
    assert lines[0] == f"note: at x = 0, y = 1: {json_notes[0]['message']}"


def test_plain_prints_one_line_per_note_for_a_disagreement_too(cli):
    args = ["(1 - cos(x))/x^2", "--at", "x=1e-3", "--dtype", "float32"]
    notes = cli("grad", *args, "--format", "json").json["results"][0]["notes"]
    run = cli("grad", *args, "--format", "plain")
    assert run.code == 1 and len(run.stdout.split()) == 1
    assert run.stderr.splitlines() == [f"note: at x = 0.001: {n['message']}" for n in notes]


def test_plain_without_notes_keeps_stderr_empty(cli):
    run = cli("grad", "x**2 + y", "--at", "x=3,y=1", "--format", "plain")
    assert (run.code, run.stdout, run.stderr) == (0, "6 1\n", "")


def test_matrix_plain_prints_its_notes_on_stderr(cli):
    run = cli("hessian", "abs(x)*y", "--at", "x=0,y=1", "--format", "plain")
    assert run.code == 3 and len(run.stdout.splitlines()) == 1
    assert run.stderr.startswith("note: at x = 0, y = 1: ") and all(
        line.startswith("note: ") for line in run.stderr.splitlines()
    )
