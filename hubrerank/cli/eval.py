"""``hubrerank eval`` (compare rerankers on reranking data and NanoBEIR) and ``hubrerank rerank``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from hubrerank.errors import InputError

DEFAULT_NANOBEIR = "sentence-transformers/NanoBEIR-en"


@click.command("eval")
@click.argument("models", nargs=-1, required=True, metavar="MODEL[@REV]...")
@click.option(
    "--data",
    "data_refs",
    multiple=True,
    metavar="REF",
    help="Reranking data: a Hub dataset REPO[@REV] or a local .parquet/.jsonl file or folder. Repeatable.",
)
@click.option("--split", default="test", show_default=True, help="Split of --data to evaluate.")
@click.option("--config", default=None, help="Config (subset) of --data.")
@click.option(
    "--at-k", type=click.IntRange(min=1), default=10, show_default=True, help="Cut-off of MRR@k and NDCG@k."
)
@click.option(
    "--nanobeir",
    is_flag=False,
    flag_value=DEFAULT_NANOBEIR,
    default=None,
    metavar="[DATASET_ID[@REV]]",
    help=f"Also run NanoBEIR reranking on this dataset (default {DEFAULT_NANOBEIR}).",
)
@click.option(
    "--nanobeir-datasets",
    default="msmarco,nfcorpus,nq",
    show_default=True,
    help="Comma-separated NanoBEIR subsets; the mean is over these only.",
)
@click.option(
    "--rerank-k",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="NanoBEIR: how many BM25 results to rerank.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write eval_results.json (one model) or {models: [...]} (several).",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the tables as Markdown.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a PNG bar chart of the models side by side.",
)
@click.option(
    "--run-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the reranked lists as a TREC run (one file per model: NAME.MODEL.EXT when several).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--max-length", type=click.IntRange(min=1), default=None, help="Truncate pairs to this many tokens."
)
@click.option(
    "--no-cache", is_flag=True, help="Do not read or write the score cache ($HUBRERANK_HOME/scores.sqlite)."
)
@click.option("--bm25", is_flag=True, help="Add a BM25 row: the same candidates reranked lexically (bm25s).")
@click.option(
    "--fuse-first-stage",
    is_flag=True,
    help="Add a row per model: its order fused with the first stage's by reciprocal rank fusion (k=60).",
)
@click.option(
    "--fuse-with",
    metavar="MODEL[@REV]",
    help="Add a row per model: its scores mixed with this model's (a bi-encoder's similarity, e.g. the "
    "first stage's, or a cross-encoder's), each z-normalised per query.",
)
@click.option(
    "--fusion-weight",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.3,
    show_default=True,
    help="--fuse-with: the weight of the evaluated model (the other gets 1 - weight).",
)
@click.option(
    "--first-stage-name",
    default="first stage",
    show_default=True,
    help="Row label of the first-stage ranking the models rerank (e.g. BM25).",
)
def eval_command(
    models: tuple[str, ...],
    data_refs: tuple[str, ...],
    split: str,
    config: str | None,
    at_k: int,
    nanobeir: str | None,
    nanobeir_datasets: str,
    rerank_k: int,
    json_path: Path | None,
    markdown_path: Path | None,
    plot_path: Path | None,
    run_file: Path | None,
    batch_size: int,
    max_length: int | None,
    no_cache: bool,
    bm25: bool,
    fuse_first_stage: bool,
    fuse_with: str | None,
    fusion_weight: float,
    first_stage_name: str,
) -> None:
    """Evaluate one or more cross-encoders MODEL[@REV] (Hub refs or local folders) side by side.

    Reports MAP, MRR@k and NDCG@k exactly as sentence-transformers' CrossEncoderRerankingEvaluator
    computes them, with all positives injected and in the realistic setting (only what the first
    stage returned), plus hit rate and MRR at 1..5 and the first stage's own numbers.
    """
    from hubrerank.evaluation import ScoreCache, Scorer, evaluate_model, load_reranking_data, results_document
    from hubrerank.evaluation.fusion import (
        check_fusable,
        check_scoring_model,
        evaluate_fused,
        evaluate_mixed,
        fusion_label,
        mix_label,
        model_score_function,
    )
    from hubrerank.evaluation.nanobeir import nanobeir_folder, resolve_nanobeir
    from hubrerank.evaluation.report import json_document, plot, render_markdown, render_text, tables
    from hubrerank.evaluation.samples import resolve_data
    from hubrerank.evaluation.scoring import check_cross_encoder
    from hubrerank.hub import resolve_model

    if not data_refs and nanobeir is None:
        raise click.UsageError("give --data REF and/or --nanobeir [DATASET_ID[@REV]]")
    for flag, given in (("--fuse-first-stage", fuse_first_stage), ("--fuse-with", fuse_with)):
        if given and not data_refs:
            raise click.UsageError(f"{flag} needs --data REF (reranking data)")
    _quiet_loaders()
    plan: dict = {"reranking": []}
    for ref in data_refs:
        dataset, revision = resolve_data(ref)
        data = load_reranking_data(dataset, revision, config=config, split=split)  # fail before scoring
        if fuse_first_stage:
            check_fusable(data)
        plan["reranking"].append(
            {"dataset": dataset, "revision": revision, "config": config, "split": split, "at_k": at_k}
        )
    if nanobeir is not None:
        dataset, revision = resolve_nanobeir(nanobeir)
        subsets = [name.strip() for name in nanobeir_datasets.split(",") if name.strip()]
        nanobeir_folder(dataset, revision, subsets)
        plan["nanobeir"] = {
            "dataset": dataset,
            "revision": revision,
            "datasets": subsets,
            "rerank_k": rerank_k,
            "at_k": at_k,
        }
    resolved = []
    for text in models:
        ref, path = resolve_model(text)
        check_cross_encoder(path)
        resolved.append((text, ref, path))
    other = None
    if fuse_with:
        _, other_path = resolve_model(fuse_with)
        check_scoring_model(other_path, f"--fuse-with {fuse_with}")
        other = model_score_function(other_path, batch_size)
    cache = None if no_cache else ScoreCache()
    if no_cache and (fuse_first_stage or fuse_with):  # a cache for this command: fusion scores once
        cache = ScoreCache(Path(":memory:"))
    evaluations = []
    for text, ref, path in resolved:
        click.echo(f"Evaluating {text} ...", err=True)
        scorer = Scorer(
            path,
            max_length=max_length,
            batch_size=batch_size,
            cache=cache,
            progress=True,
        )
        results = evaluate_model(scorer, plan, run_file=_run_path(run_file, text, len(models)), run_tag=text)
        click.echo(f"  {scorer.computed} pairs scored, {scorer.reused} from the cache", err=True)
        document = results_document(results, ref.repo_id if ref else None, ref.sha if ref else None)
        evaluations.append((text, document))
        if fuse_first_stage:
            fused = results_document(evaluate_fused(scorer, plan), None, None)
            evaluations.append((fusion_label(text, first_stage_name), fused))
        if other is not None:
            mixed = results_document(evaluate_mixed(scorer, plan, other, fusion_weight), None, None)
            evaluations.append((mix_label(text, fuse_with, fusion_weight), mixed))
    if bm25 and plan["reranking"]:
        from hubrerank.evaluation.lexical import BM25_LABEL, evaluate_bm25

        evaluations.append((BM25_LABEL, results_document(evaluate_bm25(plan), None, None)))
    built = tables(evaluations, first_stage_name)
    click.echo(render_text(built), nl=False)
    if json_path:
        _write(json_path, json.dumps(json_document(evaluations), indent=2) + "\n")
    if markdown_path:
        _write(markdown_path, render_markdown(built))
    if plot_path:
        plot(built, plot_path)


@click.command("rerank")
@click.argument("model", metavar="MODEL[@REV]")
@click.option("--query", "-q", required=True, help="The query.")
@click.option("--doc", "-d", "docs", multiple=True, help="A document to rank. Repeatable.")
@click.option(
    "--docs",
    "docs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A file of documents: one per line, or jsonl with a "text" field.',
)
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="Show only the best N.")
@click.option("--raw", is_flag=True, help="Raw logits instead of sigmoid-normalised scores.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{rank, index, score, text}].")
@click.option(
    "--max-length", type=click.IntRange(min=1), default=None, help="Truncate pairs to this many tokens."
)
@click.option(
    "--fuse-first-stage",
    is_flag=True,
    help="Rank by the reciprocal rank fusion (k=60) of the scores and the order the documents came in.",
)
def rerank(
    model: str,
    query: str,
    docs: tuple[str, ...],
    docs_file: Path | None,
    top_k: int | None,
    raw: bool,
    as_json: bool,
    max_length: int | None,
    fuse_first_stage: bool,
) -> None:
    """Score DOCUMENTS against a query with a cross-encoder and print them best first.

    Scores are sigmoid-normalised logits, as FlagReranker.compute_score(normalize=True) and
    LlamaIndex's SentenceTransformerRerank give them; --raw prints the logits. With
    --fuse-first-stage the documents are taken as a first stage's ranking, best first, and the order
    printed is the fusion of both (the scores shown stay the model's).
    """
    import numpy as np

    from hubrerank.evaluation import Scorer
    from hubrerank.evaluation.fusion import rrf_order
    from hubrerank.hub import resolve_model

    if bool(docs) == bool(docs_file):
        raise click.UsageError("give documents with --doc D (repeatable) or --docs FILE, not both")
    documents = list(docs) if docs else _read_documents(docs_file)
    _quiet_loaders()
    _, path = resolve_model(model)
    scorer = Scorer(path, max_length=max_length)
    scores = scorer.scores([(query, document) for document in documents], "raw" if raw else "sigmoid")
    if fuse_first_stage:
        order = [int(i) for i in rrf_order(scores, np.arange(1, len(documents) + 1))][:top_k]
    else:
        order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))[:top_k]
    ranked = [
        {"rank": rank, "index": i, "score": float(scores[i]), "text": documents[i]}
        for rank, i in enumerate(order, start=1)
    ]
    if as_json:
        click.echo(json.dumps(ranked, ensure_ascii=False, indent=2))
        return
    for item in ranked:
        text = " ".join(item["text"].split())
        click.echo(f"{item['rank']:>3}  {item['score']:.6f}  [{item['index']}] {text[:100]}")


def _read_documents(path: Path) -> list[str]:
    """One document per line, or jsonl objects with a "text" field (when every line is such an object)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path} has no documents; write one per line or jsonl with a 'text' field")
    if all(line.lstrip().startswith("{") for line in lines):
        documents = []
        for number, line in enumerate(lines, start=1):
            try:
                documents.append(str(json.loads(line)["text"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{path}:{number}: a jsonl document needs a 'text' field") from None
        return documents
    return lines


def _quiet_loaders() -> None:
    """Keep stderr for our own progress: no per-file bars from datasets or transformers."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()


def _run_path(run_file: Path | None, model: str, count: int) -> Path | None:
    if run_file is None or count == 1:
        return run_file
    label = re.sub(r"[^\w.-]+", "_", model).strip("_")
    return run_file.with_name(f"{run_file.stem}.{label}{run_file.suffix}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {path}", err=True)
