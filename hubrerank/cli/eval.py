"""``hubrerank eval`` (compare rerankers on reranking data and NanoBEIR) and ``hubrerank rerank``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from hubrerank.cli._output import (
    bm25_language_option,
    check_outputs,
    devices_option,
    precision_heading,
    precision_options,
    quiet_loaders,
    scoring_options,
    write_output,
)
from hubrerank.cli._signing import KEY_FILE_HELP, open_pr_key
from hubrerank.errors import InputError
from hubrerank.evaluation.compare import ComparisonRequest
from hubrerank.evaluation.definitions import DEFINITIONS
from hubrerank.evaluation.nanobeir import DEFAULT_DATASET
from hubrerank.runtime import FLOAT32, Variant

DEFAULTS = ComparisonRequest(models=())


@click.command("eval")
@click.argument("models", nargs=-1, required=True, metavar="MODEL[@REV]...")
@click.option(
    "--data",
    "data_refs",
    multiple=True,
    metavar="REF",
    help="Reranking data: a Hub dataset REPO[@REV] or a local .parquet/.jsonl file or folder. Repeatable.",
)
@click.option("--split", default=DEFAULTS.split, show_default=True, help="Split of --data to evaluate.")
@click.option("--config", default=None, help="Config (subset) of --data.")
@click.option(
    "--at-k",
    type=click.IntRange(min=1),
    default=DEFAULTS.at_k,
    show_default=True,
    help="Cut-off of MRR@k and NDCG@k.",
)
@click.option(
    "--nanobeir",
    is_flag=False,
    flag_value=DEFAULT_DATASET,
    default=None,
    metavar="[DATASET_ID[@REV]]",
    help=f"Also run NanoBEIR on this dataset (default {DEFAULT_DATASET}): reranking for a cross-encoder, "
    "retrieval over each subset's corpus for a bi-encoder.",
)
@click.option(
    "--nanobeir-datasets",
    default=",".join(DEFAULTS.nanobeir_subsets),
    show_default=True,
    help="Comma-separated NanoBEIR subsets; the mean is over these only.",
)
@click.option(
    "--rerank-k",
    type=click.IntRange(min=1),
    default=DEFAULTS.rerank_k,
    show_default=True,
    help="NanoBEIR: how many BM25 results a cross-encoder reranks.",
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
    help="Write the reranked (a bi-encoder: retrieved, top 100 per query) lists as a TREC run (one file per "
    "model: NAME.MODEL.EXT when several; a sparse or multi-vector encoder's reranked lists beside what it "
    "retrieved, as NAME[.MODEL].encoder-reranking.EXT).",
)
@scoring_options
@devices_option
@click.option("--bm25", is_flag=True, help="Add a BM25 row: the same candidates reranked lexically (bm25s).")
@bm25_language_option
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
    default=DEFAULTS.fusion_weight,
    show_default=True,
    help="--fuse-with: the weight of the evaluated model (the other gets 1 - weight).",
)
@click.option(
    "--metric-definition",
    type=click.Choice(DEFINITIONS),
    default=None,
    help="How NDCG and MAP count positives the first stage missed: listed-positives (sentence-transformers "
    "<= 6.2) or all-positives (>= 6.3, trec_eval). Default: the installed sentence-transformers'. "
    "See docs/metrics.md.",
)
@click.option(
    "--always-rerank-positives/--no-always-rerank-positives",
    default=True,
    show_default=True,
    help="NanoBEIR (cross-encoders): inject the positives BM25 missed into the reranked list, as "
    "CrossEncoderNanoBEIREvaluator does by default; --no-... reranks what BM25 returned (realistic).",
)
@click.option(
    "--first-stage-name",
    default=DEFAULTS.first_stage_name,
    show_default=True,
    help="Row label of the first-stage ranking the models rerank (e.g. BM25).",
)
@click.option(
    "--open-pr",
    is_flag=True,
    help="Open a pull request on each evaluated Hub model (anyone's) with its headline results as "
    ".eval_results/hubrerank-<you>.yaml, signed: community results until merged.",
)
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help=KEY_FILE_HELP)
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
    language: str,
    fuse_first_stage: bool,
    fuse_with: str | None,
    fusion_weight: float,
    metric_definition: str | None,
    always_rerank_positives: bool,
    first_stage_name: str,
    open_pr: bool,
    key_file: Path | None,
    variant: Variant | None,
) -> None:
    """Evaluate one or more cross-encoders MODEL[@REV] (Hub refs or local folders) side by side.

    Reports MAP, MRR@k and NDCG@k exactly as sentence-transformers' CrossEncoderRerankingEvaluator
    computes them, with all positives injected and in the realistic setting (only what the first
    stage returned), plus hit rate and MRR at 1..5 and the first stage's own numbers; NDCG and MAP under
    the installed release's definition (--metric-definition; a line says when the other differs). A bi-encoder
    (SentenceTransformer) among the models is judged by retrieval over each --data split's whole corpus,
    with InformationRetrievalEvaluator's metrics (NDCG@k, MRR@k, MAP@100, hit rate), and on --nanobeir
    by NanoBEIREvaluator. Its embeddings, like the cross-encoders' scores, are cached by the model's bytes.
    With --open-pr, each Hub model gets a pull request with its results (README "Signed results").
    """
    from hubrerank.evaluation import compare_models
    from hubrerank.evaluation.report import (
        definition_differences,
        json_document,
        plot,
        render_markdown,
        render_text,
    )

    request = ComparisonRequest(
        models=models,
        data=data_refs,
        split=split,
        config=config,
        at_k=at_k,
        nanobeir=nanobeir,
        nanobeir_subsets=tuple(name.strip() for name in nanobeir_datasets.split(",") if name.strip()),
        rerank_k=rerank_k,
        run_file=run_file,
        batch_size=batch_size,
        max_length=max_length,
        cache=not no_cache,
        bm25=bm25,
        language=language,
        fuse_first_stage=fuse_first_stage,
        fuse_with=fuse_with,
        fusion_weight=fusion_weight,
        first_stage_name=first_stage_name,
        progress=True,
        metric_definition=metric_definition,
        always_rerank_positives=always_rerank_positives,
        precision=variant or FLOAT32,
    )
    try:
        request.check()
    except InputError as error:
        raise click.UsageError(str(error)) from None
    check_outputs(("--json", json_path), ("--markdown", markdown_path), ("--plot", plot_path))
    key = open_pr_key(open_pr, key_file, models)
    quiet_loaders()
    comparison = compare_models(request, say=lambda line: click.echo(line, err=True))
    for line in definition_differences(comparison.evaluations):
        click.echo(line, err=True)
    heading = precision_heading(request.precision)
    click.echo(heading + render_text(comparison.tables), nl=False)
    if json_path:
        write_output(json_path, json.dumps(json_document(comparison.evaluations), indent=2) + "\n")
    if markdown_path:
        write_output(markdown_path, heading + render_markdown(comparison.tables))
    if plot_path:
        plot(comparison.tables, plot_path)
    if open_pr:
        from hubrerank.reproducibility.publication import open_results_pr

        for _, results in comparison.evaluations:
            if (results.get("model") or {}).get("repo"):
                opened = open_results_pr(results, key)
                click.echo(f"opened pull request #{opened.number} on {opened.repo_id}: {opened.url}")


@click.command("rerank")
@click.argument("model", metavar="MODEL[@REV]")
@click.option("--query", "-q", help="The query.")
@click.option("--doc", "-d", "docs", multiple=True, help="A document to rank. Repeatable.")
@click.option(
    "--docs",
    "docs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A file of documents: one per line, or jsonl with a "text" field.',
)
@click.option(
    "--pairs",
    "pairs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='Instead of --query: score (query, passage) pairs from jsonl ({"query", "passage"} or '
    "[query, passage] a line) or tsv (query<TAB>passage); one score a line, in input order.",
)
@click.option("--top-k", type=click.IntRange(min=1), default=None, help="Show only the best N.")
@click.option("--raw", is_flag=True, help="Raw logits instead of sigmoid-normalised scores.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: [{rank, index, score, text}] (--pairs: [score])."
)
@click.option(
    "--max-length", type=click.IntRange(min=1), default=None, help="Truncate pairs to this many tokens."
)
@click.option(
    "--fuse-first-stage",
    is_flag=True,
    help="Rank by the reciprocal rank fusion (k=60) of the scores and the order the documents came in.",
)
@precision_options
def rerank(
    model: str,
    query: str | None,
    docs: tuple[str, ...],
    docs_file: Path | None,
    pairs_file: Path | None,
    top_k: int | None,
    raw: bool,
    as_json: bool,
    max_length: int | None,
    fuse_first_stage: bool,
    variant: Variant | None,
) -> None:
    """Score DOCUMENTS against a query with a cross-encoder and print them best first, or score a batch
    of (query, passage) pairs (--pairs FILE) and print their scores in input order.

    Scores are sigmoid-normalised logits, as FlagReranker.compute_score(normalize=True) and
    LlamaIndex's SentenceTransformerRerank give them; --raw prints the logits. With
    --fuse-first-stage the documents are taken as a first stage's ranking, best first, and the order
    printed is the fusion of both (the scores shown stay the model's).
    """
    from hubrerank.evaluation import rank_documents

    precision = variant or FLOAT32
    if not precision.is_default:
        click.echo(f"Scores computed in {precision.label}.", err=True)
    if pairs_file is not None:
        if query is not None or docs or docs_file or top_k or fuse_first_stage:
            raise click.UsageError(
                "--pairs scores pairs in input order: "
                "drop --query, --doc, --docs, --top-k and --fuse-first-stage"
            )
        _score_pairs(model, pairs_file, raw=raw, as_json=as_json, max_length=max_length, precision=precision)
        return
    if query is None:
        raise click.UsageError("give a query with --query Q, or pairs with --pairs FILE")
    if bool(docs) == bool(docs_file):
        raise click.UsageError("give documents with --doc D (repeatable) or --docs FILE, not both")
    documents = list(docs) if docs else _read_documents(docs_file)
    quiet_loaders()
    ranked = rank_documents(
        model,
        query,
        documents,
        top_k=top_k,
        raw=raw,
        max_length=max_length,
        fuse_first_stage=fuse_first_stage,
        precision=precision,
    )
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(item) for item in ranked], ensure_ascii=False, indent=2))
        return
    for item in ranked:
        text = " ".join(item.text.split())
        click.echo(f"{item.rank:>3}  {item.score:.6f}  [{item.index}] {text[:100]}")


def _score_pairs(
    model: str, path: Path, *, raw: bool, as_json: bool, max_length: int | None, precision: Variant
) -> None:
    """``rerank --pairs``: read the file (before loading the model), score, print one score a line."""
    from hubrerank.evaluation import read_pairs, score_pairs

    pairs = read_pairs(path)
    quiet_loaders()
    scores = [
        float(score)
        for score in score_pairs(model, pairs, raw=raw, max_length=max_length, precision=precision)
    ]
    click.echo(json.dumps(scores) if as_json else "\n".join(f"{score:.6f}" for score in scores))


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
