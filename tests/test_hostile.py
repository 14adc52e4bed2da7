"""Untrusted input: every hostile or malformed input is exit 2, one 'error:' line, nothing run."""

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError
from gradcli.lang.parser import parse
from tests.budget import examples

SENTINEL = "/tmp/gradcli-sentinel-{}"

HOSTILE_EXPRESSIONS = [
    "__import__('os').system('touch {s}')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('{s}', 'w')",
    "exec(\"open('{s}','w')\")",
    "eval('1')",
    "lambda: open('{s}','w')",
    "[open('{s}','w') for _ in [1]]",
    "(x := 1)",
    "x.__class__",
    "x.real",
    "x[0]",
    "x[::-1]",
    "f'{{x}}'",
    "'abc'",
    "b'abc'",
    "import os",
    "x if x else 1",
    "x and y",
    "not x",
    "~x",
    "x < 1",
    "{{1: 2}}",
    "{{1, 2}}",
    "(1, 2)",
    "*x",
    "sin(*x)",
    "max(a=x, b=1)",
    "x; open('{s}','w')",
    "x\nopen('{s}','w')",
    "x # comment",
    "x \\\n + 1",
    "\x00x",
    "ｘ**2",
    "café*2",
    "__x",
    "_x + 1",
    "2j*x",
    "0x1F*x",
    "1_000*x",
    "10**10**10",
    "((9**9)**9999)**9999",
    "x**(10**5)",
    "exp(exp(exp(1000)))",
    "1e999*x",
    "9" * 400 + "*x",
    "x+" * 600 + "x",
    "sin(" * 210 + "x" + ")" * 210,
    "",
    "   ",
    "x +",
    "(x",
    "x)",
    "2 3",
    "x y",
    "sqr(x)",
    "foo(x)",
    "print(x)",
    "getattr(x, 'y')",
    "globals()",
    "sin",
    "max(x)",
    "log(x, 2, 3)",
    "x // 2",
    "x @@ y",
    "x $ 2",
    "yield x",
    "await x",
    # textbook notation and LaTeX (issue 9)
    "ｅｘｐ(x)",
    "ｓｉｎ(x) + x",
    "x + ０",
    "|" * 1000 + "x" + "|" * 1000,
    "|" * 999,
    "|" * 400 + "x" + "|" * 400,
    "\\frac{{1}}{{" * 150 + "x" + "}}" * 150,
    "|x|y|z|",
    "sin^99999(x)",
    "sin^(-99999) x",
    "sin " * 300 + "x",
    "\\def\\a{{\\a\\a}}\\a",
    "\\newcommand{{\\f}}{{\\f\\f}}\\f",
    "\\input{{{s}}}",
    "\\write18{{touch {s}}}",
    "\\csname sin\\endcsname(x)",
    "\\begin{{verbatim}}x\\end{{verbatim}}",
    "\\frac{{" * 300 + "1" + "}}{{x}}" * 300,
    "\\frac" * 600 + "12",
    "\\sqrt[" * 300 + "x",
    "\\left(" * 400 + "x",
    "{{" * 900,
]


@pytest.mark.parametrize("template", HOSTILE_EXPRESSIONS)
def test_hostile_expression_is_refused_cleanly(cli, template, tmp_path):
    sentinel = tmp_path / "ran"
    expression = template.replace("{s}", str(sentinel)).replace("{{", "{").replace("}}", "}")
    started = time.perf_counter()
    run = cli("grad", expression, "--at", "x=1")
    elapsed = time.perf_counter() - started
    assert run.code == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith("error: ")
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr
    assert not sentinel.exists()
    assert elapsed < 1.0


HOSTILE_POINTS = [
    ["--at", "x=__import__('os')"],
    ["--at", "x=open('f')"],
    ["--at", "x=y"],
    ["--at", "x"],
    ["--at", "x="],
    ["--at", "=1"],
    ["--at", "1x=2"],
    ["--at", "pi=3"],
    ["--at", "sin=3"],
    ["--at", "x=[1,[2]]"],
    ["--at", "x=[]"],
    ["--at", "x=[1,2]+1"],
    ["--at", "x=1e999"],
    ["--at", "x=1/0"],
    ["--at", "x=[" + ",".join(["1"] * 1001) + "]"],
    ["--at", "x=1", "--at", "y=2", "--at", "x=3"],
    ["--at", "x=1", "--const", "y=2"],
    ["--at", "x=1", "--const", "x=2"],
    ["--at", "x=1", "--watch", "x"],
    ["--at", "x=1", "--wrt", "q"],
    ["--at", "x=1", "--dtype", "float16"],
    ["--at", "x=1", "--format", "xml"],
    ["--at", "x=1", "--no-such-option"],
    ["--const", "c=1"],  # without --at, grad prints the derivative, which takes no constants
]


@pytest.mark.parametrize("options", HOSTILE_POINTS)
def test_bad_point_is_refused_cleanly(cli, options):
    run = cli("grad", "x**2", *options)
    assert run.code == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr


def test_error_names_position_and_hint(cli):
    run = cli("grad", "x + sqr(x)", "--at", "x=1")
    assert run.stderr == "error: unknown function 'sqr' (column 5): did you mean 'sqrt'?\n"


def test_missing_and_extra_names_are_listed(cli):
    assert "no value for y" in cli("grad", "x*y", "--at", "x=1").stderr
    assert "z not in the expression" in cli("grad", "x", "--at", "x=1", "--const", "z=2").stderr


def test_non_scalar_target_is_summed_and_points_to_jacobian(cli):
    run = cli("grad", "x*2", "--at", "x=[1,2]")
    assert run.code == 0 and "gradcli jacobian" in run.stdout


@settings(max_examples=examples(400), deadline=None)
@given(st.text(max_size=80))
def test_fuzz_arbitrary_text_only_raises_gradcli_errors_quickly(text):
    started = time.perf_counter()
    with contextlib.suppress(GradcliError):
        parse(text)
    assert time.perf_counter() - started < 0.5


@settings(max_examples=examples(300), deadline=None)
@given(st.text(alphabet="x(y)+-*/^@.,0123456789e pisqrtlogab[]", max_size=60))
def test_fuzz_expression_like_text(text):
    with contextlib.suppress(GradcliError):
        parse(text, allow_lists=True)


def test_an_unfinished_expression_points_at_its_end(cli):
    run = cli("grad", "x**2 +", "--at", "x=1")
    assert run.stderr == "error: the expression ends with '+': something is missing after it (column 6)\n"
