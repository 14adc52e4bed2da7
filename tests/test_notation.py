"""Textbook notation (issue 9): what people type is read into gradcli's language, and the reading is shown."""

import math
import time

import pytest

from gradcli.errors import LimitError, ParseError
from gradcli.lang.parser import parse, parse_reading
from gradcli.lang.printers import to_text
from gradcli.lang.tree import free_names


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        # names
        ("ln x", "log(x)"),
        ("ln(x)", "log(x)"),
        ("lg x", "log10(x)"),
        ("log_2(x)", "log2(x)"),
        ("log_10 x", "log10(x)"),
        ("log_3(x)", "log(x, 3)"),
        ("log_b(x)", "log(x, b)"),
        ("log(x, 5)", "log(x, 5)"),
        ("arcsin(x) + arccos(x) + arctan(x)", "asin(x) + acos(x) + atan(x)"),
        ("arcsinh(x) + arsinh(x) + arcosh(x) + artanh(x)", "asinh(x) + asinh(x) + acosh(x) + atanh(x)"),
        ("sec(x) + csc(x) + cot(x)", "sec(x) + csc(x) + cot(x)"),
        ("arcsec(x) + acsc(x) + arccot(x)", "asec(x) + acsc(x) + acot(x)"),
        ("sech(x) + csch(x) + coth(x)", "sech(x) + csch(x) + coth(x)"),
        ("sgn(x) + sign(x)", "sign(x) + sign(x)"),
        ("x**2*E**x", "x**2*e**x"),
        ("π*x", "pi*x"),
        ("2πx", "2*pi*x"),
        # bars
        ("|x|", "abs(x)"),
        ("|x|^3", "abs(x)**3"),
        ("|x^2 - 4| + x", "abs(x**2 - 4) + x"),
        ("||x| - 1|", "abs(abs(x) - 1)"),
        ("2|x|", "2*abs(x)"),
        ("x|x|", "x*abs(x)"),
        ("|x||y|", "abs(x)*abs(y)"),
        ("|x|y", "abs(x)*y"),
        ("|-x| + |x - 1|", "abs(-x) + abs(x - 1)"),
        # function powers
        ("sin^2(x)", "sin(x)**2"),
        ("sin^2 x", "sin(x)**2"),
        ("cos^3(2x)", "cos(2*x)**3"),
        ("sin^-1(x)", "asin(x)"),
        ("tan^(-1) x", "atan(x)"),
        ("cos^{-1}".replace("{", "(").replace("}", ")") + " x", "acos(x)"),
        ("sin^2(x) + cos^2(x)", "sin(x)**2 + cos(x)**2"),
        ("sin²x", "sin(x)**2"),
        # application without parentheses
        ("sin x", "sin(x)"),
        ("ln x", "log(x)"),
        ("x sin x", "x*sin(x)"),
        ("sin 2x", "sin(2*x)"),
        ("sin 2x + 1", "sin(2*x) + 1"),
        ("sin x cos x", "sin(x)*cos(x)"),
        ("ln sin x", "log(sin(x))"),
        ("sin x^2", "sin(x**2)"),
        ("sin -x", "sin(-x)"),
        ("e^-x", "e**(-x)"),
        ("e^-x^2", "e**(-x**2)"),
        ("exp x/2", "exp(x)/2"),
        ("sqrt x + 1", "sqrt(x) + 1"),
        ("sin(x)cos(x)", "sin(x)*cos(x)"),
        ("2 sin x", "2*sin(x)"),
        ("x e^x", "x*e**x"),
        ("x^2 sin x", "x**2*sin(x)"),
        ("ln|x|", "log(abs(x))"),
        # a function name glued to a one-letter argument
        ("sinx", "sin(x)"),
        ("sin2x", "sin(2*x)"),
        ("lnx + cos3t", "log(x) + cos(3*t)"),
        ("tan^2x", "tan(x)**2"),
        ("signal + mini + means", "signal + mini + means"),
        # Unicode from PDFs and web pages
        ("x² + 3x", "x**2 + 3*x"),
        ("x⁻¹", "x**(-1)"),
        ("x¹⁰", "x**10"),
        ("√x", "sqrt(x)"),
        ("√(x+1)", "sqrt(x + 1)"),
        ("∛x", "cbrt(x)"),
        ("∛(x-8)", "cbrt(x - 8)"),
        ("x√x", "x*sqrt(x)"),
        ("2·x", "2*x"),
        ("2⋅x", "2*x"),
        ("x×y", "x*y"),
        ("x÷2", "x/2"),
        ("x − 1", "x - 1"),
        ("x\u00a0+\u2009y\u202f*\u2009z", "x + y*z"),
        ("e⁻ˣ", "e**(-x)"),
        ("cos²θ + 2θ", "cos(theta)**2 + 2*theta"),
        ("(x+1)^2(x-1)", "(x + 1)**2*(x - 1)"),
    ],
)
def test_textbook_notation_is_read_into_gradcli_language(typed, read):
    tree = parse(typed)
    assert to_text(tree) == read
    assert parse(to_text(tree)) == tree


@pytest.mark.parametrize(
    ("typed", "note"),
    [
        ("1/2x", "'1/2x' is read as (1/2)*x; for 1/(2x) write 1/(2*x)"),
        ("e^2x", "'e^2x' is read as (e^2)*x; for e^(2x) write e^(2*x)"),
        ("sin x^2", "'sin x^2' is read as sin(x^2); for a power of sin write sin(...)^n"),
        ("cost", "'cost' is read as cos(t)"),
        ("1/2sqrt(x)", "'1/2sqrt(...)' is read as (1/2)*sqrt(...); for 1/(2sqrt(...)) write 1/(2*sqrt(...))"),
        ("sin2x", "'sin2x' is read as sin(2x)"),
    ],
)
def test_known_traps_get_a_note(typed, note):
    assert [str(n) for n in parse_reading(typed)[1]] == [note]


@pytest.mark.parametrize("typed", ["1/(2x)", "x/2*y", "sin(x^2)", "sin(x)^2", "e^(2x)", "2x", "(x+1)^2(x-1)", "x^2e^x"])
def test_unsurprising_readings_get_no_note(typed):
    assert parse_reading(typed)[1] == []


@pytest.mark.parametrize(
    ("typed", "column", "fragment"),
    [
        ("|x|y|z|", 3, "the bars '|' here can be read two ways"),
        ("|x", 1, "this '|' is not closed"),
        ("(|x)", 2, "this '|' is not closed"),
        ("||", 2, "this '|' is not closed"),
        ("|()|", 2, "is not allowed"),
        ("sin^x(x)", 1, "expects a number"),
        ("sinh^-1(x)", None, None),
        ("sech^-1(x)", 1, "no inverse function"),
        ("max x", 1, "in parentheses"),
        ("sin", 1, "is a function"),
        ("sin + x", 1, "is a function"),
        ("ｅｘｐ(x)", 1, "fullwidth"),
        ("x y", None, "x*y"),
        ("sin(x", None, "unbalanced"),
    ],
)
def test_notation_errors_name_the_problem_and_column(typed, column, fragment):
    if fragment is None:
        assert to_text(parse(typed)) == "asinh(x)"
        return
    with pytest.raises(ParseError) as info:
        parse(typed)
    assert fragment in info.value.describe()
    if column is not None:
        assert info.value.column == column - 1


def test_fullwidth_letters_are_refused_with_the_ascii_spelling():
    with pytest.raises(ParseError) as info:
        parse("ｅｘｐ(ｘ)")
    assert info.value.describe() == (
        "'ｅ' is a fullwidth character, not plain ASCII (column 1): type it as 'e' (the whole expression: exp(x))"
    )


@pytest.mark.parametrize(
    "typed",
    ["|" * 1000 + "x" + "|" * 1000, "sin^99999(x)", "|" * 2000, "sin " * 400 + "x", "(" * 300 + "x" + ")" * 300],
)
def test_hostile_notation_is_refused_fast(typed):
    started = time.perf_counter()
    with pytest.raises((ParseError, LimitError)):
        parse(typed)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("function", "point", "value"),
    [
        ("sec", 0.5, 1 / math.cos(0.5)),
        ("csc", 0.5, 1 / math.sin(0.5)),
        ("cot", 0.5, 1 / math.tan(0.5)),
        ("asec", 2.0, math.acos(0.5)),
        ("acsc", 2.0, math.asin(0.5)),
        ("acot", -2.0, math.atan(-0.5)),
        ("sech", 0.5, 1 / math.cosh(0.5)),
        ("csch", 0.5, 1 / math.sinh(0.5)),
        ("coth", 0.5, 1 / math.tanh(0.5)),
        ("asinh", 0.5, math.asinh(0.5)),
        ("acosh", 2.0, math.acosh(2.0)),
        ("atanh", 0.5, math.atanh(0.5)),
        ("sign", -0.5, -1.0),
    ],
)
def test_new_functions_agree_across_the_three_witnesses(cli, function, point, value):
    run = cli("grad", f"{function}(x)", "--at", f"x={point}", "--format", "json")
    assert run.code == 0, run
    result = run.json["results"][0]
    assert result["value"] == pytest.approx(value, rel=1e-12)
    assert result["gradient"]["x"]["agree"] is True


# ---------------------------------------------------------------- the issue's examples, through the CLI


@pytest.mark.parametrize(
    ("typed", "point", "read", "derivative"),
    [
        ("sec(x)^2", 0.5, "sec(x)**2", 2 * math.tan(0.5) / math.cos(0.5) ** 2),
        ("cot(x)", 1.0, "cot(x)", -1 / math.sin(1.0) ** 2),
        ("ln x", 2.0, "log(x)", 0.5),
        ("|x|^3", -2.0, "abs(x)**3", -12.0),
        ("sin^2(x)", 1.0, "sin(x)**2", math.sin(2.0)),
        ("x² + 3x", 2.0, "x**2 + 3*x", 7.0),
        ("x**2*E**x", 1.0, "x**2*e**x", 3 * math.e),
        ("-x^2", 1.0, "-x**2", -2.0),
        ("-cos(x)", 1.0, "-cos(x)", math.sin(1.0)),
        ("-1/(x-1)", 0.0, "(-1)/(x - 1)", 1.0),
        ("sin^-1(x)", 0.5, "asin(x)", 1 / math.sqrt(0.75)),
        ("tan^(-1) x", 1.0, "atan(x)", 0.5),
        ("x sin x", 1.0, "x*sin(x)", math.sin(1.0) + math.cos(1.0)),
        ("e^-x", 1.0, "e**(-x)", -math.exp(-1.0)),
        ("√(x+1)", 3.0, "sqrt(x + 1)", 0.25),
        ("||x| - 1|", -3.0, "abs(abs(x) - 1)", -1.0),
    ],
)
def test_issue_examples_grad(cli, typed, point, read, derivative):
    run = cli("grad", typed, "--at", f"x={point}", "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == read
    assert run.json["input"] == typed
    partial = run.json["results"][0]["gradient"]["x"]
    assert partial["tape"] == pytest.approx(derivative, rel=1e-12)
    assert partial["agree"] is True


def test_the_title_shows_the_reading(cli):
    run = cli("grad", "sin^2 x", "--at", "x=1")
    assert run.code == 0
    assert run.stdout.startswith("f = sin(x)**2")


def test_check_reads_bars_and_sign(cli):
    run = cli("check", "|x|", "--answer", "sgn(x)", "--format", "json")
    assert run.code == 0, run
    assert run.json["verdict"] == "correct"
    assert run.json["expression"] == "abs(x)"


def test_a_trap_gets_a_note_on_stderr(cli):
    run = cli("grad", "1/2x", "--at", "x=1", "--format", "plain")
    assert (run.code, run.stdout) == (0, "0.5\n")
    assert run.stderr == "note: '1/2x' is read as (1/2)*x; for 1/(2x) write 1/(2*x)\n"


def test_an_answer_trap_gets_a_note_too(cli):
    run = cli("check", "sin(x^2)", "--answer", "2x cos x^2")
    assert run.code == 0, run
    assert run.stderr == "note: 'cos x^2' is read as cos(x^2); for a power of cos write cos(...)^n\n"


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "-x^2", "--at", "x=1"],
        ["grad", "--at", "x=1", "-x^2"],
        ["grad", "-x^2", "--at=x=1", "-f", "json"],
        ["check", "-x^2", "--answer", "-2x"],
        ["hessian", "-x^2*y", "--at", "x=1,y=2"],
        ["jacobian", "-[x, y]".replace("-[", "[-"), "--at", "x=1,y=2"],
        ["descend", "-cos(w)", "--from", "w=0.5", "--steps", "2", "--format", "json"],
        ["plot", "-x^2", "--range", "-1:1"],
    ],
)
def test_an_expression_starting_with_minus_is_not_an_option(cli, args):
    run = cli(*args)
    assert run.code == 0, run
    assert "No such option" not in run.stderr


def test_minus_expression_in_a_batch_line(cli):
    run = cli("batch", "-", stdin='grad -x^2 --at x=1\n{"command": "grad", "expression": "-ln x", "at": {"x": 2}}\n')
    assert run.code == 0, run
    lines = [__import__("json").loads(line) for line in run.stdout.splitlines()]
    assert [line["expression"] for line in lines] == ["-x**2", "-log(x)"]
    assert [line["results"][0]["gradient"]["x"]["tape"] for line in lines] == [-2.0, -0.5]


@pytest.mark.parametrize("option", ["--no-such-option", "-h"])
def test_unknown_options_are_still_refused(cli, option):
    run = cli("grad", "x^2", "--at", "x=1", option)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"error: No such option: {option}\n")


def test_after_double_dash_anything_is_the_expression(cli):
    run = cli("grad", "--at", "h=2", "--", "-h")
    assert run.code == 0, run
    assert run.stdout.startswith("f = -h")


# every notation example of issue 9, through the command line: the JSON expression shows the reading
ISSUE_EXAMPLES = [
    ("sec(x)^2", "sec(x)**2"),
    ("cot(x)", "cot(x)"),
    ("ln x", "log(x)"),
    ("lg x", "log10(x)"),
    ("log_2(x)", "log2(x)"),
    ("log_10(x)", "log10(x)"),
    ("log(x, b)", "log(x, b)"),
    ("arcsin(x) + arccos(x) + arctan(x)", "asin(x) + acos(x) + atan(x)"),
    ("arcsinh(x) + arccosh(x + 2) + arctanh(x)", "asinh(x) + acosh(x + 2) + atanh(x)"),
    ("arsinh(x)", "asinh(x)"),
    ("sec(x) + csc(x) + cot(x)", "sec(x) + csc(x) + cot(x)"),
    ("asec(x + 2) + acsc(x + 2) + acot(x)", "asec(x + 2) + acsc(x + 2) + acot(x)"),
    ("arcsec(x + 2)", "asec(x + 2)"),
    ("sech(x) + csch(x) + coth(x)", "sech(x) + csch(x) + coth(x)"),
    ("sign(x) + sgn(x)", "sign(x) + sign(x)"),
    ("x**2*E**x", "x**2*e**x"),
    ("pi*x + π*x", "pi*x + pi*x"),
    ("|x|", "abs(x)"),
    ("|x|^3", "abs(x)**3"),
    ("|x^2 - 4| + x", "abs(x**2 - 4) + x"),
    ("||x| - 1|", "abs(abs(x) - 1)"),
    ("sin^2(x)", "sin(x)**2"),
    ("sin^2 x", "sin(x)**2"),
    ("cos^3(2x)", "cos(2*x)**3"),
    ("sin^-1(x)", "asin(x)"),
    ("tan^(-1) x", "atan(x)"),
    ("sin x", "sin(x)"),
    ("x sin x", "x*sin(x)"),
    ("sin 2x", "sin(2*x)"),
    ("e^-x", "e**(-x)"),
    ("x² + 3x", "x**2 + 3*x"),
    ("x⁻¹", "x**(-1)"),
    ("√x", "sqrt(x)"),
    ("√(x+1)", "sqrt(x + 1)"),
    ("∛x", "cbrt(x)"),
    ("∛(x-8)", "cbrt(x - 8)"),
    ("2·x × x ÷ 3 − x", "2*x*x/3 - x"),
    ("x\u00a0+\u20091", "x + 1"),
    ("1/2x", "1/2*x"),
    ("sin x^2", "sin(x**2)"),
    ("-x^2", "-x**2"),
    ("-cos(x)", "-cos(x)"),
    ("-1/(x-1)", "(-1)/(x - 1)"),
    (r"\frac{1}{2}x^{2}", "1/2*x**2"),
    (r"\sqrt{x+1}", "sqrt(x + 1)"),
    (r"\sin^{2}(x)", "sin(x)**2"),
    (r"e^{-x^2}", "e**(-x**2)"),
    (r"\left|x\right|", "abs(x)"),
    (r"\ln x", "log(x)"),
    (r"x \cdot x", "x*x"),
    (r"\operatorname{sech}(x)", "sech(x)"),
    (r"\sqrt[3]{x}", "cbrt(x)"),
    (r"\sqrt[5]{x}", "x**(1/5)"),
    (r"\dfrac{1}{x}", "1/x"),
    (r"\tfrac{1}{x}", "1/x"),
    (r"\mathrm{e}^{x}", "e**x"),
    (r"2\,x", "2*x"),
]


@pytest.mark.parametrize(("typed", "read"), ISSUE_EXAMPLES)
def test_every_issue_example_through_the_cli(cli, typed, read):
    names = sorted(free_names(parse(typed)))
    at = ",".join(f"{name}={0.5 if name != 'b' else 3}" for name in names)
    run = cli("grad", typed, "--at", at, "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == read
    assert run.json["input"] == typed


def test_plot_marks_the_jump_of_sign_and_the_pole_of_cot(cli, tmp_path):
    out = tmp_path / "f.png"
    run = cli("plot", "cot x + sgn(x-1)", "--range", "0.5:4", "--out", str(out))
    assert run.code == 0, run
    assert run.stdout == f"wrote {out}; kink at x = 1 (sign(x - 1)); singular at x = 3.14159 (cot(x))\n"


@pytest.mark.parametrize(
    ("typed", "read"),
    [("f(x) = x^3 sin x", "x**3*sin(x)"), ("g(x, y) = x*y^2", "x*y**2"), (r"f(x) = \frac{1}{x}", "1/x")],
)
def test_a_pasted_definition_is_its_body(cli, typed, read):
    run = cli("grad", typed, "--format", "json")
    assert run.code == 0, run
    assert run.json["expression"] == read


@pytest.mark.parametrize(("typed", "column"), [("x + d/dx(x)", 5), (r"x + \frac{d}{dx} x^{2}", 5)])
def test_the_derivative_operator_is_named_not_misread(cli, typed, column):
    run = cli("grad", typed, "--at", "x=1")
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == (
        f"error: 'd/dx' is the derivative operator, not part of the function (column {column}): "
        "gradcli differentiates it: give only the function\n"
    )


@pytest.mark.parametrize("answer", ["f'(x) = 3x^2 cos x^3", "dy/dx = 3x^2 cos(x^3)", "y' = 3x² cos x³"])
def test_a_pasted_answer_with_its_left_side(cli, answer):
    run = cli("check", "f(x) = sin(x^3)", "--answer", answer, "--format", "json")
    assert run.code == 0, run
    assert run.json["verdict"] == "correct"
