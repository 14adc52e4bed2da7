"""Other frameworks' gradients of the same tree: JAX (jax.numpy) and PyTorch, where they are installed.

Each framework gets a backend for expr.evaluate, so JAX, PyTorch, TensorFlow, sympy and numpy all run
one checked tree. JAX and PyTorch are optional (`pip install gradcli[jax]`; PyTorch as the user has it)
and imported only here, only when asked for. The table of conventions at the kinks
(docs/frameworks.md) is measured by gradcli.devtools.frameworks_doc.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from gradcli.lang.tree import CONSTANTS, Node, evaluate, odd_root

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
        ops = {
            "+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__, "**": a.__pow__,
            "<": a.__lt__, "<=": a.__le__, ">": a.__gt__, ">=": a.__ge__, "==": a.__eq__, "!=": a.__ne__,
        }  # fmt: skip
        if node.op == "**" and (root := odd_root(node.right)):
            side = self.ns.where(a < 0, -1.0, 1.0)
            return (side if root[0] % 2 else 1) * (side * a) ** b  # the real odd root for a < 0
        return ops[node.op](b)

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
            "cbrt": jnp.cbrt,
            "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan, "abs": jnp.abs, "sign": jnp.sign,
            "asinh": jnp.arcsinh, "acosh": jnp.arccosh, "atanh": jnp.arctanh,
            "log": jnp.log, "log2": jnp.log2, "log10": jnp.log10,
            "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "softplus": jax.nn.softplus,
            "max": jnp.maximum, "min": jnp.minimum, "sum": jnp.sum, "mean": jnp.mean,
            "stop_gradient": jax.lax.stop_gradient,
            "square": jnp.square, "clip": jnp.clip, "where": jnp.where,
            "softmax": jax.nn.softmax, "log_softmax": jax.nn.log_softmax, "logsumexp": jax.nn.logsumexp,
        })  # fmt: skip
        super().__init__(jnp, funcs, dtype)

    def stack(self, items):
        return self.ns.stack(self.ns.broadcast_arrays(*items))


class TorchBackend(_Backend):
    def __init__(self, dtype):
        import torch

        funcs = {name: getattr(torch, name) for name in ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "sqrt")}
        funcs.update({
            "cbrt": lambda u: torch.sign(u) * torch.abs(u) ** (1 / 3),
            "asin": torch.asin, "acos": torch.acos, "atan": torch.atan, "abs": torch.abs, "sign": torch.sign,
            "asinh": torch.asinh, "acosh": torch.acosh, "atanh": torch.atanh,
            "log": torch.log, "log2": torch.log2, "log10": torch.log10,
            "sigmoid": torch.sigmoid, "relu": torch.relu, "softplus": torch.nn.functional.softplus,
            "max": torch.maximum, "min": torch.minimum, "sum": torch.sum, "mean": torch.mean,
            "stop_gradient": lambda u: u.detach(),
            "square": torch.square, "clip": torch.clamp, "where": torch.where,
            "softmax": lambda u: torch.softmax(u, -1), "log_softmax": lambda u: torch.log_softmax(u, -1),
            "logsumexp": lambda u: torch.logsumexp(u.reshape(-1), 0),
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
