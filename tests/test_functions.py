"""Every function of the registry (gradcli/lang/functions.py) is known everywhere: to the parser, the readers and
the printers, to every backend (numpy, sympy, TensorFlow, JAX, PyTorch), to the one sympy -> numpy translator, to
the derivation rules, and to the grader. A function can never again be known to grad and unknown to check."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.lang import functions
from gradcli.lang.functions import REGISTRY, SCALARS
from gradcli.lang.parser import FUNCTIONS, parse
from gradcli.lang.printers import to_latex, to_text, to_textbook
from gradcli.lang.tree import evaluate

NAMES = [f.name for f in REGISTRY]
# a point inside each function's real domain, away from its kinks and poles
INSIDE = {"asec": 2.0, "acsc": 2.0, "acosh": 2.0, "asin": 0.3, "acos": 0.3, "atanh": 0.3}


def call(name: str, argument: str = "x") -> str:
    """name applied to argument (and to 1, for a function of two arguments); an alias calls like its function."""
    entry = functions.BY_NAME[functions.ALIASES.get(name, name)]
    if entry.kind == functions.SELECT:
        return f"{name}({argument} > 0, {argument}, 1)"
    return {(2,): f"{name}({argument}, 1)", (3,): f"{name}({argument}, 0, 1)"}.get(entry.arity, f"{name}({argument})")


def test_the_registry_declares_each_function_once_and_the_language_tables_follow_it():
    assert len(set(NAMES)) == len(NAMES)
    assert {f.name: f.arity for f in REGISTRY} == FUNCTIONS
    assert len(SCALARS) == 36
    assert set(functions.ALIASES) & set(NAMES) == set()
    assert set(functions.ALIASES.values()) <= set(NAMES)
    assert set(functions.INVERSES.values()) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_printer_writes_what_the_readers_read_back(name):
    tree = parse(call(name))
    assert parse(to_text(tree)) == tree
    assert parse(to_textbook(tree)) == tree
    assert parse(to_latex(tree)) == tree


@pytest.mark.parametrize("name", NAMES)
def test_every_alias_inverse_and_latex_name_reads_as_the_function(name):
    entry = functions.BY_NAME[name]
    for alias in entry.aliases:
        assert parse(call(alias)) == parse(call(name)), alias
    for command in entry.latex_names:
        assert parse(rf"\{command}\left(x\right)" if entry.arity != (2,) else rf"\{command}(x, 1)") == parse(
            call(name)
        ), command
    if entry.inverse:
        assert parse(f"{name}^-1(x)") == parse(call(entry.inverse))


def _scalar_points():
    return [(name, INSIDE.get(name, 0.7)) for name in SCALARS]


@pytest.mark.parametrize(("name", "x"), _scalar_points())
def test_numpy_sympy_and_the_constant_folder_give_one_value(name, x):
    from gradcli.lang.tree import constant_value
    from gradcli.witnesses import numeric
    from gradcli.witnesses.symbolic import SympyBackend

    tree = parse(call(name))
    folded = constant_value(parse(call(name, repr(x))))
    assert float(numeric.value(tree, {"x": np.float64(x)})) == pytest.approx(folded, rel=1e-12)
    assert float(evaluate(tree, {"x": x}, SympyBackend()).evalf(20)) == pytest.approx(folded, rel=1e-12)


@pytest.mark.parametrize(("name", "x"), _scalar_points())
def test_the_complex_step_is_used_only_where_numpy_continues_the_function(name, x):
    from gradcli.witnesses import numeric

    tree = parse(call(name))
    assert numeric.analytic(tree) == functions.BY_NAME[name].analytic
    if functions.BY_NAME[name].analytic:  # the complex step gives the derivative: numpy continues f analytically
        h = 1e-20
        step = numeric.value(tree, {"x": np.complex128(x + 1j * h)}).imag / h
        exact = numeric.value(tree, {"x": np.float64(x + 1e-6)}) - numeric.value(tree, {"x": np.float64(x - 1e-6)})
        assert step == pytest.approx(exact / 2e-6, rel=1e-6)


@pytest.mark.parametrize(("name", "x"), _scalar_points())
def test_the_one_translator_evaluates_every_function_and_its_derivative(name, x):
    import sympy

    from gradcli.grading import domain
    from gradcli.witnesses import numeric
    from gradcli.witnesses.symbolic import SympyBackend, to_numpy

    symbol = sympy.Symbol("x", real=True)
    f = evaluate(parse(call(name)), {"x": symbol}, SympyBackend())
    env = {"x": np.array([x, x * 1.1])}
    expected = numeric.value(parse(call(name)), {"x": env["x"]})
    assert to_numpy(f, {symbol: "x"})(env) == pytest.approx(expected, rel=1e-12)
    value, magnitude = domain.evaluate(f, {symbol: "x"}, env)
    assert value == pytest.approx(expected, rel=1e-12)
    assert np.all(magnitude >= np.abs(value) * (1 - 1e-12))
    derivative = sympy.diff(f, symbol)
    exact = [float(derivative.evalf(20, subs={symbol: sympy.Float(v, 20)})) for v in env["x"]]
    assert to_numpy(derivative, {symbol: "x"})(env) == pytest.approx(exact, rel=1e-9)


@pytest.fixture(scope="module")
def tf():
    from gradcli.witnesses.tape import tensorflow

    return tensorflow()


@pytest.mark.parametrize(
    ("name", "x"), _scalar_points() + [("sum", 0.7), ("mean", 0.7), ("logsumexp", 0.7), ("stop_gradient", 0.7)]
)
def test_the_tape_knows_every_function(tf, name, x):
    from gradcli.lang.tree import constant_value
    from gradcli.witnesses.tape import TapeBackend

    tree = parse(call(name))
    value = evaluate(tree, {"x": tf.constant(x, tf.float64)}, TapeBackend(tf, tf.float64))
    assert float(value) == pytest.approx(constant_value(parse(call(name, repr(x)))), rel=1e-12)


@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_jax_and_pytorch_know_every_function(framework):
    pytest.importorskip(framework)
    from gradcli.witnesses.frameworks import JaxBackend, TorchBackend

    backend = (JaxBackend if framework == "jax" else TorchBackend)("float64")
    assert set(NAMES) - {"log"} <= set(backend.funcs)  # log (one or two arguments) is in call


def test_every_scalar_function_has_a_derivation_rule():
    import sympy

    from gradcli.grading.steps import _OUTER
    from gradcli.witnesses.symbolic import SympyBackend

    u = sympy.Symbol("u", real=True)
    for name in SCALARS:
        if name in ("max", "min", "clip"):  # several arguments: the derivation chooses a side (steps._Derivation)
            continue
        x = sympy.Float(INSIDE.get(name, 0.7), 30)
        truth = sympy.diff(evaluate(parse(call(name, "u")), {"u": u}, SympyBackend()), u)
        rule = _OUTER[name][1](u)
        assert float((truth - rule).evalf(20, subs={u: x})) == pytest.approx(0, abs=1e-12), name


# d/dx x*f(x), written in gradcli's language
RIGHT = {
    "sin": "sin(x) + x*cos(x)", "cos": "cos(x) - x*sin(x)", "tan": "tan(x) + x/cos(x)**2",
    "asin": "asin(x) + x/sqrt(1 - x**2)", "acos": "acos(x) - x/sqrt(1 - x**2)", "atan": "atan(x) + x/(1 + x**2)",
    "sinh": "sinh(x) + x*cosh(x)", "cosh": "cosh(x) + x*sinh(x)", "tanh": "tanh(x) + x*(1 - tanh(x)**2)",
    "sec": "sec(x) + x*sec(x)*tan(x)", "csc": "csc(x) - x*csc(x)*cot(x)", "cot": "cot(x) - x*csc(x)**2",
    "asec": "asec(x) + 1/(x*sqrt(1 - 1/x**2))", "acsc": "acsc(x) - 1/(x*sqrt(1 - 1/x**2))",
    "acot": "acot(x) - x/(1 + x**2)",
    "sech": "sech(x) - x*sech(x)*tanh(x)", "csch": "csch(x) - x*csch(x)*coth(x)",
    "coth": "coth(x) + x*(1 - coth(x)**2)",
    "asinh": "asinh(x) + x/sqrt(x**2 + 1)", "acosh": "acosh(x) + x/sqrt(x**2 - 1)", "atanh": "atanh(x) + x/(1 - x**2)",
    "sign": "sign(x)", "exp": "exp(x) + x*exp(x)", "log": "log(x) + 1", "log2": "log2(x) + 1/log(2)",
    "log10": "log10(x) + 1/log(10)", "sqrt": "sqrt(x) + x/(2*sqrt(x))",
    "cbrt": "cbrt(x) + x/(3*cbrt(x)**2)", "abs": "abs(x) + x*sign(x)",
    "sigmoid": "sigmoid(x) + x*sigmoid(x)*(1 - sigmoid(x))", "relu": "2*relu(x)",
    "softplus": "softplus(x) + x*sigmoid(x)",
    "max": "max(x, 1) + x*(sign(x - 1) + 1)/2", "min": "min(x, 1) + x*(1 - sign(x - 1))/2",
    "square": "square(x) + 2*x**2", "clip": "clip(x, 0, 1) + x*(sign(x) - sign(x - 1))/2",
}  # fmt: skip


def test_the_grader_has_a_right_answer_for_every_scalar_function():
    assert set(RIGHT) == set(SCALARS)


@pytest.mark.parametrize("name", SCALARS)
def test_the_grader_judges_every_scalar_function(name):
    from gradcli.grading.check import check

    function = call(name)
    assert check(f"x*{function}", RIGHT[name]).verdict == "correct", name
    if name == "sign":  # x*sign(x) is |x|, whose derivative is sign(x): forgetting the product rule is no slip
        function = f"x**2*{function}"
    slip = check(f"x*{function}" if name != "sign" else function, call(name))
    assert slip.verdict == "wrong", (name, slip.reason)


def test_the_acot_slip_is_wrong_with_the_product_rule_named(cli):
    run = cli("check", "x*acot(x)", "--answer", "acot(x)")
    assert run.code == 1
    assert run.stdout.startswith("WRONG: d/dx of x*acot(x)")
    assert "likely mistake: the product rule" in run.stdout
    atan = cli("check", "x*atan(x)", "--answer", "atan(x)")

    def mistake(out):
        return next(line for line in out.splitlines() if "likely mistake" in line)

    assert mistake(atan.stdout).replace("atan", "acot") == mistake(run.stdout)


def test_an_unknown_sympy_function_is_refused_by_the_translator():
    import sympy

    from gradcli.witnesses.symbolic import NotVectorisable, to_numpy

    x = sympy.Symbol("x", real=True)
    with pytest.raises(NotVectorisable):
        to_numpy(sympy.gamma(x), {x: "x"})
    assert np.isnan(to_numpy(sympy.nan, {})({}))
