"""Models that cannot be scored are refused before any scoring, in one line naming the repo."""

from __future__ import annotations

import json

from helpers import run_cli

from hubrerank.hub import publish


def test_a_repo_with_a_config_but_no_weights_is_one_line(hub, reranking_file) -> None:
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert"}
    ref = publish("alice/no-weights", {"config.json": json.dumps(config).encode()}, message="config only")

    for args in (
        ("eval", "alice/no-weights", "--data", str(reranking_file)),
        ("rerank", "alice/no-weights", "-q", "roof", "-d", "a roof"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines()[-1] == (
            f"Error: model alice/no-weights@{ref.sha} has no model.safetensors (it has no weights); "
            "hubrerank only loads safetensors weights: convert the checkpoint "
            "(transformers save_pretrained) and push it"
        )


def test_pickled_weights_are_refused(hub, reranking_file) -> None:
    publish("alice/pickled", {"config.json": b"{}", "pytorch_model.bin": b"not loaded"}, message="pickle")

    result = run_cli("eval", "alice/pickled", "--data", str(reranking_file))

    assert result.exit_code == 2
    assert "has no model.safetensors (it has pytorch_model.bin)" in result.output.strip().splitlines()[-1]
