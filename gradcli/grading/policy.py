"""The instructor's grading policy: how close a number must be, how many points a problem is worth, and
what a named mistake earns.

A number answer is judged against the policy's tolerance, never against how many digits the student
wrote: the default is relative 1e-3 (0.1%, WeBWorK's default). The rules, one at a time:

- relative (--rtol R, default 1e-3): |answer - derivative| <= R * max(|answer|, |derivative|);
  with --atol A as well, within either.
- absolute (--atol A): |answer - derivative| <= A.
- significant figures (--sig-figs N): within half a unit in the N-th significant figure of the derivative.
- decimals (--decimals): the decimals as written (`0.350` has three): within half a unit in the last
  place written; an integer has 0 decimals; an answer that is not a plain decimal (1/2, sqrt(2)/4) is
  judged to rounding error.

A formula answer is judged as a formula, exactly (to rounding error), unless --rtol, --atol or
--sig-figs is given: then everywhere to that relative (or absolute) error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from gradcli import tolerance
from gradcli.errors import PointError
from gradcli.results.grading import EXACT, Tolerance

DEFAULT_RTOL = 1e-3
POINT_RTOL = tolerance.GRADE_POINT_RTOL  # rounding error between two 30-digit values
_DECIMAL = re.compile(r"^\s*[+-]?\s*(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?\s*$")


@dataclass(frozen=True)
class Policy:
    rtol: float | None = None
    atol: float | None = None
    sig_figs: int | None = None
    decimals: bool = False
    points: float = 1.0
    partial: float = 0.0  # the fraction of the points a wrong answer with a named mistake earns

    @classmethod
    def of(cls, rtol=None, atol=None, sig_figs=None, decimals=False, points=None, partial=None) -> Policy:
        """The policy from the options, each checked; two rules at once is an error, never a silent choice."""
        if rtol is not None and not 0 < rtol < 1:
            raise PointError("--rtol must be between 0 and 1, e.g. 1e-3")
        if atol is not None and not (math.isfinite(atol) and atol > 0):
            raise PointError("--atol must be a positive number, e.g. 0.005")
        if sig_figs is not None and not 1 <= sig_figs <= 15:
            raise PointError("--sig-figs must be between 1 and 15")
        given = {"--rtol/--atol": rtol is not None or atol is not None, "--sig-figs": sig_figs is not None}
        rules = [name for name, on in {**given, "--decimals": bool(decimals)}.items() if on]
        if len(rules) > 1:
            raise PointError(f"{' and '.join(rules)} are two tolerance rules: give one")
        if points is not None and not (math.isfinite(points) and points >= 0):
            raise PointError("--points must be a number of points, 0 or more")
        if partial is not None and not 0 <= partial <= 1:
            raise PointError("--partial must be a fraction between 0 and 1, e.g. 0.5")
        return cls(rtol, atol, sig_figs, bool(decimals), 1.0 if points is None else float(points), partial or 0.0)

    @property
    def explicit(self) -> bool:
        """Did the instructor set a tolerance (which then applies to formulas too)?"""
        return self.rtol is not None or self.atol is not None or self.sig_figs is not None

    def formula_tolerance(self) -> Tolerance:
        if self.rtol is not None or self.atol is not None:
            return _relative(self.rtol, self.atol, default=False)
        if self.sig_figs is not None:  # everywhere, N significant figures is half a unit in the N-th, relatively
            return Tolerance("significant figures", rtol=0.5 * 10.0 ** (1 - self.sig_figs), sig_figs=self.sig_figs)
        return EXACT

    def number_tolerance(self, written: str, exact: float) -> Tolerance:
        """The tolerance for a number answer written `written` whose right value is `exact`."""
        if self.sig_figs is not None:
            exponent = math.floor(math.log10(abs(exact))) if exact and math.isfinite(exact) else 0
            atol = 0.5 * 10.0 ** (exponent - self.sig_figs + 1)
            return Tolerance("significant figures", atol=atol, sig_figs=self.sig_figs)
        if self.decimals:
            places = decimals_written(written)
            if places is None:
                return Tolerance("exact", rtol=POINT_RTOL)
            return Tolerance("decimals", atol=0.5 * 10.0**-places, decimals=places)
        return _relative(self.rtol, self.atol, default=self.rtol is None and self.atol is None)

    def score(self, verdict: str, mistake: dict | None) -> float | None:
        """The points earned: all for correct, `partial` of them for a named mistake, none for wrong;
        undecided and not differentiable are left to the instructor (None)."""
        if verdict == "correct":
            return self.points
        if verdict == "wrong":
            return self.points * self.partial if mistake else 0.0
        return None


def _relative(rtol, atol, default: bool) -> Tolerance:
    if rtol is None and atol is None or default:
        return Tolerance("relative", rtol=DEFAULT_RTOL)
    if rtol is None:
        return Tolerance("absolute", atol=atol)
    return Tolerance("relative", rtol=rtol, atol=atol)


def decimals_written(text: str) -> int | None:
    """The decimals of a number as written (`0.350` -> 3, `14` -> 0, `1.5e-3` -> 4), None if it is not one."""
    match = _DECIMAL.match(text)
    if match is None or not (match["int"] or match["frac"]):
        return None
    return max(0, len(match["frac"] or "") - int(match["exp"] or 0))


def within(exact: float, given: float, tol: Tolerance) -> bool:
    """Is the number `given` within the tolerance of `exact`?"""
    if not (math.isfinite(exact) and math.isfinite(given)):
        return False
    gap = abs(exact - given)
    if tol.atol is not None and gap <= tol.atol * (1 + 1e-9):
        return True
    if tol.rtol is not None and gap <= tol.rtol * max(abs(exact), abs(given)):
        return True
    return gap < 1e-28
