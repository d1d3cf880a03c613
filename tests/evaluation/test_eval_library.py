"""``compare_models`` and ``rank_documents``: in Python, the numbers ``hubrerank eval``/``rerank`` print."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from helpers import HubModel, run_cli

from hubrerank.errors import InputError
from hubrerank.evaluation import ComparisonRequest, compare_models, rank_documents
from hubrerank.evaluation.report import json_document, render_text
from hubrerank.evaluation.runfile import run_path


def test_compare_models_returns_what_eval_prints(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    data = "@".join(reranking_repo)
    cli = run_cli(
        "eval", tiny_cross_encoder.ref, "--data", data, "--fuse-first-stage", "--bm25",
        "--json", str(tmp_path / "cli.json"), "--no-cache",
    )  # fmt: skip
    assert cli.exit_code == 0, cli.output

    said: list[str] = []
    request = ComparisonRequest(
        models=(tiny_cross_encoder.ref,), data=(data,), fuse_first_stage=True, bm25=True, cache=False
    )
    comparison = compare_models(request, say=said.append)
    assert render_text(comparison.tables) == cli.stdout
    assert json_document(comparison.evaluations) == json.loads((tmp_path / "cli.json").read_text())
    labels = [label for label, _ in comparison.evaluations]
    assert labels == [tiny_cross_encoder.ref, f"{tiny_cross_encoder.ref} + first stage (RRF)", "BM25"]
    assert said[0] == f"Evaluating {tiny_cross_encoder.ref} ..." and "pairs scored" in said[1]


def test_a_request_without_data_is_refused_before_anything_loads() -> None:
    with pytest.raises(InputError, match="give --data REF and/or --nanobeir"):
        compare_models(ComparisonRequest(models=("no/such-model",)))
    with pytest.raises(InputError, match="--fuse-with needs --data REF"):
        ComparisonRequest(models=("m",), nanobeir="x", fuse_with="other").check()


def test_run_files_are_named_per_model_when_there_are_several() -> None:
    assert run_path(Path("out/run.txt"), "alice/m@abc", 1) == Path("out/run.txt")
    assert run_path(Path("out/run.txt"), "alice/m@abc", 2) == Path("out/run.alice_m_abc.txt")
    assert run_path(None, "m", 2) is None


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        ((), {}),
        (
            ("--raw", "--top-k", "2", "--fuse-first-stage"),
            {"raw": True, "top_k": 2, "fuse_first_stage": True},
        ),
    ],
)
def test_rank_documents_returns_what_rerank_prints(
    options: tuple[str, ...], kwargs: dict[str, object], tiny_cross_encoder: HubModel
) -> None:
    query, docs = "what is the cost of a new roof", ["the price of a roof", "a king was born", "blue sea"]
    cli = run_cli("rerank", tiny_cross_encoder.ref, "-q", query, *[f"--doc={d}" for d in docs], "--json",
                  *options)  # fmt: skip
    assert cli.exit_code == 0, cli.output
    ranked = rank_documents(tiny_cross_encoder.ref, query, docs, **kwargs)  # type: ignore[arg-type]
    assert [dataclasses.asdict(item) for item in ranked] == json.loads(cli.stdout)
    assert [item.rank for item in ranked] == list(range(1, len(ranked) + 1))


def test_an_empty_plan_measures_nothing_and_loads_no_model(tmp_path: Path) -> None:
    from hubrerank.evaluation import run_evaluations

    missing = tmp_path / "no-model-here"  # loading it would fail
    document = run_evaluations(missing, None, {})
    assert document["results"] == [] and document["model"] is None
