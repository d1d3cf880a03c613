"""``hubrerank data``: build, validate and inspect reranker datasets (library: hubrerank.data)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from hubrerank.cli._output import devices_option, precision_options
from hubrerank.data.build_options import BUILD_OPTIONS
from hubrerank.data.splits import parse_size

F = TypeVar("F", bound=Callable[..., Any])


def _option(name: str, *decls: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` for the build option ``name``: flag, default and choices come from the library."""
    spec = BUILD_OPTIONS[name]
    if spec.choices:
        kwargs["type"] = click.Choice(spec.choices)
    if spec.default not in (None, ()):
        kwargs["default"] = spec.default
    return click.option(spec.flag, *decls, **kwargs)


@click.group()
def data() -> None:
    """Build, validate and inspect reranker datasets."""


@data.command()
@click.argument("source", metavar="SOURCE")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Write the dataset to this folder."
)
@click.option(
    "--push",
    "push",
    metavar="REPO_ID",
    help="Publish to this dataset repo in one commit (replaces its files).",
)
@click.option("--private", is_flag=True, help="With --push: create the repo private.")
@click.option("--tag", metavar="NAME", help="With --push: tag the new commit.")
@_option("format", help="Force the source format.")
@_option("config", metavar="NAME", help="Hub source: the dataset config.")
@_option(
    "split",
    metavar="NAMES",
    callback=lambda _ctx, _param, text: (
        tuple(s.strip() for s in text.split(",") if s.strip()) if text else ()
    ),
    help="Use only these source splits (comma-separated, e.g. train).",
)
@_option("query_column", metavar="NAME", help="The query column (default: query/question/anchor/q...).")
@_option(
    "answer_column", metavar="NAME", help="The answer/passage column (default: answer/positive/passage...)."
)
@_option("label_column", metavar="NAME", help="The label column of pairs (default: label/labels/score).")
@_option(
    "positive_threshold",
    type=float,
    show_default=True,
    help="Labels (or qrels grades) at or above this are positives.",
)
@_option(
    "test_size",
    type=str,
    show_default=True,
    callback=lambda _ctx, _param, text: parse_size(text, "--test-size"),
    help="Test queries carved when the source has no test split: a fraction or a count.",
)
@_option(
    "eval_size",
    type=str,
    show_default=True,
    callback=lambda _ctx, _param, text: parse_size(text, "--eval-size"),
    help="Eval queries carved when the source has no eval split: a fraction or a count.",
)
@_option("negatives", type=int, show_default=True, help="Hard negatives to mine per query.")
@_option(
    "mine_model",
    metavar="REPO[@REV]|DIR",
    help="Sentence-transformers bi-encoder for mining and the embedding first stage.",
)
@_option("bm25", is_flag=True, help="Mine the --negatives lexically with BM25 (bm25s).")
@_option("range_min", type=int, show_default=True, help="Skip this many top candidates.")
@_option("range_max", type=int, help="Consider candidates up to this rank.")
@_option("absolute_margin", type=float, help="Keep negatives scoring at least this much below the positive.")
@_option("relative_margin", type=float, help="Keep negatives scoring this fraction below the positive.")
@_option("max_score", type=float, help="Skip candidates scoring above this.")
@_option("sampling", show_default=True)
@_option("batch_size", type=int, show_default=True, help="Encoding and scoring batch size.")
@_option("random_negatives", type=int, show_default=True, help="Random corpus negatives per query.")
@_option(
    "teacher",
    metavar="REPO[@REV]|DIR",
    help="Scores for a score column: a cross-encoder's sigmoid, or a bi-encoder's embedding similarity.",
)
@_option("output_format", show_default=True, help="Form of the train split (eval/test are always reranking).")
@_option("candidates", type=int, show_default=True, help="First-stage documents per eval/test query.")
@_option(
    "first_stage",
    help="Ranker of eval/test documents (default: the source's run, else embedding, else bm25).",
)
@_option(
    "fusion_weight",
    type=click.FloatRange(0, 1),
    show_default=True,
    help="--first-stage fused: the embedding ranking's weight in the reciprocal rank fusion (BM25: 1 - W).",
)
@_option("seed", type=int, show_default=True)
@_option("license", metavar="ID", help="License for the card (default: the source's).")
@_option("language", show_default=True)
@_option(
    "no_cache",
    is_flag=True,
    help="Do not read or write the embedding cache ($HUBRERANK_HOME/scores.sqlite) of the --mine-model.",
)
@devices_option
@precision_options
def build(
    source: str, out: Path | None, push: str | None, private: bool, tag: str | None, **values: Any
) -> None:
    """Build a reranker dataset from SOURCE: a Hub dataset REPO[@REV] or a local csv, tsv, json, jsonl or
    parquet file or folder (formats qa, pairs, llamaindex, beir, flag; WikiQA token folders).

    Prints REPO_ID@<commit sha> after --push, or the folder after --out.
    """
    from hubrerank.data import BuildOptions, build_dataset, check_out_folder, push_dataset, write_local
    from hubrerank.data.options import options_from_values
    from hubrerank.hub import check_can_publish

    if (out is None) == (push is None):
        raise click.UsageError("pass exactly one of --out DIR and --push REPO_ID")
    if (private or tag) and push is None:
        raise click.UsageError("--private and --tag go with --push")
    variant = values.pop("variant")
    if variant is not None:  # the mining model's and the teacher's (float32 torch: recorded as absent)
        values.update(
            dtype=None if variant.dtype == "float32" else variant.dtype,
            device=variant.device,
            backend=None if variant.backend == "torch" else variant.backend,
            model_file=variant.model_file,
            devices=variant.devices,
        )
    options = options_from_values(BuildOptions, values)
    if push is not None:  # before the build: a push that cannot land would lose it
        check_can_publish(push, "dataset")
    else:
        assert out is not None
        check_out_folder(out)
    built = build_dataset(source, options, log=lambda line: click.echo(line, err=True))
    for name, stats in built.metadata["statistics"].items():
        queries = f", {stats['queries']} queries" if "queries" in stats else ""  # a corpus has none
        click.echo(f"{name}: {stats['rows']} rows{queries} ({stats['form']})", err=True)
    if built.metadata["dropped"]:
        dropped = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in built.metadata["dropped"].items())
        click.echo(f"dropped: {dropped}", err=True)
    if push is not None:
        ref = push_dataset(built, push, private=private, tag=tag)
        click.echo(f"{ref.repo_id}@{ref.sha}")
    else:
        assert out is not None
        click.echo(str(write_local(built, out)))


@data.command()
@click.argument("ref", metavar="DIR|REPO[@REV]")
def validate(ref: str) -> None:
    """Check a built dataset: columns per form, label range, empty texts, duplicates, queries leaking
    across splits. Exits 1 when there are errors."""
    from hubrerank.data import load_built, validate_tables

    built = load_built(ref)
    threshold = (built.metadata or {}).get("label_threshold", 0.5)
    findings = validate_tables(built.tables, threshold)
    for name, table in built.tables.items():
        click.echo(f"{name}: {table.num_rows} rows")
    for finding in findings:
        click.echo(str(finding))
    errors = sum(f.level == "error" for f in findings)
    warnings = len(findings) - errors
    click.echo(f"{built.name}: {errors} errors, {warnings} warnings")
    if errors:
        raise click.exceptions.Exit(1)


@data.command()
@click.argument("ref", metavar="DIR|REPO[@REV]")
@click.option("--rows", type=int, default=3, show_default=True, help="Rows to show per split.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def inspect(ref: str, rows: int, as_json: bool) -> None:
    """Print statistics and a few rows of each split of a built dataset."""
    from hubrerank.data import load_built
    from hubrerank.data.stats import table_statistics

    built = load_built(ref)
    threshold = (built.metadata or {}).get("label_threshold", 0.5)
    statistics = {name: table_statistics(table, threshold) for name, table in built.tables.items()}
    if as_json:
        click.echo(json.dumps(statistics, indent=2))
        return
    click.echo(built.name)
    if built.metadata:
        meta = built.metadata
        source = meta["source"]
        click.echo(
            f"  source: {source['name']} ({source['format']}); first stage: {meta['first_stage']}; "
            f"seed {meta['seed']}; hubrerank {meta['hubrerank_version']}"
        )
    for name, stats in statistics.items():
        click.echo(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in stats.items()))
        for row in built.tables[name].slice(0, rows).to_pylist():
            click.echo("  " + json.dumps({k: _short(v) for k, v in row.items()}, ensure_ascii=False))


def _short(value: object) -> object:
    if isinstance(value, str):
        return value if len(value) <= 100 else value[:100] + "…"
    if isinstance(value, list):
        return [_short(v) for v in value[:3]] + ([f"… {len(value) - 3} more"] if len(value) > 3 else [])
    return value
