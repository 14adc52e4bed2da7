"""Finite-difference estimators over the float64 witness: complex step, five-point ladder, higher orders,
Hessians, and one-sided estimates at kinks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradcli import tolerance
from gradcli.witnesses.numeric import EPS, Function, crosses_kink

# five-point central stencil: error O(h**4), so h ~ eps**(1/5) balances truncation and rounding
STENCIL_STEP = EPS ** (1 / 5)
LADDER_STEPS = 18  # down to ~1e-14 of the first step, for points very near a pole or domain edge
AGREEMENT = 1e-8  # two successive estimates this close (relative) are taken as converged
NOISE = 4  # rounding-noise allowance, in units of eps * max|f| / h (the stencil's weights sum to 18/12)


def _shifted(env: dict, name: str, index, step) -> dict:
    shifted = dict(env)
    array = np.array(env[name], dtype=np.float64, copy=True)
    if index is None:
        array = array + step
    else:
        array[index] += step
    shifted[name] = array
    return shifted


def central_difference(fn: Function, env: dict[str, np.ndarray], name: str, batched: bool = False) -> np.ndarray:
    """d tree / d name, element by element: shape x.shape + f.shape (the value of derivative())."""
    return derivative(fn, env, name, batched).value


@dataclass(frozen=True)
class Estimate:
    """A numeric derivative with its error bound and, per element, whether the complex step gave it."""

    value: np.ndarray
    error: np.ndarray
    complex_step: np.ndarray  # bool; False: the five-point ladder (or a one-sided estimate near a kink)

    @property
    def method(self) -> str:
        """One name for the whole array (JSON's finite_difference_method)."""
        if np.all(self.complex_step):
            return "complex step"
        return "central difference" if not np.any(self.complex_step) else "mixed"


def derivative(fn: Function, env: dict[str, np.ndarray], name: str, batched: bool = False) -> Estimate:
    """d tree / d name with an error bound, element by element: shape x.shape + f.shape.

    Where the expression is analytic (no abs, relu, max, min or softplus anywhere), the complex step
    Im f(x + ih) / h has no subtraction and is good to a few eps; it is kept where it is finite and two
    steps agree, and the five-point ladder answers elsewhere. With batched=True every element of `name`
    is an independent point (the expression is elementwise), so all are shifted at once and the
    result has f's shape.
    """
    x = np.asarray(env[name], dtype=np.float64)
    if batched:
        return _estimate(fn, env, name, None, x)
    parts = [_estimate(fn, env, name, index, x[index]) for index in np.ndindex(x.shape)]
    shape = x.shape + np.shape(parts[0].value)

    def join(field):
        return np.reshape(np.array([getattr(p, field) for p in parts]), shape)

    return Estimate(join("value").astype(np.float64), join("error").astype(np.float64), join("complex_step"))


def _estimate(fn: Function, env, name, index, x) -> Estimate:
    if fn.analytic:
        value, error = complex_step(fn, env, name, index, x)
        good = np.isfinite(value) & np.isfinite(error)
        if np.all(good):
            return Estimate(value, error, np.ones(np.shape(value), dtype=bool))
        ladder, gap = _ladder(fn, env, name, index, x)
        return Estimate(np.where(good, value, ladder), np.where(good, error, gap), good)
    ladder, gap = _ladder(fn, env, name, index, x)
    return Estimate(ladder, gap, np.zeros(np.shape(ladder), dtype=bool))


COMPLEX_STEP = 1e-20


def complex_step(fn: Function, env, name, index, x):
    """(estimate, error): Im f(x + ih) / h with h = 1e-20 max(1, |x|) (1e-20 |x| below 1, as near the pole
    of 1/x at 0). No subtraction, so the only error is rounding in the terms that make the derivative,
    about eps (|f'| + |f| / scale); truncation is (h / distance to the nearest singularity)**2, far
    below it; where f itself is a cancellation, its measured rounding error over the scale of x bounds
    what any numeric derivative can give. One evaluation per point. NaN where f or the estimate is not
    finite (the caller falls back to the ladder there)."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.where((np.abs(x) > 0) & (np.abs(x) < 1), np.abs(x), np.maximum(1.0, np.abs(x)))
    h = COMPLEX_STEP * scale
    array = np.array(env[name], dtype=np.complex128, copy=True)
    if index is None:
        array = array + 1j * h
    else:
        array[index] += 1j * h
    with np.errstate(all="ignore"):
        shifted = fn({**env, name: array})
        estimate = np.imag(shifted) / h
        terms = np.abs(np.real(shifted)) / scale
        good = np.isfinite(estimate) & np.isfinite(terms)
        rounding = EPS * (np.abs(estimate) + terms)
        if np.shape(fn.base) == np.shape(estimate):  # f's own measured rounding (a cancellation), carried over
            rounding = np.maximum(rounding, fn.noise(env) / scale)
    return np.where(good, estimate, np.nan), np.where(good, NOISE * rounding, np.nan)


def hessian_difference(fn: Function, env: dict[str, np.ndarray], names: list[str], batched: bool = False) -> np.ndarray:
    """Second derivatives by the four-point formula [f(++) - f(+-) - f(-+) + f(--)] / (4 h_i h_j).

    Rows and columns are the elements of `names` in order; with batched=True
    each name is one column whose elements are independent points, and the
    result has shape (k, k, points). The step scale is chosen as for
    higher_difference (see _best_scale).
    """
    columns = [(n, None) for n in names] if batched else [(n, i) for n in names for i in np.ndindex(np.shape(env[n]))]
    step = np.finfo(np.float64).eps ** (1 / 4)

    def x_of(name, index):
        x = np.asarray(env[name], dtype=np.float64)
        return x if index is None else x[index]

    def at(shifts):
        return fn(shifted_env(shifts))

    def entry(ci, cj, scale_i, scale_j, shrink):
        hi, hj = step * scale_i / shrink, step * scale_j / shrink
        corners = [at([(ci, si * hi), (cj, sj * hj)]) for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        size = np.fmax(np.fmax(np.abs(corners[0]), np.abs(corners[1])), np.fmax(np.abs(corners[2]), np.abs(corners[3])))
        noise = NOISE * EPS * size * 4 / np.abs(4 * hi * hj)
        return (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * hi * hj), noise

    def crossed(ci, cj, hi, hj):
        corners = [shifted_env([(ci, si * hi), (cj, sj * hj)]) for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        return crosses_kink(fn, env, corners, shape)

    def shifted_env(shifts):
        shifted = env
        for (name, index), amount in shifts:
            shifted = _shifted(shifted, name, index, amount)
        return shifted

    def quadrant(ci, cj, si, sj, hi, hj):
        """A one-sided estimate in one quadrant, with one Richardson step, and the points it uses."""
        estimates, points = [], []
        for m in (1, 2):
            a, b = si * m * hi, sj * m * hj
            if ci == cj:
                shifts = [[(ci, 2 * a)], [(ci, a)], []]
                f = [at(s) for s in shifts]
                estimates.append((f[0] - 2 * f[1] + f[2]) / (a * a))
            else:
                shifts = [[(ci, a), (cj, b)], [(ci, a)], [(cj, b)], []]
                f = [at(s) for s in shifts]
                estimates.append((f[0] - f[1] - f[2] + f[3]) / (a * b))
            points += [shifted_env(s) for s in shifts if s]
        return 2 * estimates[0] - estimates[1], points

    # A few columns get the full search over step scales (as higher_difference); many (a tensor variable's
    # elements) get the two ends only, since each scale costs 8 evaluations of f per entry.
    steps = _scale_steps(*(x_of(*c) for c in columns)) if len(columns) <= 4 else None

    def scales(column):
        x = x_of(*column)
        return _higher_scales(x, steps) if steps is not None else [pick(x) for pick in _SCALES]

    shape = np.shape(fn(env))
    rows = []
    with np.errstate(all="ignore"):
        for ci in columns:
            row = []
            for cj in columns:
                candidates = (  # a generator: scales below the settled one are never evaluated
                    (entry(ci, cj, si, sj, 1), entry(ci, cj, si, sj, 2), crossed(ci, cj, step * si, step * sj))
                    for si, sj in zip(scales(ci), scales(cj), strict=True)
                )
                best, _, cross = _closest_pair(candidates, settle=fd_relative(2) / 10)
                if np.any(cross):  # a kink within the largest stencil but not at the point: try the four quadrants
                    hi, hj = step * np.maximum(1.0, np.abs(x_of(*ci))), step * np.maximum(1.0, np.abs(x_of(*cj)))
                    for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                        estimate, points = quadrant(ci, cj, si, sj, hi, hj)
                        clean = cross & ~crosses_kink(fn, env, points, shape)
                        best, cross = np.where(clean, estimate, best), cross & ~clean
                row.append(best)
            rows.append(row)
    return np.array(rows, dtype=np.float64)


def _stencil(fn, env, name, index, h):
    """The five-point estimate and its rounding-noise bound, (18/12) eps max|f| / h (f's own rounding included)."""
    f = [fn(_shifted(env, name, index, k * h)) for k in (-2, -1, 1, 2)]
    size = np.maximum(np.maximum(np.abs(f[0]), np.abs(f[1])), np.maximum(np.abs(f[2]), np.abs(f[3])))
    rounding = np.maximum(EPS * size, fn.noise(env)) if fn.base.shape == np.shape(size) else EPS * size
    noise = NOISE * rounding / np.abs(h)
    return (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12 * h), noise


def _ladder(fn, env, name, index, x):
    """Shrink the step by 4 until two successive estimates agree; keep the first pair that does.

    The first step suits smooth functions of order-one scale. Near a pole or a
    domain edge (1/x or log(x) at a small x) the first stencils straddle the
    pole or leave the domain, and only much smaller steps are accurate, so the
    ladder goes on down, and where that is not enough a second ladder starts
    from the scale of x itself. The first (largest-step) pair that agrees to
    1e-8 is taken: a later pair could agree by the chance of rounding noise.
    Where no pair agrees, the closest pair is kept.
    """
    x = np.asarray(x, dtype=np.float64)
    first = STENCIL_STEP * np.maximum(1.0, np.abs(x))
    best, gap, done = _rungs(fn, env, name, index, first)
    small = ~done & (np.abs(x) > 0) & (np.abs(x) < 1)
    if np.any(small):
        again, gap2, done2 = _rungs(fn, env, name, index, STENCIL_STEP * np.where(small, np.abs(x), 1.0))
        take = small & (done2 | (gap2 < gap))
        best, gap = np.where(take, again, best), np.where(take, gap2, gap)
    if fn.kinky:  # a kink within the first stencil but not at x: cosh(max(x, 3x)) at x = 1e-9
        shape = np.shape(best)
        near = crosses_kink(fn, env, [_shifted(env, name, index, k * first) for k in (-2, 2)], shape)
        if np.any(near):
            best, gap = _one_sided_instead(fn, env, name, index, 1, best, near, shape, gap)
    return best, gap


def _rungs(fn, env, name, index, h):
    """Walk one ladder. Two successive estimates agree when their gap is within 1e-8 relative, or
    within the rounding noise of the stencils: a derivative that is tiny next to f (f ~ 1, f' ~ 1e-5)
    can never agree to 1e-8 relative in float64, and going on down only adds noise. Where nothing
    agrees, the pair with the smallest gap plus noise is kept, not merely the smallest gap. A rung
    whose stencil crosses a kink never agrees (two such rungs can look alike while both are wrong).
    Each step is rounded so that x + h is exact: otherwise at h ~ 1e-13 next to x ~ 3 the rounding
    of x + h alone is 0.2% of the step.
    """
    x = np.asarray(env[name], dtype=np.float64)
    x = x if index is None else x[index]

    def rung(h):
        h = (x + h) - x
        estimate, noise = _stencil(fn, env, name, index, h)
        if not fn.kinky:
            return h, estimate, noise, False
        points = [_shifted(env, name, index, k * h) for k in (-2, 2)]
        return h, estimate, noise, crosses_kink(fn, env, points, np.shape(estimate))

    with np.errstate(all="ignore"):
        h, previous, previous_noise, previous_cross = rung(h)
        best = np.where(np.isfinite(previous), previous, np.nan)
        best_gap = np.full(np.shape(previous), np.inf)
        done = np.zeros(np.shape(previous), dtype=bool)
        for _ in range(LADDER_STEPS):
            h, current, noise, cross = rung(h / 4)
            gap = np.abs(current - previous)
            floor = np.maximum(noise, previous_noise)
            agreed = gap <= AGREEMENT * np.maximum(np.abs(current), np.abs(previous)) + floor
            clean = ~(cross | previous_cross)
            gap = np.where(np.isfinite(gap) & clean, gap + floor, np.inf)
            agreed &= np.isfinite(gap)
            better = ~done & (agreed | (gap < best_gap))
            best = np.where(better, current, best)
            best_gap = np.where(better, gap, best_gap)
            done |= agreed
            if np.all(done):
                break
            previous, previous_noise, previous_cross = current, noise, cross
    return best, best_gap, done


def higher_difference(fn: Function, env: dict[str, np.ndarray], name: str, order: int) -> np.ndarray:
    """d^order f / d name^order by the central binomial difference, elementwise (scalar variables).

    Error is O(h**2) against rounding eps/h**order, balanced at h ~ eps**(1/(order+2)) times the scale
    of x; the scale is chosen among _higher_scales by gap plus rounding noise (_closest_pair).
    """
    x = np.asarray(env[name], dtype=np.float64)

    def estimate(h):
        """The estimate and its rounding noise, eps * max|f| * 2**order / h**order (the weights' sum)."""
        total, size = np.zeros(x.shape), np.zeros(x.shape)
        for k in range(order + 1):
            weight = (-1) ** k * math.comb(order, k)
            value = fn(_shifted(env, name, None, (order / 2 - k) * h))
            total, size = total + weight * value, np.fmax(size, np.abs(value))
        return total / h**order, NOISE * EPS * size * 2**order / np.abs(h) ** order

    base = np.finfo(np.float64).eps ** (1 / (order + 2))
    shape = np.shape(fn(env))

    def stencil(h):
        return [_shifted(env, name, None, (order / 2 - k) * h) for k in range(order + 1)]

    with np.errstate(all="ignore"):
        candidates = (  # a generator: scales below the settled one are never evaluated
            (estimate(base * scale), estimate(base * scale / 2), crosses_kink(fn, env, stencil(base * scale), shape))
            for scale in _higher_scales(x)
        )
        # near: the largest stencil crosses a kink that x is not on (max(x, y) at x = 0, y = 1e-8)
        best, _, near = _closest_pair(candidates, settle=fd_relative(order) / 10)
    if np.any(near):
        best, _ = _one_sided_instead(fn, env, name, None, order, best, near, shape)
    return best


def _one_sided_instead(fn: Function, env: dict, name: str, index, order: int, best, near, shape, gap=np.inf):
    """Where a kink is within the central stencil's reach (but not at the point), a one-sided estimate
    from a side with no kink in reach, unless the central estimate's own gap is already smaller.
    Returns the estimates and their error bounds."""
    x = np.asarray(env[name], dtype=np.float64)
    reach = _one_sided_base(x if index is None else x[index], order)
    left, right, error, _ = one_sided_order(fn, env, name, order, index)
    near = near & (error < gap)
    clean = []
    for side in (-1, 1):
        points = [_shifted(env, name, index, side * j * m * reach) for j in range(1, order + 1) for m in (1, 2, 4)]
        clean.append(near & ~crosses_kink(fn, env, points, shape))
    best = np.where(clean[1], right, best)
    bound = np.where(clean[0] | clean[1], error, gap)
    return np.where(clean[0], left, best), bound  # the sides share one error bound


# Two step scales: 1 (or |x| when larger), right for functions of order-one scale; and |x| for 0 < |x| < 1,
# right near a pole such as 1/x at x = 0.01. Each gives estimates at h and h/2; the pair whose gap plus
# rounding noise is smaller wins (a tiny step's two noisy estimates can agree by chance: sin(x)'' at 1e-3).
_SCALES = (
    lambda x: np.maximum(1.0, np.abs(x)),
    lambda x: np.where((np.abs(x) > 0) & (np.abs(x) < 1), np.abs(x), np.maximum(1.0, np.abs(x))),
)


def _higher_scales(x, steps: int | None = None):
    """Step scales from max(1, |x|) down by factors of 4: at least 8 steps (a function that varies fast,
    sin(x**3) at pi, wants a step 1e-5 times shorter than one of order-one scale) and, for 0 < |x| < 1,
    down to |x| (x**0.001 at x = 1e-3, where f'' = -992); at most 13 scales. The best is chosen by gap
    plus rounding noise."""
    small = (np.abs(x) > 0) & (np.abs(x) < 1)
    if steps is None:
        steps = _scale_steps(x)
    top = np.maximum(1.0, np.abs(x))
    floor = np.where(small, np.minimum(np.abs(x), top / 4**8), top / 4**8)
    return [np.maximum(top / 4**k, floor) for k in range(steps + 1)]


def _scale_steps(*xs) -> int:
    smallest = min(
        (
            float(np.min(np.abs(x)[(np.abs(x) > 0) & (np.abs(x) < 1)]))
            for x in xs
            if np.any((np.abs(x) > 0) & (np.abs(x) < 1))
        ),
        default=1.0,
    )
    return max(8, min(12, math.ceil(math.log(1 / smallest, 4))))


def _closest_pair(candidates, settle: float = 0.0):
    """(estimate, whether its stencil crosses a kink, whether the largest stencil does): the finer estimate of
    the best pair, where one whose stencil crosses a kink loses to one that does not.

    Candidates come largest step first. With `settle`, the first pair (from the top) whose gap plus
    rounding noise is within settle * |estimate| is kept, as the first-order ladder does: a far smaller step can
    look better only by luck (where f is a cancellation, exp(x*y/3) - cos(x + 2*y) at 0, rounding noise
    estimated from |f| is too small, and two tiny-step estimates can coincide). Where no pair settles,
    the smallest gap plus noise wins.
    """
    best, best_gap, best_crossed, settled = None, None, None, None
    for (coarse, coarse_noise), (fine, fine_noise), *cross in candidates:
        crossed = cross[0] if cross else np.zeros(np.shape(fine), dtype=bool)
        noise = np.fmax(coarse_noise, fine_noise)
        with np.errstate(all="ignore"):
            gap = np.abs(fine - coarse) + noise
        gap = np.where(np.isfinite(gap), gap, np.inf)
        agrees = ~crossed & (gap <= settle * np.abs(fine))  # gap and noise both small: not settled by noise
        if best is None:
            best, best_gap, best_crossed, settled, first_crossed = fine, gap, crossed, agrees, crossed
        else:
            take = (best_crossed & ~crossed) | ((best_crossed == crossed) & (gap < best_gap))
            take = ~settled & (take | agrees)
            best, best_gap = np.where(take, fine, best), np.where(take, gap, best_gap)
            best_crossed = np.where(take, crossed, best_crossed)
            settled = settled | agrees
        if settle and np.all(settled):
            break
    return best, best_crossed, first_crossed


def continuous(fn: Function, env: dict[str, np.ndarray], names) -> np.ndarray:
    """Where f stays within 1e-3 (relative) of f(x) a step of 1e-6 (relative) away along every name (every
    element of a tensor at once; with many points, each its own): a zero in a denominator that f does not
    feel (cos(x)/cos(x) at pi/2) is removable, not a pole."""
    base = np.asarray(fn.base, dtype=np.float64)
    ok = np.isfinite(base)
    with np.errstate(all="ignore"):
        for name in names:
            h = 1e-6 * np.maximum(1.0, np.abs(np.asarray(env[name], dtype=np.float64)))
            for side in (-1, 1):
                near = np.asarray(fn(_shifted(env, name, None, side * h)), dtype=np.float64)
                ok &= np.isfinite(near) & (np.abs(near - base) <= 1e-3 * (1 + np.abs(base)))
    return ok


def one_sided_order(fn: Function, env: dict[str, np.ndarray], name: str, order: int, index=None):
    """(left, right, error, noise): the order-th derivative along a variable, estimated from one side each.

    Elementwise when `name` holds many points (each element its own point, as in --points); with
    `index`, along that one element of a tensor variable. A forward (or backward) difference of order k
    has error c*h + O(h**2); one Richardson step, R(h) = 2 D(h) - D(2h), removes the c*h term. With
    h ~ eps**(1/(k+2)) that balances against rounding eps/h**k. A one-sided estimate never straddles the
    kink, so on a side where f is a polynomial (|x|**3 to the right of 0) it is exact up to rounding.
    `error` bounds both sides' errors: |R(h) - R(2h)| (R(2h) is about 4 times as far off as R(h)) plus
    `noise`, the rounding alone (eps max|f| times the weights' sum over h**k).
    """
    x = np.asarray(env[name], dtype=np.float64)
    x = x if index is None else x[index]
    base = _one_sided_base(x, order)
    weights = [(-1) ** (order - j) * math.comb(order, j) for j in range(order + 1)]
    size = np.zeros(np.shape(fn(env)))

    def difference(h):
        nonlocal size
        values = [np.asarray(fn(_shifted(env, name, index, j * h)), dtype=np.float64) for j in range(order + 1)]
        for v in values:
            size = np.fmax(size, np.abs(v))
        return sum(w * v for w, v in zip(weights, values, strict=True)) / h**order

    estimates, error = [], 0.0
    with np.errstate(all="ignore"):
        for side in (-1, 1):
            d1, d2, d4 = (difference(side * m * base) for m in (1, 2, 4))
            near, far = 2 * d1 - d2, 2 * d2 - d4
            estimates.append(near)
            error = np.fmax(error, np.abs(near - far))
        noise = EPS * size * sum(abs(w) for w in weights) * 3 / base**order
    return estimates[0], estimates[1], error + noise, noise


def mixed_quadrants(fn: Function, env: dict[str, np.ndarray], a: str, b: str):
    """(estimates, error, noise) for d2f/da db at a kink, from each of the four quadrants around the point.

    In quadrant (sa, sb), [f(a + sa h, b + sb k) - f(a + sa h, b) - f(a, b + sb k) + f] / (sa h sb k) never
    straddles a kink through the point; one Richardson step removes its O(h + k) error, and |R(h) - R(2h)|
    plus rounding bounds what is left. Where the four agree, the mixed partial exists; where they differ,
    it does not (abs(x)*y at x = 0: 1 on the right, -1 on the left).
    """
    xa, xb = (np.asarray(env[n], dtype=np.float64) for n in (a, b))
    ha, hb = _one_sided_base(xa, 2), _one_sided_base(xb, 2)
    f0 = np.asarray(fn(env), dtype=np.float64)
    size = np.abs(f0)

    def at(da, db):
        nonlocal size
        shifted = env
        if np.any(da):
            shifted = _shifted(shifted, a, None, da)
        if np.any(db):
            shifted = _shifted(shifted, b, None, db)
        value = np.asarray(fn(shifted), dtype=np.float64)
        size = np.fmax(size, np.abs(value))
        return value

    def difference(sa, sb, m):
        da, db = sa * m * ha, sb * m * hb
        return (at(da, db) - at(da, 0) - at(0, db) + f0) / (da * db)

    estimates, error = [], 0.0
    with np.errstate(all="ignore"):
        for sa in (-1, 1):
            for sb in (-1, 1):
                d1, d2, d4 = (difference(sa, sb, m) for m in (1, 2, 4))
                near, far = 2 * d1 - d2, 2 * d2 - d4
                estimates.append(near)
                error = np.fmax(error, np.abs(near - far))
        noise = 4 * EPS * size * 3 / (ha * hb)
    return np.array(estimates), error + noise, noise


def one_sided_elements(fn: Function, env: dict[str, np.ndarray], name: str, order: int = 1):
    """one_sided_order for a variable of any shape: each part (left, right, error, noise) has shape
    x.shape + f.shape, element by element as central_difference gives it."""
    x = np.asarray(env[name], dtype=np.float64)
    if not x.shape:
        return tuple(np.asarray(part, dtype=np.float64) for part in one_sided_order(fn, env, name, order))
    parts = [one_sided_order(fn, env, name, order, index) for index in np.ndindex(x.shape)]
    shape = x.shape + np.shape(parts[0][0])
    return tuple(np.reshape(np.array([p[i] for p in parts], dtype=np.float64), shape) for i in range(4))


def _one_sided_base(x, order: int):
    return EPS ** (1 / (order + 2)) * np.maximum(1.0, np.abs(x))


def order_sides_differ(left, right, error, order: int):
    """True where one-sided derivatives of this order differ by more than their estimated errors allow."""
    with np.errstate(all="ignore"):
        tolerance = 3 * error + fd_relative(order) * np.maximum(np.abs(left), np.abs(right))
        return ~(np.isfinite(left) & np.isfinite(right)) | (np.abs(left - right) > tolerance)


def too_noisy(left, right, noise, order: int):
    """Where rounding alone could hide a jump between the sides: f is too large next to its derivative
    (x*abs(x) + 1e7 at 0: the second derivatives -2 and 2 drown in noise of about 2)."""
    return noise > fd_relative(order) * np.maximum(1.0, np.maximum(np.abs(left), np.abs(right)))


def within_one_sided_error(estimate, truth, error, order: int):
    """Whether a value matches a one-sided estimate as well as the estimate's own error allows."""
    with np.errstate(all="ignore"):
        size = np.maximum(np.abs(estimate), np.abs(truth))
        return np.isfinite(truth) & (np.abs(estimate - truth) <= 3 * error + fd_relative(order) * size)


def fd_relative(order: int) -> float:
    return tolerance.fd_relative(order)
