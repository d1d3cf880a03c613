"""A card's .eval_results point at their dataset's benchmark when it has the task, else stay as they were."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from card_fixtures import EVAL_RESULTS, write_model_dir
from huggingface_hub import HfApi, parse_eval_result_entries

from hubrerank.cards.model_card import card_files
from hubrerank.cards.model_index import eval_result_entries

FAQ = "acme/construction-faq"
MODEL_SHA = "c" * 40


def _task_ids(results: dict, benchmarks: dict[str, frozenset[str]] | None) -> set[str]:
    files = eval_result_entries(results, benchmarks)
    return {entry.task_id for entries in files.values() for entry in entries if entry.dataset_id == FAQ}


def test_reranking_entries_name_the_benchmark_task_of_their_definition() -> None:
    before = _task_ids(EVAL_RESULTS, None)
    assert "default/test/ndcg@10" in before and "default/test/realistic_mrr@10" in before
    # the fixture's result records no definition: it was computed as listed-positives
    benchmark = {
        FAQ: frozenset({"default/test/ndcg@10/listed-positives", "default/test/map/listed-positives"})
    }
    after = _task_ids(EVAL_RESULTS, benchmark)
    assert after == (before - {"default/test/ndcg@10", "default/test/map"}) | benchmark[FAQ]


def test_a_benchmark_of_the_other_definition_is_not_pointed_at() -> None:
    other = {FAQ: frozenset({"default/test/ndcg@10/all-positives"})}
    assert _task_ids(EVAL_RESULTS, other) == _task_ids(EVAL_RESULTS, None)
    results = copy.deepcopy(EVAL_RESULTS)
    reranking = next(r for r in results["results"] if r.get("task") == "reranking")
    reranking["metric_definition"] = "all-positives"
    assert "default/test/ndcg@10/all-positives" in _task_ids(results, other)


@pytest.mark.usefixtures("hub")
def test_card_files_read_the_benchmark_from_the_hub(tmp_path: Path, hub) -> None:
    dataset = "alice/cards-benchmark-faq"
    results = json.loads(json.dumps(EVAL_RESULTS).replace(FAQ, dataset))
    model_dir = write_model_dir(tmp_path / "model", eval_results=results)
    unpointed = card_files(model_dir, "acme/faq-reranker", revision=MODEL_SHA)  # no such dataset: as before
    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    api.create_repo(dataset, repo_type="dataset")
    spec = {
        "name": "FAQ",
        "evaluation_framework": "hubrerank",
        "tasks": [
            {"id": "default/test/realistic_ndcg@10/listed-positives", "config": "default", "split": "test"}
        ],
    }
    api.upload_file(
        path_or_fileobj=yaml.safe_dump(spec).encode(),
        path_in_repo="eval.yaml",
        repo_id=dataset,
        repo_type="dataset",
    )
    pointed = card_files(model_dir, "acme/faq-reranker", revision=MODEL_SHA)
    name = ".eval_results/reranking-alice--cards-benchmark-faq-default-test.yaml"
    old = {e.task_id for e in parse_eval_result_entries(yaml.safe_load(unpointed[name]))}
    new = {e.task_id for e in parse_eval_result_entries(yaml.safe_load(pointed[name]))}
    assert new == (old - {"default/test/realistic_ndcg@10"}) | {
        "default/test/realistic_ndcg@10/listed-positives"
    }
    assert pointed["README.md"] == unpointed["README.md"]
