"""Solvers of the load-coupling fixed point ``rho = f(rho)`` (Siomina & Yuan, IEEE TWC 2012).

All stop when ``max |f(rho) - rho| < tol`` and return ``f(rho)``, with the flag, the residual
and the number of evaluations of ``f``: non-convergence is reported, never hidden. The
chord-Newton iteration's preconditioner is an LU factorisation of ``I - df/drho``
(:func:`lu_or_none`, :func:`chord_preconditioner`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla
from numpy.typing import NDArray

#: Residuals mixed by the Anderson-accelerated iteration of warm-started runs.
ANDERSON_DEPTH = 5

LoadMap = Callable[[NDArray[np.float64]], NDArray[np.float64]]
#: LU factors as ``scipy.linalg.lu_factor`` returns them.
LuFactors = tuple[Any, Any]


def plain_iteration(load: LoadMap, rho: NDArray[np.float64], tol: float, max_it: int
                    ) -> tuple[NDArray[np.float64], bool, float, int]:
    """Plain iteration ``rho <- f(rho)``; from 0 it increases monotonically to the least
    fixed point (Siomina & Yuan 2012). Returns (rho, converged, residual, iterations)."""
    residual = np.inf
    for it in range(1, max_it + 1):
        new = load(rho)
        residual = float(np.max(np.abs(new - rho))) if rho.size else 0.0
        rho = new
        if residual < tol:
            return rho, True, residual, it
    return rho, False, residual, max_it


def anderson_iteration(load: LoadMap, rho: NDArray[np.float64], tol: float, max_it: int,
                       depth: int = ANDERSON_DEPTH
                       ) -> tuple[NDArray[np.float64], bool, float, int]:
    """Anderson-accelerated iteration (Walker & Ni, SIAM J. Numer. Anal. 2011) for warm
    starts: the next point mixes the last ``depth`` values of ``f`` so that the residuals
    ``f(rho) - rho`` cancel in the least-squares sense. The fixed point and the stopping rule
    (``max |f(rho) - rho| < tol``, return ``f(rho)``) are those of the plain iteration; a
    step that increases the residual restarts the mixing from a plain step."""
    if rho.size == 0:
        return load(rho), True, 0.0, 1
    xs: list[NDArray[np.float64]] = []
    gs: list[NDArray[np.float64]] = []
    fs: list[NDArray[np.float64]] = []
    x = rho
    fx = load(x)
    g = fx - x
    residual = float(np.max(np.abs(g)))
    for it in range(1, max_it + 1):
        if residual < tol:
            return fx, True, residual, it
        if it == max_it:
            break
        xs.append(x)
        gs.append(g)
        fs.append(fx)
        if len(gs) > depth + 1:
            del xs[0], gs[0], fs[0]
        if len(gs) > 1:
            d_g = np.column_stack([gs[i + 1] - gs[i] for i in range(len(gs) - 1)])
            d_f = np.column_stack([fs[i + 1] - fs[i] for i in range(len(fs) - 1)])
            gamma = np.linalg.lstsq(d_g, g, rcond=1e-12)[0]
            x_new = np.maximum(fx - d_f @ gamma, 0.0)
        else:
            x_new = fx
        f_new = load(x_new)
        g_new = f_new - x_new
        r_new = float(np.max(np.abs(g_new)))
        if r_new > residual and len(gs) > 1:
            xs.clear()
            gs.clear()
            fs.clear()
        x, fx, g, residual = x_new, f_new, g_new, r_new
    return fx, False, residual, max_it


def preconditioned_iteration(load: LoadMap, rho: NDArray[np.float64],
                             precondition: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                             tol: float, max_it: int, depth: int = ANDERSON_DEPTH
                             ) -> tuple[NDArray[np.float64], bool, float, int]:
    """Chord-Newton iteration ``rho <- rho + M^-1 (f(rho) - rho)`` with a fixed
    ``M ~ I - df/drho`` (``precondition(g)`` returns ``M^-1 g``; a what-if passes its base
    network's Jacobian; Kelley, "Iterative Methods for Linear and Nonlinear Equations", SIAM
    1995, ch. 5.4), Anderson-mixed over the last ``depth`` preconditioned residuals (Walker &
    Ni 2011). Stopping rule and return value are those of :func:`plain_iteration`. A mixed
    step that does not reduce ``max |f(rho) - rho|`` is retried as a plain chord step; a chord
    step that does not reduce it falls back to :func:`anderson_iteration` from ``f`` of the
    last accepted point, within the same budget of ``max_it`` evaluations of ``f`` (the count
    returned includes both)."""
    if rho.size == 0:
        return load(rho), True, 0.0, 1
    x = rho
    fx = load(x)
    g = fx - x
    residual = float(np.max(np.abs(g)))
    evals = 1
    xs: list[NDArray[np.float64]] = []
    qs: list[NDArray[np.float64]] = []
    q = precondition(g)
    while residual >= tol and evals < max_it:
        if not np.isfinite(q).all():
            break
        xs.append(x)
        qs.append(q)
        if len(xs) > depth + 1:
            del xs[0], qs[0]
        step = q
        if len(xs) > 1:
            d_x = np.column_stack([xs[i + 1] - xs[i] for i in range(len(xs) - 1)])
            d_q = np.column_stack([qs[i + 1] - qs[i] for i in range(len(qs) - 1)])
            gamma = np.linalg.lstsq(d_q, q, rcond=1e-12)[0]
            step = q - (d_x + d_q) @ gamma
        x_new = np.maximum(x + step, 0.0)
        f_new = load(x_new)
        evals += 1
        g_new = f_new - x_new
        r_new = float(np.max(np.abs(g_new)))
        if not r_new < residual:
            if len(xs) > 1:  # drop the mixing, retry a plain chord step
                xs.clear()
                qs.clear()
                continue
            break
        x, fx, g, residual = x_new, f_new, g_new, r_new
        q = precondition(g)
    if residual < tol or evals >= max_it:
        return fx, residual < tol, residual, evals
    out, converged, res, it = anderson_iteration(load, fx, tol, max_it - evals)
    return out, converged, res, evals + it


def lu_or_none(m: NDArray[np.float64]) -> LuFactors | None:
    """LU factors of the square matrix ``m`` (e.g. ``I - df/drho``), or None when it is
    singular or not finite (the caller then iterates without a preconditioner)."""
    try:
        with np.errstate(all="ignore"):
            lu = sla.lu_factor(m, check_finite=True)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.all(np.isfinite(lu[0])) or np.min(np.abs(np.diag(lu[0]))) == 0.0:
        return None
    return lu


def chord_preconditioner(lu: LuFactors, n: int
                         ) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """``g -> M^-1 g`` on the first ``n`` entries of ``g`` (``M`` factored as ``lu``, ``n x
    n``), the identity on the rest (cells appended by a what-if: no coupling), for
    :func:`preconditioned_iteration`."""

    def solve(g: NDArray[np.float64]) -> NDArray[np.float64]:
        out = g.copy()
        out[:n] = sla.lu_solve(lu, g[:n], check_finite=False)
        return out

    return solve
