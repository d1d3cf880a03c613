"""Split queries into train, eval and test, seeded; a query never lands in two splits.

Splits the source already has are kept: only a split the source lacks is carved out of the queries the
source puts in no split or in train. Sizes are fractions (``0.1``) or counts (``100``) of those queries;
a split may take all of them (``--test-size 1.0 --eval-size 0``: a test-only build).
"""

from __future__ import annotations

import numpy as np

from hubrerank.errors import InputError

SPLITS = ("train", "eval", "test")


def parse_size(text: str | float | int, option: str) -> float | int:
    """A split size: a number with a decimal point (``0.1``, ``1.0``) is a fraction of the queries in
    [0, 1], a whole number (``100``) a count of queries; anything else is an InputError. ``1.0`` is all of
    them (a test-only build), never one query."""
    value = str(text).strip()
    if isinstance(text, int) or value.isdigit():
        return int(value)
    try:
        number = float(value)
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a number; give a fraction like 0.1 or a count like 100"
        ) from None
    if not 0 <= number <= 1:
        raise InputError(
            f"{option} {value!r}: give a fraction between 0 and 1 (0.2, or 1.0 for all queries) "
            "or a whole count of queries (100)"
        )
    return number


def _count(size: float | int, pool: int) -> int:
    return size if isinstance(size, int) else round(size * pool)


def assign_splits(
    source_splits: list[str | None], test_size: float | int, eval_size: float | int, seed: int
) -> tuple[list[str], dict[str, str]]:
    """The split of every query, and how each split was made (``"source"`` or ``"carved"``)."""
    present = {s for s in source_splits if s is not None}
    pool = [q for q, s in enumerate(source_splits) if s in (None, "train")]
    carve = {name: size for name, size in (("test", test_size), ("eval", eval_size)) if name not in present}
    counts = {name: _count(size, len(pool)) for name, size in carve.items()}
    if sum(counts.values()) > len(pool):
        raise InputError(
            f"--test-size {test_size} and --eval-size {eval_size} take {sum(counts.values())} queries, but "
            f"there are {len(pool)} to split; lower them"
        )
    result = [s if s is not None else "train" for s in source_splits]
    order = np.random.default_rng(seed).permutation(len(pool))
    start = 0
    origin = {name: "source" for name in present}
    for name in ("test", "eval"):
        n = counts.get(name, 0)
        for position in order[start : start + n]:
            result[pool[position]] = name
        start += n
        if n:
            origin[name] = "carved"
    if any(s == "train" for s in result):
        origin.setdefault("train", "source" if "train" in present else "carved")
    return result, origin
