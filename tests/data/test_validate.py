"""``hubrerank data validate`` and ``inspect`` on clean and corrupted datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import run_cli

from hubrerank.data.stats import table_statistics
from hubrerank.data.validate import validate_tables

RERANKING = {
    "query_id": ["1"],
    "query": ["what is a roof"],
    "positive": [["a roof is on a house"]],
    "negative": [["a wall"]],
    "documents": [["a wall", "a roof is on a house"]],
}


def write_dataset(folder: Path, splits: dict[str, pa.Table]) -> Path:
    (folder / "data").mkdir(parents=True)
    for name, table in splits.items():
        pq.write_table(table, folder / "data" / f"{name}-00000-of-00001.parquet")
    return folder


def train_pairs(**overrides: list) -> pa.Table:
    columns = {
        "query": ["who is king", "who is king"],
        "passage": ["the king", "a queen"],
        "label": [1.0, 0.0],
    }
    return pa.table({**columns, **overrides})


def test_a_clean_dataset_passes(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", {"train": train_pairs(), "test": pa.table(RERANKING)})
    result = run_cli("data", "validate", str(folder))
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


@pytest.mark.parametrize(
    ("train", "test", "fragment"),
    [
        (train_pairs(label=[1.0, 2.0]), RERANKING, "value 2.0 (item 2) is outside [0, 1]"),
        (
            train_pairs(passage=["the king", ""]),
            RERANKING,
            "column 'passage' has 1 empty texts (first in row 2)",
        ),
        (train_pairs(passage=["the king", "the king"]), RERANKING, "1 repeated (query, passage) pairs"),
        (train_pairs(query=["what is a roof"] * 2), RERANKING, "1 queries are in both train and test"),
        (train_pairs(), {**RERANKING, "documents": [["", "x"]]}, "column 'documents' has 1 empty texts"),
        (pa.table({"text": ["x"]}), RERANKING, "columns text make none of the forms"),
        (train_pairs(), {"query": ["q"], "passage": ["p"], "label": [1.0]}, "test must be in reranking form"),
    ],
)
def test_problems_are_reported_and_exit_1(
    tmp_path: Path, train: pa.Table, test: dict | pa.Table, fragment: str
) -> None:
    test_table = test if isinstance(test, pa.Table) else pa.table(test)
    folder = write_dataset(tmp_path / "ds", {"train": train, "test": test_table})
    result = run_cli("data", "validate", str(folder))
    assert result.exit_code == 1
    assert fragment in result.output


def test_queries_without_positive_are_a_warning() -> None:
    findings = validate_tables(
        {"test": pa.table({**RERANKING, "positive": pa.array([[]], pa.list_(pa.string()))})}
    )
    assert [f.level for f in findings] == ["warning"]


def test_statistics_of_every_form() -> None:
    tuple_table = pa.table(
        {"query": ["q", "q"], "positive": ["a", "b"], "negative_1": ["c", "c"], "negative_2": ["d", "e"]}
    )
    assert table_statistics(tuple_table) == {
        "form": "n-tuple",
        "rows": 2,
        "queries": 1,
        "pairs": 6,
        "negatives_per_row": 2,
    }
    listed = pa.table({"query": ["q"], "documents": [["a", "b", "c"]], "labels": [[1.0, 0.0, 0.0]]})
    stats = table_statistics(listed)
    assert stats["positives_per_query"]["mean"] == 1 and stats["negatives_per_query"]["max"] == 2
    reranking = table_statistics(pa.table(RERANKING))
    assert (
        reranking["documents_per_query"]["mean"] == 2
        and reranking["queries_with_a_positive_in_documents"] == 1.0
    )


def test_query_positive_pairs_are_n_tuples_without_negatives() -> None:
    pairs = pa.table({"query": ["q", "r"], "positive": ["a", "b"]})
    assert table_statistics(pairs) == {
        "form": "n-tuple",
        "rows": 2,
        "queries": 2,
        "pairs": 2,
        "negatives_per_row": 0,
    }
    assert validate_tables({"train": pairs}) == []


def test_inspect_prints_statistics_and_rows(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "ds", {"train": train_pairs(), "test": pa.table(RERANKING)})
    result = run_cli("data", "inspect", str(folder), "--rows", "1")
    assert result.exit_code == 0, result.output
    assert "[train] form=labeled-pair, rows=2, queries=1" in result.output
    assert '"query": "who is king"' in result.output
    as_json = json.loads(run_cli("data", "inspect", str(folder), "--json").output)
    assert as_json["test"]["positives_per_query"] == {"mean": 1.0, "min": 1, "max": 1}


def test_validate_refuses_a_folder_without_data(tmp_path: Path) -> None:
    result = run_cli("data", "validate", str(tmp_path))
    assert result.exit_code == 2 and "has no data/*.parquet files" in result.output
