"""`torchrun --nproc_per_node=2 -m hubrerank train`: DDP over gloo on CPU, one writer, world size recorded."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from test_train_bi_encoder import bi_recipe
from training_helpers import make_recipe, training_repos


def torchrun(recipe, out):
    """``torchrun --standalone --nproc_per_node=2 -m hubrerank train RECIPE --out OUT``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "hubrerank",
            "train",
            str(recipe),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # two training processes: 9 s
def test_two_cpu_processes_train_one_model(hub, tiny_cross_encoder, tmp_path):
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos(), args={"max_steps": 4})
    out = tmp_path / "out"

    process = torchrun(recipe, out)

    assert process.returncode == 0, process.stderr[-3000:]
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["environment"]["world_size"] == 2
    assert record["training"]["global_step"] == 4
    # both ranks trained on the shas rank 0 resolved, and only rank 0 reported them
    assert process.stdout.count(f"base_model: {tiny_cross_encoder.repo_id}@main -> ") == 1
    assert record["base_model"]["revision"] == tiny_cross_encoder.sha
    assert process.stdout.count("wrote ") == 1
    assert not (out / "checkpoints").exists()


@pytest.mark.slow  # two training processes
def test_two_cpu_processes_train_one_bi_encoder(hub, tiny_bi_encoder, tmp_path):
    # the tiny BERT's pooler takes no part in mean pooling: the bi-encoder kind lets DDP find it unused
    out = tmp_path / "out"
    args = {"max_steps": 4, "batch_sampler": "batch_sampler"}

    process = torchrun(bi_recipe(tmp_path, tiny_bi_encoder.repo_id, args=args), out)

    assert process.returncode == 0, process.stderr[-3000:]
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"]["kind"] == "bi-encoder"
    assert record["environment"]["world_size"] == 2
    assert record["training"]["global_step"] == 4
    assert process.stdout.count("wrote ") == 1


@pytest.mark.slow  # two training processes
def test_a_training_that_draws_no_batch_exits_2_instead_of_publishing_the_base_model(
    hub, tiny_bi_encoder, tmp_path
):
    # 12 tiny rows whose texts repeat: split over 2 processes, no batch of 4 without a repeated text
    out = tmp_path / "out"

    process = torchrun(bi_recipe(tmp_path, tiny_bi_encoder.repo_id, args={"max_steps": 4}), out)

    assert process.returncode != 0
    assert "training ran 0 steps" in process.stdout + process.stderr
    assert "batch_sampler: no_duplicates" in process.stdout + process.stderr
    assert not (out / "model.safetensors").exists() and not (out / "checkpoints").exists()
