"""The TensorFlow witness: the tree run under tf.GradientTape. The only module that imports TensorFlow."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
import warnings
from functools import cache

import numpy as np

from gradcli.lang.tree import (
    CONSTANTS,
    BinOp,
    Call,
    Custom,
    ListOf,
    Name,
    Neg,
    Node,
    Num,
    evaluate,
    free_names,
    odd_root,
)

# Optional packages TensorFlow and Keras import at start-up inside try/except ImportError; gradcli uses
# none of them, and they cost about a second (Keras 3 alone pulls in matplotlib when it is installed;
# tensorflow/lite/python/util.py imports jax for TFLite when JAX is installed).
_SKIPPED_AT_IMPORT = ("keras", "tf_keras", "h5py", "tensorboard", "jax")


@cache
def tensorflow():
    """Import TensorFlow once, quietly and quickly.

    Its C++ and Python logging are silenced. The optional packages above are
    hidden during the import (and only during it: a later `import keras` works),
    and the cyclic garbage collector is paused while the import creates about a
    million objects, which are then frozen so that no later collection, nor
    Python's exit, walks them again. Measured: `gradcli grad` 4.3 s -> 2.4 s.
    """
    _check_thread_settings()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    hidden = [name for name in _SKIPPED_AT_IMPORT if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # `import keras` raises ImportError, which TensorFlow handles
    collecting = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings(), _quiet_stderr():
            warnings.simplefilter("ignore")
            import tensorflow as tf
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
        gc.freeze()
        if collecting:
            gc.enable()
    tf.get_logger().setLevel("ERROR")
    return tf


THREADS_MOST = 256  # TF_NUM_INTRAOP_THREADS=100000 ended in SIGSEGV after 60 s at 3.7 GB (issue 24)


def _check_thread_settings() -> None:
    """TensorFlow's thread-pool sizes from the environment: an integer from 0 (TensorFlow chooses) to
    THREADS_MOST, or one `error:` line before TensorFlow starts."""
    from gradcli.errors import GradcliError

    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        text = os.environ.get(name)
        if text is None or text.strip() == "":
            continue
        try:
            value = int(text.strip())
        except ValueError:
            value = -1
        if not 0 <= value <= THREADS_MOST:
            shown = text if len(text) <= 20 and text.isprintable() else repr(text[:20])
            raise GradcliError(
                f"{name}={shown}: set it to a whole number from 0 (TensorFlow chooses) to {THREADS_MOST}"
            )


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to a temporary file while TensorFlow's C++ libraries load.

    TensorFlow 2.21 logs through absl before TF_CPP_MIN_LOG_LEVEL is read ("All log messages before
    absl::InitializeLog() ...", "oneDNN custom operations are on"), straight to the descriptor, not
    through sys.stderr. What was written is shown only if the import fails.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # stderr closed: nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class TapeBackend:
    def __init__(self, tf, dtype):
        self.tf = tf
        self.dtype = dtype
        self.funcs = {
            "sin": tf.sin, "cos": tf.cos, "tan": tf.tan,
            "asin": tf.asin, "acos": tf.acos, "atan": tf.atan,
            "sinh": tf.sinh, "cosh": tf.cosh, "tanh": tf.tanh,
            "sec": lambda u: 1 / tf.cos(u), "csc": lambda u: 1 / tf.sin(u), "cot": lambda u: tf.cos(u) / tf.sin(u),
            "asec": lambda u: tf.acos(1 / u), "acsc": lambda u: tf.asin(1 / u), "acot": lambda u: tf.atan(1 / u),
            "sech": lambda u: 1 / tf.cosh(u), "csch": lambda u: 1 / tf.sinh(u), "coth": lambda u: 1 / tf.tanh(u),
            "asinh": tf.math.asinh, "acosh": tf.math.acosh, "atanh": tf.math.atanh, "sign": tf.math.sign,
            "exp": tf.exp, "sqrt": tf.sqrt, "abs": tf.abs,
            "cbrt": lambda u: self._real_power(u, tf.constant(1 / 3, dtype), 1),
            "log2": lambda u: tf.math.log(u) / tf.math.log(tf.constant(2.0, dtype)),
            "log10": lambda u: tf.math.log(u) / tf.math.log(tf.constant(10.0, dtype)),
            "sigmoid": tf.sigmoid, "relu": tf.nn.relu, "softplus": tf.nn.softplus,
            "max": tf.maximum, "min": tf.minimum, "square": tf.square, "clip": self._clip, "where": self._where,
            "sum": tf.reduce_sum, "mean": tf.reduce_mean, "logsumexp": tf.reduce_logsumexp,
            "softmax": tf.nn.softmax, "log_softmax": tf.nn.log_softmax, "stop_gradient": tf.stop_gradient,
        }  # fmt: skip

    def _broadcast(self, *tensors):
        shape = self.tf.shape(tensors[0])
        for t in tensors[1:]:
            shape = self.tf.broadcast_dynamic_shape(shape, self.tf.shape(t))
        return [self.tf.broadcast_to(t, shape) for t in tensors]

    def _clip(self, u, low, high):
        """tf.clip_by_value, whose gradient passes to u wherever low <= u <= high (its bounds included)."""
        return self.tf.clip_by_value(*self._broadcast(u, low, high))

    def _where(self, condition, a, b):
        """tf.where: both branches are computed, and the untaken one's gradient is multiplied by 0."""
        return self.tf.where(*self._broadcast(condition, a, b))

    def number(self, node):
        whole = self.dtype.is_integer and float(node.value).is_integer()  # 2 in x**2 is an int, as in Python
        return self.tf.constant(int(node.value) if whole else node.value, self.dtype)

    def constant(self, name):
        return self.tf.constant(CONSTANTS[name], self.dtype)

    def neg(self, a):
        return -a

    def custom(self, node, u):
        """tf.custom_gradient: the forward pass is the body, the backward pass the user's rule."""
        tf = self.tf

        @tf.custom_gradient
        def forward(v):
            def backward(upstream):
                return upstream * evaluate(node.rule, {node.param: v}, self)

            return evaluate(node.body, {node.param: v}, self), backward

        return forward(u)

    def stack(self, items):
        tf = self.tf
        shape = tf.shape(items[0])
        for item in items[1:]:
            shape = tf.broadcast_dynamic_shape(shape, tf.shape(item))
        return tf.stack([tf.broadcast_to(item, shape) for item in items])

    def binop(self, node, a, b):
        tf = self.tf
        ops = {
            "+": tf.add, "-": tf.subtract, "*": tf.multiply, "/": tf.divide,
            "**": tf.pow, "@": tf.linalg.matmul,
            "<": tf.less, "<=": tf.less_equal, ">": tf.greater, ">=": tf.greater_equal,
            "==": tf.equal, "!=": tf.not_equal,
        }  # fmt: skip
        if node.op == "**" and isinstance(node.right, Num) and node.right.value == 0:
            return tf.ones_like(a)  # x**0 is the constant 1, as sympy reads it (tf.pow's gradient is 0 * 0**-1 = nan)
        root = odd_root(node.right) if node.op == "**" else None  # no walrus: AutoGraph cannot convert one
        if root:
            return self._real_power(a, b, root[0])
        return ops[node.op](a, b)

    def _real_power(self, u, b, p: int):
        """u**(p/q), q odd, real for u < 0: (-1)**p * (-u)**(p/q) there (at 0 the slope is inf, not nan)."""
        tf = self.tf
        side = tf.where(u < 0, -tf.ones_like(u), tf.ones_like(u))
        return (side if p % 2 else 1) * tf.pow(side * u, tf.cast(b, u.dtype))

    def call(self, node, args):
        if node.func == "log":
            log = self.tf.math.log
            return log(args[0]) / log(args[1]) if len(args) == 2 else log(args[0])
        return self.funcs[node.func](*args)


def record(
    tree: Node,
    values: dict[str, np.ndarray],
    variables: frozenset[str],
    watched_constants: frozenset[str],
    dtype: str,
    order: int = 1,
    unconnected: str = "zero",
    several: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """Run f once under a GradientTape.

    Variables become tf.Variable (watched automatically), the rest tf.constant;
    constants named in `watched_constants` are passed to tape.watch. Returns f's
    value and the gradient of every watched source. A source f does not use gets
    TensorFlow's answer for `unconnected` ("none": None, the default
    UnconnectedGradients.NONE; "zero": zeros); a name f uses but does not depend on
    (stop_gradient) gets zeros. With `several`, the tree is a list (or tensor) of
    targets handed to tape.gradient as such, which sums them; the value is their sum.
    With order > 1, each source's pure derivative of that order comes from `order` nested tapes.
    """
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    backend = TapeBackend(tf, tf_dtype)
    with tf.GradientTape() as tape:
        _watch(tape, env, sources, watched_constants)
        f = _targets(tree, env, backend) if several else evaluate(tree, env, backend)
    names = list(sources)
    if order == 1:
        mode = tf.UnconnectedGradients.NONE if unconnected == "none" else tf.UnconnectedGradients.ZERO
        grads = tape.gradient(f, [sources[n] for n in names], unconnected_gradients=mode)
        used = free_names(tree)
        grads = [tf.zeros_like(sources[n]) if g is None and n in used else g for n, g in zip(names, grads, strict=True)]
    else:
        grads = [_nested(tf, lambda: evaluate(tree, env, backend), sources[n], order) for n in names]
        if unconnected == "none":  # the innermost tape.gradient already says None for a source f does not use
            grads = [g if n in free_names(tree) else None for n, g in zip(names, grads, strict=True)]
    value = tf.add_n([tf.reduce_sum(t) for t in f]) if isinstance(f, list) else tf.reduce_sum(f) if several else f
    return (
        np.asarray(value.numpy(), dtype=np.float64),
        {n: None if g is None else np.asarray(g.numpy(), dtype=np.float64) for n, g in zip(names, grads, strict=True)},
    )


def record_steps(steps, values, variables, watched_constants, dtype, intermediates, unconnected: str = "zero"):
    """The program step by step under one tape, as a TensorFlow user writes it: each named step is a tensor
    of its own (tf.identity, watched, so a step of constants alone is recorded too), and
    tape.gradient(f, [inputs..., steps...]) answers for the intermediate tensors beside the inputs.
    `steps` ends with the target. Returns f's value and the gradient of every source and intermediate."""
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    backend = TapeBackend(tf, tf_dtype)
    with tf.GradientTape() as tape:
        _watch(tape, env, sources, watched_constants)
        for name, tree in steps:
            env[name] = evaluate(tree, env, backend)
            if name in intermediates:
                env[name] = tf.identity(env[name])
                tape.watch(env[name])
    f = env[steps[-1][0]]
    names = [*sources, *intermediates]
    mode = tf.UnconnectedGradients.NONE if unconnected == "none" else tf.UnconnectedGradients.ZERO
    wanted = [sources[n] for n in sources] + [env[n] for n in intermediates]
    grads = tape.gradient(f, wanted, unconnected_gradients=mode)
    used = frozenset().union(*(free_names(tree) for _, tree in steps)) | set(intermediates)
    grads = [tf.zeros_like(env[n]) if g is None and n in used else g for n, g in zip(names, grads, strict=True)]
    return (
        np.asarray(f.numpy(), dtype=np.float64),
        {n: None if g is None else np.asarray(g.numpy(), dtype=np.float64) for n, g in zip(names, grads, strict=True)},
    )


def record_graph(nodes, values, variables, watched_constants, dtype):
    """The computation graph run node by node under one persistent tape, every value kept.

    `nodes` is in topological order: (tree node, child indices); a Name leaf is a source or a constant.
    Every use of a child is a tensor of its own (tf.identity), so the tape answers per edge: the edge's
    local derivative d parent / d use, and its adjoint d f / d use. Every node's tensor is watched (but
    an unwatched constant, which the tape would not see), so tape.gradient(f, node) is the node's adjoint;
    the last node is f. Returns per node (value, adjoint or None) and per edge (parent, child) the pair
    (local derivative, adjoint)."""
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    unwatched = {n for n in env if n not in sources and n not in watched_constants}
    backend = TapeBackend(tf, tf_dtype)
    tensors, uses = [], {}
    with tf.GradientTape(persistent=True) as tape:
        _watch(tape, env, sources, watched_constants)
        for index, (node, kids) in enumerate(nodes):
            args = []
            for k in kids:
                use = tf.identity(tensors[k])
                tape.watch(use)
                uses.setdefault((index, k), []).append(use)
                args.append(use)
            tensor = _node_value(node, args, env, backend)
            if getattr(node, "id", None) not in unwatched:
                tape.watch(tensor)
            tensors.append(tensor)
    f = tensors[-1]
    zero = tf.UnconnectedGradients.ZERO
    watched = [i for i, (node, _) in enumerate(nodes) if getattr(node, "id", None) not in unwatched]
    asked = tape.gradient(f, [tensors[i] for i in watched], unconnected_gradients=zero)
    adjoints = dict(zip(watched, asked, strict=True))
    edges = {}
    for (parent, child), used in uses.items():
        local = tape.gradient(tensors[parent], used, unconnected_gradients=zero)
        adjoint = tape.gradient(f, used, unconnected_gradients=zero)
        edges[(parent, child)] = [(_float(a), _float(b)) for a, b in zip(local, adjoint, strict=True)]
    del tape
    return [(_float(t), _float(adjoints[i]) if i in adjoints else None) for i, t in enumerate(tensors)], edges


def _node_value(node, args, env, backend):
    """One node of the graph from its children's tensors, through the same backend hooks as evaluate."""
    if isinstance(node, Name) and args:  # a step that names another: its own tensor, the edge's identity
        return args[0]
    if isinstance(node, Name):
        return env[node.id] if node.id in env else backend.constant(node.id)
    if isinstance(node, Num):
        return backend.number(node)
    if isinstance(node, Neg):
        return backend.neg(args[0])
    if isinstance(node, BinOp):
        return backend.binop(node, *args)
    if isinstance(node, Custom):
        return backend.custom(node, args[0])
    if isinstance(node, Call):
        return backend.call(node, args)
    return backend.stack(args)


def _float(tensor) -> float:
    return float(np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor, dtype=np.float64))


def _targets(tree: Node, env, backend):
    """Several targets as a TensorFlow user writes them: a Python list of tensors, or one tensor."""
    if isinstance(tree, ListOf):
        return [evaluate(item, env, backend) for item in tree.items]
    return evaluate(tree, env, backend)


# What TensorFlow logs when a tape is asked to watch an integer tensor (only the first time in a process,
# so a later int32 problem in the same process sees nothing: the text is kept here; a test checks it).
INTEGER_WARNING = "The dtype of the watched tensor must be floating (e.g. tf.float32), got tf.int32"


def record_integer(tree: Node, values: dict[str, np.ndarray], variables: frozenset[str]):
    """f on int32 tensors under a tape, as TensorFlow does it: the tape does not watch integer sources,
    so tape.gradient returns None, and TensorFlow logs a warning (kept off stderr and returned)."""
    import logging

    tf = tensorflow()
    env, sources, _ = _environment(
        tf, {n: np.asarray(v).astype(np.int32) for n, v in values.items()}, variables, "int32"
    )
    caught: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: caught.append(record.getMessage())
    logger = tf.get_logger()
    level, handlers = logger.level, logger.handlers[:]
    logger.handlers[:] = [handler]  # the warning becomes a note, not a line on stderr
    logger.setLevel("WARNING")
    try:
        with tf.GradientTape() as tape:
            for source in sources.values():
                tape.watch(source)
            f = evaluate(tree, env, TapeBackend(tf, tf.int32))
    except (TypeError, ValueError, tf.errors.OpError) as exc:
        from gradcli.errors import PointError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PointError(f"TensorFlow cannot compute this expression on int32 tensors: {first}") from None
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    names = list(sources)
    grads = tape.gradient(f, [sources[n] for n in names])
    value = np.asarray(f.numpy(), dtype=np.float64)
    return (
        value,
        {n: None if g is None else np.asarray(g.numpy(), dtype=np.float64) for n, g in zip(names, grads, strict=True)},
        caught[0] if caught else INTEGER_WARNING,
    )


def jvp(tree: Node, values: dict[str, np.ndarray], variables: frozenset[str], tangents: dict, dtype: str):
    """Forward mode: f run once inside tf.autodiff.ForwardAccumulator, each variable paired with its tangent.

    Returns f's value and the Jacobian-vector product J·t (the directional derivative along t).
    """
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    names = [n for n in sources if n in tangents]
    primals = [sources[n] for n in names]
    with tf.autodiff.ForwardAccumulator(primals, [tf.constant(tangents[n], tf_dtype) for n in names]) as acc:
        f = evaluate(tree, env, TapeBackend(tf, tf_dtype))
    product = acc.jvp(f, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return np.asarray(f.numpy(), dtype=np.float64), np.asarray(product.numpy(), dtype=np.float64)


def vjp(tree: Node, values, variables: frozenset[str], watched_constants: frozenset[str], dtype: str, upstream):
    """Reverse mode seeded with an upstream gradient u: tape.gradient(f, sources, output_gradients=u) = Jᵀu.

    Returns u·f (the scalar whose gradient Jᵀu is) and Jᵀu per source.
    """
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    with tf.GradientTape() as tape:
        _watch(tape, env, sources, watched_constants)
        f = evaluate(tree, env, TapeBackend(tf, tf_dtype))
    seed = tf.constant(upstream, tf_dtype)
    names = list(sources)
    grads = tape.gradient(
        f, [sources[n] for n in names], output_gradients=seed, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    value = tf.reduce_sum(seed * f)
    return (
        np.asarray(value.numpy(), dtype=np.float64),
        {n: np.asarray(g.numpy(), dtype=np.float64) for n, g in zip(names, grads, strict=True)},
    )


def _nested(tf, f, source, order: int):
    """d^order f / d source^order: each tape records the gradient computed inside it."""
    if order == 0:
        return f()
    with tf.GradientTape() as tape:
        tape.watch(source)
        inner = _nested(tf, f, source, order - 1)
    return tape.gradient(inner, source, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def implicit_derivative(tree: Node, values: dict[str, np.ndarray], x: str, y: str, order: int) -> float:
    """d^order y/dx^order on the curve F = 0 at the point, by nested tapes: y' = -F_x/F_y, and each higher
    derivative is d/dx g(x, y(x)) = g_x + g_y y' of the one before (float64; other names are constants)."""
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, frozenset((x, y)), "float64")
    backend = TapeBackend(tf, tf_dtype)
    pair = [sources[x], sources[y]]
    zero = tf.UnconnectedGradients.ZERO

    def slope(k: int):
        with tf.GradientTape(persistent=True) as tape:
            inner = evaluate(tree, env, backend) if k == 1 else slope(k - 1)
            first = None if k == 1 else slope(1)
        gx, gy = tape.gradient(inner, pair, unconnected_gradients=zero)
        return -gx / gy if k == 1 else gx + gy * first

    return float(slope(order).numpy())


def _environment(tf, values, variables, dtype):
    tf_dtype = {"float64": tf.float64, "float32": tf.float32, "int32": tf.int32}[dtype]
    env, sources = {}, {}
    for name, array in values.items():
        if name in variables:
            env[name] = sources[name] = tf.Variable(array, dtype=tf_dtype, name=name)
        else:
            env[name] = tf.constant(array, dtype=tf_dtype)
    return env, sources, tf_dtype


def _watch(tape, env, sources, watched_constants) -> None:
    for name in sorted(watched_constants):
        tape.watch(env[name])
        sources[name] = env[name]


def jacobian(tree, values, variables, watched_constants, dtype, columns, batched=False):
    """tape.jacobian of every output with respect to every element of `columns` (one recording).

    Returns (f values, matrix): matrix is (outputs, inputs), or (points, outputs, inputs) when batched.
    """
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    with tf.GradientTape(persistent=True) as tape:
        _watch(tape, env, sources, watched_constants)
        f = evaluate(tree, env, TapeBackend(tf, tf_dtype))
        rows = tf.reshape(f, [-1, len(next(iter(values.values())))]) if batched else tf.reshape(f, [-1])
        rows = tf.unstack(rows) if batched else rows  # sliced while recording, so each slice is on the tape
    return np.asarray(f.numpy(), dtype=np.float64), _rows_by_sources(
        tf, tape, rows, [sources[n] for n in columns], batched
    )


def hessian(tree, values, variables, watched_constants, dtype, columns, batched=False):
    """Nested tapes: the inner tape's gradient, recorded by the outer tape, differentiated again."""
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    with tf.GradientTape(persistent=True) as outer:
        _watch(outer, env, sources, watched_constants)
        with tf.GradientTape() as inner:
            _watch(inner, env, sources, watched_constants)
            f = evaluate(tree, env, TapeBackend(tf, tf_dtype))
        grads = inner.gradient(f, [sources[n] for n in columns], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        rows = grads if batched else tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)
    return np.asarray(f.numpy(), dtype=np.float64), _rows_by_sources(
        tf, outer, rows, [sources[n] for n in columns], batched
    )


def _rows_by_sources(tf, tape, rows, sources, batched: bool) -> np.ndarray:
    """The Jacobian of `rows` with respect to `sources`, joined into one matrix.

    Unbatched: tape.jacobian without pfor (for the small matrices gradcli shows,
    an eager loop is ~10x faster than tracing the vectorised version), each block
    flattened to (rows, source elements). Batched: `rows` is a list of per-row
    tensors over the points; the points are independent, so tape.gradient of a
    row, summed over the points, is that row's derivative at every point at once:
    (points, rows, sources) with memory linear in the points.
    """
    zero = tf.UnconnectedGradients.ZERO
    if batched:
        per_row = [tf.stack(tape.gradient(row, sources, unconnected_gradients=zero), axis=-1) for row in rows]
        joined = tf.stack(per_row, axis=1)
    else:
        blocks = tape.jacobian(rows, sources, unconnected_gradients=zero, experimental_use_pfor=False)
        joined = tf.concat([tf.reshape(b, [rows.shape[0], -1]) for b in blocks], axis=1)
    del tape
    return np.asarray(joined.numpy(), dtype=np.float64)


def clip(spec, gradients: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """Clip the tape's gradients with TensorFlow's own clipping functions."""
    tf = tensorflow()
    tf_dtype = tf.float64 if dtype == "float64" else tf.float32
    names = list(gradients)
    tensors = [tf.constant(gradients[n], dtype=tf_dtype) for n in names]
    if spec.method == "value":
        clipped = [tf.clip_by_value(t, spec.low, spec.high) for t in tensors]
    elif spec.method == "norm":
        clipped = [tf.clip_by_norm(t, spec.norm) for t in tensors]
    else:
        clipped, _ = tf.clip_by_global_norm(tensors, spec.norm)
    return {n: np.asarray(c.numpy(), dtype=np.float64) for n, c in zip(names, clipped, strict=True)}


def record_targets(trees, values, variables, watched_constants, dtype):
    """One persistent tape records every target; then tape.gradient is called once per target."""
    tf = tensorflow()
    env, sources, tf_dtype = _environment(tf, values, variables, dtype)
    with tf.GradientTape(persistent=True) as tape:
        _watch(tape, env, sources, watched_constants)
        backend = TapeBackend(tf, tf_dtype)
        targets = [evaluate(tree, env, backend) for tree in trees]
    names = list(sources)
    runs = []
    for f in targets:
        grads = tape.gradient(f, [sources[n] for n in names], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        runs.append(
            (
                np.asarray(f.numpy(), dtype=np.float64),
                {n: np.asarray(g.numpy(), dtype=np.float64) for n, g in zip(names, grads, strict=True)},
            )
        )
    del tape  # a persistent tape holds its resources until it is dropped
    return runs


class descent_session:  # noqa: N801 - reads as a function call at the call site
    """The variables of a descent run, and one tape recording per step."""

    def __init__(self, problem, clip_spec):
        self.tf = tf = tensorflow()
        values = {name: np.asarray(v.as_list(), dtype=np.float64) for name, v in problem.points[0].items()}
        values.update({name: np.asarray(v.as_list(), dtype=np.float64) for name, v in problem.constants.items()})
        self.variables = list(problem.variables)
        self.env, self.sources, self.dtype = _environment(tf, values, frozenset(self.variables), problem.dtype)
        self.backend = TapeBackend(tf, self.dtype)
        self.tree, self.clip, self.dtype_name = problem.tree, clip_spec, problem.dtype
        # one graph per step instead of one Python dispatch per op: eager dispatch was 85% of a step
        self.record = tf.function(self._record, reduce_retracing=True)

    def _record(self, batch: dict):
        tf = self.tf
        with tf.GradientTape() as tape:
            loss = evaluate(self.tree, {**self.env, **batch}, self.backend)
            if batch:
                loss = tf.reduce_mean(loss)
        grads = tape.gradient(
            loss, [self.sources[n] for n in self.variables], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        return loss, grads

    def evaluate(self, batch: dict[str, np.ndarray] | None = None):
        """One recording at the current parameters; with a data batch, the loss is the batch mean."""
        tf = self.tf
        columns = {name: tf.constant(column, dtype=self.dtype) for name, column in (batch or {}).items()}
        loss, grads = self.record(columns)
        gradient = {n: _number(g) for n, g in zip(self.variables, grads, strict=True)}
        clipped = clip(self.clip, gradient, self.dtype_name) if self.clip else gradient
        params = {n: _number(self.sources[n]) for n in self.variables}
        return float(loss.numpy()), params, gradient, {n: _number(v) for n, v in clipped.items()}

    def assign(self, new: dict) -> None:
        for name, value in new.items():
            self.sources[name].assign(value)


def _number(tensor):
    array = np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor, dtype=np.float64)
    return array.tolist() if array.shape else float(array)
