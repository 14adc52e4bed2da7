"""Other frameworks' gradients of the same tree: JAX (jax.numpy) and PyTorch, where they are installed.

Each framework gets a backend for expr.evaluate, so JAX, PyTorch, TensorFlow, sympy and numpy all run
one checked tree. JAX and PyTorch are optional (`pip install gradcli[jax]`; PyTorch as the user has it)
and imported only here, only when asked for. `python -m gradcli.witnesses.frameworks docs/frameworks.md` writes the
table of conventions at the kinks, measured by gradcli itself.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np

from gradcli.lang.tree import CONSTANTS, Node, evaluate

OPTIONAL = ("jax", "torch")  # in column order, after TensorFlow
LABELS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def installed() -> tuple[str, ...]:
    """The optional frameworks importable here (found without importing them)."""
    return tuple(name for name in OPTIONAL if importlib.util.find_spec(name) is not None)


class _Backend:
    """The hooks expr.evaluate calls, over a framework's array namespace."""

    def __init__(self, ns, funcs: dict, dtype):
        self.ns, self.funcs, self.dtype = ns, {**funcs, **_reciprocals(funcs)}, dtype

    def number(self, node):
        return self.ns.asarray(node.value, dtype=self.dtype)

    def constant(self, name):
        return self.ns.asarray(CONSTANTS[name], dtype=self.dtype)

    def neg(self, a):
        return -a

    def custom(self, node, u):
        raise NotImplementedError("custom gradients")

    def binop(self, node, a, b):
        if node.op == "@":
            return self.ns.matmul(a, b)
        return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__, "**": a.__pow__}[node.op](b)

    def call(self, node, args):
        if node.func == "log" and len(args) == 2:
            return self.ns.log(args[0]) / self.ns.log(args[1])
        return self.funcs[node.func](*args)


def _reciprocals(f: dict) -> dict:
    """sec, csc, cot and their kin, by the same formulas as the tape's (tape.TapeBackend)."""
    return {
        "sec": lambda u: 1 / f["cos"](u), "csc": lambda u: 1 / f["sin"](u), "cot": lambda u: f["cos"](u) / f["sin"](u),
        "asec": lambda u: f["acos"](1 / u), "acsc": lambda u: f["asin"](1 / u),
        "acot": lambda u: f["atan"](1 / u),
        "sech": lambda u: 1 / f["cosh"](u), "csch": lambda u: 1 / f["sinh"](u), "coth": lambda u: 1 / f["tanh"](u),
    }  # fmt: skip


class JaxBackend(_Backend):
    def __init__(self, dtype):
        import jax
        import jax.numpy as jnp

        funcs = {name: getattr(jnp, name) for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "sqrt")}
        funcs.update({
            "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan, "abs": jnp.abs, "sign": jnp.sign,
            "asinh": jnp.arcsinh, "acosh": jnp.arccosh, "atanh": jnp.arctanh,
            "log": jnp.log, "log2": jnp.log2, "log10": jnp.log10,
            "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "softplus": jax.nn.softplus,
            "max": jnp.maximum, "min": jnp.minimum, "sum": jnp.sum, "mean": jnp.mean,
            "stop_gradient": jax.lax.stop_gradient,
        })  # fmt: skip
        super().__init__(jnp, funcs, dtype)

    def stack(self, items):
        return self.ns.stack(self.ns.broadcast_arrays(*items))


class TorchBackend(_Backend):
    def __init__(self, dtype):
        import torch

        funcs = {name: getattr(torch, name) for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "sqrt")}
        funcs.update({
            "asin": torch.asin, "acos": torch.acos, "atan": torch.atan, "abs": torch.abs, "sign": torch.sign,
            "asinh": torch.asinh, "acosh": torch.acosh, "atanh": torch.atanh,
            "log": torch.log, "log2": torch.log2, "log10": torch.log10,
            "sigmoid": torch.sigmoid, "relu": torch.relu, "softplus": torch.nn.functional.softplus,
            "max": torch.maximum, "min": torch.minimum, "sum": torch.sum, "mean": torch.mean,
            "stop_gradient": lambda u: u.detach(),
        })  # fmt: skip
        super().__init__(torch, funcs, dtype)

    def number(self, node):
        return self.ns.tensor(node.value, dtype=self.dtype)

    def constant(self, name):
        return self.ns.tensor(CONSTANTS[name], dtype=self.dtype)

    def stack(self, items):
        return self.ns.stack(self.ns.broadcast_tensors(*items))


def jax_gradients(tree: Node, values: dict[str, np.ndarray], rows: tuple[str, ...], dtype: str) -> dict:
    """jax.grad of the tree with respect to `rows` (argnums), the other names held fixed."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jdtype = jax.numpy.float64 if dtype == "float64" else jax.numpy.float32
    fixed = {n: jax.numpy.asarray(v, dtype=jdtype) for n, v in values.items() if n not in rows}
    backend = JaxBackend(jdtype)

    def f(*sources):
        return evaluate(tree, {**fixed, **dict(zip(rows, sources, strict=True))}, backend)

    args = [jax.numpy.asarray(values[n], dtype=jdtype) for n in rows]
    grads = jax.grad(f, argnums=tuple(range(len(rows))))(*args)
    return {n: np.asarray(g, dtype=np.float64) for n, g in zip(rows, grads, strict=True)}


def torch_gradients(tree: Node, values: dict[str, np.ndarray], rows: tuple[str, ...], dtype: str) -> dict:
    """torch.autograd.grad of the tree (allow_unused: a source f does not use is None, as in PyTorch)."""
    import torch

    tdtype = torch.float64 if dtype == "float64" else torch.float32
    env = {n: torch.tensor(v, dtype=tdtype, requires_grad=n in rows) for n, v in values.items()}
    f = evaluate(tree, env, TorchBackend(tdtype))
    grads = torch.autograd.grad(f, [env[n] for n in rows], allow_unused=True)
    return {n: None if g is None else g.detach().numpy().astype(np.float64) for n, g in zip(rows, grads, strict=True)}


GRADIENTS = {"jax": jax_gradients, "torch": torch_gradients}


def gradients(tree: Node, values: dict[str, np.ndarray], rows: tuple[str, ...], dtype: str) -> dict[str, dict]:
    """framework -> name -> gradient, for every optional framework installed."""
    return {name: GRADIENTS[name](tree, values, rows, dtype) for name in installed()}


# The kinks docs/frameworks.md measures: (what, expression, point).
KINKS = (
    ("relu at 0", "relu(x)", "x=0"),
    ("abs at 0", "abs(x)", "x=0"),
    ("max at a tie", "max(x, y)", "x=1,y=1"),
    ("min at a tie", "min(x, y)", "x=1,y=1"),
    ("clip at its lower bound", "min(max(x, 0), 1)", "x=0"),
    ("clip at its upper bound", "min(max(x, 0), 1)", "x=1"),
    ("sqrt at 0", "sqrt(x)", "x=0"),
    ("sqrt(x**2) at 0", "sqrt(x**2)", "x=0"),
    ("x*relu(x) at 0 (smooth)", "x*relu(x)", "x=0"),
    ("a mask meets an infinite slope", "sqrt(relu(x))", "x=0"),
)


def conventions_markdown() -> str:
    """docs/frameworks.md: each framework's gradient at each kink, beside the honest answer, measured now."""
    from gradcli.judge.explain import fmt
    from gradcli.lang.values import split_assignments
    from gradcli.solve.gradient import grad

    shown = ("tensorflow", *installed())
    header = ["case", "expression", "point", *(LABELS[f] for f in shown), "gradcli's verdict"]
    lines = [
        "# Frameworks at the kinks",
        "",
        "Generated by `make docs` (`python -m gradcli.witnesses.frameworks docs/frameworks.md`) from",
        "`gradcli grad EXPR --at POINT --frameworks`; `tests/test_frameworks.py` fails when it is stale.",
        "Each framework column is that framework's gradient (one entry per variable); the last column is",
        "gradcli's verdict from one-sided finite differences: where the derivative does not exist, each",
        "framework's number is a convention (a subgradient or a tie-break), not a derivative. clip is",
        "`min(max(x, lo), hi)`; gradcli's language has no `where`, so the NaN a where-style mask gives (a zero",
        "slope times an infinite one) is shown by `sqrt(relu(x))`.",
        f"Measured with: {', '.join(LABELS[f] for f in shown)}"
        + ("" if "torch" in shown else " (PyTorch was not installed, so it has no column)")
        + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for what, expression, at in KINKS:
        result = grad(expression, at=dict(split_assignments(at)), frameworks=True)
        point = result.results[0]
        cells = [what, f"`{expression}`", at]
        for framework in shown:
            cells.append(", ".join(fmt(p.frameworks[framework]) for p in point.gradient))
        cells.append(_honest(point, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + _conventions_table()) + "\n"


def _conventions_table() -> list[str]:
    """The conventions the notes name (gradcli.judge.explain), which a test checks against the measurements."""
    from gradcli.judge.explain import FRAMEWORK_CONVENTIONS

    funcs = ("abs", "relu", "max", "min")
    lines = ["", "The conventions the `frameworks_differ` note names at each kink (a test checks them against the"]
    lines += ["measurements of every framework installed; a framework not installed is not checked here):", ""]
    lines += ["| framework | " + " | ".join(f"`{f}`" for f in funcs) + " |", "|---|" + "---|" * len(funcs)]
    for framework, said in FRAMEWORK_CONVENTIONS.items():
        lines.append(f"| {LABELS[framework]} | " + " | ".join(said[f] for f in funcs) + " |")
    return lines


def _honest(point, fmt) -> str:
    undefined = [n for n in point.notes if n.kind == "kink"]
    if undefined:
        return "; ".join(
            f"d/d{n.variable} does not exist (left {fmt(n.data['left'])}, right {fmt(n.data['right'])})"
            for n in undefined
        )
    if not point.differentiable:
        return "no finite derivative: " + next(n.message for n in point.notes if n.severity == "undefined")
    return "exists: " + ", ".join(fmt(p.finite_difference) for p in point.gradient)


def main(argv: list[str]) -> int:
    text = conventions_markdown()
    if argv:
        with open(argv[0], "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
