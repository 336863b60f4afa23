"""Maximum likelihood for positive parameters: optimize their logarithms, report the fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from tierkit.errors import TierkitError


def maximize(
    log_likelihood: Callable[[np.ndarray], float],
    start: Sequence[float],
    gradient: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, float]:
    """Parameters (all > 0) that maximize `log_likelihood`, and its value there.

    L-BFGS-B on the log scale, with the analytic `gradient` when given (tens of evaluations on
    the weighted summary instead of hundreds);
    Nelder-Mead first only if that fails from the start given. The published CDNOW estimates are
    reproduced to four significant digits."""

    def objective(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):  # overflow far from the optimum is answered by the 1e300 below
            value = log_likelihood(np.exp(theta))
        return -value if np.isfinite(value) else 1e300

    def slope(theta: np.ndarray) -> np.ndarray:
        params = np.exp(theta)
        assert gradient is not None
        with np.errstate(all="ignore"):
            found = -gradient(params) * params  # d/dθ = d/dparam · param, for θ = log(param)
        return np.nan_to_num(found, nan=0.0, posinf=1e100, neginf=-1e100)

    theta = np.log(np.asarray(start, dtype=float))
    jac = slope if gradient is not None else None
    best = minimize(
        objective, theta, jac=jac, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-8}
    )
    # "abnormal termination in line search" at the optimum is common with tolerances this tight:
    # only a start the gradient cannot leave (a non-finite likelihood) needs the slow crawl
    if not np.isfinite(best.fun) or best.fun >= 1e299 or np.max(np.abs(best.jac if gradient else 0)) > 1e-2:
        rough = minimize(objective, theta, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-8})
        fine = minimize(objective, rough.x, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-14})
        best = fine if fine.fun <= rough.fun else rough
    if not np.isfinite(best.fun) or best.fun >= 1e299:
        raise TierkitError("the model could not be fitted (the data give no finite likelihood)")
    return np.exp(best.x), -float(best.fun)
