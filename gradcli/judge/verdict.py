"""The one judge: do the witnesses agree, and what is there to say at a kink, a pole or an overflow.

It takes arrays (the tape's gradient, the exact value, the finite difference with its error bound, the
events found at the point) and returns data: per column an agreement mask and the witness to show, and
`Note(kind, severity, variable, data)` objects. English is made from notes in one place (explain.py);
`differentiable` and the exit code follow from severities. grad, jacobian, hessian, --order and --points
all call it; a single point is an array of shape (), many points an array of shape (n,), and the rules
are the same elementwise, so the per-point and the vectorised answers cannot drift apart.

It imports nothing from the modules that call it (api, matrix, many).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from gradcli import tolerance
from gradcli.witnesses import differences
from gradcli.witnesses.numeric import Event

INFO = "info"  # explains; changes no verdict
WRONG = "wrong"  # explains a disagreement: which witness is off, and why where the judge can tell
UNDEFINED = "undefined"  # the derivative does not exist or is not finite here (exit 3)
SEVERITIES = (INFO, WRONG, UNDEFINED)

# Every note kind the judge makes, with its severity: the documented list (docs/json.md, the JSON schema).
KINDS = {
    "kink": UNDEFINED,
    "kink_higher_order": UNDEFINED,
    "kink_cannot_tell": UNDEFINED,
    "kink_mixed": UNDEFINED,
    "jump": UNDEFINED,  # at where's switch f is not continuous
    "hessian_kink": UNDEFINED,
    "singular": UNDEFINED,
    "pole": UNDEFINED,
    "not_finite": UNDEFINED,
    "smooth_kink": INFO,
    "smooth_kink_mixed": INFO,
    "witnesses": INFO,
    "custom_rule": INFO,
    "overflow": INFO,
    "kink_in_constant": INFO,
    "removable": INFO,
    "fd_within_error": INFO,
    "odd_witness": WRONG,
    "sample_disagrees": WRONG,  # the derivative with no point: a sample point where the methods disagree
    "unchecked": UNDEFINED,  # the derivative with no point: no sample point where it is real and finite
    "several_targets": INFO,
    "unconnected": INFO,
    "integer_dtype": INFO,
    "frameworks_differ": INFO,
    "where_nan": WRONG,  # the where trap: the untaken branch's infinite slope times where's 0 is nan on the tape
    "watched_constant": INFO,
    "intermediate": INFO,
}

# Why a witness is the odd one out.
FLOAT32 = "float32 rounding"  # the float64 tape agrees with the exact value
OVERFLOW = "overflow"  # f overflows the dtype; the float64 tape agrees
NOISE = "finite-difference noise"  # the estimate's own error bar is wider than the tolerance
NOT_EVALUATED = "exact value not evaluated"  # sympy could not give a finite real number
CANCELLATION = "cancellation in f"  # f loses digits to cancellation here; the tape's arithmetic inherits it
WHERE = "where's untaken branch"  # the tape's nan comes from a branch f does not take here (the where trap)
CANCELLED = 1e3  # f's measured rounding error this many times eps |f| is a cancellation
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Note:
    """One thing the judge found: a documented kind, a severity, the variable it concerns, and its numbers."""

    kind: str
    severity: str
    variable: str | None = None
    data: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def message(self) -> str:
        from gradcli.judge.explain import message

        return message(self)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "variable": self.variable, "message": self.message}


def differentiable(notes: Iterable[Note]) -> bool:
    return not any(n.severity == UNDEFINED for n in notes)


Sides = Callable[[int], tuple]  # order k -> (left, right, error, noise), each shaped like the column


@dataclass
class Column:
    """The verdict on one variable's derivatives (any shape: tensor elements, matrix entries or points)."""

    name: str
    agree: np.ndarray  # bool
    fd: np.ndarray  # the finite-difference witness shown: at a smooth kink, the one-sided mean
    fd_error: np.ndarray
    fd_within_error: np.ndarray  # bool: fd matched only within its error bar, not within the tolerance
    smooth: np.ndarray  # bool: at a kink, and the derivative exists there
    broken: np.ndarray  # bool: at a kink, and the derivative does not exist (or float64 cannot tell)
    notes: list[Note]


def column(
    name: str,
    tape,
    exact,
    fd,
    fd_error,
    *,
    scale,
    order: int = 1,
    dtype: str = "float64",
    truth=None,
    kink: Event | None = None,
    at_kink=False,
    sides: Sides | None = None,
    shift_fd: bool = True,
    jump=False,
) -> Column:
    """Judge one variable's column of derivatives.

    tape is None for a constant the tape does not watch. With a custom gradient rule, `exact` follows the
    rule (the tape's witness) and `truth` is the true derivative (the finite differences' witness). Where
    `at_kink` holds, `sides(k)` gives one-sided derivatives of order k: if the sides of some order up to
    `order` differ, the derivative does not exist (a note says at which order); if rounding could hide a
    jump, float64 cannot tell; otherwise it exists, and the finite-difference witness becomes the mean of
    the one-sided estimates (a central one straddles the kink), judged within their error. Where `jump` holds
    too (where's branches do not meet at its switch), f is not continuous and the derivative does not exist.
    """
    exact = np.asarray(exact, dtype=np.float64)
    fd = np.array(fd, dtype=np.float64)
    fd_error = np.array(np.broadcast_to(np.asarray(fd_error, dtype=np.float64), fd.shape))
    witness = exact if truth is None else np.asarray(truth, dtype=np.float64)
    fd_close = tolerance.close_each(fd, witness, tolerance.finite_difference(order), scale)
    fd_bars = ~fd_close & tolerance.within_error(fd, witness, fd_error)
    agree = fd_close | fd_bars
    tape_ok = np.ones(fd.shape, dtype=bool)
    if tape is not None:
        tape = np.asarray(tape, dtype=np.float64)
        tape_ok = tolerance.close_each(tape, exact, tolerance.tape(dtype), scale)
    agree = agree & tape_ok
    notes: list[Note] = []
    at_kink = np.broadcast_to(np.asarray(at_kink, dtype=bool), fd.shape) & (tape is not None)
    broken = at_kink & np.broadcast_to(np.asarray(jump, dtype=bool), fd.shape)
    smooth = np.zeros(fd.shape, dtype=bool)
    if np.any(broken):
        notes.append(Note("jump", UNDEFINED, name, {"event": kink}))
    if np.any(at_kink & ~broken) and sides is not None:
        for k in range(1, order + 1):
            left, right, error, noise = (np.broadcast_to(np.asarray(p, dtype=np.float64), fd.shape) for p in sides(k))
            open_ = at_kink & ~broken
            differ = open_ & differences.order_sides_differ(left, right, error, k)
            noisy = open_ & ~differ & differences.too_noisy(left, right, noise, k)
            if np.any(differ):
                i = _first(differ)
                kind = "kink" if k == 1 == order else "kink_higher_order"
                notes.append(Note(kind, UNDEFINED, name, {"event": kink, "k": k, "order": order,
                                                          "left": left[i], "right": right[i],
                                                          "tape": None if tape is None else np.asarray(tape)[i],
                                                          "exact": exact[i]}))  # fmt: skip
            if np.any(noisy):
                i = _first(noisy)
                notes.append(Note("kink_cannot_tell", UNDEFINED, name, {"event": kink, "k": k, "order": order,
                                                                        "noise": noise[i]}))  # fmt: skip
            broken |= differ | noisy
        smooth = at_kink & ~broken
        if np.any(smooth):
            mean = (left + right) / 2
            exact_ok = differences.within_one_sided_error(witness, mean, error, order)
            if truth is not None:  # the tape follows the rule: judged against the rule's exact value
                smooth_tape_ok = tape_ok
            else:
                smooth_tape_ok = np.where(
                    exact_ok, tape_ok, differences.within_one_sided_error(tape, mean, error, order)
                )
            if shift_fd:
                fd = np.where(smooth, mean, fd)
                fd_error = np.where(smooth, error, fd_error)
                fd_bars = np.where(smooth, False, fd_bars)
            agree = np.where(smooth, smooth_tape_ok, agree)
            i = _first(smooth)
            if not np.any(broken):  # where some elements' derivative does not exist, that note says enough
                notes.append(Note("smooth_kink", INFO, name, {
                    "event": kink, "order": order, "left": left[i], "right": right[i],
                    "tape": None if tape is None else tape[i], "tape_ok": bool(smooth_tape_ok[i]),
                    "exact": witness[i], "exact_ok": bool(exact_ok[i] or truth is not None),
                }))  # fmt: skip
    return Column(name, agree, fd, fd_error, fd_bars, smooth, broken, notes)


MIXED_SETTLED = 1e-3  # quadrant estimates with a Richardson error above this (relative) cannot decide


def mixed(names: tuple[str, str], tape, exact, fd, quadrants, *, scale, dtype: str, kink: Event) -> Column:
    """A mixed second partial at a kink, from its four one-sided quadrant estimates (differences.mixed_quadrants):
    they differ, the partial does not exist; rounding could hide a jump, float64 cannot tell; they agree,
    their mean is the finite-difference witness, judged within its error, as column() does for one side."""
    estimates, error, noise = (np.asarray(p, dtype=np.float64) for p in quadrants)
    lo, hi = np.min(estimates), np.max(estimates)
    label = f"{names[0]},{names[1]}"
    data = {"event": kink, "names": names, "quadrants": [float(v) for v in estimates]}
    tolerance_ = 3 * error + differences.fd_relative(2) * max(abs(lo), abs(hi))
    false = np.zeros((), dtype=bool)
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > tolerance_:
        return Column(label, false, np.asarray(fd), np.asarray(0.0), false, false, ~false,
                      [Note("kink_mixed", UNDEFINED, label, data)])  # fmt: skip
    # a kink that crosses the quadrants themselves (max(x, y) at x = y) leaves their estimates noisy
    if noise > differences.fd_relative(2) * max(1.0, abs(lo), abs(hi)) or error > MIXED_SETTLED * max(1.0, abs(lo)):
        data["k"], data["order"], data["noise"] = 2, 2, float(max(noise, error))
        return Column(label, false, np.asarray(fd), np.asarray(0.0), false, false, ~false,
                      [Note("kink_cannot_tell", UNDEFINED, names[0], data)])  # fmt: skip
    mean = float(np.mean(estimates))
    exact_ok = bool(differences.within_one_sided_error(exact, mean, error, 2))
    if exact_ok:
        agree = bool(tolerance.close_each(tape, exact, tolerance.tape(dtype), scale))
    else:
        agree = bool(differences.within_one_sided_error(tape, mean, error, 2))
    smooth = Note("smooth_kink_mixed", INFO, label, {**data, "tape": tape, "tape_ok": agree, "exact": exact,
                                                     "exact_ok": exact_ok})  # fmt: skip
    return Column(label, np.asarray(agree), np.asarray(mean), np.asarray(error), false, ~false, false, [smooth])


def _first(mask: np.ndarray):
    return tuple(np.argwhere(mask)[0]) if mask.shape else ()


def finite(column: Column, tape, exact, overflow=False) -> np.ndarray:
    """Where the derivative is finite by the witnesses that decide it: at a smooth kink only the one-sided
    estimate (sympy and the tape may be wrong there, which is a disagreement, not a singularity); where f
    overflows the tape's dtype, or the tape falls into the where trap (`overflow` is then true), exact and
    finite differences (the tape's nan is then a wrong answer)."""
    exact = np.asarray(exact, dtype=np.float64)
    ok = np.isfinite(column.fd) & (np.isfinite(exact) | column.smooth)
    if tape is not None:
        ok &= np.isfinite(np.asarray(tape, dtype=np.float64)) | column.smooth | overflow
    return ok


def overflowed(value, value64, dtype: str) -> np.ndarray:
    """Where f is not finite in the tape's dtype but is in float64: float32 overflow, not a singularity."""
    value, value64 = np.asarray(value, dtype=np.float64), np.asarray(value64, dtype=np.float64)
    return (dtype != "float64") & ~np.isfinite(value) & np.isfinite(value64)


def conclude(
    value,
    value64,
    dtype: str,
    columns: list[Column],
    witnesses: dict[str, tuple],
    events: list[Event],
    tape64: Callable[[], dict] | None = None,
    extra: Iterable[Note] = (),
    f_noise=None,
    continuous: Callable[[], bool] | None = None,
    say_witnesses: bool = True,
) -> list[Note]:
    """A point's notes: those of its columns, the singular points and overflows, and for every column
    that disagrees, the odd witness named. witnesses maps each column's name to (tape, exact)."""
    notes = [n for c in columns for n in c.notes if n.severity == UNDEFINED]
    info = []
    overflow = bool(np.all(overflowed(value, value64, dtype)))
    traps = where_traps(columns, witnesses, events)
    is_finite = all(np.all(finite(c, *witnesses[c.name], overflow or c.name in traps)) for c in columns)
    value_finite = bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    poles = [e for e in events if e.kind == "pole"]  # finite in floats, infinite in exact arithmetic
    if poles and is_finite and value_finite and all(np.all(c.agree) for c in columns) and continuous and continuous():
        info += [Note("removable", INFO, None, {"event": e}) for e in poles]  # cos(x)/cos(x) at pi/2
        events, poles = [e for e in events if e.kind != "pole"], []
    if is_finite and not value_finite and overflow:
        info.append(Note("overflow", INFO, None, {"value": value, "value64": value64, "dtype": dtype}))
    elif not (is_finite and value_finite) or poles:
        singular = [Note(e.kind, UNDEFINED, None, {"event": e}) for e in events if e.kind in ("singular", "pole")]
        notes.extend(singular or ([] if notes else [Note("not_finite", UNDEFINED, None, {"value": value})]))
        if say_witnesses:
            rows = [(c.name, *witnesses[c.name], c.fd) for c in columns]
            info.append(Note("witnesses", INFO, None, {"rows": rows}))
    info += [n for c in columns for n in c.notes if n.severity != UNDEFINED] + list(extra)
    info += traps.values()
    if differentiable(notes):
        cancellation = _cancellation(value64, f_noise)
        info += _odd_witnesses(columns, witnesses, dtype, tape64, overflow, cancellation, frozenset(traps))
    info += [Note("fd_within_error", INFO, c.name, {"error": np.max(c.fd_error[c.fd_within_error])})
             for c in columns if np.any(c.fd_within_error)]  # fmt: skip
    return notes + info


def _cancellation(value64, f_noise):
    """How many times eps |f| f's measured float64 rounding error is (None when not measured)."""
    if f_noise is None:
        return None
    with np.errstate(all="ignore"):
        ratio = np.max(np.asarray(f_noise) / (tolerance.EPS * np.maximum(np.abs(value64), 1e-300)))
    return float(ratio) if np.isfinite(ratio) else None


def where_traps(columns: list[Column], witnesses: dict[str, tuple], events: list[Event]) -> dict[str, Note]:
    """Per column, the where trap where it springs: a branch of a where that the condition does not take is
    singular here, and the tape's derivative is not finite though the exact one is. tf.where's gradient gives
    the untaken branch a zero upstream gradient, and 0 times that branch's infinite slope is nan."""
    traps = {}
    for c in columns:
        tape, exact = witnesses[c.name]
        event = next((e for e in events if e.kind == "untaken" and c.name in e.names), None)
        if event is None or tape is None:
            continue
        with np.errstate(invalid="ignore"):
            sprung = ~np.isfinite(np.asarray(tape, dtype=np.float64)) & np.isfinite(np.asarray(exact, dtype=np.float64))
        if np.any(sprung):
            traps[c.name] = Note("where_nan", WRONG, c.name, {"event": event, "tape": tape, "exact": exact})
    return traps


def _odd_witnesses(columns, witnesses, dtype, tape64, overflow, cancellation, traps=frozenset()) -> list[Note]:
    notes, float64_tape = [], None
    for c in columns:
        if np.all(c.agree) or np.any(c.smooth):  # at a smooth kink the kink's own note says who is wrong
            continue
        tape, exact = witnesses[c.name]
        exact = np.asarray(exact, dtype=np.float64)
        fd_tol = tolerance.finite_difference()
        fd_ok = np.all(tolerance.close_each(c.fd, exact, fd_tol) | tolerance.within_error(c.fd, exact, c.fd_error))
        tape_ok = tape is None or np.all(tolerance.close_each(tape, exact, tolerance.tape(dtype)))
        data = {"tape": tape, "exact": exact, "fd": c.fd, "fd_error": c.fd_error}
        if not tape_ok and fd_ok:
            witness, reason = "tape", UNKNOWN
            if dtype != "float64" and tape64 is not None:
                float64_tape = tape64() if float64_tape is None else float64_tape
                data["tape64"] = float64_tape.get(c.name)
                if _much_closer(data["tape64"], tape, exact):
                    reason = OVERFLOW if overflow else FLOAT32
            if reason == UNKNOWN and cancellation is not None and cancellation > CANCELLED:
                reason, data["cancellation"] = CANCELLATION, cancellation
            if c.name in traps:
                reason = WHERE
        elif tape_ok and not fd_ok:
            witness = "finite_difference"
            noisy = np.any(c.fd_error > tolerance.FINITE_DIFFERENCE.rtol * np.maximum(1.0, np.abs(exact)))
            reason = NOISE if noisy or not np.all(np.isfinite(c.fd)) else UNKNOWN
        elif tape is not None and np.all(tolerance.close_each(tape, c.fd, fd_tol)):
            witness = "exact"
            reason = NOT_EVALUATED if not np.all(np.isfinite(exact)) else UNKNOWN
        else:
            witness, reason = None, UNKNOWN
        notes.append(Note("odd_witness", WRONG, c.name, {**data, "witness": witness, "reason": reason}))
    return notes


def _much_closer(better, worse, exact) -> bool:
    """The float64 tape is the explanation when it lands within the float64 tolerance, or 100 times
    closer than the float32 one (where f is itself a cancellation, float64 has limits too)."""
    better, worse = (np.asarray(v, dtype=np.float64) for v in (better, worse))
    with np.errstate(all="ignore"):
        gap64, gap32 = np.abs(better - exact), np.abs(worse - exact)
        closer = np.isfinite(gap64) & (~np.isfinite(gap32) | (100 * gap64 <= gap32))
    return bool(np.all(tolerance.close_each(better, exact, tolerance.tape("float64")) | closer))


def status(
    columns: list[Column], value, value64, dtype: str, tapes: dict, exacts: dict, poles, continuous=False, untaken=False
) -> np.ndarray:
    """Per point (vectorised): "agree", "disagree" or "not differentiable", by the rules of `conclude`;
    `untaken` marks the points where a where's untaken branch is singular (the tape's nan is a wrong answer)."""
    overflow = overflowed(value, value64, dtype)
    ok = np.ones(np.shape(value), dtype=bool)
    agree = np.ones(np.shape(value), dtype=bool)
    for c in columns:
        ok &= finite(c, tapes.get(c.name), exacts[c.name], overflow | np.asarray(untaken, dtype=bool))
        agree &= c.agree
    broken = np.asarray(poles, dtype=bool) & ~(agree & ok & np.asarray(continuous, dtype=bool))
    for c in columns:
        broken = broken | c.broken
    value_ok = np.isfinite(np.asarray(value, dtype=np.float64)) | overflow
    undefined = broken | ~ok | ~value_ok
    return np.where(undefined, "not differentiable", np.where(agree, "agree", "disagree"))


def frameworks(
    name: str, values: dict, exact, notes: Iterable[Note], dtype: str, events: Iterable[Event] = ()
) -> list[Note]:
    """Frameworks' gradients of one variable (framework -> value, None for a framework's None): a note where
    they differ beyond the tape's tolerance (inf matches inf, nan nan), with the honest answer the point's
    kink notes give (the derivative does not exist, with its one-sided values, or it exists), and the where
    trap when a where's untaken branch is singular here."""
    numbers = [np.asarray(v, dtype=np.float64) for v in values.values() if v is not None]
    first, tol = numbers[0], tolerance.tape(dtype)
    with np.errstate(invalid="ignore"):
        same = all(np.all(tolerance.close_each(v, first, tol) | (v == first) | np.isnan(v) & np.isnan(first))
                   for v in numbers)  # fmt: skip
    if same:
        return []
    kink = next((n for n in notes if n.variable == name and n.kind in ("kink", "smooth_kink")), None)
    data = {"values": values, "event": kink.data["event"] if kink else None, "exact": exact}
    data["where"] = next((e for e in events if e.kind == "untaken" and name in e.names), None)
    if kink is not None:
        data.update(exists=kink.kind == "smooth_kink", left=kink.data["left"], right=kink.data["right"])
    return [Note("frameworks_differ", INFO, name, data)]
