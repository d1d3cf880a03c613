"""``hubrerank eval`` and ``hubrerank rerank``: side-by-side reports, a warm cache, one-line errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import HubModel, run_cli

from hubrerank.evaluation import read_run, run_evaluations


def test_two_models_side_by_side_with_every_output(
    word_cross_encoder: Path,
    tiny_cross_encoder: HubModel,
    reranking_repo: tuple[str, str],
    nanobeir_repo: tuple[str, str],
    tmp_path: Path,
) -> None:
    data, nano = "@".join(reranking_repo), "@".join(nanobeir_repo)
    out = tmp_path / "report"
    result = run_cli(
        "eval", str(word_cross_encoder), tiny_cross_encoder.ref, "--data", data,
        "--nanobeir", nano, "--nanobeir-datasets", "msmarco,nq", "--first-stage-name", "BM25",
        "--json", str(out / "results.json"), "--markdown", str(out / "results.md"),
        "--plot", str(out / "results.png"), "--run-file", str(out / "run.txt"), "--no-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert f"Reranking alice/rerank-eval@{reranking_repo[1][:8]} default/test (30 queries)" in table
    assert str(word_cross_encoder) in table and tiny_cross_encoder.ref in table
    assert "\nBM25 " in table and "NanoMSMARCO NDCG@10" in table and "mean NDCG@10" in table

    document = json.loads((out / "results.json").read_text())
    models = document["models"]
    assert [entry["label"] for entry in models] == [str(word_cross_encoder), tiny_cross_encoder.ref]
    assert models[0]["model"] is None
    assert models[1]["model"] == {"repo": tiny_cross_encoder.repo_id, "revision": tiny_cross_encoder.sha}
    reranking, nanobeir = models[0]["results"]
    assert (reranking["dataset"], reranking["revision"]) == reranking_repo
    assert (nanobeir["revision"], nanobeir["datasets"]) == (nanobeir_repo[1], ["msmarco", "nq"])
    versus = reranking["versus_first_stage"]  # per query against the first stage: the 24 rows with a list
    assert versus["queries"] == 24 and versus["wins"] + versus["losses"] + versus["ties"] == 24
    assert 0 < versus["p_value"] <= 1
    assert "Against the BM25's order, realistic NDCG@10 per query" in table

    markdown = (out / "results.md").read_text()
    assert "| model | NDCG@10 | MRR@10 | MAP |" in markdown and "**" in markdown
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    runs = sorted(out.glob("run.*.txt"))
    assert len(runs) == 2
    assert reranking["queries_without_positives"] == 4
    run = read_run(runs[0])
    reranked = [qid for qid in run if not qid.startswith("Nano")]
    assert len(reranked) == 25  # nor the query whose positives the first stage all missed
    assert len(run) - len(reranked) == 6 + 5  # and every NanoBEIR query (NanoMSMARCO:..., NanoNQ:...)


def test_one_model_writes_eval_results_and_a_second_run_is_served_by_the_cache(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    data = "@".join(reranking_repo)
    first = run_cli("eval", tiny_cross_encoder.ref, "--data", data, "--json", str(tmp_path / "a.json"))
    assert first.exit_code == 0, first.output
    second = run_cli("eval", tiny_cross_encoder.ref, "--data", data, "--json", str(tmp_path / "b.json"))
    assert "  0 pairs scored, " in second.stderr

    document = json.loads((tmp_path / "b.json").read_text())
    assert document == json.loads((tmp_path / "a.json").read_text())
    assert set(document) == {"hubrerank_version", "model", "results"}
    plan = {"reranking": [{"dataset": reranking_repo[0], "revision": reranking_repo[1], "split": "test"}]}
    library = run_evaluations(
        tiny_cross_encoder.path, tiny_cross_encoder.sha, plan, model_repo=tiny_cross_encoder.repo_id
    )
    assert library == document


def test_a_folder_and_the_commit_it_was_pushed_as_share_the_cache(
    hub, reranking_repo: tuple[str, str], tmp_path: Path
) -> None:
    from factories import build_tiny_cross_encoder

    from hubrerank.hub import publish

    folder = build_tiny_cross_encoder(tmp_path / "seed-7", seed=7)  # weights no other test scored
    data = "@".join(reranking_repo)
    local = run_cli("eval", str(folder), "--data", data)
    assert local.exit_code == 0, local.output
    assert "  0 pairs scored, " not in local.stderr
    (folder / "training_log.jsonl").write_text('{"train_runtime": 2.0}\n')  # pushed with its log
    files = {path.relative_to(folder).as_posix(): path for path in folder.rglob("*") if path.is_file()}
    ref = publish("alice/seed-7", files, message="the same weights")
    pushed = run_cli("eval", f"alice/seed-7@{ref.sha}", "--data", data)
    assert pushed.exit_code == 0, pushed.output
    assert "  0 pairs scored, " in pushed.stderr  # the same bytes: no forward pass


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bi-encoder", "--fuse-first-stage reranks with cross-encoders, but alice/tiny-bi-encoder@"),
        ("pairs", "not in reranking form: missing column(s) positive, documents (or negative)"),
        ("split", "has no split 'dev'; it has test (--split)"),
        ("nanobeir", "is not a NanoBEIR dataset: it lacks the config(s) bm25"),
    ],
)
def test_bad_input_is_a_one_line_error(
    case: str,
    message: str,
    tiny_cross_encoder: HubModel,
    tiny_bi_encoder: HubModel,
    reranking_repo: tuple[str, str],
    tmp_path: Path,
) -> None:
    from evaluation_fixtures import build_nanobeir_files

    from hubrerank.hub import publish

    model, options = tiny_cross_encoder.ref, ["--data", "@".join(reranking_repo)]
    if case == "bi-encoder":  # a bi-encoder is compared by retrieval, never reranked
        model, options = tiny_bi_encoder.ref, [*options, "--fuse-first-stage"]
    elif case == "pairs":
        (tmp_path / "pairs.jsonl").write_text('{"query": "q", "passage": "p", "label": 1}\n')
        options = ["--data", str(tmp_path / "pairs.jsonl")]
    elif case == "split":
        options += ["--split", "dev"]
    else:
        files = build_nanobeir_files({"NanoMSMARCO": 2}, configs=("corpus", "queries", "qrels"))
        ref = publish("alice/nanobeir-no-bm25", files, repo_type="dataset", message="no bm25")
        options = ["--nanobeir", f"{ref.repo_id}@{ref.sha}", "--nanobeir-datasets", "msmarco"]
    result = run_cli("eval", model, *options)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_rerank_scores_and_orders_documents(tiny_cross_encoder: HubModel, tmp_path: Path) -> None:
    query, docs = "what is the cost of a new roof", ["the price of a roof", "a king was born", "blue sea"]
    result = run_cli(
        "rerank", tiny_cross_encoder.ref, "--query", query, *[f"--doc={d}" for d in docs], "--json"
    )
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    assert sorted(item["text"] for item in ranked) == sorted(docs)
    assert [item["score"] for item in ranked] == sorted((item["score"] for item in ranked), reverse=True)
    assert all(0 < item["score"] < 1 for item in ranked)

    (tmp_path / "docs.jsonl").write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    raw = run_cli("rerank", tiny_cross_encoder.ref, "-q", query, "--docs", str(tmp_path / "docs.jsonl"),
                  "--raw", "--json", "--top-k", "2")  # fmt: skip
    logits = json.loads(raw.stdout)
    assert len(logits) == 2 and logits[0]["index"] == ranked[0]["index"]
    assert 1 / (1 + math.exp(-logits[0]["score"])) == pytest.approx(ranked[0]["score"], abs=1e-6)

    (tmp_path / "docs.txt").write_text("\n".join(docs) + "\n")
    text = run_cli("rerank", tiny_cross_encoder.ref, "-q", query, "--docs", str(tmp_path / "docs.txt"))
    assert text.exit_code == 0 and len(text.stdout.splitlines()) == 3
    assert text.stdout.splitlines()[0].startswith("  1  ")


@pytest.mark.parametrize("option", ["--json", "--markdown", "--plot", "--run-file"])
def test_an_unwritable_output_is_refused_before_scoring(word_cross_encoder, reranking_file, option):
    result = run_cli("eval", str(word_cross_encoder), "--data", str(reranking_file), option, "/proc/hr/out")
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip().splitlines()[-1].startswith(f"Error: {option} /proc/hr/out cannot be written")
    )
    assert "pairs scored" not in result.output


@pytest.mark.parametrize("definition", ["listed-positives", "all-positives"])
def test_the_metric_definition_is_chosen_recorded_and_its_difference_said(
    tiny_cross_encoder: HubModel, reranking_repo: tuple[str, str], tmp_path: Path, definition: str
) -> None:
    """--metric-definition picks how NDCG and MAP count missed positives; the JSON, the Markdown and the
    terminal name it, and one line says that the other definition gives other numbers on this data."""
    other = {"listed-positives": "all-positives", "all-positives": "listed-positives"}[definition]
    json_path, markdown_path = tmp_path / "e.json", tmp_path / "e.md"
    result = run_cli(
        "eval",
        tiny_cross_encoder.ref,
        "--data",
        "@".join(reranking_repo),
        "--metric-definition",
        definition,
        "--json",
        str(json_path),
        "--markdown",
        str(markdown_path),
    )
    assert result.exit_code == 0, result.output
    [reranking] = json.loads(json_path.read_text())["results"]
    assert reranking["metric_definition"] == definition
    assert set(reranking["other_definitions"]) == {other}
    assert f"NDCG and MAP: {definition}" in result.stdout
    assert f"NDCG and MAP: {definition}" in markdown_path.read_text()
    [note] = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert f"{definition} (shown) vs {other}: " in note and "--metric-definition" in note


def test_an_unknown_metric_definition_is_refused(tiny_cross_encoder: HubModel) -> None:
    result = run_cli("eval", tiny_cross_encoder.ref, "--data", "x/y", "--metric-definition", "trec")
    assert result.exit_code == 2
    assert "'trec' is not one of 'listed-positives', 'all-positives'" in result.output
