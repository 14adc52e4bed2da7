"""What the tape does with what a learner hands it: a list of targets, a source f does not use, integers."""

import pytest

from gradcli.judge.explain import message
from gradcli.judge.verdict import INFO, Note


def approx_fd(document):
    for result in document["results"]:
        for partial in result["gradient"].values():
            partial["finite_difference"] = pytest.approx(partial["finite_difference"], rel=1e-9)
            partial["finite_difference_error"] = pytest.approx(0, abs=1e-13)
    return document


TOLERANCE = {"tape": {"rtol": 1e-9, "atol": 1e-12}, "finite_difference": {"rtol": 1e-6, "atol": 1e-8}}


def partial(tape, symbolic, exact):
    return {
        "tape": tape,
        "symbolic": symbolic,
        "exact": exact,
        "finite_difference": exact,
        "finite_difference_error": 0,
        "finite_difference_method": "complex step",
        "agree": True,
        "watched": True,
    }


def note(kind, variable, data):
    return {
        "kind": kind,
        "severity": "info",
        "variable": variable,
        "message": message(Note(kind, INFO, variable, data)),
    }


def test_a_list_target_is_the_sum_of_its_targets_each_shown_beside_it(cli):
    run = cli("grad", "[2*x, x**2]", "--at", "x=3", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    several = note("several_targets", None, {"form": "list", "targets": ["f[0]", "f[1]"], "shape": (2,)})
    assert run.json == approx_fd(
        {
            "targets": ["sum", "f[0]", "f[1]"],
            "persistent": False,
            "recordings": 3,
            "summed": "list",
            "expression": "[2*x, x**2]",
            "input": "[2*x, x**2]",
            "reading": [],
            "wrt": ["x"],
            "constants": {},
            "dtype": "float64",
            "order": 1,
            "clip": None,
            "tolerance": TOLERANCE,
            "status": "agree",
            "exit_code": 0,
            "results": [
                {
                    "of": "sum",
                    "at": {"x": 3.0},
                    "value": 15.0,
                    "gradient": {"x": partial(8.0, "2*x + 2", 8.0)},
                    "notes": [several],
                    "differentiable": True,
                },
                {
                    "of": "f[0]",
                    "at": {"x": 3.0},
                    "value": 6.0,
                    "gradient": {"x": partial(2.0, "2", 2.0)},
                    "notes": [],
                    "differentiable": True,
                },
                {
                    "of": "f[1]",
                    "at": {"x": 3.0},
                    "value": 9.0,
                    "gradient": {"x": partial(6.0, "2*x", 6.0)},
                    "notes": [],
                    "differentiable": True,
                },
            ],
        }
    )
    assert "tape.gradient of a list of 2 targets returns the gradient of their sum" in several["message"]


def test_a_list_target_in_the_table(cli):
    run = cli("grad", "[2*x, x**2]", "--at", "x=3")
    assert run.code == 0
    rows = [line for line in run.stdout.splitlines() if "x = 3;" in line]
    assert [row.split("│")[1].strip() for row in rows] == ["x = 3; sum", "x = 3; f[0]", "x = 3; f[1]"]
    assert [row.split("│")[4].strip() for row in rows] == ["8", "2", "6"]
    assert "returns the gradient of their sum" in " ".join(run.stdout.split())


def test_a_list_target_of_two_variables_over_two_points(cli):
    run = cli("grad", "[x*y, x + y, sin(x)]", "--at", "x=1,y=2", "--at", "x=0,y=1", "--format", "json")
    assert run.code == 0
    by_target = {(r["of"], r["at"]["x"]): {n: p["tape"] for n, p in r["gradient"].items()} for r in run.json["results"]}
    import math

    assert by_target[("sum", 1.0)] == pytest.approx({"x": 2 + 1 + math.cos(1), "y": 1 + 1})
    assert by_target[("f[2]", 0.0)] == {"x": 1.0, "y": None}  # sin(x) does not use y: TensorFlow says None
    (sine,) = [r for r in run.json["results"] if r["of"] == "f[2]" and r["at"]["x"] == 0.0]
    assert sine["notes"] == [note("unconnected", "y", {"mode": "none"})]
    assert sum(by_target[(f"f[{i}]", 1.0)]["x"] for i in range(3)) == pytest.approx(by_target[("sum", 1.0)]["x"])


def test_a_tensor_target_is_the_sum_of_its_elements(cli):
    run = cli("grad", "x*y", "--at", "x=[1,2],y=3", "--format", "json")
    assert run.code == 0
    doc = run.json
    assert (doc["targets"], doc["summed"]) == (["sum"], "tensor")
    (result,) = doc["results"]
    assert result["value"] == 9.0
    assert result["gradient"]["x"]["tape"] == [3.0, 3.0] and result["gradient"]["y"]["tape"] == 3.0
    assert result["notes"] == [note("several_targets", None, {"form": "tensor", "targets": [], "shape": (2,)})]


def test_a_list_of_tensors_is_refused_in_one_line(cli):
    run = cli("grad", "[x, 2*x]", "--at", "x=[1,2]")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: each item of the list must be a single number, not a tensor (column 1)\n"


def test_an_unconnected_source_is_none_as_in_tensorflow(cli):
    run = cli("grad", "x**2", "--at", "x=1", "--at", "z=2", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    assert run.json == approx_fd(
        {
            "unconnected": "none",
            "expression": "x**2",
            "input": "x**2",
            "reading": [],
            "wrt": ["x", "z"],
            "constants": {},
            "dtype": "float64",
            "order": 1,
            "clip": None,
            "tolerance": TOLERANCE,
            "status": "agree",
            "exit_code": 0,
            "results": [
                {
                    "at": {"x": 1.0, "z": 2.0},
                    "value": 1.0,
                    "gradient": {"x": partial(2.0, "2*x", 2.0), "z": partial(None, "0", 0.0)},
                    "notes": [note("unconnected", "z", {"mode": "none"})],
                    "differentiable": True,
                }
            ],
        }
    )
    assert "tape.gradient returns None for it" in run.json["results"][0]["notes"][0]["message"]


def test_unconnected_zero_gives_zero(cli):
    run = cli("grad", "x**2", "--at", "x=1,z=2", "--unconnected", "zero", "--format", "json")
    assert run.code == 0
    assert run.json["unconnected"] == "zero"
    (result,) = run.json["results"]
    assert (
        result["gradient"]["z"]
        == approx_fd({"results": [{"gradient": {"z": partial(0.0, "0", 0.0)}}]})["results"][0]["gradient"]["z"]
    )
    assert result["notes"] == [note("unconnected", "z", {"mode": "zero"})]
    assert "UnconnectedGradients.ZERO" in result["notes"][0]["message"]


def test_unconnected_in_table_plain_and_csv(cli):
    table = cli("grad", "x**2", "--at", "x=1,z=2")
    assert table.code == 0
    z_row = next(line for line in table.stdout.splitlines() if "│ z " in line)
    assert [cell.strip() for cell in z_row.split("│")[4:8]] == ["None", "0", "0", "0"]
    assert "GradientTape gives None for z" in table.stdout
    assert cli("grad", "x**2", "--at", "x=1,z=2", "--format", "plain").stdout == "2 None\n"
    csv = cli("grad", "x**2", "--at", "x=1,z=2", "--format", "csv").stdout
    assert csv == "x,z,df/dx,df/dz,status\n1,2,2,None,agree\n"


def test_unconnected_sources_over_several_points_batched(cli):
    run = cli("grad", "x**2", "--at", "x=1,z=2", "--at", "x=3,z=4", "--format", "json")
    assert run.code == 0
    assert [r["gradient"]["z"]["tape"] for r in run.json["results"]] == [None, None]
    assert [r["gradient"]["x"]["tape"] for r in run.json["results"]] == [2.0, 6.0]


def test_unconnected_names_must_be_the_same_at_every_point(cli):
    run = cli("grad", "x**2", "--at", "x=1,z=2", "--at", "x=3")
    assert (run.code, run.stdout, run.stderr) == (2, "", "error: give the same names at every point\n")


def test_a_name_cut_by_stop_gradient_stays_zero(cli):
    run = cli("grad", "stop_gradient(x) + y", "--at", "x=1,y=2", "--format", "json")
    assert run.json["results"][0]["gradient"]["x"]["tape"] == 0.0
    assert "unconnected" not in run.json


def test_integer_inputs_show_tensorflows_answer(cli):
    run = cli("grad", "x**2 + 2*x", "--at", "x=3", "--dtype", "int32", "--format", "json")
    assert (run.code, run.stderr) == (0, "")
    warning = "The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32"
    assert run.json == approx_fd(
        {
            "expression": "x**2 + 2*x",
            "input": "x**2 + 2*x",
            "reading": [],
            "wrt": ["x"],
            "constants": {},
            "dtype": "int32",
            "order": 1,
            "clip": None,
            "tolerance": TOLERANCE,
            "status": "agree",
            "exit_code": 0,
            "results": [
                {
                    "at": {"x": 3.0},
                    "value": 15.0,
                    "gradient": {"x": partial(None, "2*x + 2", 8.0)},
                    "notes": [note("integer_dtype", "x", {"dtype": "int32", "warning": warning})],
                    "differentiable": True,
                }
            ],
        }
    )
    assert warning in run.json["results"][0]["notes"][0]["message"]


def test_integer_inputs_in_the_table_say_none_not_agree(cli):
    run = cli("grad", "x*y", "--at", "x=3,y=2", "--dtype", "int32")
    assert (run.code, run.stderr) == (0, "")
    assert "GradientTape gives None for x, y" in run.stdout
    assert "All three methods agree" not in run.stdout


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["x**2", "--at", "x=2.5"], "error: --dtype int32 takes whole numbers that fit in 32 bits; x is not one\n"),
        (
            ["x + 0.5", "--at", "x=2"],
            "error: TensorFlow cannot compute this expression on int32 tensors: "
            "Cannot convert 0.5 to EagerTensor of dtype int32\n",
        ),
    ],
)
def test_integer_inputs_tensorflow_cannot_take_are_invalid_input(cli, args, error):
    run = cli("grad", *args, "--dtype", "int32")
    assert (run.code, run.stdout, run.stderr) == (2, "", error)


def test_int32_is_only_for_grad(cli):
    run = cli("jacobian", "[x, x]", "--at", "x=1", "--dtype", "int32")
    assert run.code == 2 and run.stderr.startswith("error: ")


@pytest.mark.parametrize("option", ["--steps", "--latex"])
def test_a_list_target_has_no_single_derivation(cli, option):
    run = cli("grad", "[2*x, x**2]", "--at", "x=3", option)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --steps and --latex are for first derivatives of one expression, not of a list\n"


@pytest.mark.parametrize(("args", "expected"), [(["--order", "2"], ["2", "0", "2"]), (["--wrt", "x"], ["8", "2", "6"])])
def test_a_list_target_with_other_options(cli, args, expected):
    run = cli("grad", "[2*x, x**2]", "--at", "x=3", *args, "--format", "plain")
    assert (run.code, run.stdout.split()) == (0, expected)


@pytest.mark.parametrize(
    ("args", "plain"),
    [
        (["1", "--at", "x=1"], "None\n"),  # a constant f: every source is unconnected
        (["1", "--at", "x=1", "--at", "x=2"], "None\nNone\n"),
        (["exp(1)", "--at", "x=1,y=2", "--unconnected", "zero"], "0 0\n"),
        (["x**3", "--at", "x=1,z=2", "--order", "2"], "6 None\n"),
        (["x**3", "--at", "x=1,z=2", "--order", "2", "--unconnected", "zero"], "6 0\n"),
        (["[1, x]", "--at", "x=1"], "1\nNone\n1\n"),
    ],
)
def test_unconnected_sources_everywhere(cli, args, plain):
    run = cli("grad", *args, "--format", "plain")
    assert (run.code, run.stdout) == (0, plain)
    assert "is not connected to f" in run.stderr  # plain output's notes go to stderr


def test_a_constant_without_sources_is_still_refused(cli):
    run = cli("grad", "2")
    assert (run.code, run.stdout, run.stderr) == (2, "", "error: the expression has no variables to differentiate\n")
    assert cli("jacobian", "[1, 2]", "--at", "x=1").code == 2


def test_the_integer_warning_is_tensorflows_own_words():
    """TensorFlow logs it only once per process, so gradcli keeps the text: check it is what TF says."""
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from gradcli.witnesses.tape import INTEGER_WARNING, tensorflow\n"
        "tf = tensorflow()\n"
        "said = []\n"
        "handler = logging.Handler()\n"
        "handler.emit = lambda record: said.append(record.getMessage())\n"
        "tf.get_logger().handlers[:] = [handler]\n"
        "tf.get_logger().setLevel('WARNING')\n"
        "x = tf.Variable(3, dtype=tf.int32)\n"
        "with tf.GradientTape() as tape:\n"
        "    tape.watch(x)\n"
        "print(said == [INTEGER_WARNING])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "True", proc.stderr
