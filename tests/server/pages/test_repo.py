"""A model's and a dataset's page: card, metadata panel, results with badges, reports, revisions."""

from __future__ import annotations

import json

import pytest
import yaml
from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

from hubrerank.server.pages.render import MAX_MARKDOWN_CHARS

TASK = "default/test/ndcg@10/all-positives"
EVAL_YAML = f"""name: Pages bench
description: a small benchmark
evaluation_framework: hubrerank
tasks:
  - id: {TASK}
    config: default
    split: test
    metric: ndcg@10
    metric_definition: all-positives
    at_k: 10
""".encode()
CARD = """---
license: apache-2.0
language: [en, sv]
base_model: {base}
datasets: [{dataset}, someone/not-here]
tags: [reranker, <b>bold</b>]
model-index:
- name: m
  results:
  - task: {{type: text-ranking}}
    dataset: {{name: faq, type: faq, split: test}}
    metrics: [{{type: ndcg_at_10, value: 0.8123, name: NDCG@10}}]
---
# The model

| metric | value |
|---|---:|
| NDCG@10 | 0.8123 |

```python
print("hi")
```

![plot](plot.png) [recipe](recipe.yaml)
"""
REPORT = {
    "kind": "verify",
    "timestamp": "2026-12-07T10:00:00.000000Z",
    "hubrerank_version": "0.9.0",
    "verdict": "PASS",
    "tolerance": 0.001,
    "rows": [
        {
            "metric": "ndcg@10",
            "claimed": 0.8123,
            "measured": 0.8125,
            "delta": 0.0002,
            "tolerance": 0.001,
            "ok": True,
        }
    ],
    "library_versions": [],
    "weights": None,
    "likely_causes": [],
}


def _results(dataset: str, value: float) -> bytes:
    entry = EvalResultEntry(dataset_id=dataset, task_id=TASK, value=value)
    return yaml.safe_dump(eval_result_entries_to_yaml([entry])).encode()


@pytest.fixture
def model(api, name) -> dict[str, str]:
    """alice's benchmark dataset, base model and model (card, results, a report, a plot), and a tag."""
    ids = {"dataset": f"alice/{name}-bench", "base": f"alice/{name}-base", "model": f"alice/{name}"}
    api.create_repo(ids["dataset"], repo_type="dataset")
    api.upload_file(
        path_or_fileobj=EVAL_YAML, path_in_repo="eval.yaml", repo_id=ids["dataset"], repo_type="dataset"
    )
    api.create_repo(ids["base"])
    api.create_repo(ids["model"])
    files = {
        "README.md": CARD.format(base=ids["base"], dataset=ids["dataset"]).encode(),
        ".eval_results/hubrerank.yaml": _results(ids["dataset"], 0.8123),
        "reproductions/20261207T100000.000000Z.json": json.dumps(REPORT).encode(),
        "plot.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 16,
    }
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=ids["model"])
    api.create_tag(ids["model"], tag="v1")
    return ids


def test_the_model_page_shows_card_panel_results_and_report(web, model):
    page = web.get(f"/{model['model']}")
    assert page.status == 200
    text = page.text
    assert "<h1>The model</h1>" in text and "<table>" in text and '<pre><code>print("hi")' in text
    assert f'src="/{model["model"]}/resolve/main/plot.png"' in text
    assert f'href="/{model["model"]}/blob/main/recipe.yaml"' in text
    assert "apache-2.0" in text and ">en<" in text and ">sv<" in text
    assert f'<a class="tag" href="/{model["base"]}">' in text  # a repo on this Hub: linked
    assert f'<a class="tag" href="/datasets/{model["dataset"]}">' in text
    assert '<span class="tag">someone/not-here</span>' in text  # not on this Hub: plain text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text  # metadata is text, never markup
    assert f'href="/datasets/{model["dataset"]}/leaderboard"' in text
    assert "0.8123" in text and 'badge-self-reported">self-reported' in text
    assert "NDCG@10" in text  # the model-index row
    assert 'verdict-pass">PASS' in text and "+0.0002" in text


def test_branches_and_tags_switch_the_revision(web, api, model):
    api.create_branch(model["model"], branch="draft")
    api.upload_file(
        path_or_fileobj=b"# Draft card\n", path_in_repo="README.md", repo_id=model["model"], revision="draft"
    )
    main = web.get(f"/{model['model']}")
    assert f'href="/{model["model"]}?revision=draft"' in main.text
    assert f'href="/{model["model"]}?revision=v1"' in main.text
    draft = web.get(f"/{model['model']}?revision=draft")
    assert "Draft card" in draft.text and "The model" not in draft.text
    assert "The model" in web.get(f"/{model['model']}?revision=v1").text
    assert web.get(f"/{model['model']}?revision=nope").status == 404


def test_the_dataset_page_shows_the_benchmark_and_its_tabs(web, model):
    page = web.get(f"/datasets/{model['dataset']}")
    assert page.status == 200
    assert "Benchmark: Pages bench" in page.text and TASK in page.text
    assert 'class="kind kind-benchmark"' in page.text


def test_a_private_benchmark_is_not_linked_from_a_public_model(web, api, model, hub):
    api.update_repo_settings(model["dataset"], repo_type="dataset", private=True)
    page = web.get(f"/{model['model']}")
    assert f"/datasets/{model['dataset']}/leaderboard" not in page.text
    assert f'href="/datasets/{model["dataset"]}"' not in page.text
    owner = web.get(f"/{model['model']}", token=hub.alice_token)
    assert f'href="/datasets/{model["dataset"]}/leaderboard"' in owner.text


@pytest.mark.parametrize(
    "report",
    [
        b"not json",
        b"[1, 2]",
        b'{"kind": "verify", "rows": "x", "tolerance": "big"}',
        b'{"kind": 3}',
        b"[" * 5000,
    ],
)
def test_a_report_file_of_any_shape_never_breaks_the_page(web, api, name, report):
    repo = f"alice/{name}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=report, path_in_repo="reproductions/x.json", repo_id=repo)
    assert web.get(f"/{repo}").status == 200


@pytest.mark.parametrize(
    "card",
    [
        "---\nmodel-index: [1, {results: 3}, {results: [{dataset: 1, metrics: [1]}]}]\ntags: {a: 1}\n---\nx",
        "---\n: : :\n---\nbody",
        "---\nlicense: [" + "[" * 100 + "\n---\nbody",
        "no header at all",
    ],
)
def test_a_card_of_any_shape_never_breaks_the_page(web, api, name, card, hub):
    repo = f"alice/{name}"
    api.create_repo(repo)
    web.commit(hub.alice_token, repo, {"README.md": card.encode()})
    assert web.get(f"/{repo}").status == 200


def test_a_5_mb_card_renders_its_first_part_and_says_so(web, api, name, hub):
    repo = f"alice/{name}"
    api.create_repo(repo)
    paragraph = "Some **bold** text, a [link](x.md), `code` and <b>html</b>.\n\n"
    web.commit(
        hub.alice_token, repo, {"README.md": (paragraph * (5 * 1024 * 1024 // len(paragraph))).encode()}
    )
    page = web.get(f"/{repo}")
    assert page.status == 200 and "This card is long: the first part is shown" in page.text
    assert f'href="/{repo}/resolve/main/README.md"' in page.text
    assert len(page.text) < 5 * MAX_MARKDOWN_CHARS  # a page, not the 5 MB
