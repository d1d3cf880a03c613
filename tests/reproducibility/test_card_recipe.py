"""`hubrerank recipe from-card` on a card written by sentence-transformers' own trainer; reproducing it."""

from __future__ import annotations

import json
import os
from importlib.metadata import version

import pytest
import yaml
from helpers import run_cli
from huggingface_hub import HfApi
from reproduce_fixtures import DATASET

ST_REPO = "alice/st-reranker"


@pytest.fixture(scope="module")
def st_model(hub, tiny_cross_encoder, faq_data, tmp_path_factory) -> str:
    """A cross-encoder trained by a plain sentence-transformers script on data loaded from the Hub by
    revision, evaluated by an evaluator named ``<dataset name>-<split>``, pushed with ``push_to_hub``."""
    import torch
    from datasets import load_dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from hubrerank.hub import resolve

    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    samples = [{"query": r["query"], "positive": r["positive"], "documents": r["documents"]} for r in test]
    # the plain script trains on as many threads as hubrerank's commands do in the tests
    # ($HUBRERANK_THREADS=1): matrix kernels split over another thread count round otherwise
    torch.set_num_threads(int(os.environ["HUBRERANK_THREADS"]))
    model = CrossEncoder(tiny_cross_encoder.repo_id, revision=tiny_cross_encoder.sha, max_length=32)
    args = CrossEncoderTrainingArguments(
        output_dir=str(tmp_path_factory.mktemp("st") / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        seed=12,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    evaluator = CrossEncoderRerankingEvaluator(samples, at_k=10, name="repro-faq-test", write_csv=False)
    trainer = CrossEncoderTrainer(
        model=model,
        args=args,
        train_dataset=train,
        loss=BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(3.0)),
        evaluator=evaluator,
    )
    trainer.train()
    evaluator(model)  # the final evaluation goes into the card's model-index
    model.push_to_hub(ST_REPO)
    return resolve(ST_REPO).sha


def test_from_card_rebuilds_the_recipe(st_model, tiny_cross_encoder, faq_data, tmp_path):
    path = tmp_path / "recipe.yaml"

    result = run_cli("recipe", "from-card", f"{ST_REPO}@{st_model}", "-o", str(path))

    assert result.exit_code == 0, result.output
    recipe = yaml.safe_load(path.read_text())
    assert recipe["base_model"] == {"repo": tiny_cross_encoder.repo_id, "revision": tiny_cross_encoder.sha}
    assert recipe["seed"] == 12
    assert recipe["model"] == {"max_length": 32, "num_labels": 1}
    # datasets 5 records no download checksums, so the card names the data without id or revision:
    # the id is guessed in the model's namespace (and checked against the card's size and columns)
    assert recipe["train"] == [{"dataset": DATASET, "revision": "main", "config": "pairs", "split": "train"}]
    assert "guesses alice/repro-faq" in recipe["unknown"]["guessed train[0]"]
    assert recipe["loss"] == {"name": "BinaryCrossEntropyLoss", "params": {"pos_weight": 3.0}}
    assert recipe["args"] == {"max_steps": 6, "per_device_train_batch_size": 4, "learning_rate": 0.001}
    assert recipe["evaluation"] == {
        "reranking": [
            {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
        ]
    }
    assert "mining" in recipe["unknown"]["data_preparation"]
    assert "# Reconstructed by `hubrerank recipe from-card`" in path.read_text()


@pytest.mark.slow  # retrains the model: 3 s
def test_reproduce_from_a_sentence_transformers_card_is_within_tolerance(st_model, tmp_path):
    report_path = tmp_path / "report.json"

    commits = len(HfApi().list_repo_commits(ST_REPO))

    result = run_cli(
        "reproduce", f"{ST_REPO}@{st_model}", "--out", str(tmp_path / "out"), "--json", str(report_path),
        "--push-report",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "caveat (data_preparation)" in result.output
    assert "warning: train[0] names alice/repro-faq@main, not a commit" in result.output
    report = json.loads(report_path.read_text())
    # the base model already has its head, so seeding before or after building it changes nothing: the
    # plain sentence-transformers run comes out byte for byte (seed 004's new head does not)
    assert report["weights"]["identical"] and report["weights"]["why"] is None
    assert report["verdict"] == "PASS"
    assert {row["metric"] for row in report["rows"]} == {
        f"{DATASET}:test/{metric}" for metric in ("map", "mrr@10", "ndcg@10")
    }
    assert all(row["source"] == "README.md model-index" for row in report["rows"])
    # the release that trained the card's model (the installed one) is what the card records
    assert report["claimed_environment"]["sentence_transformers"] == version("sentence-transformers")
    # a card hubrerank did not render is left as it is: the commit adds the report and the reproducer's
    # re-measured .eval_results entries only
    [commit, *_] = HfApi().list_repo_commits(ST_REPO)
    assert len(HfApi().list_repo_commits(ST_REPO)) == commits + 1
    added = set(HfApi().list_repo_files(ST_REPO, revision=commit.commit_id)) - set(
        HfApi().list_repo_files(ST_REPO, revision=st_model)
    )
    [report_file] = [name for name in added if name.startswith("reproductions/")]
    assert added == {report_file, ".eval_results/hubrerank-alice.yaml"}
    [before] = HfApi().get_paths_info(ST_REPO, ["README.md"], revision=st_model)
    [after] = HfApi().get_paths_info(ST_REPO, ["README.md"], revision=commit.commit_id)
    assert before.blob_id == after.blob_id


def test_from_card_refuses_a_card_the_trainer_did_not_write(tiny_cross_encoder):
    result = run_cli("recipe", "from-card", tiny_cross_encoder.ref)

    assert result.exit_code == 2
    assert "was not written by sentence-transformers' trainer" in result.output


CARD_WITH_IDS = """---
tags: [sentence-transformers, cross-encoder, reranker, generated_from_trainer]
base_model: acme/base
---
- **Base model:** [acme/base](https://huggingface.co/acme/base) <!-- at revision BASESHA -->
- **Maximum Sequence Length:** 256 tokens
- **Number of Output Labels:** 1 label

## Training Details

### Training Dataset

#### gooaq

* Dataset: [gooaq](https://huggingface.co/datasets/acme/gooaq) at [DATASHA7](https://huggingface.co/datasets/acme/gooaq/tree/DATASHA)
* Size: 578,402 training samples
* Columns: <code>question</code>, <code>answer</code>, and <code>label</code>
* Loss: [<code>BinaryCrossEntropyLoss</code>](https://sbert.net/x) with these parameters:
  ```json
  {
      "activation_fn": "torch.nn.modules.linear.Identity",
      "pos_weight": 5
  }
  ```

### Training Hyperparameters
#### Non-Default Hyperparameters

- `per_device_train_batch_size`: 16
- `learning_rate`: 2e-05
- `warmup_ratio`: 0.1
- `seed`: 12
- `bf16`: True
- `load_best_model_at_end`: True
"""


def test_parse_card_reads_dataset_ids_revisions_sizes_loss_and_arguments():
    from hubrerank.reproducibility.st_card import parse_card

    text = (
        CARD_WITH_IDS.replace("BASESHA", "b" * 40).replace("DATASHA7", "d" * 7).replace("DATASHA", "d" * 40)
    )

    card = parse_card(text)

    assert (card.base_model, card.base_model_revision) == ("acme/base", "b" * 40)
    assert (card.max_length, card.num_labels) == (256, 1)
    [dataset] = card.train_datasets
    assert (dataset.name, dataset.id, dataset.revision, dataset.size) == (
        "gooaq",
        "acme/gooaq",
        "d" * 40,
        578402,
    )
    assert dataset.columns == ("question", "answer", "label")
    assert (dataset.loss, dataset.loss_params["pos_weight"]) == ("BinaryCrossEntropyLoss", 5)
    assert card.non_default_args == {
        "per_device_train_batch_size": 16,
        "learning_rate": 2e-05,
        "warmup_ratio": 0.1,
        "seed": 12,
        "bf16": True,
        "load_best_model_at_end": True,
    }


def test_dataset_splits_come_from_metadata_without_loading_data(faq_data, monkeypatch):
    import datasets

    from hubrerank.hub import SplitInfo, dataset_splits, resolve

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("loaded data to count rows"))

    found = dataset_splits(resolve(f"{DATASET}@{faq_data}", "dataset"))

    assert SplitInfo("pairs", "train", ("query", "passage", "label"), 40) in found
    assert {(info.config, info.split) for info in found} == {("pairs", "train"), ("rerank", "test")}


def test_a_dataset_the_hub_cannot_serve_is_a_gap_and_the_recipe_is_still_written(hub, tmp_path):
    from hubrerank.hub import publish

    text = (
        CARD_WITH_IDS.replace("BASESHA", "b" * 40).replace("DATASHA7", "d" * 7).replace("DATASHA", "d" * 40)
    )
    ref = publish("alice/unreadable-data", {"README.md": text.encode()}, message="card")
    path = tmp_path / "recipe.yaml"

    result = run_cli("recipe", "from-card", f"{ref.repo_id}@{ref.sha}", "-o", str(path))

    assert result.exit_code == 0, result.output
    recipe = yaml.safe_load(path.read_text())
    assert recipe["train"] == [{"dataset": "acme/gooaq", "revision": "d" * 40}]
    assert "cannot be read on the Hub" in recipe["unknown"]["train[0]"]
    assert "to fill in: train[0]" in result.output
    assert recipe["args"]["bf16"] is True and recipe["args"]["warmup_ratio"] == 0.1
    assert "args (defaults)" in recipe["unknown"]  # this card lists its non-default arguments only


def test_verify_needs_no_training_data_but_reproduce_does(st_model, tmp_path):
    """A script that trains on data it built in memory leaves an "Unnamed Dataset" on its card: verify
    still re-runs the evaluations the card names; reproduce says what to fill in (exit 2)."""
    from hubrerank.hub import download, publish
    from hubrerank.refs import ResolvedRef

    folder = download(ResolvedRef(ST_REPO, st_model))
    card = (folder / "README.md").read_text()
    start = card.index("### Training Dataset")
    end = card.index("\n### ", start + 1)
    assert "#### repro-faq" in card[start:end]
    files = {path.relative_to(folder).as_posix(): path for path in folder.rglob("*") if path.is_file()}
    files["README.md"] = (
        card[:start] + card[start:end].replace("#### repro-faq", "#### Unnamed Dataset") + card[end:]
    ).encode()
    ref = f"{ST_REPO}-unnamed-data@{publish(f'{ST_REPO}-unnamed-data', files, message='copy').sha}"
    report_path = tmp_path / "verify.json"

    verified = run_cli("verify", ref, "--json", str(report_path))
    reproduced = run_cli("reproduce", ref, "--out", str(tmp_path / "out"))

    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    assert {row["metric"] for row in report["rows"]} == {
        f"{DATASET}:test/{metric}" for metric in ("map", "mrr@10", "ndcg@10")
    }
    assert reproduced.exit_code == 2, reproduced.output
    assert "does not say train[0]" in reproduced.output and "hubrerank recipe from-card" in reproduced.output
    assert not (tmp_path / "out").exists()
