"""Is a reranker's gain over the first stage it reranks real? A paired test on per-query NDCG@k.

On a test split of a hundred questions, one answer moving into or out of a query's top 10 moves the
mean NDCG@10 by up to 0.01, so a mean alone cannot tell a better reranker from a lucky one. Each query
gives a pair (the reranked list's NDCG@k, the first stage's NDCG@k on the same list), and the paired
randomization test (Fisher's; Smucker, Allan and Carterette, CIKM 2007, recommend it for IR) asks how
often randomly swapping the two within pairs gives a mean difference at least as large as the observed
one. It is
``scipy.stats.permutation_test`` with ``permutation_type="samples"``, seeded, so a re-evaluation
reports the same p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

RESAMPLES = 10_000
SEED = 0
TEST_NAME = f"paired randomization test, two-sided, {RESAMPLES:,} resamples, scipy.stats.permutation_test"


def versus_first_stage(model: Sequence[float], first_stage: Sequence[float], metric: str) -> dict[str, Any]:
    """Compare per-query values of ``metric`` for the reranked lists (``model``) and the first stage's
    order of the same lists (``first_stage``), one entry per query in the same order.

    Returns ``{"metric", "queries", "delta" (mean model - first stage), "wins", "losses", "ties"
    (queries where the reranker is better / worse / equal), "p_value", "test"}``.
    """
    from scipy.stats import permutation_test

    ours = np.asarray(model, dtype=np.float64)
    theirs = np.asarray(first_stage, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"{len(ours)} reranked values against {len(theirs)} first-stage values")
    differences = ours - theirs
    changed = ~np.isclose(differences, 0.0, atol=1e-12)
    # one query: swapping its pair gives the same |mean|, so the exact two-sided p-value is 1 (scipy
    # refuses samples of one)
    if changed.any() and len(ours) > 1:
        p_value = permutation_test(
            (ours, theirs),
            lambda a, b, axis: np.mean(a - b, axis=axis),
            permutation_type="samples",
            vectorized=True,
            n_resamples=RESAMPLES,
            alternative="two-sided",
            rng=np.random.default_rng(SEED),
        ).pvalue
    else:
        p_value = 1.0
    return {
        "metric": metric,
        "queries": len(ours),
        "delta": float(differences.mean()) if len(ours) else 0.0,
        "wins": int((changed & (differences > 0)).sum()),
        "losses": int((changed & (differences < 0)).sum()),
        "ties": int((~changed).sum()),
        "p_value": float(p_value),
        "test": TEST_NAME,
    }
