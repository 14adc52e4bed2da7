"""The parser as a pure function: what it accepts, how it prints it, what it refuses."""

import pytest

from gradcli.errors import LimitError, ParseError
from gradcli.lang.parser import parse
from gradcli.lang.printers import to_text
from gradcli.lang.tree import BinOp, Call, Name, Num, free_names, infer_shape


@pytest.mark.parametrize(
    ("text", "understood"),
    [
        ("x**2+2*x-1", "x**2 + 2*x - 1"),
        ("2x", "2*x"),
        ("x^2", "x**2"),
        ("3(x+1)", "3*(x + 1)"),
        ("(x+1)(x-1)", "(x + 1)*(x - 1)"),
        ("2 x", "2*x"),
        ("2e", "2*e"),
        ("2e3*x", "2000.0*x"),
        ("-x**2", "-x**2"),
        ("(-x)**2", "(-x)**2"),
        ("x**y**z", "x**(y**z)"),
        ("(x**y)**z", "(x**y)**z"),
        ("a-(b-c)", "a - (b - c)"),
        ("a/(b*c)", "a/(b*c)"),
        ("+x", "x"),
        ("log(x, 2)", "log(x, 2)"),
        ("sum((x @ W + b - y)**2)", "sum((x@W + b - y)**2)"),
        ("x^2*3", "x**2*3"),
    ],
)
def test_canonical_text_shows_what_was_understood(text, understood):
    tree = parse(text)
    assert to_text(tree) == understood
    assert parse(to_text(tree)) == tree


def test_tree_shape():
    assert parse("2x + sin(y)") == BinOp("+", BinOp("*", Num("2", 2.0), Name("x")), Call("sin", (Name("y"),)))


def test_free_names_exclude_constants_and_functions():
    assert free_names(parse("pi*x + e**y + sin(z)")) == {"x", "y", "z"}


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("sqr(x)", 1, "did you mean 'sqrt'"),
        ("x + fabs(x)", 5, "did you mean abs"),
        ("x.real", 1, "attribute access"),
        ("x[0]", 1, "indexing"),
        ("x // 2", 3, "'//'"),
        ("x % 2", 3, "'%'"),
        ("x y", None, "x*y"),
        ("'a'", 1, "strings are not allowed"),
        ("lambda: 1", 1, "keyword 'lambda'"),
        ("__import__", 1, "may not start with '_'"),
        ("x $ 2", 3, "unexpected character '$'"),
        ("sin", 1, "is a function"),
        ("max(x)", 1, "takes 2 argument"),
        ("x < 2", 1, "comparison"),
        ("0x1f", 1, "plain decimal"),
        ("2j", 1, "plain decimal"),
    ],
)
def test_rejections_name_the_problem_and_position(text, column, fragment):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert fragment in info.value.describe()
    if column is not None:
        assert info.value.column == column - 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10**10**10", "exponent"),
        ("((9**9)**9999)**9999", "exponent"),
        ("x**100000", "exponent"),
        ("exp(1000)", "constant is larger"),
        ("1e200*x", "limit"),
        ("x+" * 600 + "x", "characters long"),
        ("-" * 250 + "x", "nested"),
        ("+".join(["(" + "+".join(["x"] * 12) + ")"] * 30), "parts"),
    ],
)
def test_limits(text, fragment):
    with pytest.raises(LimitError) as info:
        parse(text)
    assert fragment in info.value.describe()


def test_shapes_follow_numpy_broadcasting_and_matmul_rules():
    assert infer_shape(parse("x*x + 2*z"), {"x": (2, 3), "z": ()}) == (2, 3)
    assert infer_shape(parse("sum(x @ W)"), {"x": (2, 2), "W": (2, 1)}) == ()
    with pytest.raises(ParseError, match="cannot be multiplied"):
        infer_shape(parse("x @ W"), {"x": (2, 3), "W": (2, 1)})
    with pytest.raises(ParseError, match="do not match"):
        infer_shape(parse("x + y"), {"x": (2,), "y": (3,)})
