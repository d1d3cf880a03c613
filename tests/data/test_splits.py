"""Seeded splits by query: fractions or counts, source splits kept, sizes beyond the queries refused."""

from __future__ import annotations

import pytest

from hubrerank.data.splits import assign_splits, parse_size
from hubrerank.errors import InputError


def test_sizes_are_fractions_or_counts() -> None:
    assert parse_size("0.1", "--test-size") == 0.1
    assert parse_size("25", "--test-size") == 25
    assert parse_size("1", "--test-size") == 1 and isinstance(parse_size("1", "--test-size"), int)
    assert parse_size("1.0", "--test-size") == 1.0 and isinstance(parse_size("1.0", "--test-size"), float)
    for bad in ("-1", "1.5", "ten"):
        with pytest.raises(InputError, match="--test-size"):
            parse_size(bad, "--test-size")


def test_carved_splits_are_seeded_and_disjoint() -> None:
    splits, origin = assign_splits([None] * 20, 0.25, 3, seed=12)
    assert splits.count("test") == 5 and splits.count("eval") == 3 and splits.count("train") == 12
    assert origin == {"test": "carved", "eval": "carved", "train": "carved"}
    assert assign_splits([None] * 20, 0.25, 3, seed=12)[0] == splits
    assert assign_splits([None] * 20, 0.25, 3, seed=13)[0] != splits


def test_source_splits_are_kept_and_only_missing_ones_carved() -> None:
    source = ["train"] * 8 + ["test"] * 2
    splits, origin = assign_splits(source, 0.5, 2, seed=0)
    assert splits[8:] == ["test", "test"] and splits.count("eval") == 2 and splits.count("train") == 6
    assert origin == {"test": "source", "eval": "carved", "train": "source"}


def test_sizes_beyond_the_queries_are_refused() -> None:
    with pytest.raises(InputError, match="take 5 queries, but there are 4 to split"):
        assign_splits([None] * 4, 3, 2, seed=0)


def test_a_split_may_take_every_query() -> None:
    splits, origin = assign_splits([None] * 4, 1.0, 0, seed=0)
    assert splits == ["test"] * 4 and origin == {"test": "carved"}
