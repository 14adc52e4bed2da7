"""Issue 20, part A: every answer read the way its writer meant it, and the notes that say so."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError, ParseError
from gradcli.lang.parser import parse, parse_program, reading_notes
from gradcli.lang.printers import to_text
from tests.budget import examples


def read(text: str, **kwargs) -> str:
    return to_text(parse(text, **kwargs))


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("x^2(3 sin x + x cos x)", "x**2*(3*sin(x) + x*cos(x))"),
        ("-x(1-x^2)^(-1/2)", "(-x)*(1 - x**2)**((-1)/2)"),
        ("x(x-1)", "x*(x - 1)"),
        ("2x(x-1)", "2*x*(x - 1)"),
        ("x^x(ln x + 1)", "x**x*(log(x) + 1)"),
        ("x (2 log(x) + 1)", "x*(2*log(x) + 1)"),
        ("θ(θ+1)", "theta*(theta + 1)"),
    ],
)
def test_a_variable_before_a_bracket_multiplies(typed, meant):
    assert read(typed) == meant


def test_an_unknown_long_name_before_a_bracket_is_still_an_unknown_function():
    with pytest.raises(ParseError, match="unknown function 'foo'"):
        parse("foo(x)")
    with pytest.raises(ParseError, match="indexing"):
        parse("x[0]")


def test_a_custom_function_stays_a_call(cli):
    run = cli("grad", "cube(x) + x(1)", "--at", "x=2", "--custom", "cube(u) = u**3 : 3*u**2", "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == "cube(x) + x*1"


def test_glued_letters_split_into_the_problems_variables(cli):
    run = cli("grad", "2xy + y^2", "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == "2*x*y + y**2"
    assert run.stderr == "note: 'xy' is read as x*y\n"


def test_glued_letters_split_into_declared_variables():
    assert read("2xy", variables=frozenset({"x", "y"})) == "2*x*y"
    assert read("xy", variables=frozenset({"xy"})) == "xy"
    assert read("xz", variables=frozenset({"x", "y"})) == "xz"  # z is not the problem's: left to name checks


def test_ml_names_keep_working(cli):
    run = cli("grad", "weight*3 + bias", "--at", "weight=1,bias=2", "--format", "json")
    assert (run.code, run.json["expression"], run.stderr) == (0, "weight*3 + bias", "")


def test_a_long_name_beside_single_letters_gets_a_note():
    assert [n.kind for n in reading_notes("rate*x")] == ["whole_name"]


def test_check_reads_the_answers_names_as_the_problems_variables(cli):
    run = cli("check", "x^2*y", "--answer", "[2xy, x^2]", "--format", "json")
    assert (run.code, run.json["verdict"], run.json["answer"]) == (0, "correct", "[2*x*y, x**2]")


def test_a_signed_exponent_takes_its_term(cli):
    assert read("e^-2x") == "e**((-2)*x)"
    assert read("e^-x^2") == "e**(-x**2)"
    run = cli("check", "e^(-2x)*cos(x)", "--answer", "-2e^-2x cos x - e^-2x sin x", "--format", "json")
    assert (run.code, run.json["verdict"]) == (0, "correct"), run


@pytest.mark.parametrize("typed", ["e^2x", "1/2x", "sin x^2"])
def test_the_ambiguous_readings_keep_their_note(typed):
    assert reading_notes(typed)


def test_a_note_quotes_what_was_typed():
    assert [n.typed for n in reading_notes("x^2 y")] == ["x^2 y"]


@pytest.mark.parametrize(
    "pasted", [r"$\frac{2x}{x^2+1}$", r"$$\frac{2x}{x^2+1}$$", r"\(\frac{2x}{x^2+1}\)", r"\[\frac{2x}{x^2+1}\]"]
)
def test_pasted_wrappers_are_stripped(pasted):
    assert read(pasted) == "2*x/(x**2 + 1)"


@pytest.mark.parametrize(
    ("question", "wrt"),
    [
        ("d/dx x^2 sin(x)", "x"),
        (r"\frac{d}{dx}\left(x^2\ln x\right)", "x"),
        (r"\frac{\mathrm{d}}{\mathrm{d}x} x^3", "x"),
        (r"\frac{\differentialD}{\differentialD t} t^3", "t"),
        ("d/dt t^2 x", "t"),
    ],
)
def test_the_derivative_operator_gives_wrt(question, wrt):
    assert parse_program(question).wrt == wrt


def test_grad_takes_its_wrt_from_d_dt(cli):
    run = cli("grad", "d/dt t^2 x", "--at", "t=1,x=3", "--format", "json")
    assert run.code == 0, run
    assert (run.json["wrt"], list(run.json["results"][0]["gradient"])) == (["t"], ["t"])


def test_a_different_wrt_is_an_error(cli):
    run = cli("grad", "d/dx x^2", "--at", "x=1", "--wrt", "y")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: the expression asks for d/dx but --wrt says y: give one of them\n"


def test_check_compares_with_the_operators_variable(cli):
    run = cli("check", "d/dx x^2 y", "--answer", "2xy", "--format", "json")
    assert (run.code, run.json["verdict"]) == (0, "correct"), run


@pytest.mark.parametrize(
    ("latex", "meant"),
    [
        (r"\arcsinh x + \arsinh x", "asinh(x) + asinh(x)"),
        (r"\arccosh x + \operatorname{arcosh}(x)", "acosh(x) + acosh(x)"),
        (r"\arctanh x", "atanh(x)"),
        (r"\left[x-1\right]^2 + [x+1]", "(x - 1)**2 + (x + 1)"),
        (r"x\,+\:x\;+\!x\quad+\qquad x\thinspace+\medspace x", "x + x + x + x + x"),
        (r"x\thickspace+\negthinspace x\enspace", "x + x"),
        (r"\max(x, y, 1) + \min(x, y, 2, 3)", "max(max(x, y), 1) + min(min(min(x, y), 2), 3)"),
        (r"\lbrace x + 1\rbrace^2", "(x + 1)**2"),
        (r"\exponentialE^{x}\mleft(x+1\mright)", "e**x*(x + 1)"),
        (r"\left|x\right| + |y|", "abs(x) + abs(y)"),
    ],
)
def test_latex_as_other_tools_write_it(latex, meant):
    assert read(latex) == meant


def test_typed_brackets_group_a_factor_and_lists_keep_commas():
    assert read("3[x-1]^2") == "3*(x - 1)**2"
    assert read("ln[x^2+1]") == "log(x**2 + 1)"
    assert read("[x, [y - 1]^2]", allow_lists=True) == "[x, (y - 1)**2]"


def test_spacing_is_never_the_step_separator():
    assert parse_program(r"\frac{1}{2}\;x").text == "1/2*x"


@pytest.mark.parametrize("latex", [r"\imaginaryI x", r"x + \mathrm{i}"])
def test_an_imaginary_unit_is_refused(cli, latex):
    run = cli("grad", latex, "--at", "x=1")
    assert (run.code, run.stdout) == (2, "")
    assert "complex numbers are not supported" in run.stderr


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("x = 2; x*x", "step 'x = 2' gives x a value"),
        ("log(x, 1)", "a logarithm to base 1 is not a function"),
        (r"\placeholder{} + x", "empty placeholder"),
    ],
)
def test_smaller_misreadings_are_refused(cli, typed, message):
    run = cli("grad", typed, "--at", "x=2")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: ") and message in run.stderr and run.stderr.count("\n") == 1


def test_log_says_once_it_is_the_natural_log():
    assert [n.kind for n in reading_notes("log x + log(x^2)")] == ["natural_log"]
    assert reading_notes("ln x + lg x") == []


@pytest.mark.parametrize(
    "hostile",
    [
        "[" * 1000 + "x" + "]" * 1000,
        "$" * 500 + "x" + "$" * 500,
        "$$$x$$$",
        r"\mleft(x" * 100,
        "a" * 10_000,
        "x" * 999,
    ],
)
def test_hostile_readings_are_refused_in_one_line(cli, hostile):
    run = cli("grad", hostile, "--at", "x=1")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1


_LETTERS = st.sampled_from(["x", "y", "t"])


@st.composite
def _products(draw):
    """A coefficient and glued single letters with signed exponents: 3xy^2e^-2t."""
    coefficient = draw(st.integers(1, 9))
    letters = draw(st.lists(_LETTERS, min_size=1, max_size=3, unique=True))
    exponent = draw(st.integers(1, 5))
    return coefficient, letters, exponent


@settings(max_examples=examples(100), deadline=None)
@given(_products())
def test_glued_products_read_back_to_their_tree(product):
    coefficient, letters, exponent = product
    glued = f"{coefficient}{''.join(letters)} + {' + '.join(letters)} + e^-{exponent}{letters[0]}"
    explicit = f"{coefficient}*{'*'.join(letters)} + {' + '.join(letters)} + e^(-{exponent}*{letters[0]})"
    assert to_text(parse(glued)) == to_text(parse(explicit))


@settings(max_examples=examples(100), deadline=None)
@given(st.text(alphabet="[]$x()\\{}^-2 ", max_size=60))
def test_bracket_and_dollar_soup_raises_only_gradclis_errors(text):
    with contextlib.suppress(GradcliError):
        parse(text)
