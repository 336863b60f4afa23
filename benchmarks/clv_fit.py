"""Fitting BG/NBD + Gamma-Gamma on N customers: tierkit against lifetimes, same summary, same run.

    python benchmarks/clv_fit.py [--customers 1000000]

Simulates N customers' (frequency, recency, T, monetary) in weeks (the BG/NBD story, with
CDNOW-like parameters), then times (a) tierkit's fit: the weighted, de-duplicated summary and
maximum likelihood on it, and (b) lifetimes' BetaGeoFitter and GammaGammaFitter on the same
per-customer summary. Prints both times, the ratio and both sets of parameters.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tierkit.models import bgnbd, gamma_gamma


def simulate(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    first = rng.integers(0, 12 * 7, n)  # first purchase day in the first 12 weeks
    T_days = 273 - first
    x = np.zeros(n)
    t_days = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    clock = np.zeros(n)
    while alive.any():  # all customers advance one purchase at a time, vectorised
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1 / lam[idx]) * 7
        past = clock[idx] > T_days[idx]
        alive[idx[past]] = False
        buy = idx[~past]
        x[buy] += 1
        t_days[buy] = clock[buy]
        alive[buy[rng.random(buy.size) < p[buy]]] = False
    t_days = np.floor(t_days)
    nu = rng.gamma(3.74, 1 / 15.44, n)
    monetary = np.where(x > 0, rng.gamma(6.25 * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0.0)
    return {"frequency": x, "recency": t_days / 7, "T": T_days / 7, "monetary": np.round(monetary, 2)}


def ours(data: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    keys = np.stack([data["frequency"], np.round(data["recency"], 6), np.round(data["T"], 6)], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    model, _ = bgnbd.fit(unique[:, 0], unique[:, 1], unique[:, 2], counts.astype(float))
    repeat = data["frequency"] > 0
    pairs = np.stack([data["frequency"][repeat], data["monetary"][repeat]], axis=1)
    uniq_pairs, pair_counts = np.unique(pairs, axis=0, return_counts=True)
    spend, _ = gamma_gamma.fit(uniq_pairs[:, 0], uniq_pairs[:, 1], pair_counts.astype(float))
    seconds = time.perf_counter() - started
    return seconds, {
        "r": model.r,
        "alpha": model.alpha,
        "a": model.a,
        "b": model.b,
        "p": spend.p,
        "q": spend.q,
        "v": spend.v,
    }


def theirs(data: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    frame = pd.DataFrame(data)
    started = time.perf_counter()
    bg = BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"])
    repeat = frame[frame["frequency"] > 0]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary"])
    seconds = time.perf_counter() - started
    return seconds, {**{k: float(v) for k, v in bg.params_.items()}, **{k: float(v) for k, v in gg.params_.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    data = simulate(args.customers)
    mine, mine_params = ours(data)
    other, other_params = theirs(data)
    print(
        json.dumps(
            {
                "customers": args.customers,
                "tierkit_s": round(mine, 2),
                "lifetimes_s": round(other, 2),
                "ratio": round(mine / other, 3),
                "tierkit": {k: round(v, 4) for k, v in mine_params.items()},
                "lifetimes": {k: round(v, 4) for k, v in other_params.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
