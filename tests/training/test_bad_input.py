"""Inputs `hubrerank train` refuses with one line and exit code 2, before anything is trained or written."""

from __future__ import annotations

import io
import socket

import pytest
from helpers import run_cli
from training_helpers import make_recipe, push_folder, training_repos


def _refused(tmp_path, model: str, *options: str, form: str = "pairs") -> str:
    """Train with ``options``; assert exit 2, one error line and no output folder; return the line."""
    recipe = make_recipe(tmp_path, model, training_repos(), form=form)
    out = tmp_path / "out"
    result = run_cli("train", str(recipe), "--out", str(out), *options)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert not out.exists()
    return errors[0]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--set", "loss.name=BCELoss"], "loss.name 'BCELoss' is not a cross-encoder loss; did you mean"),
        (["--set", "loss.params.pos_wieght=2"], "loss.params.pos_wieght is not a parameter of Binary"),
        (
            ["--set", "args.learning_rte=0.1"],
            "args.learning_rte is not a training argument; did you mean learning_rate?",
        ),
        (
            ["--set", "args.output_dir=elsewhere"],
            "args.output_dir is set by hubrerank; hubrerank train --out",
        ),
        (["--set", "args.eval_strategy=step"], "args.eval_strategy: 'step' is not one of"),
        (
            ["--set", "model.trust_remote_code=true"],
            "model.trust_remote_code: a recipe cannot ask for remote",
        ),
        (
            ["--set", "loss={name: LambdaLoss, params: {weighting_scheme: os.system}}"],
            "loss.params.weighting_scheme: 'os.system' is not one of NoWeightingScheme",
        ),
        (["--set", "args"], "--set 'args': expected KEY=VALUE"),
        (["--push", "not a repo!"], "is not a repo reference"),
    ],
    ids=[
        "unknown-loss",
        "unknown-loss-param",
        "unknown-arg",
        "controlled-arg",
        "bad-arg-value",
        "remote-code",
        "code-as-param",
        "bad-set",
        "bad-push-repo",
    ],
)
def test_recipe_errors(hub, tiny_cross_encoder, tmp_path, options, expected):
    assert expected in _refused(tmp_path, tiny_cross_encoder.repo_id, *options)


@pytest.mark.parametrize(
    ("form", "loss", "expected"),
    [
        ("pairs", "MNRL", "trains on the n-tuple form (query, positive, negative_1..negative_n)"),
        ("pairs", "LambdaLoss", "`hubrerank data build ... --output-format labeled-list`"),
        ("tuples", "BCE", "labeled-pair form (query, passage + label|score)"),
        ("pairs", "MarginMSE", "n-tuple form (query, positive, negative_1..negative_n + scores)"),
        ("reranking", "ListNet", "labeled-list form"),
    ],
)
def test_columns_that_do_not_fit_the_loss(hub, tiny_cross_encoder, tmp_path, form, loss, expected):
    line = _refused(
        tmp_path,
        tiny_cross_encoder.repo_id,
        "--set",
        f"loss.name={loss}",
        "--set",
        "loss.params={}",
        form=form,
    )
    assert expected in line and "has columns" in line


def test_eval_split_must_be_in_reranking_form(hub, tiny_cross_encoder, tmp_path):
    pairs = training_repos()["pairs"]
    line = _refused(tmp_path, tiny_cross_encoder.repo_id, "--set", f"eval.dataset={pairs}")
    assert "not in reranking form" in line


def test_missing_revision_and_repo(hub, tiny_cross_encoder, tmp_path):
    assert "has no revision 'no-such-branch'" in _refused(
        tmp_path, tiny_cross_encoder.repo_id, "--set", "train.revision=no-such-branch"
    )
    assert "model repo alice/no-such-model not found" in _refused(tmp_path, "alice/no-such-model")


def test_missing_split(hub, tiny_cross_encoder, tmp_path):
    assert "validation" in _refused(tmp_path, tiny_cross_encoder.repo_id, "--set", "train.split=validation")


def test_graded_labels_are_refused_for_binary_cross_entropy(hub, tiny_cross_encoder, tmp_path):
    from datasets import Dataset

    rows = [{"query": f"q{n}", "passage": f"p{n}", "label": float(n % 4)} for n in range(8)]
    Dataset.from_list(rows).push_to_hub("alice/tiny-graded")

    line = _refused(tmp_path, tiny_cross_encoder.repo_id, "--set", "train.dataset=alice/tiny-graded")

    assert "BinaryCrossEntropyLoss needs targets in [0, 1], but column 'label' holds 2.0 (row 3)" in line
    assert "label_scale" in line


def test_an_unwritable_out_is_refused_before_training(hub, tiny_cross_encoder, tmp_path):
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())

    result = run_cli("train", str(recipe), "--out", "/proc/hubrerank-out")

    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("Error: --out /proc/hubrerank-out cannot be written")
    )
    assert "step " not in result.output


def test_model_without_safetensors_weights(hub, tmp_path):
    import torch

    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["BertForSequenceClassification"]}')
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2)}, buffer)
    (folder / "pytorch_model.bin").write_bytes(buffer.getvalue())
    push_folder("alice/pickled-model", folder)

    line = _refused(tmp_path, "alice/pickled-model")

    assert "has no model.safetensors (it has pytorch_model.bin)" in line


def test_unreachable_hub(hub, tiny_cross_encoder, tmp_path, monkeypatch):
    from huggingface_hub import constants

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())
    monkeypatch.setattr(constants, "ENDPOINT", dead)

    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"))

    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: cannot reach the Hub for model repo")
    assert not (tmp_path / "out").exists()
