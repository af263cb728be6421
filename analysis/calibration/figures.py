"""Figures of a calibration: posterior marginals, pairs, and the predictive checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration.abc import Prior
from sim.jobs.posterior import Posterior


def _short(key: str) -> str:
    return key.replace("routes.", "").replace("tracks.", "").replace("categories.", "") \
        .replace("actors.", "").replace("world.", "")


def write_figures(posterior: Posterior, priors: Sequence[Prior], checks: pd.DataFrame,
                  folder: str | Path) -> list[Path]:
    """Write ``marginals.png``, ``pairs.png`` and ``checks.png`` into ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    k = len(posterior.keys)
    bounds = {p.key: (p.low, p.high) for p in priors}
    written = []

    cols = min(4, k)
    rows = -(-k // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for j, key in enumerate(posterior.keys):
        ax = axes[j // cols][j % cols]
        low, high = bounds.get(key, (posterior.draws[:, j].min(), posterior.draws[:, j].max()))
        ax.hist(posterior.draws[:, j], bins=20, range=(low, high), weights=posterior.weights,
                density=True, color="tab:blue", alpha=0.75, label="posterior")
        ax.axhline(1.0 / (high - low), color="grey", ls="--", lw=1, label="prior")
        ax.set_title(_short(key), fontsize=9)
        ax.tick_params(labelsize=7)
    for j in range(k, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Posterior marginals (dashed: the uniform prior)", fontsize=10)
    fig.tight_layout()
    written.append(folder / "marginals.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(k, k, figsize=(1.6 * k, 1.6 * k), squeeze=False)
    size = 4 + 60 * posterior.weights / posterior.weights.max()
    for a in range(k):
        for b in range(k):
            ax = axes[a][b]
            ax.tick_params(labelsize=5)
            if a == b:
                ax.hist(posterior.draws[:, a], bins=15, weights=posterior.weights,
                        color="tab:blue")
            elif a > b:
                ax.scatter(posterior.draws[:, b], posterior.draws[:, a], s=size * 0.2,
                           alpha=0.5, color="tab:blue")
            else:
                ax.axis("off")
            if b == 0:
                ax.set_ylabel(_short(posterior.keys[a]), fontsize=6)
            if a == k - 1:
                ax.set_xlabel(_short(posterior.keys[b]), fontsize=6)
    fig.suptitle("Posterior pairs (point size: weight)", fontsize=10)
    fig.tight_layout()
    written.append(folder / "pairs.png")
    fig.savefig(written[-1], dpi=75)
    plt.close(fig)

    n = len(checks)
    fig, ax = plt.subplots(figsize=(8, 0.45 * n + 1.4))
    y = np.arange(n)[::-1]
    for i, row in enumerate(checks.itertuples()):
        lo, hi = (row.q05 - row.observed) / row.scale, (row.q95 - row.observed) / row.scale
        ax.plot([lo, hi], [y[i]] * 2, color="tab:blue", lw=5, alpha=0.5)
        ax.plot((row.mean - row.observed) / row.scale, y[i], "D", color="tab:blue", ms=6)
    ax.axvline(0.0, color="black", lw=1)
    ax.set_yticks(y, [f"{r.target}: observed {r.observed:.3g}, model mean {r.mean:.3g}"
                      for r in checks.itertuples()], fontsize=7)
    ax.set_xlabel("model - observed, in tolerances (the distance's scale)")
    ax.set_title("Predictive checks: runs' 5-95% (bar), mean (diamond); "
                 "0 is the record", fontsize=9)
    fig.tight_layout()
    written.append(folder / "checks.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written
