"""Gamma-Gamma (Fader, Hardie and Lee 2005, "RFM and CLV"): how much a customer spends per purchase.

Each purchase's value is Gamma(p, ν) with ν ~ Gamma(q, γ) per customer (γ written `v` here, as
in the published estimates). Fitted on customers with at least one repeat purchase, from the
number of repeat purchases x and their mean value m_x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from tierkit.models.fitting import maximize


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    v: float

    def expected_value(self, x: np.ndarray, m_x: np.ndarray, fallback: float | None = None) -> np.ndarray:
        """E[value of a purchase | x, m_x]; the population mean p·v/(q−1) without repeat purchases."""
        x = np.asarray(x, dtype=float)
        m_x = np.nan_to_num(np.asarray(m_x, dtype=float))
        population = self.p * self.v / (self.q - 1) if fallback is None else fallback
        conditional = self.p * (self.v + x * m_x) / (self.p * x + self.q - 1)
        return np.where(x > 0, conditional, population)  # type: ignore[no-any-return]


def log_likelihood(params: np.ndarray, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
    p, q, v = params
    return (  # type: ignore[no-any-return]
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m_x)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m_x + v)
    )


def gradient(params: np.ndarray, x: np.ndarray, m_x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    p, q, v = params
    spent = np.log(x * m_x + v)
    d_p = x * (digamma(p * x + q) - digamma(p * x) + np.log(m_x) + np.log(x) - spent)
    d_q = digamma(p * x + q) - digamma(q) + np.log(v) - spent
    d_v = q / v - (p * x + q) / (x * m_x + v)
    return np.array([np.dot(weight, d_p), np.dot(weight, d_q), np.dot(weight, d_v)])


def fit(x: np.ndarray, m_x: np.ndarray, weight: np.ndarray) -> tuple[GammaGamma, float]:
    keep = (x > 0) & (m_x > 0)
    x, m_x, weight = x[keep], m_x[keep], weight[keep]
    params, ll = maximize(
        lambda p: float(np.dot(weight, log_likelihood(p, x, m_x))),
        start=[1.0, 1.0, 1.0],
        gradient=lambda p: gradient(p, x, m_x, weight),
    )
    return GammaGamma(*params), ll
