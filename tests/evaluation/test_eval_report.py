"""Report tables (text, Markdown, JSON, PNG) and the evaluation plan's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubrerank.errors import RecipeError
from hubrerank.evaluation import check_plan
from hubrerank.evaluation.report import (
    headline,
    json_document,
    load_evaluations,
    plot,
    render_markdown,
    render_text,
    tables,
)


def _results(shift: float, repo: str | None) -> dict:
    metrics = {f"{p}{name}": 0.5 + shift for p in ("", "realistic_") for name in ("map", "mrr@10", "ndcg@10")}
    metrics |= {
        f"{p}{name}": 0.25 for p in ("base_", "realistic_base_") for name in ("map", "mrr@10", "ndcg@10")
    }
    metrics |= {f"realistic_{m}@{k}": 0.5 for m in ("hit_rate", "mrr") for k in range(1, 6)}
    reranking = {"task": "reranking", "dataset": "acme/faq", "revision": "0123456789" * 4,
                 "config": "default", "split": "test", "at_k": 10, "num_queries": 3,
                 "queries_without_positives": 0, "metrics": metrics}  # fmt: skip
    reranking["versus_first_stage"] = {
        "metric": "realistic_ndcg@10",
        "queries": 3,
        "delta": 0.25 + shift,
        "wins": 2,
        "losses": 0,
        "ties": 1,
        "p_value": 0.5,
        "test": "paired",
    }
    model = {"repo": repo, "revision": "f" * 40} if repo else None
    return {"hubrerank_version": "0.1.0", "model": model, "results": [reranking]}


def test_tables_text_markdown_json_and_png(tmp_path: Path) -> None:
    evaluations = [("acme/a", _results(0.25, "acme/a")), ("./b", _results(0.0, None))]
    built = tables(evaluations, first_stage_name="BM25")
    assert [table.title for table in built] == [
        "Reranking acme/faq@01234567 default/test (3 queries)",
        "Top-5 hit rate and MRR, realistic: acme/faq@01234567 default/test",
        "Against the BM25's order, realistic NDCG@10 per query: acme/faq@01234567 default/test",
    ]
    assert built[2].rows == [("acme/a", [0.5, 2, 0, 1, 0.5]), ("./b", [0.25, 2, 0, 1, 0.5])]
    assert [name for name, _ in built[0].rows] == ["acme/a", "./b", "BM25"]
    assert built[0].rows[2][1] == [0.25] * 6

    lines = [line.split() for line in render_text(built).splitlines()]
    assert ["acme/a"] + ["0.7500"] * 6 in lines and ["BM25"] + ["0.2500"] * 6 in lines
    markdown = render_markdown(built)
    assert "| acme/a | **0.7500** |" in markdown and "| ./b | 0.5000 |" in markdown
    assert "| acme/a | 0.5000 | 2 | 0 | 1 | 0.5000 |" in markdown  # counts as integers, nothing bold
    assert ["acme/a", "0.5000", "2", "0", "1", "0.5000"] in lines

    (tmp_path / "two.json").write_text(json.dumps(json_document(evaluations)))
    assert load_evaluations(tmp_path / "two.json") == evaluations
    (tmp_path / "one.json").write_text(json.dumps(json_document(evaluations[:1])))
    assert load_evaluations(tmp_path / "one.json") == evaluations[:1]  # eval_results.json as is

    png = plot(built, tmp_path / "chart.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_headline_states_the_first_stage_comparison() -> None:
    result = _results(0.25, "acme/a")["results"][0]
    assert headline(result) == (
        "acme/faq@01234567 default/test: realistic NDCG@10 0.7500 (first stage 0.2500; "
        "better on 2, worse on 0, equal on 1 of 3 queries, p = 0.5)"
    )
    del result["versus_first_stage"]
    assert headline(result) == "acme/faq@01234567 default/test: realistic NDCG@10 0.7500"


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (
            {"reranking": [{"dataset": "a", "splits": "test"}]},
            r"evaluation.reranking\[0\]: unknown key\(s\) splits",
        ),
        ({"reranking": [{"split": "test"}]}, "missing key 'dataset'"),
        ({"nanobeir": {"rerank_k": 0}}, "evaluation.nanobeir.rerank_k must be a positive integer"),
        ({"ranking": []}, r"evaluation: unknown key\(s\) ranking; use reranking, nanobeir, retrieval"),
    ],
)
def test_plan_errors_name_the_key(plan: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        check_plan(plan)


def test_plan_defaults() -> None:
    tasks = check_plan(
        {"reranking": [{"dataset": "acme/faq", "revision": None}], "nanobeir": {"datasets": ["nq"]}}
    )
    assert tasks["reranking"] == [{"dataset": "acme/faq", "revision": None, "config": None, "split": "test",
                                   "at_k": 10}]  # fmt: skip
    assert tasks["nanobeir"]["dataset"] == "sentence-transformers/NanoBEIR-en"
    assert (tasks["nanobeir"]["rerank_k"], tasks["nanobeir"]["datasets"]) == (100, ["nq"])
