"""`hubrerank benchmark create` and `hubrerank leaderboard` against the session's Hub, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import run_cli
from huggingface_hub import EvalResultEntry, HfApi, eval_result_entries_to_yaml

READMES = {
    "reranking": "configs:\n- config_name: default\n  data_files:\n"
    "  - {split: validation, path: data/validation.parquet}\n  - {split: test, path: data/test.parquet}\n",
    "retrieval": "configs:\n- config_name: corpus\n  data_files: [{split: corpus, path: corpus.parquet}]\n"
    "- config_name: queries\n  data_files: [{split: test, path: queries/test.parquet}]\n"
    "- config_name: qrels\n  data_files: [{split: test, path: qrels/test.parquet}]\n",
}


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.alice_token)


def make_dataset(api: HfApi, repo_id: str, form: str = "reranking") -> str:
    """A dataset repo whose card declares the configs and splits of a hubrerank dataset of ``form``."""
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    card = f"---\n{READMES[form]}---\n# {repo_id}\n"
    api.upload_file(
        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id, repo_type="dataset"
    )
    return api.repo_info(repo_id, repo_type="dataset").sha


def push_results(
    api: HfApi, model: str, dataset: str, values: dict[str, float], private: bool = False
) -> str:
    api.create_repo(model, private=private, exist_ok=True)
    entries = [EvalResultEntry(dataset_id=dataset, task_id=task, value=v) for task, v in values.items()]
    text = yaml.safe_dump(eval_result_entries_to_yaml(entries)).encode()
    api.upload_file(path_or_fileobj=text, path_in_repo=".eval_results/r.yaml", repo_id=model)
    return api.repo_info(model).sha


def test_create_pushes_eval_yaml_and_the_leaderboard_lists_results(api, hub) -> None:
    dataset = "alice/cli-bench-faq"
    sha = make_dataset(api, dataset)
    result = run_cli(
        "benchmark", "create", f"{dataset}@{sha}", "--task", "test", "--task", "test:realistic_mrr@10",
        "--definition", "all-positives",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    head = api.repo_info(dataset, repo_type="dataset").sha
    assert result.output == f"{dataset}@{head}\n"
    path = api.hf_hub_download(dataset, "eval.yaml", repo_type="dataset", revision=head)
    written = yaml.safe_load(Path(path).read_text())
    assert written["dataset_revision"] == sha and written["evaluation_framework"] == "hubrerank"
    assert [t["id"] for t in written["tasks"]] == [
        "default/test/ndcg@10/all-positives",
        "default/test/realistic_mrr@10/all-positives",
    ]
    assert written["tasks"][1]["at_k"] == 10 and written["tasks"][1]["metric_definition"] == "all-positives"

    first = push_results(
        api, "alice/cli-bench-model-a", dataset, {"default/test/ndcg@10/all-positives": 0.71}
    )
    push_results(
        api, "alice/cli-bench-model-b", dataset,
        {"default/test/ndcg@10/all-positives": 0.8, "default/test/realistic_mrr@10/all-positives": 0.5},
    )  # fmt: skip
    table = run_cli("leaderboard", dataset)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split() == ["task", "rank", "model@sha", "value", "badge", "metric", "(definition)",
                                "re-measured", "date"]  # fmt: skip
    assert "alice/cli-bench-model-b@" in lines[1] and "0.8000" in lines[1] and "self-reported" in lines[1]
    assert f"alice/cli-bench-model-a@{first[:12]}" in lines[2] and "ndcg@10 (all-positives)" in lines[2]
    assert "realistic_mrr@10 (all-positives)" in lines[3] and len(lines) == 4

    rows = json.loads(run_cli("leaderboard", dataset, "--json").output)
    assert [(r["model_id"], r["rank"], r["task_id"]) for r in rows] == [
        ("alice/cli-bench-model-b", 1, "default/test/ndcg@10/all-positives"),
        ("alice/cli-bench-model-a", 2, "default/test/ndcg@10/all-positives"),
        ("alice/cli-bench-model-b", 1, "default/test/realistic_mrr@10/all-positives"),
    ]
    assert rows[1]["sha"] == first and rows[1]["badge"] == "self-reported" and rows[1]["remeasured"] is False
    assert rows[1]["metric_definition"] == "all-positives" and rows[1]["at_k"] == 10

    markdown = run_cli("leaderboard", dataset, "--markdown").output.splitlines()
    assert markdown[0].startswith("| task | rank | model@sha |") and markdown[1].startswith("|---|")
    assert len(markdown) == 5


def test_create_dry_run_prints_eval_yaml_for_the_retrieval_form(api) -> None:
    dataset = "alice/cli-bench-retrieval"
    make_dataset(api, dataset, "retrieval")
    before = api.repo_info(dataset, repo_type="dataset").sha
    result = run_cli("benchmark", "create", dataset, "--task", "test:recall@100", "--dry-run")
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(result.output)
    assert spec["tasks"][0]["id"] == "queries/test/retrieval/recall@100"
    assert spec["tasks"][0]["kind"] == "retrieval" and spec["tasks"][0]["metric_definition"] is None
    assert api.repo_info(dataset, repo_type="dataset").sha == before  # nothing pushed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task", "nosuch"), "--task nosuch: no config has it"),
        (("--task", "test:bleu"), "'bleu' is not a reranking metric"),
        (("--definition", "mine"), "--definition 'mine': use one of listed-positives, all-positives"),
    ],
)
def test_create_bad_input_is_one_line_and_pushes_nothing(api, args, message) -> None:
    dataset = "alice/cli-bench-bad"
    make_dataset(api, dataset)
    before = api.repo_info(dataset, repo_type="dataset").sha
    result = run_cli("benchmark", "create", dataset, *args)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and message in result.output
    assert api.repo_info(dataset, repo_type="dataset").sha == before


def test_leaderboard_of_a_dataset_that_is_not_a_benchmark(api) -> None:
    dataset = "alice/cli-bench-plain"
    make_dataset(api, dataset)
    result = run_cli("leaderboard", dataset)
    assert result.exit_code == 2
    assert "is not a benchmark (its main branch has no eval.yaml)" in result.output
    assert result.output.count("\n") == 1
    missing = run_cli("leaderboard", "alice/cli-bench-nowhere")
    assert missing.exit_code == 2 and "not found" in missing.output


def test_leaderboard_of_a_benchmark_without_results(api) -> None:
    dataset = "alice/cli-bench-empty"
    make_dataset(api, dataset)
    assert run_cli("benchmark", "create", dataset).exit_code == 0
    result = run_cli("leaderboard", dataset)
    assert result.exit_code == 0 and result.output.startswith(f"no results on {dataset} yet")
    assert json.loads(run_cli("leaderboard", dataset, "--json").output) == []


def test_a_reranker_behind_two_first_stages_has_a_row_for_each(api) -> None:
    dataset = "alice/cli-bench-pipelines"
    make_dataset(api, dataset, "retrieval")
    assert run_cli("benchmark", "create", dataset, "--task", "test").exit_code == 0
    model, task = "alice/cli-bench-reranker", "queries/test/retrieval/ndcg@10"
    api.create_repo(model)
    first_stage = "alice/retriever@" + "b" * 40
    entries = [
        EvalResultEntry(dataset_id=dataset, task_id=task, value=value, notes=f"NDCG@10; pipeline: {stage}")
        for value, stage in ((0.8, f"{first_stage}, top 20 reranked"), (0.7, "BM25, top 20 reranked"))
    ]
    text = yaml.safe_dump(eval_result_entries_to_yaml(entries)).encode()
    api.upload_file(path_or_fileobj=text, path_in_repo=".eval_results/p.yaml", repo_id=model)

    lines = run_cli("leaderboard", dataset).output.splitlines()

    assert len(lines) == 3
    assert f"{model}@" in lines[1] and f"after alice/retriever@{'b' * 12}, top 20 reranked" in lines[1]
    assert "0.8000" in lines[1] and "after BM25, top 20 reranked" in lines[2] and "0.7000" in lines[2]
    rows = json.loads(run_cli("leaderboard", dataset, "--json").output)
    assert [row["pipeline"] for row in rows] == [f"{first_stage}, top 20 reranked", "BM25, top 20 reranked"]
