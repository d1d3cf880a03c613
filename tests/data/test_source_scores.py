"""FlagEmbedding's ``pos_scores``/``neg_scores`` (teacher scores in the source file) become the score column
of the built data, the eval/test ``scores`` where the first stage returned a scored pair, and are named as
the source's on the card; mismatched lengths are refused in one line; ``--teacher`` wins over them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from data_fixtures import TOPICS
from helpers import run_cli

from hubrerank.data.sources import read_source


def _tables(out: Path) -> dict:
    return {p.name.split("-")[0]: pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))}


def _build(source: Path, out: Path, *args: str) -> dict:
    result = run_cli(
        "data", "build", str(source), "--out", str(out), "--test-size", "2", "--eval-size", "0", *args
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "hubrerank_dataset.json").read_text())


def _score(query: int, doc: int) -> float:
    return round(0.01 * query + 0.1 * ((query - doc) % len(TOPICS)), 4)


@pytest.fixture()
def scored_flag(tmp_path: Path) -> Path:
    """Every (query i, document j) pair scored by :func:`_score`, as FlagEmbedding's distillation data."""
    path = tmp_path / "scored.jsonl"
    with path.open("w") as handle:
        for i, (query, answer) in enumerate(TOPICS):
            negatives = [(i + j) % len(TOPICS) for j in (1, 2, 3)]
            row = {
                "query": query,
                "pos": [answer],
                "neg": [TOPICS[j][1] for j in negatives],
                "pos_scores": [_score(i, i)],
                "neg_scores": [_score(i, j) for j in negatives],
            }
            handle.write(json.dumps(row) + "\n")
    return path


def _expected(query: str, passage: str) -> float:
    queries = [q for q, _ in TOPICS]
    passages = [a for _, a in TOPICS]
    return _score(queries.index(query), passages.index(passage))


@pytest.mark.parametrize("output_format", ["labeled-pair", "n-tuple", "labeled-list"])
def test_source_scores_fill_the_score_column(scored_flag: Path, tmp_path: Path, output_format: str) -> None:
    meta = _build(scored_flag, tmp_path / "out", "--output-format", output_format)

    rows = _tables(tmp_path / "out")["train"].to_pylist()
    if output_format == "labeled-pair":
        assert [r["score"] for r in rows] == [_expected(r["query"], r["passage"]) for r in rows]
    elif output_format == "n-tuple":
        for r in rows:
            texts = [r["positive"], *(r[f"negative_{i}"] for i in (1, 2, 3))]
            assert r["scores"] == [_expected(r["query"], t) for t in texts]
    else:
        for r in rows:
            assert r["scores"] == [_expected(r["query"], d) for d in r["documents"]]
    assert meta["teacher"] is None
    assert meta["teacher_scores"] == "the source file's `pos_scores`/`neg_scores`, not a teacher model"
    card = (tmp_path / "out" / "README.md").read_text()
    assert "| Teacher scores | the source file's `pos_scores`/`neg_scores`, not a teacher model |" in card


def test_eval_and_test_carry_the_source_scores_of_the_first_stage_documents(
    scored_flag: Path, tmp_path: Path
) -> None:
    _build(scored_flag, tmp_path / "out", "--candidates", "5")

    test = _tables(tmp_path / "out")["test"].to_pylist()
    judged = 0
    for row in test:
        assert len(row["scores"]) == len(row["documents"]) > 0
        for document, score in zip(row["documents"], row["scores"], strict=True):
            row_index = [q for q, _ in TOPICS].index(row["query"])
            doc_index = [a for _, a in TOPICS].index(document)
            is_judged = (doc_index - row_index) % len(TOPICS) in (0, 1, 2, 3)
            assert score == (_score(row_index, doc_index) if is_judged else None)
            judged += is_judged
    assert judged > 0
    assert "`scores` aligned with `documents`" in (tmp_path / "out" / "README.md").read_text()


def test_the_teacher_wins_over_source_scores_with_a_note(
    scored_flag: Path, tmp_path: Path, local_cross_encoder: Path
) -> None:
    result = run_cli(
        "data", "build", str(scored_flag), "--out", str(tmp_path / "out"), "--test-size", "2",
        "--eval-size", "0", "--teacher", str(local_cross_encoder), "--candidates", "5",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (
        "--teacher scores every pair: its scores replace scored.jsonl's pos_scores/neg_scores"
        in result.output
    )
    meta = json.loads((tmp_path / "out" / "hubrerank_dataset.json").read_text())
    assert meta["teacher_scores"] == (
        "the cross-encoder's sigmoid score; it replaces the source's `pos_scores`/`neg_scores`"
    )
    tables = _tables(tmp_path / "out")
    assert all(0 < r["score"] < 1 for r in tables["train"].to_pylist())
    assert all(s is not None and 0 < s < 1 for r in tables["test"].to_pylist() for s in r["scores"])


def test_a_row_whose_scores_and_texts_differ_in_length_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    rows = [
        {"query": "q1", "pos": ["a"], "neg": ["b", "c"], "pos_scores": [0.9], "neg_scores": [0.1, 0.2]},
        {"query": "q2", "pos": ["a"], "neg": ["b", "c"], "pos_scores": [0.9], "neg_scores": [0.1]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    result = run_cli("data", "build", str(path), "--out", str(tmp_path / "out"))

    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: bad.jsonl: row 2: neg_scores has 1 scores for 2 neg texts; give one score per text"
    )


def test_added_negatives_without_a_teacher_are_refused(scored_flag: Path, tmp_path: Path) -> None:
    result = run_cli(
        "data", "build", str(scored_flag), "--out", str(tmp_path / "out"), "--random-negatives", "1"
    )

    assert result.exit_code == 2
    assert "--random-negatives add pairs without a score: pass --teacher" in result.output


def test_the_real_flagembedding_distillation_file_keeps_its_scores() -> None:
    path = Path(
        "/work/shared/data/flagembedding-examples/examples/finetune/reranker/example_data/normal/examples.jsonl"
    )
    if not path.is_file():
        pytest.skip("shared FlagEmbedding examples are not here")
    first = json.loads(path.read_text().splitlines()[0])

    judgments = read_source(str(path)).judgments

    assert judgments.column_names[-1] == "score"
    assert judgments.slice(0, 26)["score"].to_pylist() == first["pos_scores"] + first["neg_scores"]
