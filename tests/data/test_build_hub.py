"""``hubrerank data build --push`` on the local Hub: one commit, a loadable card, pinned provenance,
Hub sources and models by sha, and nothing pushed on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from data_fixtures import qa_rows
from helpers import HubModel, LocalHub, run_cli

from hubrerank.hub import publish


def push(source: str, repo_id: str, *args: str) -> str:
    result = run_cli("data", "build", source, "--push", repo_id, *args)
    assert result.exit_code == 0, result.output
    ref = result.stdout.strip().splitlines()[-1]
    assert ref.startswith(f"{repo_id}@") and len(ref.split("@")[1]) == 40
    return ref.split("@")[1]


@pytest.fixture(scope="module")
def hub_source(hub: LocalHub) -> str:
    """A qa dataset on the Hub with a license in its card: alice/faq-source."""
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(qa_rows()), buffer)
    card = "---\nlicense: cc-by-4.0\n---\n# FAQ\n"
    ref = publish(
        "alice/faq-source",
        {"data/train-00000-of-00001.parquet": buffer.getvalue(), "README.md": card.encode()},
        repo_type="dataset",
        message="Add faq",
    )
    return ref.sha


def test_push_is_one_commit_with_a_loadable_card_and_pinned_models(
    hub: LocalHub, qa_csv: Path, tiny_bi_encoder: HubModel, tiny_cross_encoder: HubModel
) -> None:
    from datasets import load_dataset
    from huggingface_hub import DatasetCard, HfApi

    api = HfApi()
    sha = push(
        str(qa_csv),
        "alice/faq-rerank",
        "--negatives",
        "2",
        "--mine-model",
        tiny_bi_encoder.repo_id,
        "--teacher",
        tiny_cross_encoder.ref,
        "--test-size",
        "3",
        "--eval-size",
        "2",
        "--tag",
        "v1",
    )
    commits = api.list_repo_commits("alice/faq-rerank", repo_type="dataset")
    assert commits[0].commit_id == sha and len(commits) == 2  # the repo's first commit, then the build
    assert sorted(api.list_repo_files("alice/faq-rerank", repo_type="dataset", revision=sha)) == [
        ".gitattributes",
        "README.md",
        "data/eval-00000-of-00001.parquet",
        "data/test-00000-of-00001.parquet",
        "data/train-00000-of-00001.parquet",
        "hubrerank_dataset.json",
    ]
    assert [t.name for t in api.list_repo_refs("alice/faq-rerank", repo_type="dataset").tags] == ["v1"]

    card = DatasetCard.load("alice/faq-rerank")
    header = card.data.to_dict()
    assert header["task_categories"] == ["text-ranking"] and header["tags"] == ["hubrerank", "reranking"]
    assert header["configs"][0]["data_files"][0] == {
        "split": "train",
        "path": "data/train-00000-of-00001.parquet",
    }
    assert f"{tiny_bi_encoder.repo_id}@{tiny_bi_encoder.sha}" in card.text
    assert f"--mine-model {tiny_bi_encoder.repo_id}@{tiny_bi_encoder.sha}" in card.text
    assert (
        "--push alice/faq-rerank" in card.text
        and "faq.csv" in card.text
        and str(qa_csv.parent) not in card.text
    )

    train = load_dataset("alice/faq-rerank", split="train", revision=sha)
    assert train.column_names == ["query", "passage", "label", "score"] and len(train) == 7 * 3
    test = load_dataset("alice/faq-rerank", "reranking", split="test", revision=sha)
    assert test.column_names == ["query_id", "query", "positive", "negative", "documents", "scores"]
    assert len(test) == 3  # the teacher also scores the first-stage documents, for distillation metrics
    assert all(len(r["scores"]) == len(r["documents"]) for r in test)
    meta = json.loads(
        Path(
            api.hf_hub_download(
                "alice/faq-rerank", "hubrerank_dataset.json", repo_type="dataset", revision=sha
            )
        ).read_text()
    )
    assert meta["mining_model"] == {
        "repo": tiny_bi_encoder.repo_id,
        "revision": tiny_bi_encoder.sha,
        "requested": "main",
    }
    assert meta["teacher"]["revision"] == tiny_cross_encoder.sha

    second = push(str(qa_csv), "alice/faq-rerank", "--test-size", "3", "--eval-size", "0")
    after = api.list_repo_commits("alice/faq-rerank", repo_type="dataset")
    assert len(after) == 3 and after[0].commit_id == second
    assert "data/eval-00000-of-00001.parquet" not in api.list_repo_files(
        "alice/faq-rerank", repo_type="dataset"
    )


def test_a_hub_source_is_pinned_and_its_license_carried(hub: LocalHub, hub_source: str) -> None:
    from huggingface_hub import DatasetCard

    sha = push("alice/faq-source", "alice/faq-from-hub", "--test-size", "2", "--eval-size", "0", "--private")
    from huggingface_hub import HfApi

    assert HfApi().repo_info("alice/faq-from-hub", repo_type="dataset").private is True
    card = DatasetCard.load("alice/faq-from-hub")
    assert card.data.license == "cc-by-4.0" and card.data.source_datasets == ["alice/faq-source"]
    assert f"hubrerank data build alice/faq-source@{hub_source}" in card.text
    validated = run_cli("data", "validate", f"alice/faq-from-hub@{sha}")
    assert validated.exit_code == 0 and "0 errors" in validated.output
    inspected = run_cli("data", "inspect", f"alice/faq-from-hub@{sha}")
    assert f"alice/faq-from-hub@{sha}" in inspected.output and "[train] form=labeled-pair" in inspected.output


@pytest.mark.parametrize(
    ("content", "args", "fragment"),
    [
        (b"question,reply\na,b\n", (), "no answer/passage column"),
        (b"query,question,answer\na,b,c\n", (), "ambiguous query column"),
        (b"", (), "is empty"),
        ("query,answer\ncaf\u00e9,x\n".encode("latin-1"), (), "invalid UTF-8"),
        (b"query,passage,label\na,b,7\n", (), "row 1 has 7.0"),
        (
            b"query,answer\na,b\nc,d\n",
            ("--negatives", "1", "--mine-model", "alice/no-such-model"),
            "not found",
        ),
    ],
)
def test_bad_input_pushes_nothing(
    hub: LocalHub, tmp_path: Path, content: bytes, args: tuple, fragment: str
) -> None:
    from huggingface_hub import HfApi

    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    result = run_cli("data", "build", str(source), "--push", "alice/never-pushed", *args)
    assert result.exit_code == 2 and fragment in result.output
    assert not HfApi().repo_exists("alice/never-pushed", repo_type="dataset")


def test_a_query_in_two_hub_splits_pushes_nothing(hub: LocalHub) -> None:
    from huggingface_hub import HfApi

    files = {}
    for split, rows in (("train", qa_rows()[:4]), ("test", qa_rows()[3:6])):
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer)
        files[f"data/{split}-00000-of-00001.parquet"] = buffer.getvalue()
    publish("alice/leaky-source", files, repo_type="dataset", message="Add leaky splits")
    result = run_cli("data", "build", "alice/leaky-source", "--push", "alice/leaky-built")
    assert result.exit_code == 2 and "is in both the train and the test split" in result.output
    assert not HfApi().repo_exists("alice/leaky-built", repo_type="dataset")


def test_a_hub_source_config_and_split_are_chosen(hub: LocalHub) -> None:
    files = {}
    for name, rows in (("faq", qa_rows()), ("other", qa_rows()[:6])):
        for split, part in (("train", rows[:-2]), ("validation", rows[-2:])):
            buffer = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(part), buffer)
            files[f"{name}/{split}-00000-of-00001.parquet"] = buffer.getvalue()
    card = (
        "---\nconfigs:\n"
        "- config_name: faq\n  data_files:\n  - split: train\n    path: faq/train-*\n"
        "  - split: validation\n    path: faq/validation-*\n"
        "- config_name: other\n  data_files:\n  - split: train\n    path: other/train-*\n"
        "  - split: validation\n    path: other/validation-*\n---\n"
    )
    files["README.md"] = card.encode()
    publish("alice/two-configs", files, repo_type="dataset", message="Add two configs")
    sha = push(
        "alice/two-configs",
        "alice/from-config",
        "--config",
        "other",
        "--split",
        "train",
        "--test-size",
        "1",
        "--eval-size",
        "0",
    )
    meta = json.loads(run_cli("data", "inspect", f"alice/from-config@{sha}", "--json").output)
    assert meta["train"]["queries"] + meta["test"]["queries"] == 4
    result = run_cli("data", "build", "alice/two-configs", "--config", "nope", "--push", "alice/never")
    assert result.exit_code == 2 and "nope" in result.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("justname", "write the repo id as ORG/NAME"),
        ("../../x", "is not a repo reference"),
        ("bob/not-yours", "the token of alice may not write to 'bob'"),
    ],
)
def test_a_push_target_that_cannot_be_written_is_refused_before_the_build(hub, tmp_path, target, message):
    from huggingface_hub import HfApi

    source = tmp_path / "faq.csv"
    source.write_text("query,answer\na,b\nc,d\ne,f\n")

    result = run_cli("data", "build", str(source), "--push", target)

    assert result.exit_code == 2
    assert message in result.output.strip().splitlines()[-1]
    assert "read " not in result.output  # nothing was built
    assert not HfApi().repo_exists("root/justname", repo_type="dataset")
