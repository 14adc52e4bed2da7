"""LaTeX in (issue 9): a fixed subset translated into gradcli's language, then the same safe parser."""

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError, LimitError, ParseError
from gradcli.lang.parser import parse
from gradcli.lang.printers import to_latex, to_text, to_textbook
from tests.budget import examples


@pytest.mark.parametrize(
    ("pasted", "read"),
    [
        (r"\frac{1}{2}x^{2}", "1/2*x**2"),
        (r"\sqrt{x+1}", "sqrt(x + 1)"),
        (r"\sin^{2}(x)", "sin(x)**2"),
        (r"e^{-x^2}", "e**(-x**2)"),
        (r"\left|x\right|", "abs(x)"),
        (r"\ln x", "log(x)"),
        (r"x \cdot y", "x*y"),
        (r"\operatorname{sech}(x)", "sech(x)"),
        (r"\sqrt[3]{x}", "cbrt(x)"),
        (r"\sqrt[5]{x}", "x**(1/5)"),
        (r"\dfrac{x}{y}", "x/y"),
        (r"\tfrac{1}{2}x", "1/2*x"),
        (r"\tfrac12 x", "1/2*x"),
        (r"\mathrm{e}^{x}", "e**x"),
        (r"x\,y", "x*y"),
        (r"x \times y \div 2", "x*y/2"),
        (r"\log_{2}(x)", "log2(x)"),
        (r"\log_{10} x", "log10(x)"),
        (r"\log_{3} x", "log(x, 3)"),
        (r"\sin^{-1}(x)", "asin(x)"),
        (r"\tan^{-1} x", "atan(x)"),
        (r"\cos^{3}(2x)", "cos(2*x)**3"),
        (r"\pi r^{2}", "pi*r**2"),
        (r"\sin xy", "sin(x*y)"),
        (r"e^{x}\sin x", "e**x*sin(x)"),
        (r"\left(x+1\right)\left(x-1\right)", "(x + 1)*(x - 1)"),
        (r"\lvert x \rvert + \left|x - 1\right|", "abs(x) + abs(x - 1)"),
        (r"\mathrm{xy}^{2}", "xy**2"),
        (r"\sin{\left(x \right)}", "sin(x)"),
        (r"\frac{\frac{1}{x}}{1+x}", "1/x/(1 + x)"),
        (r"\, x^23", "x**2*3"),
        (r"\exp(x^{2}) \, \! \; \: \quad", "exp(x**2)"),
        (r"\operatorname{arsinh}(x) + \arctan x", "asinh(x) + atan(x)"),
        ("{x}^2", "x**2"),
        (r"\sin\theta + \alpha^{2}", "sin(theta) + alpha**2"),
    ],
)
def test_latex_is_read_into_gradcli_language(pasted, read):
    assert to_text(parse(pasted)) == read


def test_a_one_column_matrix_is_a_list_for_jacobian(cli):
    run = cli("jacobian", r"\begin{pmatrix} xy \\ x+y \end{pmatrix}", "--at", "x=1,y=2", "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == "[x*y, x + y]"


@pytest.mark.parametrize(
    ("pasted", "column", "message"),
    [
        (r"x + \input{/etc/passwd}", 5, r"'\input' defines or runs TeX code; gradcli reads only maths"),
        (r"\def\x{1} \x", 1, r"'\def' defines or runs TeX code; gradcli reads only maths"),
        (r"\csname sin\endcsname", 1, r"'\csname' defines or runs TeX code; gradcli reads only maths"),
        (r"\newcommand{\f}{x} \f", 1, r"'\newcommand' defines or runs TeX code; gradcli reads only maths"),
        (r"\begin{align} x \end{align}", 1, r"'\begin{align}' is not allowed; only a one-row or one-column matrix"),
        (r"x + \foo", 5, r"unknown LaTeX command '\foo'"),
        (r"\frac{1}{x", 9, "this '{' is not closed"),
        (r"x}", 2, "'}' without a matching '{'"),
        (r"\sqrt", 1, r"'\sqrt' needs an argument"),
        (r"x \approx 1", 3, r"unknown LaTeX command '\approx'"),
        (r"\mathrm{__import__}(x)", 1, "names may not start with '_' ('__import__')"),
        (r"\mathrm{lambda} + x", 1, "Python keyword 'lambda' is not allowed"),
        (r"\, 1.2.3", 4, "'1.2.3' is not a plain decimal number"),
        (r"\lambda x", 1, r"'\lambda' cannot be a name in gradcli (lambda is reserved)"),
    ],
)
def test_unknown_or_dangerous_latex_is_an_error_with_its_column(pasted, column, message):
    with pytest.raises(ParseError) as info:
        parse(pasted)
    assert info.value.message == message
    assert info.value.column == column - 1


def test_latex_error_through_the_cli(cli, tmp_path):
    sentinel = tmp_path / "ran"
    run = cli("grad", rf"\input{{{sentinel}}} + x", "--at", "x=1")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: '\\input' defines or runs TeX code; gradcli reads only maths (column 1)\n"
    assert not sentinel.exists()


@pytest.mark.parametrize(
    "pasted",
    [
        r"\frac{" * 300 + "1" + "}{x}" * 300,
        r"\frac" * 500 + "12",
        r"\sqrt{" * 400 + "x" + "}" * 400,
        r"\left|" * 300 + "x" + r"\right|" * 300,
        r"\sin^{99999}(x)",
        "{" * 1000,
        r"\def\a{\a\a}\a",
        r"\csname\endcsname" * 50,
    ],
)
def test_hostile_latex_is_a_fast_exit_2(pasted):
    started = time.perf_counter()
    with pytest.raises((ParseError, LimitError)):
        parse(pasted)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("args", "expression"),
    [
        (["grad", r"\frac{1}{2}x^{2}", "--at", "x=3"], "1/2*x**2"),
        (["check", r"\sin^{2}(x)", "--answer", r"\sin(2x)"], "sin(x)**2"),
        (["grad", "--from-latex", "2xy", "--at", "x=1,y=2"], "2*x*y"),
        (["hessian", r"x^{2}y", "--at", "x=1,y=2"], "x**2*y"),
    ],
)
def test_latex_through_the_commands(cli, args, expression):
    run = cli(*args, "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == expression


def test_latex_output_of_grad_reads_back(cli):
    run = cli("grad", "sin^2 x + |x|", "--at", "x=1", "--latex", "--format", "json")
    assert run.code == 0, run
    printed = run.json["latex"]["function"]
    assert printed == r"\sin\left(x\right)^{2} + \left|x\right|"
    assert to_text(parse(printed)) == "sin(x)**2 + abs(x)"


# ---------------------------------------------------------------- round trips

UNARY = ["sin", "cos", "tan", "sec", "csc", "cot", "asin", "atan", "acot", "sinh", "cosh", "tanh", "sech", "coth"]
UNARY += ["asinh", "atanh", "exp", "log", "log2", "log10", "sqrt", "abs", "sign", "sigmoid", "relu"]


def trees():
    leaves = st.one_of(
        st.sampled_from(["x", "y", "xy", "x1", "t", "pi", "e"]),
        st.sampled_from(["1", "2", "10", "0.5", "2.25", "1e-05", "1e+20"]),
    )

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
            st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(UNARY), inner, st.integers(1, 4)).map(lambda t: f"{t[0]}({t[1]})**{t[2]}"),
            st.tuples(st.sampled_from(["max", "min", "log"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            inner.map(lambda t: f"-({t})"),
        )

    return st.recursive(leaves, extend, max_leaves=8).map(_parse_or_none).filter(lambda tree: tree is not None)


def _parse_or_none(text):
    try:
        return parse(text)
    except GradcliError:  # a constant out of range, e.g. (1e+20)**(1e+20)
        return None


@settings(max_examples=examples(300), deadline=None)
@given(trees())
def test_latex_printed_by_gradcli_reads_back_to_the_same_tree(tree):
    assert parse(to_latex(tree)) == tree


@settings(max_examples=examples(300), deadline=None)
@given(trees())
def test_textbook_notation_reads_back_to_the_same_tree(tree):
    assert parse(to_textbook(tree)) == tree


PIECES = [
    "|", "^", "-", "(", ")", "sin", "x", "2", " ", "\\frac", "{", "}", "_", "ln", "log_2", "√", "²", "⁻", "π",
    "\\left|", "\\right|", "\\sqrt", "[", "]", ",", "e", "*", "/", "\\sin", "\\cdot", "max", "\\begin{pmatrix}",
    "\\end{pmatrix}", "&", "\\\\", "\\operatorname{sech}", "\\mathrm{", "·", "−", "sin^-1", "cos^2", ".5", ".",
    "\\left(", "\\right)", "\\log_", "sgn", "ｅ", "\\def", "\\input",
]  # fmt: skip


@settings(max_examples=examples(500), deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=16).map("".join), st.booleans())
def test_notation_and_latex_fragments_only_raise_gradcli_errors_quickly(text, lists):
    started = time.perf_counter()
    with contextlib.suppress(GradcliError):
        parse(text, allow_lists=lists)
    assert time.perf_counter() - started < 1.0


# ---------------------------------------------------------------- --from-latex is a parameter, not ambient state


def test_from_latex_reads_the_expression_as_latex_but_never_the_point(cli):
    run = cli("grad", "x^2", "--at", "x=1e-3", "--from-latex", "--format", "plain")
    assert (run.code, run.stdout, run.stderr) == (0, "0.002\n", "")  # 1e-3 is a number, not 1·e − 3


def test_from_latex_reads_the_answer_of_check_as_latex(cli):
    run = cli("check", "x^2*y", "--answer", "2xy", "--wrt", "x", "--from-latex", "--format", "json")
    assert run.code == 0, run
    assert (run.json["verdict"], run.json["answer"]) == ("correct", "2*x*y")
    typed = cli("check", "x^2*y", "--answer", "2xy", "--wrt", "x", "--format", "json")  # the problem's x and y
    assert (typed.code, typed.json["answer"]) == (0, "2*x*y")


def test_from_latex_check_at_a_point_reads_the_point_as_a_number(cli):
    run = cli("check", "x^2", "--answer", "0.002", "--at", "x=1e-3", "--from-latex", "--format", "json")
    assert (run.code, run.json["verdict"]) == (0, "correct"), run


def test_the_reading_mode_is_a_parameter_of_the_parse():
    assert to_text(parse("2xy", latex=True)) == "2*x*y"
    assert to_text(parse("2xy")) == "2*xy"
    assert to_text(parse("1e-3", value=True)) == "0.001"


def test_the_library_takes_from_latex_and_reads_points_as_numbers():
    from gradcli.solve.gradient import grad

    result = grad("x^2", at={"x": "1e-3"}, from_latex=True)
    assert result.results[0].gradient[0].tape == pytest.approx(0.002)
