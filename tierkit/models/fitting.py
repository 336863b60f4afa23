"""Maximum likelihood for positive parameters: optimize their logarithms, report the fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from tierkit.errors import TierkitError


def maximize(log_likelihood: Callable[[np.ndarray], float], start: Sequence[float]) -> tuple[np.ndarray, float]:
    """Parameters (all > 0) that maximize `log_likelihood`, and its value there.

    Nelder-Mead on the log scale first (robust from a poor start), then L-BFGS-B to polish: the
    published CDNOW estimates are reproduced to four significant digits."""

    def objective(theta: np.ndarray) -> float:
        value = log_likelihood(np.exp(theta))
        return -value if np.isfinite(value) else 1e300

    theta = np.log(np.asarray(start, dtype=float))
    rough = minimize(objective, theta, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10})
    fine = minimize(objective, rough.x, method="L-BFGS-B", options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-9})
    best = fine if fine.fun <= rough.fun else rough
    if not np.isfinite(best.fun) or best.fun >= 1e299:
        raise TierkitError("the model could not be fitted (the data give no finite likelihood)")
    return np.exp(best.x), -float(best.fun)
