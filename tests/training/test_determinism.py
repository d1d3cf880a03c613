"""Two runs of one recipe on CPU give byte-identical weights and identical metrics; the seed matters.

The base model has no classification head, so its head is initialised when hubrerank builds the
CrossEncoder: identical weights show the seed is applied before the model is built.
"""

from __future__ import annotations

import json

import pytest
import yaml
from factories import build_tiny_bert_base
from helpers import run_cli
from training_helpers import make_recipe, push_folder, training_repos, weights_sha256


@pytest.mark.slow  # three training runs: 3 s
def test_same_recipe_same_bytes_and_metrics_other_seed_other_weights(hub, tmp_path):
    push_folder("alice/tiny-bert-base", build_tiny_bert_base(tmp_path / "tiny-bert-base"))
    recipe = make_recipe(tmp_path, "alice/tiny-bert-base", training_repos(), name="headless")
    outs = [tmp_path / "first", tmp_path / "second", tmp_path / "seed-13"]

    results = [
        run_cli("train", str(recipe), "--out", str(outs[0])),
        run_cli("train", str(recipe), "--out", str(outs[1])),
        run_cli("train", str(recipe), "--out", str(outs[2]), "--set", "seed=13"),
    ]

    assert [result.exit_code for result in results] == [0, 0, 0], results[-1].output
    first, second, other_seed = (weights_sha256(out) for out in outs)
    assert first == second
    assert first != other_seed
    records = [yaml.safe_load((out / "hubrerank.yaml").read_text()) for out in outs]
    assert records[0]["metrics"] == records[1]["metrics"]
    assert records[0]["training"]["best_metric"] == records[1]["training"]["best_metric"]
    logs = [(out / "training_log.jsonl").read_text().splitlines() for out in outs[:2]]
    assert [_without_timings(line) for line in logs[0]] == [_without_timings(line) for line in logs[1]]
    assert json.loads((outs[0] / "eval_results.json").read_text()) == json.loads(
        (outs[1] / "eval_results.json").read_text()
    )
    assert records[2]["seed"] == 13


def _without_timings(line: str) -> dict:
    return {
        key: value for key, value in json.loads(line).items() if not key.endswith(("runtime", "per_second"))
    }
