"""Notebooks: results render as HTML tables and LaTeX; docs/tour.ipynb runs and shows the right numbers."""

import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import gradcli
from gradcli.judge.explain import fmt
from gradcli.present.notebook import html as as_html
from gradcli.present.notebook import latex as as_latex

TOUR = Path(__file__).resolve().parents[1] / "docs" / "tour.ipynb"


def test_grad_html_is_a_table_with_each_method_and_the_verdict():
    html = as_html(gradcli.grad("x**2 + y", at=[{"x": 3, "y": 1}, {"x": -1, "y": 0}]))
    assert html.startswith('<table class="gradcli">') and html.count("<tr>") == 1 + 4
    for cell in ("<td>x = 3, y = 1</td>", "<td>6</td>", "<td>-2</td>", "<code>2*x</code>", "GradientTape"):
        assert cell in html
    assert "status: " in html and ">agree</span> (exit 0)" in html


def test_html_escapes_and_shows_notes():
    result = gradcli.grad("abs(x)*y", at={"x": 0, "y": 1})
    html = as_html(result)
    assert "<li><i>undefined</i> at x = 0, y = 1: abs has a kink" in html
    assert ">not differentiable</span> (exit 3)" in html and ">NO<" not in html
    wrong = as_html(gradcli.check("x**2", "2*x + 1"))
    assert ">WRONG</span>: d/dx of <code>x**2</code>" in wrong and "counterexample" in wrong
    assert "<code>2*x + 1</code>" in wrong


def test_latex_gives_f_each_derivative_and_its_value_at_each_point():
    latex = as_latex(gradcli.grad("x**2 + 2*x - 1", at=[{"x": 2}, {"x": 1e-7}]))
    assert latex.startswith("$\\begin{aligned}") and latex.endswith("\\end{aligned}$")
    assert "f &= x^{2} + 2 x - 1" in latex
    assert "\\frac{\\partial f}{\\partial x} &= 2 x + 2 = 6\\ (x = 2), 2.0000002\\ (x = 1 \\times 10^{-7})" in latex
    kink = as_latex(gradcli.grad("abs(x)*y", at={"x": 0, "y": 1}))
    assert "\\text{undefined (see the notes)}" in kink and "\\left|{x}\\right| = 0" in kink
    linear = as_latex(gradcli.grad("w*3 + b", at={"w": 2}, const={"b": 1}))
    assert "\\frac{\\partial f}{\\partial w} &= 3 \\\\ " in linear  # a constant derivative, said once
    second = as_latex(gradcli.grad("x**3", at={"x": 2}, order=2))
    assert "\\frac{\\partial^{2} f}{\\partial x^{2}} &= 6 x = 12" in second


def test_latex_is_left_out_where_there_is_no_short_formula():
    assert as_latex(gradcli.grad("sum(x*x)", at={"x": [1, 2]})) is None
    assert as_latex(gradcli.grad("sum(c*x)", at={"x": 3}, const={"c": [1, 2]})) is None
    assert as_latex(gradcli.grad("cube(x)", at={"x": 2}, custom=["cube(x) = x**3 : 2*x"])) is None
    assert as_latex(gradcli.grad("y = x*x; z = y*y", at={"x": 3}, of=["y", "z"])) is None


def test_matrix_check_and_descent_render():
    hessian = gradcli.hessian("x**2*y", at={"x": 1, "y": 2})
    assert as_latex(hessian) == "$H(x = 1, y = 2) = \\begin{bmatrix}4 & 2 \\\\ 2 & 0\\end{bmatrix}$"
    assert "∂²f/∂x∂y" in as_html(hessian)
    jacobian = gradcli.jacobian("[x*y, x]", at={"x": 1, "y": 2})
    assert "∂(x*y)/∂y" in as_html(jacobian) and as_latex(jacobian).startswith("$J(x = 1, y = 2)")
    latex = as_latex(gradcli.check("x**2", "2*x"))
    assert "\\frac{\\partial f}{\\partial x} &= 2 x" in latex and "\\text{2*x: correct}" in latex
    assert "\\_" in as_latex(gradcli.check("a_b**2", "2*a_b"))
    run = gradcli.descend("(w - 3)**2", {"w": 0}, steps=3)
    html = as_html(run)
    assert html.count("<tr>") == 1 + 4 and f"final: w = {fmt(run.final.params['w'])}" in html


def test_a_curve_shows_inline_as_a_png():
    from PIL import Image

    from gradcli.present.pictures import curve

    c = curve("sigmoid(x)", -6, 6)
    with Image.open(io.BytesIO(c._repr_png_())) as image:
        assert (image.format, image.size) == ("PNG", (800, 500))
    assert len(repr(c)) < 200


def test_inside_ipython_import_gradcli_registers_the_displays_which_import_neither_rich_nor_pyplot():
    import subprocess

    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "import gradcli\n"
        "r = gradcli.grad('x**2', at={'x': 3})\n"
        "before = set(sys.modules)\n"
        "shown, _ = shell.display_formatter.format(r)\n"
        "print(sorted(shown), '<table' in shown['text/html'])\n"
        "print(sorted(shell.display_formatter.format(gradcli.check('x**2', '2*x'))[0]))\n"
        "print(sorted(shell.display_formatter.format(gradcli.descend('(w-3)**2', {'w': 0}, steps=2))[0]))\n"
        "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('rich', 'matplotlib')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "['text/html', 'text/latex', 'text/plain'] True",
        "['text/html', 'text/latex', 'text/plain']",
        "['text/html', 'text/plain']",
        "[]",
    ]


def test_results_are_plain_data_without_display_methods():
    result = gradcli.grad("x**2", at={"x": 3})
    assert not hasattr(result, "_repr_html_") and not hasattr(result, "_repr_latex_")
    with pytest.raises(TypeError, match="no notebook display"):
        as_html(result.results[0])


# ---------------------------------------------------------------- the tour, executed


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """docs/tour.ipynb executed in a fresh kernel of this Python (one kernel start for all the checks)."""
    import nbformat
    from nbclient import NotebookClient

    kernels = tmp_path_factory.mktemp("jupyter") / "kernels" / "gradcli-tour"
    kernels.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    (kernels / "kernel.json").write_text(json.dumps({**spec, "display_name": "gradcli tour"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(kernels.parent.parent))
        notebook = nbformat.read(TOUR, as_version=4)
        NotebookClient(notebook, kernel_name="gradcli-tour", timeout=300).execute()
    return {cell.id: cell.outputs for cell in notebook.cells if cell.cell_type == "code"}


def _data(tour, cell_id: str) -> dict:
    (output,) = [o for o in tour[cell_id] if o.output_type == "execute_result"]
    return output.data


def test_the_tour_runs_without_errors_or_stray_output(tour):
    kinds = {o.output_type for outputs in tour.values() for o in outputs}
    assert kinds == {"execute_result"}, kinds


def test_the_tour_square_is_2x(tour):
    assert float(_data(tour, "square-tape")["text/plain"]) == 2 * 3
    html = _data(tour, "square")["text/html"]
    assert "<td>x = 3</td><td>9</td>" in html and "<code>2*x</code>" in html and ">agree<" in html
    assert "2 x = 6" in _data(tour, "square")["text/latex"]


def test_the_tour_constants_are_not_watched_until_watched(tour):
    assert "not watched (constant)" in _data(tour, "constant")["text/html"]
    assert "not watched" not in _data(tour, "watched")["text/html"]


def test_the_tour_sigmoid_values_and_plot(tour):
    html = _data(tour, "sigmoid")["text/html"]
    for x in (-4, -2, 0, 2, 4):
        s = 1 / (1 + np.exp(-x))
        assert f"<td>x = {x}</td>" in html and f"<td>{fmt(s * (1 - s))}</td>" in html
    png = base64.b64decode(_data(tour, "sigmoid-plot")["image/png"])
    assert png.startswith(b"\x89PNG")


def test_the_tour_linear_model_gradient(tour):
    x, y, w, b = np.array([[1, 2], [3, 4]]), np.array([[1], [0]]), np.array([[0.1], [0.2]]), 0.5
    residual = x @ w + b - y
    html = _data(tour, "linear")["text/html"]
    assert f"<td>{fmt((2 * x.T @ residual).tolist())}</td>" in html
    assert f"<td>{fmt(float(2 * residual.sum()))}</td>" in html


def test_the_tour_persistent_tape_gives_both_targets(tour):
    html = _data(tour, "persistent")["text/html"]
    assert "<td>x = 3; of y</td>" in html and "<td>x = 3; of z</td>" in html
    assert f"<td>{2 * 3}</td>" in html and f"<td>{4 * 3**3}</td>" in html


def test_the_tour_matrices_kink_check_and_descent(tour):
    assert f"<td>{fmt(np.cos(1.0))}</td>" in _data(tour, "jacobian")["text/html"]
    hessian = _data(tour, "hessian")["text/latex"]
    fxx = 2 * 2 - 2**2 * np.sin(2.0)  # d2/dx2 of x**2*y + sin(x*y) at (1, 2)
    assert hessian.startswith(f"$H(x = 1, y = 2) = \\begin{{bmatrix}}{fmt(fxx)} & ")
    assert ">not differentiable</span> (exit 3)" in _data(tour, "relu")["text/html"]
    assert ">CORRECT<" in _data(tour, "check-right")["text/html"]
    assert ">WRONG<" in _data(tour, "check-wrong")["text/html"]
    assert float(_data(tour, "descend-w")["text/plain"]) == pytest.approx(6 / 2, abs=1e-6)
