"""Loading reranking data: local files and folders, a pinned Hub dataset, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_fixtures import dataset_card, parquet_bytes, reranking_records

from hubrerank.errors import InputError
from hubrerank.evaluation import load_reranking_data
from hubrerank.evaluation.samples import resolve_data


def test_a_local_parquet_file_is_read_as_the_split(reranking_file: Path) -> None:
    data = load_reranking_data(str(reranking_file), split="test")
    assert (data.dataset, data.revision, data.split, len(data.rows)) == (
        str(reranking_file),
        None,
        "test",
        30,
    )
    first = data.rows[1]
    assert first.query_id == "q1" and first.document_ids[0] == "d1-0"
    assert first.doc_id(first.documents[2]) == "d1-2"
    assert first.doc_id("a text nobody retrieved").startswith("h")  # a stable hash for texts without ids
    assert data.rows[-1].sample().keys() == {"query", "positive", "negative"}  # no first stage: negatives
    assert first.sample().keys() == {"query", "positive", "documents"}


def test_a_hub_dataset_is_read_at_its_sha(reranking_repo: tuple[str, str]) -> None:
    repo_id, sha = reranking_repo
    assert resolve_data(repo_id) == (repo_id, sha)
    data = load_reranking_data(repo_id, sha, split="test")
    assert (data.revision, data.config, len(data.rows)) == (sha, "default", 30)
    with pytest.raises(InputError, match=r"has no split 'dev'; it has test \(--split\)"):
        load_reranking_data(repo_id, sha, split="dev")


def test_local_folders_hub_layout_and_save_to_disk(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "hub-layout"
    (folder / "default").mkdir(parents=True)
    (folder / "README.md").write_bytes(dataset_card({"default": ["test"]}))
    (folder / "default" / "test.parquet").write_bytes(parquet_bytes(reranking_records()))
    assert len(load_reranking_data(str(folder)).rows) == 30

    saved = tmp_path / "saved"
    DatasetDict({"test": Dataset.from_list(reranking_records())}).save_to_disk(str(saved))
    assert len(load_reranking_data(str(saved)).rows) == 30
    with pytest.raises(InputError, match="has no split 'eval'"):
        load_reranking_data(str(saved), split="eval")


def test_a_local_folder_rebuilt_in_place_is_read_afresh(tmp_path: Path) -> None:
    """datasets caches a folder by its name and card: the second read returned the first contents."""
    folder = tmp_path / tmp_path.name
    (folder / "default").mkdir(parents=True)
    (folder / "README.md").write_bytes(dataset_card({"default": ["test"]}))
    (folder / "default" / "test.parquet").write_bytes(parquet_bytes(reranking_records()))
    assert len(load_reranking_data(str(folder)).rows) == 30
    (folder / "default" / "test.parquet").write_bytes(parquet_bytes(reranking_records()[:3]))
    assert len(load_reranking_data(str(folder)).rows) == 3


def test_a_data_file_unlike_its_config_is_refused_in_one_line(tmp_path: Path) -> None:
    """Two files of one config with different columns: DatasetGenerationError, exit 3."""
    folder = tmp_path / tmp_path.name
    (folder / "default").mkdir(parents=True)
    (folder / "README.md").write_bytes(dataset_card({"default": ["eval", "test"]}))
    (folder / "default" / "eval.parquet").write_bytes(parquet_bytes(reranking_records()))
    (folder / "default" / "test.parquet").write_bytes(parquet_bytes([{"question": "q", "answer": "a"}]))
    with pytest.raises(InputError) as error:
        load_reranking_data(str(folder))
    message = str(error.value)
    assert message.startswith(f"cannot read dataset {folder} (config default, split test): CastError: ")
    assert "\n" not in message and message.endswith("; fix or rebuild that data file")


def test_data_not_in_reranking_form_names_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"query": "q", "passage": "p", "label": 1}\n')
    with pytest.raises(InputError) as error:
        load_reranking_data(str(path))
    message = str(error.value)
    assert "missing column(s) positive, documents (or negative)" in message
    assert "`hubrerank data build` makes reranking splits" in message
    assert "\n" not in message


def test_misaligned_document_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "q", "positive": ["a"], "documents": ["a", "b"], "document_ids": ["1"]}\n')
    with pytest.raises(InputError, match="document_ids has 1 ids for 2 documents"):
        load_reranking_data(str(path))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ('{"query_id": "a", "query": null, "positive": ["x"], "negative": ["y"]}', "query is None"),
        ('{"query_id": "a", "query": 7, "positive": ["x"], "negative": ["y"]}', "query is 7"),
        ('{"query_id": "a", "query": "q", "positive": ["x", null], "negative": []}', "positive holds None"),
        ('{"query_id": "a", "query": "q", "positive": ["x"], "negative": [null]}', "negative holds None"),
    ],
)
def test_a_null_or_non_text_query_or_document_is_refused_naming_the_file_and_row(
    tmp_path: Path, row: str, expected: str
) -> None:
    """A NaN/null text reached the encoders and crashed (exit 3: 'NoneType' has no attribute 'encode')."""
    path = tmp_path / "nulls.jsonl"
    path.write_text('{"query_id": "z", "query": "fine", "positive": ["x"], "negative": ["y"]}\n' + row + "\n")
    with pytest.raises(InputError) as error:
        load_reranking_data(str(path))
    assert str(error.value).startswith(f"{path} split 'test', row 1 (query_id a): {expected}, not text")


def test_the_config_holding_the_split_is_chosen_and_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "built"  # hubrerank's layout: train in default, eval/test in reranking
    (folder / "default").mkdir(parents=True)
    (folder / "reranking").mkdir()
    (folder / "README.md").write_bytes(dataset_card({"default": ["train"], "reranking": ["test"]}))
    (folder / "default" / "train.parquet").write_bytes(
        parquet_bytes([{"query": "q", "passage": "p", "label": 1.0}])
    )
    (folder / "reranking" / "test.parquet").write_bytes(parquet_bytes(reranking_records()))
    data = load_reranking_data(str(folder), split="test")
    assert (data.config, len(data.rows)) == ("reranking", 30)
    with pytest.raises(InputError, match="has no split 'dev'; it has test, train"):
        load_reranking_data(str(folder), split="dev")
    with pytest.raises(InputError, match="config 'default' has no split 'test'; it has train"):
        load_reranking_data(str(folder), config="default", split="test")
