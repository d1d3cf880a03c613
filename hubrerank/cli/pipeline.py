"""``hubrerank pipeline``: first stages (BM25, bi-encoders, sparse encoders, their hybrids), alone and with
a reranker."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hubrerank.cli._output import (
    bm25_language_option,
    check_outputs,
    devices_option,
    precision_heading,
    quiet_loaders,
    scoring_options,
    write_output,
)
from hubrerank.cli._signing import KEY_FILE_HELP, open_pr_key
from hubrerank.evaluation.pipeline import DEFAULT_TOP_K, PipelineRequest
from hubrerank.runtime import FLOAT32, Variant

DEFAULTS = PipelineRequest(data="")


@click.command("pipeline")
@click.option(
    "--data",
    required=True,
    metavar="REF",
    help="A Hub dataset REPO[@REV] or a local file or folder: retrieval-form data (`data build "
    "--output-format retrieval`; the corpus is all its documents) or a reranking split (the corpus is its "
    "distinct documents).",
)
@click.option("--config", default=None, help="Config (subset) of --data.")
@click.option(
    "--split", default=DEFAULTS.split, show_default=True, help="Split of --data whose queries are run."
)
@click.option(
    "--retriever",
    "retrievers",
    multiple=True,
    metavar="MODEL[@REV]",
    help="A bi-encoder or sparse encoder (SPLADE) first stage (Hub ref or local folder; the kind is read "
    "from its configs). Repeatable.",
)
@click.option(
    "--retriever-name",
    "retriever_names",
    multiple=True,
    metavar="NAME",
    help="The row name of each --retriever, in the same order (default: the reference as given).",
)
@click.option("--bm25", is_flag=True, help="Add BM25 (bm25s) over the whole corpus as a first stage.")
@bm25_language_option
@click.option(
    "--hybrid",
    "hybrid_weight",
    type=float,
    default=None,
    metavar="WEIGHT",
    help="Add, per --retriever, its reciprocal rank fusion with BM25 over both full rankings; WEIGHT (0..1) "
    "is the bi-encoder's, BM25 gets 1 - WEIGHT.",
)
@click.option(
    "--reranker",
    metavar="MODEL[@REV]",
    help="A cross-encoder reranking each first stage's top-k (or a bi-encoder, sparse or multi-vector "
    "encoder, by its own scores).",
)
@click.option("--reranker-name", metavar="NAME", help="The reranker's name in the rows (default: as given).")
@click.option(
    "--top-k",
    type=int,
    default=DEFAULT_TOP_K,
    show_default=True,
    help="How many first-stage documents the reranker reorders.",
)
@click.option(
    "--baseline", metavar="NAME", help="The pipeline every other is tested against (default: the first)."
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the tables as Markdown.",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the results as JSON."
)
@click.option(
    "--run-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write each pipeline's top 100 per query as a TREC run tagged with its name (NAME.PIPELINE.EXT "
    "when there are several pipelines).",
)
@click.option(
    "--open-pr",
    is_flag=True,
    help="Open a pull request on the --reranker's Hub repo with its NDCG@10 behind each first stage, as "
    'signed .eval_results entries of the split\'s retrieval task (README "Signed results").',
)
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help=KEY_FILE_HELP)
@scoring_options
@devices_option
def pipeline(
    data: str,
    config: str | None,
    split: str,
    retrievers: tuple[str, ...],
    retriever_names: tuple[str, ...],
    bm25: bool,
    language: str,
    hybrid_weight: float | None,
    reranker: str | None,
    reranker_name: str | None,
    top_k: int,
    baseline: str | None,
    markdown_path: Path | None,
    json_path: Path | None,
    run_file: Path | None,
    open_pr: bool,
    key_file: Path | None,
    batch_size: int,
    max_length: int | None,
    no_cache: bool,
    variant: Variant | None,
) -> None:
    """Evaluate retrieval pipelines over the whole corpus of a split, side by side.

    Every first stage (each --retriever, --bm25, each --hybrid) runs alone and, with --reranker, followed
    by the cross-encoder reranking its top-k. Prints hit rate and MRR at 1..5 and NDCG@10 per pipeline
    (InformationRetrievalEvaluator's accuracy@k, mrr@k, ndcg@k), and each pipeline against --baseline
    query by query (paired randomization test on NDCG@10).
    """
    from hubrerank.evaluation.pipeline import evaluate_pipelines, pipeline_tables
    from hubrerank.evaluation.report import render_markdown, render_text

    request = PipelineRequest(
        data=data,
        retrievers=retrievers,
        retriever_names=retriever_names,
        split=split,
        config=config,
        bm25=bm25,
        language=language,
        hybrid_weight=hybrid_weight,
        reranker=reranker,
        reranker_name=reranker_name,
        top_k=top_k,
        baseline=baseline,
        batch_size=batch_size,
        max_length=max_length,
        cache=not no_cache,
        progress=True,
        run_file=run_file,
        precision=variant or FLOAT32,
    )
    request.check()
    check_outputs(("--markdown", markdown_path), ("--json", json_path), ("--run-file", run_file))
    _check_open_pr(open_pr, reranker, request.precision)
    key = open_pr_key(open_pr, key_file, [reranker] if reranker else [])
    quiet_loaders()
    results = evaluate_pipelines(request, say=lambda line: click.echo(line, err=True))
    if results.reranker:
        click.echo(
            f"{results.pairs_scored} pairs scored by the reranker, {results.pairs_cached} from the cache",
            err=True,
        )
    tables = pipeline_tables(results)
    heading = precision_heading(request.precision)
    click.echo(heading + render_text(tables), nl=False)
    if markdown_path:
        write_output(markdown_path, heading + render_markdown(tables))
    if json_path:
        write_output(json_path, json.dumps(results.json_document(), indent=2) + "\n")
    if open_pr:
        from hubrerank.reproducibility.publication import open_pipeline_pr

        opened = open_pipeline_pr(results, key)
        click.echo(f"opened pull request #{opened.number} on {opened.repo_id}: {opened.url}")


def _check_open_pr(open_pr: bool, reranker: str | None, variant: Variant) -> None:
    """--open-pr proposes a Hub reranker's float32 torch results: refuse anything else before the work."""
    if not open_pr:
        return
    if reranker is None:
        raise click.UsageError("--open-pr proposes the --reranker's results to its repo: add --reranker")
    if not variant.is_default:
        option = f"--dtype {variant.dtype}" if variant.backend == "torch" else f"--backend {variant.backend}"
        raise click.UsageError(f"--open-pr proposes float32 results; drop {option}")
