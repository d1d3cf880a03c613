"""Builds from the real data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import run_cli

pytestmark = pytest.mark.shared


def build(source: Path, out: Path, *args: str) -> tuple[dict, dict]:
    result = run_cli("data", "build", str(source), "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert run_cli("data", "validate", str(out)).exit_code == 0
    tables = {p.name.split("-")[0]: pq.read_table(p) for p in (out / "data").glob("*.parquet")}
    return json.loads((out / "hubrerank_dataset.json").read_text()), tables


def test_percent4_csv(shared_data: Path, tmp_path: Path) -> None:
    meta, _ = build(
        shared_data / "percent4-rerank-ft/data/ft_rerank_train.csv", tmp_path / "out", "--language", "zh"
    )
    assert meta["source"]["format"] == "pairs" and meta["first_stage"] == "bm25"
    assert sum(s["queries"] for s in meta["statistics"].values()) == 168  # 178 ids, 168 distinct questions
    assert meta["dropped"] == {"duplicate_rows": 15}
    assert (
        meta["statistics"]["test"]["documents_per_query"]["mean"] > 0
    )  # CJK text is tokenised per character


def test_percent4_llamaindex_json(shared_data: Path, tmp_path: Path) -> None:
    meta, tables = build(shared_data / "percent4-rerank-ft/data/ft_train_dataset.json", tmp_path / "out")
    assert meta["source"]["format"] == "llamaindex"
    assert tables["train"].column_names == ["query", "passage", "label"]
    assert "document_ids" in tables["test"].column_names


def test_nvidia_sec_llamaindex_folder_keeps_train_and_val(shared_data: Path, tmp_path: Path) -> None:
    meta, tables = build(
        shared_data / "nvidia-sec-10k/embedding-finetuning", tmp_path / "out", "--test-size", "20"
    )
    assert meta["splits"] == {"train": "source", "eval": "source", "test": "carved"}
    assert (
        tables["eval"].num_rows == 181 and tables["test"].num_rows == 20
    )  # 182 ids, one question asked twice


def test_flagembedding_jsonl(shared_data: Path, tmp_path: Path) -> None:
    source = (
        shared_data / "flagembedding-examples/examples/finetune/reranker/example_data/normal/examples.jsonl"
    )
    meta, _ = build(source, tmp_path / "out", "--test-size", "2", "--eval-size", "0")
    assert meta["source"]["format"] == "flag"
    assert meta["statistics"]["train"]["negatives_per_query"]["min"] >= 1


def test_wikiqa(shared_data: Path, tmp_path: Path) -> None:
    meta, tables = build(shared_data / "wikiqa", tmp_path / "out")
    assert {name: t.num_rows for name, t in tables.items()} == {"train": 8672, "eval": 126, "test": 243}
    assert meta["statistics"]["train"]["queries"] == 873
    assert meta["splits"] == {"train": "source", "eval": "source", "test": "source"}


def test_trec_dl19_beir_with_its_bm25_run(shared_data: Path, tmp_path: Path) -> None:
    meta, tables = build(
        shared_data / "trec-dl19/derived",
        tmp_path / "out",
        "--positive-threshold",
        "2",
        "--candidates",
        "100",
    )
    assert meta["source"]["format"] == "beir" and meta["first_stage"] == "source"
    test = tables["test"].to_pylist()
    assert all(len(row["documents"]) == 100 and len(row["document_ids"]) == 100 for row in test)
    assert meta["dropped"]["judgments_without_text"] > 0
