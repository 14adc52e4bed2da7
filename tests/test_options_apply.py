"""No option is ever silently ignored: every command's options, alone and in pairs, either apply in the mode
they pose or are refused with one `error:` line and exit 2 (issue 20). And the derived questions of grad
(--implicit, --direction) take every option they declare."""

from __future__ import annotations

import importlib
import itertools

import pytest
import typer

from gradcli.app.main import app

# Commands whose every option applies whenever it is given (no mode refuses any of them).
EVERY_OPTION_APPLIES = {"jvp", "vjp", "plot", "data line", "batch", "serve"}
# What each command needs before its options are looked at (positional arguments, required options).
BASE = {
    "grad": ["x*y"],
    "jacobian": ["[x*y]"],
    "hessian": ["x*y"],
    "check": [],
    "descend": ["w**2", "--from", "w=1"],
    "worker": ["status"],
}
SAMPLE = {  # a value of the right type for each option that takes one
    "--at": "x=1,y=2",
    "--const": "c=1",
    "--wrt": "x",
    "--watch": "c",
    "--format": "json",
    "--clip-value": "-1:1",
    "--stop": "y",
    "--of": "y",
    "--custom": "cube(x) = x**3 : 3*x**2",
    "--points": "points.csv",
    "--on-error": "stop",
    "--implicit": "y",
    "--direction": "1,1",
    "--unconnected": "zero",
    "--answer": "2*x",
    "--file": "answers.csv",
    "--range": "x=0:1",
    "--dtype": "float32",
    "--from": "w=2",
    "--lr": "0.1",
    "--optimizer": "adam",
    "--trace": "trace.csv",
    "--data": "data.csv",
    "--batch-size": "1",
    "--plot": "loss.png",
    "--rtol": "0.01",
}


def _commands():
    group = typer.main.get_command(app)
    for name, command in sorted(group.commands.items()):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            yield from ((f"{name} {sub}", c) for sub, c in sorted(subcommands.items()))
        else:
            yield name, command


def _options(command):
    return [p for p in command.params if p.param_type_name == "option" and p.name != "help"]


COMMAND_SAMPLE = {("check", "--points"): "2", ("check", "--problems"): "problems.csv"}  # check's --points is a number


def _given(param, name: str = "") -> list[str]:
    flag = param.opts[0]
    if param.is_flag:
        return [flag]
    return [flag, COMMAND_SAMPLE.get((name, flag)) or SAMPLE.get(flag, "2")]  # every other option takes a number


COMMANDS = dict(_commands())


def test_every_command_declares_where_each_of_its_options_applies():
    for name, command in COMMANDS.items():
        if name in EVERY_OPTION_APPLIES:
            continue
        module = importlib.import_module(command.callback.__module__)
        declared = set().union(*(mode.options for mode in module.MODES))
        assert {p.name for p in _options(command)} <= declared, name


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - EVERY_OPTION_APPLIES))
def test_every_option_alone_and_in_pairs_applies_or_is_refused(cli, name):
    """The walk: each option and each pair of options given to each command. Where the mode they pose does not
    take one of them, the command says so before any work: one error line naming it, exit 2, nothing on stdout."""
    command = COMMANDS[name]
    module = importlib.import_module(command.callback.__module__)
    refused = 0
    for a, b in itertools.combinations_with_replacement(_options(command), 2):
        given = frozenset({a.name, b.name})
        mode = module.choose(given, {"action": BASE[name][0]} if name == "worker" else {})
        out = [p for p in _options(command) if p.name in given - mode.options]
        if not out:
            continue
        argv = [*name.split(), *BASE[name], *_given(a, name), *([] if a is b else _given(b, name))]
        run = cli(*argv)
        refused += 1
        assert run.code == 2, argv
        assert run.stdout == "", argv
        assert run.stderr == f"error: {out[0].opts[0]} does not apply {mode.when}{_elsewhere(module, out[0])}\n", argv
    assert refused > 0


def _elsewhere(module, param) -> str:
    where = [m.when for m in module.MODES if param.name in m.options]
    return f"; it applies {' or '.join(where)}" if where else ""


def test_options_that_apply_are_not_refused(cli):
    assert cli("worker", "start", "--idle", "0", "--help").code == 0
    run = cli("check", "x^2", "--answer", "2*x", "--range", "x=0:1")
    assert run.code == 0, run.stderr


# ---------------------------------------------------------------- named examples of the issue


def test_the_options_grad_used_to_ignore_are_refused(cli):
    run = cli("grad", "x^2", "--dtype", "float32")
    assert run.code == 2 and run.stdout == ""
    assert run.stderr == (
        "error: --dtype does not apply without --at (grad prints the derivative's formula); "
        "it applies at a point (--at) or with --points\n"
    )
    run = cli("grad", "x*y", "--points", "p.csv", "--frameworks")
    assert run.code == 2 and run.stderr.startswith("error: --frameworks does not apply with --points;")
    run = cli("check", "--file", "answers.csv", "--order", "2")
    assert run.code == 2 and run.stderr.startswith("error: --order does not apply with --file")
    run = cli("descend", "w**2", "--from", "w=1", "--epochs", "3")
    assert run.code == 2 and run.stderr.startswith("error: --epochs does not apply without --data")


def test_an_equation_without_implicit_says_add_implicit(cli):
    for args in (["x^2+y^2=25"], ["x^2+y^2=25", "--at", "x=3,y=4"]):
        run = cli("grad", *args)
        assert (run.code, run.stdout) == (2, "")
        assert run.stderr == "error: an equation: add --implicit y (dy/dx on the curve)\n"


def test_a_program_with_one_named_step_is_not_an_equation(cli):
    run = cli("grad", "y = x*x; y + 1", "--at", "x=3", "--format", "plain")
    assert (run.code, run.stdout) == (0, "6\n")


def test_implicit_second_derivative_at_a_point_is_minus_25_over_64(cli):
    run = cli("grad", "x^2+y^2=25", "--implicit", "y", "--at", "x=3,y=4", "--order", "2", "--format", "json")
    assert run.code == 0, run.stderr
    doc = run.json
    assert (doc["of"], doc["order"], doc["sampled"]) == ("d2y/dx2", 2, False)
    (point,) = doc["results"]
    assert point["exact"] == -25 / 64
    assert point["tape"] == pytest.approx(-25 / 64, rel=1e-12)
    assert point["finite_difference"] == pytest.approx(-25 / 64, rel=1e-5)
    assert point["agree"] and point["differentiable"]


def test_implicit_third_derivative_by_nested_tapes(cli):
    # y = sqrt(25 - x^2): y''' = -75 x / y^5 at (3, 4) = -225/1024
    run = cli("grad", "x^2+y^2=25", "--implicit", "y", "--at", "x=3,y=4", "--order", "3", "--format", "json")
    (point,) = run.json["results"]
    assert run.code == 0 and point["exact"] == pytest.approx(-225 / 1024, rel=1e-12)
    assert point["tape"] == pytest.approx(-225 / 1024, rel=1e-9)


def test_implicit_without_a_point_prints_the_formula_checked_on_the_curve(cli):
    run = cli("grad", "x^2+y^2=25", "--implicit", "y", "--format", "json")
    assert run.code == 0, run.stderr
    doc = run.json
    assert (doc["symbolic"], doc["sampled"], len(doc["results"])) == ("-x/y", True, 5)
    for point in doc["results"]:
        assert point["at"]["x"] ** 2 + point["at"]["y"] ** 2 == pytest.approx(25, rel=1e-12)
        assert point["agree"] and point["exact"] == pytest.approx(-point["at"]["x"] / point["at"]["y"])
    assert cli("grad", "x^2+y^2=25", "--implicit", "y", "--format", "plain").stdout == "-x/y\n"


def test_implicit_takes_constants(cli):
    run = cli("grad", "x^2+y^2=a^2", "--implicit", "y", "--const", "a=5", "--at", "x=3,y=4", "--format", "plain")
    assert (run.code, run.stdout) == (0, "-0.75\n")
    run = cli("grad", "x^2+y^2=a^2", "--implicit", "y", "--const", "a=5", "--at", "x=3,y=3")
    assert run.code == 2 and "not on the curve" in run.stderr


def test_implicit_steps_and_latex(cli):
    doc = cli("grad", "x^2+y^2=25", "--implicit", "y", "--at", "x=3,y=4", "--steps", "--latex", "--format", "json").json
    assert set(doc["steps"]) == {"x", "y"} and doc["steps"]["y"][-1]["derivative"] == "2*y"
    assert doc["latex"]["result"] == "- \\frac{x}{y}"
    run = cli("grad", "x^2+y^2=25", "--implicit", "y", "--at", "x=3,y=4", "--steps", "--order", "2")
    assert (run.code, run.stderr) == (2, "error: --steps and --latex are for first derivatives\n")


def test_direction_without_a_point_and_at_second_order(cli):
    run = cli("grad", "x^2*y", "--direction", "3,4", "--format", "plain")
    assert (run.code, run.stdout) == (0, "2*x*(2*x + 3*y)/5\n")
    run = cli("grad", "x*y", "--direction", "1,1", "--at", "x=1,y=2", "--order", "2", "--format", "json")
    (point,) = run.json["results"]
    assert run.code == 0 and point["exact"] == pytest.approx(1.0) and point["tape"] == pytest.approx(1.0)
    run = cli("grad", "a*x*y", "--direction", "3,4", "--const", "a=2", "--at", "x=1,y=2", "--format", "plain")
    assert (run.code, run.stdout) == (0, "4\n")  # a (0.6 y + 0.8 x) = 2 * 2


@pytest.mark.parametrize(
    "args",
    [
        ["x^2+y^2=25", "--implicit", "y", "--at", "x=3,y=4", "--steps", "--latex"],
        ["x^2+y^2=25", "--implicit", "y", "--order", "2"],
        ["x*y", "--direction", "1,2", "--at", "x=1,y=2", "--order", "2"],
    ],
)
def test_derived_json_matches_its_schema(cli, args):
    from tests.test_schema import assert_valid

    run = cli("grad", *args, "--format", "json")
    assert run.code == 0, run.stderr
    assert_valid("derived.json", run.json)


def test_x_to_the_zero_is_the_constant_one_with_derivative_zero(cli):
    """Issue 20: `grad "x**0" --at x=0` is 1 with slope 0 (tf.pow's own gradient there is nan)."""
    run = cli("grad", "x**0", "--at", "x=0", "--format", "json")
    assert run.code == 0, run.stderr
    (point,) = run.json["results"]
    assert point["value"] == 1
    assert point["gradient"]["x"]["tape"] == point["gradient"]["x"]["exact"] == 0
