"""``hubrerank benchmark create`` and ``hubrerank leaderboard``: a dataset as a Hub benchmark, its ranking."""

from __future__ import annotations

import click


@click.group()
def benchmark() -> None:
    """Register hubrerank datasets as Hub benchmarks (an eval.yaml at the dataset repo's root)."""


@benchmark.command("create")
@click.argument("dataset", metavar="DATASET[@REV]")
@click.option(
    "--task",
    "tasks",
    multiple=True,
    metavar="[CONFIG/]SPLIT[:METRIC]",
    help="A split and the metric its leaderboard ranks by (default ndcg@10); repeat for more tasks.",
)
@click.option(
    "--kind",
    type=click.Choice(["reranking", "retrieval"]),
    help="What the models do: rerank each query's listed documents, or retrieve from the split's whole "
    "corpus. Default: retrieval for the retrieval form (corpus, queries, qrels), else reranking.",
)
@click.option(
    "--definition",
    metavar="NAME",
    help="Reranking NDCG/MAP definition (listed-positives or all-positives; docs/metrics.md). "
    "Default: the installed sentence-transformers'.",
)
@click.option("--name", help="The benchmark's display name. Default: 'DATASET (KIND)'.")
@click.option("--dry-run", is_flag=True, help="Print the eval.yaml instead of pushing it.")
def create(
    dataset: str,
    tasks: tuple[str, ...],
    kind: str | None,
    definition: str | None,
    name: str | None,
    dry_run: bool,
) -> None:
    """Write eval.yaml for a hubrerank dataset and push it to the dataset's main branch.

    Each task is a split of DATASET (as of REV) scored by one metric under one definition; results
    whose card names that task appear on the leaderboard. Prints DATASET@<new sha>.
    """
    from hubrerank.benchmark.spec import TaskRequest, create_benchmark, render

    requests = [TaskRequest.parse(text) for text in tasks or ("test",)]
    created, published = create_benchmark(
        dataset, requests, kind=kind, definition=definition, name=name, push=not dry_run
    )
    if published is None:
        click.echo(render(created).decode(), nl=False)
    else:
        click.echo(f"{published.repo_id}@{published.sha}")


@click.command()
@click.argument("dataset", metavar="DATASET")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
def leaderboard(dataset: str, as_json: bool, markdown: bool) -> None:
    """Print the leaderboard of benchmark DATASET: one row per model@sha and task, with its badge
    (self-reported, community, verified) and the metric definition of the task."""
    from hubrerank.benchmark.leaderboard import format_json, format_markdown, format_table, leaderboard
    from hubrerank.errors import InputError

    if as_json and markdown:
        raise InputError("--json and --markdown exclude each other; choose one")
    rows = leaderboard(dataset)
    if as_json:
        click.echo(format_json(rows))
    elif markdown:
        click.echo(format_markdown(rows))
    elif not rows:
        click.echo(f"no results on {dataset} yet: model cards name its tasks in .eval_results/*.yaml")
    else:
        click.echo(format_table(rows))
