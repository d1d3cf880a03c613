"""A benchmark's leaderboard page: rows per task, privacy, badges, sorting by links, the SVG chart."""

from __future__ import annotations

import re

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, EvalResultEntry, eval_result_entries_to_yaml

TASKS = ("default/test/ndcg@10/all-positives", "default/eval/mrr@10")
EVAL_YAML = f"""name: Board bench
evaluation_framework: hubrerank
tasks:
  - {{id: {TASKS[0]}, config: default, split: test, metric: ndcg@10,
      metric_definition: all-positives, at_k: 10}}
  - {{id: {TASKS[1]}, config: default, split: eval, metric: mrr@10}}
""".encode()


def _results(dataset: str, values: dict[str, float]) -> bytes:
    entries = [
        EvalResultEntry(dataset_id=dataset, task_id=task, value=value) for task, value in values.items()
    ]
    return yaml.safe_dump(eval_result_entries_to_yaml(entries)).encode()


@pytest.fixture
def board(api, bob, name) -> dict[str, str]:
    """A benchmark; alice's public and private models, bob's model, and bob's pull request on alice's."""
    ids = {
        "dataset": f"alice/{name}",
        "alice": f"alice/{name}-a",
        "private": f"alice/{name}-secret",
        "bob": f"bob/{name}-b",
        "pr": f"alice/{name}-pr",
    }
    api.create_repo(ids["dataset"], repo_type="dataset")
    api.upload_file(
        path_or_fileobj=EVAL_YAML, path_in_repo="eval.yaml", repo_id=ids["dataset"], repo_type="dataset"
    )
    for key, client, values, private in [
        ("alice", api, {TASKS[0]: 0.8, TASKS[1]: 0.5}, False),
        ("private", api, {TASKS[0]: 0.9}, True),
        ("bob", bob, {TASKS[0]: 0.7}, False),
    ]:
        client.create_repo(ids[key], private=private)
        data = _results(ids["dataset"], values)
        client.upload_file(path_or_fileobj=data, path_in_repo=".eval_results/r.yaml", repo_id=ids[key])
    api.create_repo(ids["pr"])
    operation = CommitOperationAdd(".eval_results/bob.yaml", _results(ids["dataset"], {TASKS[0]: 0.75}))
    bob.create_commit(ids["pr"], operations=[operation], commit_message="Add results", create_pr=True)
    return ids


def _models(text: str, task: str) -> list[str]:
    section = text.split(f"<code>{task}</code>", 1)[1].split("</section>", 1)[0]
    return re.findall(r'<td><a href="/[^"]+">([^<]+)</a>', section)


def test_rows_per_task_ranked_with_badges_and_the_metric(web, board):
    page = web.get(f"/datasets/{board['dataset']}/leaderboard")
    assert page.status == 200
    assert _models(page.text, TASKS[0]) == [board["alice"], board["pr"], board["bob"]]
    assert _models(page.text, TASKS[1]) == [board["alice"]]
    assert "ranked by <strong>ndcg@10</strong> under the <code>all-positives</code> definition" in page.text
    assert (
        'badge-community">community</span> <a href="/' + board["pr"] + '/discussions/1">#1</a>' in page.text
    )
    assert 'badge-self-reported">self-reported' in page.text
    assert board["private"] not in page.text


def test_the_owner_sees_their_private_model_on_it(web, board, hub):
    page = web.get(f"/datasets/{board['dataset']}/leaderboard", cookie=web.login(hub.alice_token))
    assert _models(page.text, TASKS[0])[0] == board["private"]
    assert 'badge private">private' in page.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?sort=value&order=asc", ["bob", "pr", "alice"]),
        ("?sort=model&order=desc", ["bob", "pr", "alice"]),
        ("?sort=rank&order=desc", ["bob", "pr", "alice"]),
        ("?sort=nonsense&order=sideways", ["alice", "pr", "bob"]),
    ],
)
def test_sorting_is_links(web, board, query, expected):
    page = web.get(f"/datasets/{board['dataset']}/leaderboard{query}")
    assert _models(page.text, TASKS[0]) == [board[key] for key in expected]


def test_the_chart_is_inline_svg_of_bars(web, board):
    page = web.get(f"/datasets/{board['dataset']}/leaderboard")
    svg = page.text.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('<rect class="bar') == 4 + 3  # 3 bars + 1 bar, and a legend swatch per model
    assert ">0.8000</text>" in svg and "<script" not in svg and "on" + "load" not in svg


def test_a_dataset_without_eval_yaml_has_no_leaderboard(web, api, name):
    api.create_repo(f"alice/{name}", repo_type="dataset")
    page = web.get(f"/datasets/alice/{name}/leaderboard")
    assert page.status == 404 and "has no leaderboard" in page.text


def test_a_reranker_behind_two_first_stages_is_a_row_and_a_bar_for_each(web, api, name):
    dataset, model = f"alice/{name}", f"alice/{name}-reranker"
    api.create_repo(dataset, repo_type="dataset")
    api.upload_file(path_or_fileobj=EVAL_YAML, path_in_repo="eval.yaml", repo_id=dataset, repo_type="dataset")
    api.create_repo(model)
    entries = [
        EvalResultEntry(
            dataset_id=dataset, task_id=TASKS[0], value=value, notes=f"NDCG@10; pipeline: {stage}"
        )
        for value, stage in ((0.8, "alice/retriever@abc, top 20 reranked"), (0.6, "BM25, top 20 reranked"))
    ]
    text = yaml.safe_dump(eval_result_entries_to_yaml(entries)).encode()
    api.upload_file(path_or_fileobj=text, path_in_repo=".eval_results/p.yaml", repo_id=model)

    page = web.get(f"/datasets/{dataset}/leaderboard")

    assert _models(page.text, TASKS[0]) == [model, model]
    assert "after alice/retriever@abc, top 20 reranked</small>" in page.text
    assert "after BM25, top 20 reranked</small>" in page.text
    svg = page.text.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert svg.count('<rect class="bar') == 2 + 2
