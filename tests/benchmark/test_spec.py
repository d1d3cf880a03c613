"""hubrerank.benchmark.spec: --task, the tasks of a dataset's layout, eval.yaml as the server reads it."""

from __future__ import annotations

import pytest

from hubrerank.benchmark.spec import (
    Benchmark,
    TaskRequest,
    benchmark_tasks,
    parse,
    render,
    task_id,
)
from hubrerank.errors import InputError
from hubrerank.server.eval_files import parse_benchmark

RERANKING = {"default": ["train", "validation", "test"]}
RETRIEVAL = {"corpus": ["corpus"], "queries": ["validation", "test"], "qrels": ["validation", "test"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test", TaskRequest(None, "test", "ndcg@10")),
        ("test:realistic_mrr@10", TaskRequest(None, "test", "realistic_mrr@10")),
        ("default/test:map", TaskRequest("default", "test", "map")),
    ],
)
def test_task_requests(text: str, expected: TaskRequest) -> None:
    assert TaskRequest.parse(text) == expected


@pytest.mark.parametrize("text", ["", ":ndcg@10", "a/b/test", "default/"])
def test_malformed_task_requests(text: str) -> None:
    with pytest.raises(InputError, match=r"write \[CONFIG/\]SPLIT\[:METRIC\]"):
        TaskRequest.parse(text)


def test_reranking_tasks_name_split_metric_and_definition() -> None:
    requests = [
        TaskRequest.parse("test"),
        TaskRequest.parse("test:realistic_ndcg@10"),
        TaskRequest.parse("test:map"),
    ]
    tasks = benchmark_tasks(RERANKING, requests, "reranking", "all-positives")
    assert [t.id for t in tasks] == [
        "default/test/ndcg@10/all-positives",
        "default/test/realistic_ndcg@10/all-positives",
        "default/test/map/all-positives",
    ]
    assert [t.at_k for t in tasks] == [10, 10, None]
    assert {t.metric_definition for t in tasks} == {"all-positives"}


def test_retrieval_tasks_have_no_definition_and_match_the_cards_ids() -> None:
    (task,) = benchmark_tasks(RETRIEVAL, [TaskRequest.parse("test:recall@100")], "retrieval", "all-positives")
    assert task.config == "queries" and task.metric_definition is None and task.at_k == 100
    assert (
        task.id
        == "queries/test/retrieval/recall@100"
        == task_id("retrieval", "queries", "test", "recall@100", None)
    )


@pytest.mark.parametrize(
    ("layout", "text", "kind", "message"),
    [
        (RERANKING, "dev", "reranking", "--task dev: no config has it; write --task CONFIG/dev"),
        (RERANKING, "other/test", "reranking", "--task other/test: the dataset has no such split"),
        (RERANKING, "test:recall@100", "reranking", "'recall@100' is not a reranking metric"),
        (RERANKING, "test:ndcg", "retrieval", "'ndcg' is not a retrieval metric"),
        (RETRIEVAL, "test", "reranking", "retrieval form (corpus, queries, qrels): --kind retrieval"),
    ],
)
def test_tasks_that_do_not_fit_the_dataset(layout, text: str, kind: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        benchmark_tasks(layout, [TaskRequest.parse(text)], kind, "all-positives")
    assert message in str(caught.value)


def test_the_same_task_twice_is_refused() -> None:
    with pytest.raises(InputError, match="the same task"):
        benchmark_tasks(
            RERANKING, [TaskRequest.parse("test"), TaskRequest.parse("default/test")], "reranking", None
        )


def test_rendered_eval_yaml_is_a_valid_hub_benchmark_and_reads_back() -> None:
    requests = [TaskRequest.parse("test"), TaskRequest.parse("test:map")]
    tasks = benchmark_tasks(RERANKING, requests, "reranking", "listed-positives")
    benchmark = Benchmark("acme/faq", "FAQ", "two tasks\n", tasks, "a" * 40)
    text = render(benchmark)
    served = parse_benchmark(text)  # what the embedded Hub checks on push
    assert [t.id for t in served.tasks] == [t.id for t in tasks]
    assert served.tasks[0].metric == "ndcg@10" and served.tasks[0].metric_definition == "listed-positives"
    assert served.evaluation_framework == "hubrerank"
    assert parse("acme/faq", text) == benchmark


def test_another_frameworks_eval_yaml_reads() -> None:
    text = (
        b"name: HLE\nevaluation_framework: inspect-ai\ntasks:\n  - {id: hle, config: default, split: test}\n"
    )
    benchmark = parse("cais/hle", text)
    assert benchmark.task_ids == frozenset({"hle"}) and benchmark.evaluation_framework == "inspect-ai"
    with pytest.raises(InputError, match="has no 'tasks' list"):
        parse("cais/hle", b"name: x\n")
