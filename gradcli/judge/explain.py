"""The one place where English is made from the judge's notes (gradcli.judge.verdict.Note): message(note).

Nothing reads this prose back: verdicts, `differentiable` and the renderer's choices follow from the
notes' kinds and severities.
"""

from __future__ import annotations

import numpy as np

from gradcli.witnesses.numeric import ROUNDED, Event

CONVENTIONS = {
    "abs": "TensorFlow uses sign(0) = 0, a subgradient",
    "relu": "TensorFlow uses 0 as relu's slope at 0, a subgradient",
    "max": "when max's arguments tie, TensorFlow passes the whole gradient to the first one",
    "min": "when min's arguments tie, TensorFlow passes the whole gradient to the first one",
    "clip": "at a bound tf.clip_by_value passes the whole gradient to its first argument (slope 1), none to the bound",
    "where": "at the switch tf.where passes the whole gradient to the branch its condition takes here",
}


def fmt(value) -> str:
    """Short human form of a number or a nested list."""
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if value is None:
        return "None"
    text = f"{float(value):.10g}"
    return "0" if text == "-0" else text


JVP = "jvp"  # gradcli jvp's one row: the derivative along the tangent, by forward mode


def _wrt(name: str) -> str:
    return "along the tangent t" if name == JVP else f"with respect to {name}"


def _tape(name: str) -> str:
    return "ForwardAccumulator" if name == JVP else "GradientTape"


def _kink_place(event: Event) -> str:
    if event.func in ("abs", "relu"):
        return f"{event.func} has a kink where its argument {event.arg} is 0"
    if event.func == "clip":
        return f"{event.arg} has a kink where its first argument meets a bound"
    if event.func == "where":
        return f"where switches branches where the two sides of its condition {event.arg} are equal"
    return f"{event.arg} has a kink where its two arguments are equal"


def kink(event: Event, name: str, left, right, tape, exact) -> str:
    where = _kink_place(event)
    here = "as it is here"
    if event.detail == ROUNDED:
        here = "as it is here to float64 precision (its exact zero is not a float)"
    text = (
        f"{where}, {here}: the slope {_wrt(name)} is {fmt(left)} from the left "
        f"and {fmt(right)} from the right, so the derivative does not exist."
    )
    convention = CONVENTIONS[event.func]
    if event.detail == ROUNDED:
        convention = "in float64 the argument is a tiny nonzero number, so TensorFlow takes one side's slope"
    if tape is None:
        return f"{text} {convention[0].upper()}{convention[1:]}."
    return f"{text} {_tape(name)} returns {fmt(tape)} ({convention}); the symbolic derivative gives {fmt(exact)}."


_AT_ZERO = {  # where the functions that notation added have no derivative
    "sec": "has a pole where cos({a}) = 0",
    "csc": "has a pole where sin({a}) = 0",
    "cot": "has a pole where sin({a}) = 0",
    "csch": "has a pole at {a} = 0",
    "coth": "has a pole at {a} = 0",
    "acot": "jumps from -pi/2 to pi/2 at {a} = 0",
    "sign": "jumps from -1 to 1 at {a} = 0",
    "atanh": "has poles at {a} = ±1 and is not real beyond",
    "asec": "has an infinite slope at {a} = ±1 and is not real between",
    "acsc": "has an infinite slope at {a} = ±1 and is not real between",
    "acosh": "has an infinite slope at {a} = 1 and is not real below",
}


def singular(event: Event) -> str:
    arg = event.arg
    if event.kind == "pole" and event.func not in ("tan", *_AT_ZERO):
        near = f"{arg} is 0 here to float64 precision (its exact zero is not a float; this is the nearest one)"
        if event.func == "division":
            return f"division by {arg}: {near}, so in exact arithmetic the function has a pole here."
        part = f"{arg}{event.detail}" if event.func == "power" else f"{event.func}({arg})"
        return f"{near}, and {part} has an infinite slope there."
    if event.func == "sqrt":
        return f"sqrt({arg}) has an infinite slope where {arg} = 0 and is not real where {arg} < 0."
    if event.func == "cbrt":
        return f"cbrt({arg}) has an infinite slope (a vertical tangent) where {arg} = 0."
    if event.func in ("log", "log2", "log10"):
        return f"{event.func}({arg}) is only defined for {arg} > 0; at 0 it and its slope are infinite."
    if event.func == "tan":
        return f"tan({arg}) has a pole where cos({arg}) = 0, and {arg} is at one here (to float64 precision)."
    if event.func in ("asin", "acos"):
        return f"{event.func}({arg}) has an infinite slope where {arg} = ±1 and is not real beyond."
    if event.func in _AT_ZERO:
        where = _AT_ZERO[event.func].format(a=arg)
        precision = " (to float64 precision)" if event.kind == "pole" else ""
        return f"{event.func}({arg}) {where}, which is where this point is{precision}."
    if event.func == "division":
        return f"division by {arg}, which is 0 here."
    if event.detail == "exponent":
        return f"{arg} is 0 here, and the slope of 0**y with respect to y involves log(0)."
    if event.detail == "negative base":
        return f"{arg} is negative here, and a negative number to a fractional power is not real."
    return f"{arg}{event.detail} has an infinite slope where {arg} = 0."


def unexplained_not_finite(value) -> str:
    return (
        f"the function or its derivative is not finite at this point (f = {fmt(value)}); "
        "the numbers overflow float64 or meet a singularity."
    )


def methods_say(rows) -> str:
    """rows: (name, tape or None when not watched, exact, finite difference)."""
    parts = []
    for name, tape, exact, fd in rows:
        said = fmt(_plain(tape)) if tape is not None else "nothing (not watched)"
        parts.append(
            f"d/d{name}: GradientTape gives {said}, the symbolic derivative {fmt(_plain(exact))}, "
            f"finite differences {fmt(_plain(fd))}"
        )
    return "; ".join(parts) + "."


def _plain(value):
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    return array.tolist() if array.shape else float(array)


def higher_order_kink(event: Event, name: str, k: int, order: int, left, right) -> str:
    nth = "derivative" if k == order else f"derivative of order {order}"
    what = f"the slope {_wrt(name)}" if k == 1 else f"the derivative of order {k} {_wrt(name)}"
    return (
        f"{_kink_place(event)}, as it is here: {what} is "
        f"{fmt(left)} from the left and {fmt(right)} from the right, so the {nth} does not exist."
    )


def kink_too_noisy(event: Event, name: str, k: int, order: int, noise) -> str:
    nth = "derivative" if order == 1 else f"derivative of order {order}"
    return (
        f"{_kink_place(event)}, as it is here, and f is too large next to its derivatives for float64 to tell "
        f"whether the one-sided derivatives of order {k} {_wrt(name)} agree (rounding alone is "
        f"about {fmt(noise)}), so the {nth} may not exist here."
    )


def smooth_at_kink(event: Event, name: str, order: int, sides, tape, exact) -> str:
    """The derivative exists at this kink; say why, and which witness (if any) the kink fooled.

    sides is (left, right); tape and exact are (value, whether it matches the one-sided estimates).
    """
    (left, right), (tape, tape_agrees), (exact, exact_agrees) = sides, tape, exact
    if order == 1:
        agreement = f"its slopes {_wrt(name)} from the left and from the right agree ({fmt(left)}, {fmt(right)})"
    else:
        agreement = (
            f"its one-sided derivatives {_wrt(name)} agree at every order up to {order} "
            f"(order {order}: {fmt(left)} from the left, {fmt(right)} from the right)"
        )
    text = (
        f"{_kink_place(event)}, as it is here, but f is smooth there: {agreement}, so the derivative exists. "
        "The finite difference shown is the mean of the one-sided estimates (a central one would straddle the kink)."
    )
    if not exact_agrees:
        text += (
            f" The symbolic value {fmt(exact)} is not the derivative here: sympy's expression, evaluated exactly "
            "at the kink, uses conventions such as Heaviside(0) = 1/2 or sign(0) = 0, which hold for neither side."
        )
    if not tape_agrees:
        convention = CONVENTIONS.get(event.func, "")
        how = "TensorFlow's convention at the kink" if order == 1 else "the nested tapes apply TensorFlow's convention"
        text += f" {_tape(name)}'s {fmt(tape)} is wrong here: {how} ({convention}) does not give the derivative."
    return text


def hessian_kink(event: Event) -> str:
    return (
        f"{event.func} has a kink exactly at this point ({event.arg}); gradcli checks one-sided slopes "
        "only for first derivatives and pure higher derivatives, not mixed ones, so the Hessian may not exist here."
    )


def custom_rule(names: str, name: str, rule, truth) -> str:
    return (
        f"the custom gradient rule of {names} gives d/d{name} = {fmt(rule)} here, but the true derivative is "
        f"{fmt(truth)}: GradientTape follows the rule, as @tf.custom_gradient tells it to "
        "(finite differences follow the truth)."
    )


def overflow(value, value64, dtype: str, where: str | None = None, where64=None) -> str:
    if where is not None:
        return (
            f"{where} overflows {dtype} here ({where} = {fmt(_plain(where64))} in float64, beyond {dtype}'s largest "
            f"number), so f = {fmt(_plain(value))} in {dtype} ({fmt(_plain(value64))} in float64); that is the size "
            "of a part of f, not of its derivative, which is finite."
        )
    return (
        f"f overflows {dtype} here (f = {fmt(_plain(value))} in {dtype}, {fmt(_plain(value64))} in float64); "
        "that is the function's size, not its derivative, which is finite."
    )


WHY = {
    "float32 rounding": "float32 rounding: the same tape in float64 gives {tape64}, which agrees with the exact value",
    "overflow": "a part of f overflows the dtype (the overflow note names it), so the tape's intermediate values "
    "are infinite; the same tape in float64 "
    "gives {tape64}",
    "finite-difference noise": "finite-difference noise: the estimate's own error bar is ±{fd_error}, wider than "
    "the tolerance (rounding in f swamps the step)",
    "exact value not evaluated": "sympy could not evaluate the exact value to a finite real number here",
    "cancellation in f": "f itself loses digits to cancellation here (its float64 rounding error is {cancellation} "
    "times eps·|f|, measured against extended precision); the tape's arithmetic inherits that loss, the exact "
    "value does not",
    "where's untaken branch": "the where trap (see the where note)",
}
WITNESS = {"tape": "GradientTape", "exact": "the exact (symbolic) value", "finite_difference": "finite differences"}


def odd_witness(name: str, data: dict) -> str:
    witness, reason = data["witness"], data["reason"]
    if witness is None:
        return (
            f"d/d{name}: no two methods agree (GradientTape {fmt(_plain(data['tape']))}, exact "
            f"{fmt(_plain(data['exact']))}, finite differences {fmt(_plain(data['fd']))})."
        )
    others = {"tape": "the exact value and finite differences", "exact": "GradientTape and finite differences",
              "finite_difference": "GradientTape and the exact value"}[witness]  # fmt: skip
    text = f"d/d{name}: {WITNESS[witness]} is the odd one out ({others} agree)"
    if reason in WHY:
        numbers = {
            "tape64": fmt(_plain(data.get("tape64"))),
            "fd_error": fmt(float(np.max(data["fd_error"]))),
            "cancellation": f"{data.get('cancellation', 0):.2g}",
        }
        return f"{text}; why: {WHY[reason].format(**numbers)}."
    return f"{text}; gradcli cannot tell why."


def _several_targets(_, d: dict) -> str:
    if d["form"] == "list":
        own = ", ".join(d["targets"])
        return (
            f"tape.gradient of a list of {len(d['targets'])} targets returns the gradient of their sum (row sum; "
            f"TensorFlow adds the targets' gradients); each target's own gradient is in its rows ({own})."
        )
    shape = "x".join(map(str, d["shape"]))
    return (
        f"tape.gradient of a {shape} tensor target returns the gradient of the sum of its elements (row sum); "
        "gradcli jacobian shows each element's own gradient."
    )


def _unconnected(name: str, d: dict) -> str:
    if d["mode"] == "zero":
        return (
            f"{name} is not connected to f (f does not use it): with unconnected_gradients=tf.UnconnectedGradients."
            "ZERO (--unconnected zero) tape.gradient returns 0 for it instead of None; sympy and finite "
            "differences say 0."
        )
    return (
        f"{name} is not connected to f (f does not use it), so tape.gradient returns None for it "
        "(unconnected_gradients=tf.UnconnectedGradients.NONE, the default; --unconnected zero gives 0); "
        "sympy and finite differences say 0."
    )


def _integer_dtype(name: str, d: dict) -> str:
    said = f' and warns "{d["warning"]}"' if d.get("warning") else ""
    return (
        f"{name} is an {d['dtype']} tensor: the tape does not watch integer tensors, so tape.gradient returns None "
        f"for {name}{said}; sympy and finite differences give the real derivative (use a float dtype for a gradient)."
    )


FRAMEWORKS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
TIE_FIRST, TIE_HALF = "the whole gradient to the first argument at a tie", "half the gradient to each argument at a tie"
CLIP_ONE = "slope 1 at a bound (the whole gradient to x)"  # tf.clip_by_value; torch.clamp keeps lo <= x <= hi
CLIP_HALF = "slope 1/2 at a bound (half to x, half to the bound)"  # jnp.clip is minimum(maximum(x, lo), hi)
# What each framework's derivative is at a kink (docs/frameworks.md measures them; a test checks they agree).
FRAMEWORK_CONVENTIONS = {
    "tensorflow": {
        "abs": "sign(0) = 0", "relu": "slope 0 at 0", "max": TIE_FIRST, "min": TIE_FIRST, "clip": CLIP_ONE,
    },
    "jax": {
        "abs": "slope 1 at 0, the right side's", "relu": "slope 0 at 0", "max": TIE_HALF, "min": TIE_HALF,
        "clip": CLIP_HALF,
    },
    "torch": {"abs": "sign(0) = 0", "relu": "slope 0 at 0", "max": TIE_HALF, "min": TIE_HALF, "clip": CLIP_ONE},
}  # fmt: skip


def where_nan(name: str, d: dict) -> str:
    """The where trap, and the double where that avoids it."""
    event = d["event"]
    return (
        f"d/d{name}: GradientTape gives {fmt(_plain(d['tape']))}, and the exact value is {fmt(_plain(d['exact']))}: "
        f"the where trap. {event.arg} does not take the branch with {event.inner} here, but the tape computes both "
        f"branches, and {event.inner} has an infinite slope at this point; tf.where's gradient sends 0 to the "
        "untaken branch, and the chain rule multiplies that 0 by the infinite slope: 0·inf = nan. The fix is the "
        f"double where, which keeps the untaken branch finite: {event.detail}."
    )


def _frameworks_differ(name: str, d: dict) -> str:
    event = d["event"]
    said = []
    for framework, value in d["values"].items():
        convention = FRAMEWORK_CONVENTIONS[framework].get(event.func) if event is not None else None
        if value is not None and np.any(np.isnan(np.asarray(value, dtype=np.float64))):
            convention = "0·inf in its backward pass: a masked (zero) slope met an infinite one"
            if d.get("where") is not None:
                convention = f"the where trap: {d['where'].inner} in the untaken branch; fix: {d['where'].detail}"
        said.append(f"{FRAMEWORKS[framework]} {fmt(value)}" + (f" ({convention})" if convention else ""))
    text = f"d/d{name}: the frameworks differ here: " + ", ".join(said) + "."
    if event is None:
        return f"{text} The exact value is {fmt(d['exact'])}."
    if d["exists"]:
        return f"{text} At this kink the derivative exists: {fmt(d['left'])} from both sides."
    return (
        f"{text} {_kink_place(event)}: the slope is {fmt(d['left'])} from the left and {fmt(d['right'])} from the "
        "right, so the derivative does not exist, and each framework returns its own convention."
    )


def _watched_constant(name: str, d: dict) -> str:
    return (
        f"{name} is a tf.constant, which the tape does not watch on its own (a tf.Variable is watched "
        f"automatically): tape.watch({name}) makes it a source of tape.gradient, like a variable."
    )


def _intermediate(name: str, d: dict) -> str:
    return (
        f"{name} is an intermediate (the named step {name} = {d['step']}), not an input: tape.gradient(f, {name}) "
        f"is the partial derivative of f with respect to that tensor, holding the inputs fixed (f written with "
        f"{name} as a symbol is {d['cut']}); sympy differentiates that, finite differences nudge {name} alone."
    )


TAPE_RULES = {
    "several_targets": _several_targets, "unconnected": _unconnected, "integer_dtype": _integer_dtype,
    "frameworks_differ": _frameworks_differ,
    "where_nan": where_nan,
    "watched_constant": _watched_constant,
    "intermediate": _intermediate,
}  # fmt: skip


def message(note) -> str:
    """The English for one judge.Note."""
    d, name = note.data, note.variable
    kind = note.kind
    if kind == "kink":
        return kink(d["event"], name, d["left"], d["right"], _plain(d["tape"]), _plain(d["exact"]))
    if kind == "jump":
        return (
            f"{_kink_place(d['event'])}, as it is here, and its two branches do not meet there: f jumps, so it is "
            f"not continuous here and its derivative {_wrt(name)} does not exist."
        )
    if kind == "kink_higher_order":
        return higher_order_kink(d["event"], name, d["k"], d["order"], d["left"], d["right"])
    if kind == "kink_cannot_tell":
        return kink_too_noisy(d["event"], name, d["k"], d["order"], d["noise"])
    if kind == "smooth_kink":
        sides, tape, exact = (d["left"], d["right"]), (d["tape"], d["tape_ok"]), (d["exact"], d["exact_ok"])
        return smooth_at_kink(d["event"], name, d["order"], sides, tape, exact)
    if kind == "hessian_kink":
        return hessian_kink(d["event"])
    if kind in ("singular", "pole"):
        return singular(d["event"])
    if kind in ("kink_mixed", "smooth_kink_mixed"):
        a, b = d["names"]
        values = ", ".join(fmt(v) for v in d["quadrants"])
        head = f"{_kink_place(d['event'])}, as it is here: d2f/d{a}d{b} from the four quadrants around the point is"
        if kind == "kink_mixed":
            return f"{head} {values}, so this mixed partial does not exist."
        text = f"{head} {values} (they agree), so it exists; the finite difference shown is their mean."
        if not d["exact_ok"]:
            text += f" The symbolic value {fmt(_plain(d['exact']))} is a convention at the kink, not the derivative."
        if not d["tape_ok"]:
            text += (
                f" GradientTape's {fmt(_plain(d['tape']))} is wrong here (nested tapes apply TensorFlow's convention)."
            )
        return text
    if kind == "sample_disagrees":
        where = ", ".join(f"{n} = {fmt(v)}" for n, v in d["at"].items())
        rows = d["rows"]
        said = methods_say(rows) if rows else "GradientTape, sympy and finite differences give different matrices."
        return f"at {where}: {said}"
    if kind == "unchecked":
        if d["why"] == "no sample point":
            return "no sample point found where f is real and smooth, so the formula was not checked"
        return "the derivative is not finite at any sample point, so the formula was not checked"
    if kind == "kink_in_constant":
        return (
            f"{_kink_place(d['event'])}, as it is here, but only through names the tape does not watch "
            f"({', '.join(sorted(d['event'].names))}): the tape's derivatives are not affected, though the "
            "derivative along those names may not exist here."
        )
    if kind == "removable":
        return (
            f"{d['event'].arg} is 0 here to float64 precision, but f does not feel it (f is continuous here and "
            "all three methods agree): the zero is removable, not a pole."
        )
    if kind == "not_finite":
        return unexplained_not_finite(_plain(d["value"]))
    if kind == "witnesses":
        return methods_say(d["rows"])
    if kind == "custom_rule":
        return custom_rule(d["names"], name, _plain(d["rule"]), _plain(d["truth"]))
    if kind == "overflow":
        return overflow(d["value"], d["value64"], d["dtype"], d.get("where"), d.get("where64"))
    if kind == "odd_witness":
        return odd_witness(name, d)
    if kind in TAPE_RULES:
        return TAPE_RULES[kind](name, d)
    if kind == "fd_within_error":
        return (
            f"d/d{name}: finite differences match only within their own error bar (±{fmt(float(d['error']))}), "
            "not within the fixed tolerance: rounding in f limits them here."
        )
    raise ValueError(f"no message for note kind {kind!r}")
