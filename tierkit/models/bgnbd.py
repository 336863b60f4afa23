"""BG/NBD (Fader, Hardie and Lee 2005): how often a customer buys, and whether they are still alive.

A customer buys at a Poisson rate λ ~ Gamma(r, α) and, after each purchase, leaves for good with
probability p ~ Beta(a, b). Fitted by maximum likelihood on the weighted summary; the formulas
are the paper's (equations 6, 10 and 13, and P(alive)), written with log-gamma functions so
that large frequencies do not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from tierkit.models.fitting import maximize


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def _alive_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x): the odds of having left after the last purchase."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
            odds = self.a / np.maximum(self.b + x - 1, 1e-300) * np.exp(np.minimum(log_ratio, 700))
        return np.where(x > 0, odds, 0.0)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + self._alive_odds(x, t_x, T))

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in the next `t` units | x, t_x, T] (equation 10)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        first = (a + b + x - 1) / (a - 1)
        second = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        return first * second / (1 + self._alive_odds(x, t_x, T))  # type: ignore[no-any-return]


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood (equation 6)."""
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        second = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    second = np.where(x > 0, second, -np.inf)
    return common + np.logaddexp(first, second)  # type: ignore[no-any-return]


def gradient(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """d(total log-likelihood)/d(r, α, a, b): the two terms of equation 6 weighted by their shares."""
    r, alpha, a, b = params
    b1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        b2 = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    b2 = np.where(x > 0, b2, -np.inf)
    total = np.logaddexp(b1, b2)
    w1, w2 = np.exp(b1 - total), np.exp(b2 - total)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w1 * np.log(alpha + T) - w2 * np.log(alpha + t_x)
    d_alpha = r / alpha - w1 * (r + x) / (alpha + T) - w2 * (r + x) / (alpha + t_x)
    common = digamma(a + b) - digamma(a + b + x)
    d_a = w1 * common + w2 * (digamma(a + 1) - digamma(a) + common)
    with np.errstate(invalid="ignore"):
        late = np.where(x > 0, digamma(np.maximum(b + x - 1, 1e-12)), 0.0)
    d_b = w1 * (digamma(b + x) - digamma(b) + common) + w2 * (late - digamma(b) + common)
    return np.array([np.dot(weight, g) for g in (d_r, d_alpha, d_a, d_b)])


def fit(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> tuple[BgNbd, float]:
    """Maximum-likelihood (r, α, a, b); returns the model and the total log-likelihood."""
    params, ll = maximize(
        lambda p: float(np.dot(weight, log_likelihood(p, x, t_x, T))),
        start=[1.0, 1.0, 1.0, 1.0],
        gradient=lambda p: gradient(p, x, t_x, T, weight),
    )
    return BgNbd(*params), ll
