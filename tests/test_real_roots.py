"""Issue 20, real odd roots: cbrt(x), ∛x, \\sqrt[3]{x} and x^(p/q) with q odd are real for x < 0 in every
witness and in the grader; even roots of negatives stay not real."""

from __future__ import annotations

import pytest

from gradcli.errors import ParseError
from gradcli.lang.parser import parse, reading_notes
from gradcli.lang.tree import BinOp, Num, constant_value, odd_root


@pytest.mark.parametrize(
    ("exponent", "root"),
    [("1/3", (1, 3)), ("2/3", (2, 3)), ("-1/5", (-1, 5)), ("(-1)/5", (-1, 5)), ("2/6", (1, 3)), ("7/3", (7, 3))],
)
def test_an_exponent_of_literal_integers_with_an_odd_denominator_is_an_odd_root(exponent, root):
    assert odd_root(parse(f"x**({exponent})").right) == root


@pytest.mark.parametrize("exponent", ["1/2", "3/4", "0.5", "1/3.0", "a/3", "3/3", "1/" + "3" * 40])
def test_other_exponents_are_not_odd_roots(exponent):
    assert odd_root(parse(f"x**({exponent})").right) is None
    assert odd_root(BinOp("/", Num("1", 1.0), Num("0", 0.0))) is None


@pytest.mark.parametrize(
    ("typed", "read"), [("∛x", "cbrt(x)"), (r"\sqrt[3]{x}", "cbrt(x)"), (r"\sqrt[5]{x}", "x**(1/5)")]
)
def test_the_cube_root_signs_read_as_cbrt(typed, read):
    assert parse(typed) == parse(read)


def test_the_constant_folder_takes_the_real_root():
    assert constant_value(parse("(-8)**(1/3)")) == pytest.approx(-2)
    assert constant_value(parse("(-8)**(2/3)")) == pytest.approx(4)
    assert constant_value(parse("cbrt(-27)")) == pytest.approx(-3)
    with pytest.raises(ParseError, match="is not a finite real number"):
        parse("(-4)**(1/2)")


def test_the_note_says_the_real_root_is_meant_once():
    notes = reading_notes("x^(1/3) + x^(2/3)")
    assert [(n.kind, n.message) for n in notes] == [("real_root", "x^(1/3) is read as the real cube root for x < 0")]
    assert reading_notes("cbrt(x) + x^(1/2) + 8^(1/3)") == []


def _gradient(run):
    (row,) = run.json["results"]
    return row["value"], row["gradient"]["x"]


def test_x_to_the_third_at_minus_8_is_minus_2_with_slope_a_twelfth(cli):
    run = cli("grad", "x^(1/3)", "--at", "x=-8", "--format", "json")
    assert run.code == 0, run
    value, x = _gradient(run)
    assert value == pytest.approx(-2, rel=1e-12)
    for method in ("tape", "exact", "finite_difference"):
        assert x[method] == pytest.approx(1 / 12, rel=1e-9), method
    assert run.stderr == "note: x^(1/3) is read as the real cube root for x < 0\n"


@pytest.mark.parametrize(
    ("typed", "at", "value", "slope"),
    [
        ("cbrt(x)", "x=-8", -2, 1 / 12),
        ("∛x", "x=-8", -2, 1 / 12),
        (r"\sqrt[3]{x}", "x=-8", -2, 1 / 12),
        ("x^(2/3)", "x=-8", 4, -1 / 3),
        ("x^(-1/5)", "x=-32", -0.5, -1 / 320),
    ],
)
def test_every_real_root_example_agrees_for_a_negative_x(cli, typed, at, value, slope):
    run = cli("grad", typed, "--at", at, "--format", "json")
    assert run.code == 0, run
    got, x = _gradient(run)
    assert got == pytest.approx(value, rel=1e-12)
    assert x["tape"] == pytest.approx(slope, rel=1e-9)
    assert x["exact"] == pytest.approx(slope, rel=1e-9)
    assert x["agree"] is True


def test_cbrt_at_0_is_the_judges_singular_point(cli):
    run = cli("grad", "cbrt(x)", "--at", "x=0")
    assert run.code == 3
    assert "note at x = 0: cbrt(x) has an infinite slope (a vertical tangent) where x = 0." in run.stdout


def test_an_even_root_of_a_negative_stays_not_real(cli):
    run = cli("grad", "x^(1/2)", "--at", "x=-4")
    assert run.code == 3
    assert "a negative number to a fractional power is not real" in run.stdout


def test_the_check_of_the_cube_root_is_correct(cli):
    run = cli("check", "x^(1/3)", "--answer", "1/(3x^(2/3))")
    assert run.code == 0, run
    assert run.stdout.startswith("CORRECT: d/dx of x**(1/3)")


def test_the_grader_samples_negative_x_and_finds_a_slip_there(cli):
    run = cli("check", "x^(1/3)", "--answer", "abs(x)^(1/3)/(3x)", "--format", "json")
    assert run.code == 1
    assert run.json["counterexample"]["at"]["x"] < 0
    assert "all with x < 0" in run.json["reason"]


def test_a_cbrt_answer_is_graded_with_the_real_root(cli):
    run = cli("check", "∛x", "--answer", "1/(3*cbrt(x)^2)")
    assert run.code == 0, run
    assert run.stdout.startswith("CORRECT: d/dx of cbrt(x)")
