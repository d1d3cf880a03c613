"""A run killed (kill -9) after its first checkpoint and resumed ends with the uninterrupted run's weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli
from training_helpers import make_recipe, training_repos, weights_sha256

# `hubrerank ARGS` with every optimizer step slowed down, so that the test can kill it mid-run.
SLOW_CLI = """
import time, transformers
step = transformers.Trainer.training_step
def slow_step(self, *args, **kwargs):
    time.sleep(0.25)
    return step(self, *args, **kwargs)
transformers.Trainer.training_step = slow_step
from hubrerank.cli import main
main()
"""
RESUME_ARGS = {"max_steps": 12, "eval_steps": 3, "save_steps": 3}


def _wait_for_checkpoint(process: subprocess.Popen, checkpoints: Path, timeout: float = 300) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        complete = sorted(checkpoints.glob("checkpoint-*/trainer_state.json"))
        if complete:
            return complete[0].parent
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint appeared (exit code {process.poll()})")


@pytest.mark.slow  # three training runs, one killed: 8 s
def test_resume_after_kill_equals_uninterrupted_run(hub, tiny_cross_encoder, tmp_path):
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos(), args=RESUME_ARGS)
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, "train", str(recipe), "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},  # as in this process (conftest.py)
    )
    try:
        first = _wait_for_checkpoint(process, killed / "checkpoints")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "hubrerank.yaml").exists()  # it died mid-run
    assert first.name != "checkpoint-12"

    resumed = run_cli("train", str(recipe), "--out", str(killed), "--resume")
    uninterrupted = run_cli("train", str(recipe), "--out", str(reference))

    assert resumed.exit_code == 0, resumed.output
    assert "resuming from " in resumed.output
    assert uninterrupted.exit_code == 0, uninterrupted.output
    assert weights_sha256(killed) == weights_sha256(reference)
    assert json.loads((killed / "eval_results.json").read_text()) == json.loads(
        (reference / "eval_results.json").read_text()
    )


def test_resume_refuses_a_changed_recipe(hub, tiny_cross_encoder, tmp_path):
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())
    out = tmp_path / "out"
    assert run_cli("train", str(recipe), "--out", str(out)).exit_code == 0

    changed = run_cli("train", str(recipe), "--out", str(out), "--resume", "--set", "args.learning_rate=0.5")
    again = run_cli("train", str(recipe), "--out", str(out))

    assert changed.exit_code == 2
    assert "differs from the run in" in changed.output and "args.learning_rate" in changed.output
    assert again.exit_code == 2 and "is not empty" in again.output
