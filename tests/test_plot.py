"""Plots: real PNG files of the expected size with content, a terminal snapshot, marked kinks."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradcli.present import pictures as plot

SNAPSHOT = Path(__file__).parent / "snapshots" / "sigmoid_terminal.txt"


def _image(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (800, 500)
        return np.asarray(image.convert("L"))


def test_sigmoid_png_has_content(cli, tmp_path):
    out = tmp_path / "sigmoid.png"
    run = cli("plot", "sigmoid(x)", "--range", "-6:6", "--out", str(out))
    assert run.code == 0 and run.stdout == f"wrote {out}\n"
    pixels = _image(out)
    assert pixels.std() > 10 and (pixels < 100).mean() > 0.01  # lines and text, not a blank canvas


def test_sigmoid_curve_is_one_tape_and_agrees_with_sympy():
    c = plot.curve("sigmoid(x)", -6, 6)
    s = 1 / (1 + np.exp(-c.x))
    assert c.tape == pytest.approx(s * (1 - s), rel=1e-12)
    assert c.symbolic == pytest.approx(c.tape, rel=1e-12)
    assert c.marks == ()


def test_terminal_plot_snapshot(cli):
    run = cli("plot", "sigmoid(x)", "--range", "-6:6")
    assert run.code == 0
    assert run.stdout == SNAPSHOT.read_text()


def test_kinks_and_singularities_are_marked_and_not_joined():
    c = plot.curve("abs(x - 1) + 1/x", -2, 2, samples=401)
    kinds = {(m.kind, round(m.x, 6)) for m in c.marks}
    assert kinds == {("kink", 1.0), ("singular", 0.0)}
    left, right = c.x < 0, c.x > 0
    last_left, first_right = np.nonzero(left)[0][-1], np.nonzero(right)[0][0]
    # the curve is broken at the pole, not drawn through it: a NaN between the two sides
    assert np.isnan(c.f[last_left : first_right + 1]).any()
    assert np.isfinite(c.f[left][:-1]).all() and np.isfinite(c.f[right][1:]).all()


def test_two_variable_landscape_png(cli, tmp_path):
    out = tmp_path / "bowl.png"
    assert cli("plot", "(x - 1)**2 + 3*(y + 2)**2", "--range", "-4:4", "--out", str(out)).code == 0
    assert _image(out).std() > 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x*y*z", "--out", "a.png"], "exactly"),
        (["x*y"], "needs --out"),
        (["x", "--range", "3:1"], "LOW < HIGH"),
        (["sum(x)"], "elementwise"),
    ],
)
def test_plot_errors(cli, args, message):
    run = cli("plot", *args)
    assert run.code == 2 and message in run.stderr


def test_descent_plots(cli, tmp_path):
    path = tmp_path / "path.png"
    run = cli(
        "descend", "(x - 1)**2 + 3*(y + 2)**2", "--from", "x=4,y=4", "--lr", "0.1", "--steps", "50", "--plot", str(path)
    )
    assert run.code == 0
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[1] == 500


def test_tan_poles_are_marked():
    c = plot.curve("tan(x)", -3, 3)
    assert [(m.kind, round(m.x, 4)) for m in c.marks] == [("singular", -1.5708), ("singular", 1.5708)]


def _frame(text: str) -> list[str]:
    """The lines inside the plot's frame, from its top edge to its bottom edge."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return lines[top + 1 : bottom]


def test_terminal_curves_have_different_markers_and_a_legend_under_the_frame():
    text = plot.terminal_curve(plot.curve("sigmoid(x)", -6, 6))
    inside = "".join(_frame(text))
    braille = {ch for ch in inside if 0x2801 <= ord(ch) <= 0x28FF}
    assert braille and "•" in inside  # f in braille, the gradient in dots
    legend = text.splitlines()[text.splitlines().index(next(ln for ln in text.splitlines() if "└" in ln)) + 3]
    assert legend == "⠤⠤ f   •• GradientTape gradient"


@pytest.mark.parametrize("expression", ["-3*x", "x**2", "exp(-x)"])
def test_the_legend_never_covers_data_even_where_the_curves_fill_the_top_left(expression):
    text = plot.terminal_curve(plot.curve(expression, -3, 3))
    inside = "\n".join(_frame(text))
    assert "GradientTape" not in inside and " f " not in inside.replace("│", " ")
    assert text.count("GradientTape gradient") == 1


def test_terminal_plot_has_colours_only_when_asked():
    c = plot.curve("sin(x)", -3, 3)
    coloured, plain = plot.terminal_curve(c, color=True), plot.terminal_curve(c, color=False)
    assert "\x1b[38;5;4m" in coloured and "\x1b[38;5;1m" in coloured  # blue f, red gradient, legend too
    assert "\x1b[38;5;1m••\x1b[0m GradientTape gradient" in coloured
    assert "\x1b" not in plain
    assert plot._ANSI.sub("", coloured) == plain


def test_the_cli_colours_a_terminal_but_not_a_pipe_or_no_color(monkeypatch):
    import io

    from gradcli.app.commands.plot import has_colour as _has_colour

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert _has_colour(Terminal()) and not _has_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _has_colour(Terminal())
