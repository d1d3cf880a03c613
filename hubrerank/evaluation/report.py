"""Side-by-side tables of several models' eval_results: plain text, Markdown, JSON and a PNG bar chart.

Each task (a reranking split, or NanoBEIR) gets its tables, one row per model plus a row for the first
stage (the ranking the models rerank) when the data has one. Every renderer reads the same
:class:`Table`, so the printed table, the Markdown and the chart never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank import __version__
from hubrerank.evaluation.definitions import recorded_definition
from hubrerank.evaluation.metrics import HIT_KS
from hubrerank.kinds.spec import ENCODER_RERANKING

Evaluation = tuple[str, dict[str, Any]]  # (model label, eval_results dict)
INJECTED_NOTE = (
    "all positives injected: CrossEncoderRerankingEvaluator's default; "
    "realistic: only what the first stage returned (always_rerank_positives=False)"
)


@dataclass(frozen=True)
class Table:
    """A titled grid of metric values: one row per model (or first stage), one column per metric."""

    title: str
    headers: list[str]
    rows: list[tuple[str, list[float | None]]]
    note: str = ""
    chart: bool = True  # drawn in the PNG (the detailed top-5 tables are not)
    bold_best: bool = True  # Markdown bolds each column's highest value (not where higher is not better)
    row_heading: str = "model"  # the heading of the first column, which names the rows


def tables(evaluations: Sequence[Evaluation], first_stage_name: str = "first stage") -> list[Table]:
    """The tables comparing ``evaluations`` task by task, in the order the tasks first appear."""
    tasks: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = {}
    for label, results in evaluations:
        for result in results["results"]:
            tasks.setdefault(_task_key(result), (result, []))[1].append((label, result))
    built: list[Table] = []
    for result, rows in tasks.values():
        metric_rows = [(label, entry["metrics"]) for label, entry in rows]
        if result["task"] == "nanobeir":
            built.append(_nanobeir_table(result, metric_rows))
        elif result["task"] == "nanobeir-retrieval":
            built.append(_nanobeir_retrieval_table(result, metric_rows))
        elif result["task"] in (ENCODER_RERANKING, "retrieval"):
            if result["task"] == ENCODER_RERANKING:
                built.append(_encoder_reranking_table(result, metric_rows))
            else:
                built.append(_retrieval_table(result, metric_rows))
            built += [
                _versus_models_table(result, label, entry["versus_models"])
                for label, entry in rows
                if "versus_models" in entry
            ]
        else:
            built.extend(_reranking_tables(result, metric_rows, first_stage_name))
            versus = [
                (label, entry["versus_first_stage"]) for label, entry in rows if "versus_first_stage" in entry
            ]
            if versus:
                built.append(_versus_table(result, versus, first_stage_name))
            correlated = [(label, entry) for label, entry in rows if "pearson" in entry["metrics"]]
            if correlated:
                built.append(_correlation_table(result, correlated))
    return built


def render_text(tables_: Sequence[Table]) -> str:
    """Aligned plain-text tables, for the terminal."""
    blocks = []
    for table in tables_:
        cells = [[table.row_heading, *table.headers]] + [
            [name, *map(_cell, values)] for name, values in table.rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        lines = [table.title]
        for number, row in enumerate(cells):
            lines.append(
                "  ".join(
                    cell.ljust(w) if i == 0 else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                )
            )
            if number == 0:
                lines.append("  ".join("-" * w for w in widths))
        if table.note:
            lines.append(table.note)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def render_markdown(tables_: Sequence[Table]) -> str:
    """GitHub-flavoured Markdown tables, one section per table; the best value of a column in bold."""
    blocks = []
    for table in tables_:
        best = [
            max((values[i] for _, values in table.rows if values[i] is not None), default=None)
            for i in range(len(table.headers))
        ]
        lines = [
            f"### {table.title}",
            "",
            f"| {table.row_heading} | " + " | ".join(table.headers) + " |",
            "|---|" + "---:|" * len(table.headers),
        ]
        for name, values in table.rows:
            cells = [
                f"**{_cell(v)}**"
                if table.bold_best and v is not None and v == best[i] and len(table.rows) > 1
                else _cell(v)
                for i, v in enumerate(values)
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        if table.note:
            lines += ["", f"_{table.note}_"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def headline(result: dict[str, Any]) -> str:
    """One line for a reranking result: realistic NDCG@k, and against the first stage when measured."""
    k = result["at_k"]
    metrics = result["metrics"]
    source = _source(result)
    line = f"{source}: realistic NDCG@{k} {_cell(metrics.get(f'realistic_ndcg@{k}'))}"
    versus = result.get("versus_first_stage")
    if versus:
        line += (
            f" (first stage {_cell(metrics.get(f'realistic_base_ndcg@{k}'))}; better on {versus['wins']}, "
            f"worse on {versus['losses']}, equal on {versus['ties']} of {versus['queries']} queries, "
            f"p = {versus['p_value']:.3g})"
        )
    return line


def json_document(evaluations: Sequence[Evaluation]) -> dict[str, Any]:
    """One model: its eval_results.json as is. Several: ``{"hubrerank_version", "models": [{"label",
    **eval_results}, ...]}``; :func:`load_evaluations` reads both."""
    if len(evaluations) == 1:
        return evaluations[0][1]
    return {
        "hubrerank_version": __version__,
        "models": [{"label": label, **res} for label, res in evaluations],
    }


def load_evaluations(path: Path) -> list[Evaluation]:
    """The (label, eval_results) pairs of a file :func:`json_document` wrote, or of an eval_results.json."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if "models" in document:
        return [(entry.pop("label"), entry) for entry in document["models"]]
    model = document.get("model") or {}
    return [(model.get("repo") or path.stem, document)]


def plot(tables_: Sequence[Table], path: Path, title: str = "Reranker evaluation") -> Path:
    """A PNG with one grouped bar chart per table: metrics on the x axis, one coloured bar per model,
    the value printed on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    drawn = [table for table in tables_ if table.chart]
    figure, axes = plt.subplots(
        len(drawn),
        1,
        figsize=(
            max(8, 1.6 * max(len(t.headers) for t in drawn) * max(1, len(drawn[0].rows)) / 2),
            4.8 * len(drawn),
        ),
        squeeze=False,
    )
    for axis, table in zip(axes[:, 0], drawn, strict=True):
        positions = np.arange(len(table.headers))
        width = 0.8 / len(table.rows)
        for number, (name, values) in enumerate(table.rows):
            heights = [v if v is not None else 0.0 for v in values]
            bars = axis.bar(
                positions + (number - (len(table.rows) - 1) / 2) * width, heights, width, label=name
            )
            axis.bar_label(bars, labels=[_cell(v) for v in values], rotation=90, padding=3, fontsize=8)
        axis.set_title(table.title, fontsize=10)
        axis.set_xticks(positions, table.headers, rotation=20, ha="right")
        axis.set_xlabel("metric")
        axis.set_ylabel("score (0-1, higher is better)")
        axis.set_ylim(0, 1.25)
        axis.legend(loc="upper right", fontsize=8, ncols=min(4, len(table.rows)))
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _reranking_tables(
    result: dict[str, Any], rows: list[tuple[str, dict[str, float]]], first_stage_name: str
) -> list[Table]:
    k = result["at_k"]
    source = _source(result)
    main = ["ndcg@{k}", "mrr@{k}", "map"]
    headers = [f"NDCG@{k}", f"MRR@{k}", "MAP", f"realistic NDCG@{k}", f"realistic MRR@{k}", "realistic MAP"]
    keys = [name.format(k=k) for name in main] + [f"realistic_{name.format(k=k)}" for name in main]
    top = [f"hit_rate@{j}" for j in HIT_KS] + [f"mrr@{j}" for j in HIT_KS]
    model_rows = [(label, [m.get(key) for key in keys]) for label, m in rows]
    top_rows = [(label, [m.get(f"realistic_{key}") for key in top]) for label, m in rows]
    first = rows[0][1]
    if "base_map" in first:
        model_rows.append(
            (
                first_stage_name,
                [first.get(f"base_{name.format(k=k)}") for name in main]
                + [first.get(f"realistic_base_{name.format(k=k)}") for name in main],
            )
        )
        top_rows.append((first_stage_name, [first.get(f"realistic_base_{key}") for key in top]))
    queries = f"{result['num_queries']} queries"
    note = f"{INJECTED_NOTE}; {definition_note(result)}"
    return [
        Table(f"Reranking {source} ({queries})", headers, model_rows, note),
        Table(
            f"Top-5 hit rate and MRR, realistic: {source}",
            [f"Hit@{j}" for j in HIT_KS] + [f"MRR@{j}" for j in HIT_KS],
            top_rows,
            chart=False,
        ),
    ]


def _versus_table(
    result: dict[str, Any], rows: list[tuple[str, dict[str, Any]]], first_stage_name: str
) -> Table:
    k = result["at_k"]
    source = _source(result)
    test = rows[0][1]["test"]
    return Table(
        f"Against the {first_stage_name}'s order, realistic NDCG@{k} per query: {source}",
        [f"mean change NDCG@{k}", "queries better", "queries worse", "queries equal", "p-value"],
        [(label, [v["delta"], v["wins"], v["losses"], v["ties"], v["p_value"]]) for label, v in rows],
        f"p-value: {test}; below 0.05, the change is unlikely to be luck",
        chart=False,
        bold_best=False,
    )


def _correlation_table(result: dict[str, Any], rows: list[tuple[str, dict[str, Any]]]) -> Table:
    """Pearson and Spearman of each model's scores against the teacher scores the data carries."""
    pairs = rows[0][1].get("teacher_pairs")
    return Table(
        f"Distillation: correlation with the teacher scores ({pairs} pairs): {_source(result)}",
        ["Pearson", "Spearman"],
        [(label, [entry["metrics"]["pearson"], entry["metrics"]["spearman"]]) for label, entry in rows],
        "as sentence-transformers' CrossEncoderCorrelationEvaluator",
        chart=False,
    )


def _retrieval_table(result: dict[str, Any], rows: list[tuple[str, dict[str, float]]]) -> Table:
    k = result["at_k"]
    keys = [f"ndcg@{k}", f"mrr@{k}", "map@100", "accuracy@1", "accuracy@3", "accuracy@5", "accuracy@10"]
    headers = [f"NDCG@{k}", f"MRR@{k}", "MAP@100", "Hit@1", "Hit@3", "Hit@5", "Hit@10"]
    title = (
        f"Retrieval {_source(result)} ({result['num_queries']} queries over "
        f"{result['corpus_size']} documents)"
    )
    note = "the split's whole corpus searched; Hit@k is InformationRetrievalEvaluator's accuracy@k"
    return Table(title, headers, [(label, [m.get(key) for key in keys]) for label, m in rows], note)


def _encoder_reranking_table(result: dict[str, Any], rows: list[tuple[str, dict[str, float]]]) -> Table:
    k = result["at_k"]
    keys, headers = ["map", f"mrr@{k}", f"ndcg@{k}"], ["MAP", f"MRR@{k}", f"NDCG@{k}"]
    title = f"Reranking {_source(result)} ({result['num_queries']} queries, each ranking its own lists)"
    note = (
        "each query's positives and negatives (its first-stage documents with every positive) ranked by the "
        "model's similarity, as SparseRerankingEvaluator / MultiVectorRerankingEvaluator measure it"
    )
    return Table(title, headers, [(label, [m.get(key) for key in keys]) for label, m in rows], note)


def _versus_models_table(result: dict[str, Any], label: str, versus: list[dict[str, Any]]) -> Table:
    k = result["at_k"]
    lists = "" if result["task"] == "retrieval" else ", each ranking its own lists"
    return Table(
        f"{label} against the other retrievers, NDCG@{k} per query{lists}: {_source(result)}",
        [f"mean change NDCG@{k}", "queries better", "queries worse", "queries equal", "p-value"],
        [(f"vs {v['model']}", [v["delta"], v["wins"], v["losses"], v["ties"], v["p_value"]]) for v in versus],
        f"p-value: {versus[0]['test']}; below 0.05, the change is unlikely to be luck",
        chart=False,
        bold_best=False,
    )


def _nanobeir_table(result: dict[str, Any], rows: list[tuple[str, dict[str, float]]]) -> Table:
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    r, k = result["rerank_k"], result["at_k"]
    names = [f"Nano{DATASET_NAME_TO_HUMAN_READABLE[name.lower()]}" for name in result["datasets"]]
    keys = [f"{name}_R{r}_{{}}ndcg@{k}" for name in names]
    keys += [f"NanoBEIR_R{r}_mean_{{}}{metric}" for metric in (f"ndcg@{k}", f"mrr@{k}", "map")]
    headers = [f"{name} NDCG@{k}" for name in names] + [f"mean NDCG@{k}", f"mean MRR@{k}", "mean MAP"]
    table_rows = [(label, [m.get(key.format("")) for key in keys]) for label, m in rows]
    table_rows.append(("BM25", [rows[0][1].get(key.format("base_")) for key in keys]))
    title = (
        f"NanoBEIR {result['dataset']}{_at(result.get('revision'))}: BM25 top-{r} reranked, "
        f"mean over {', '.join(result['datasets'])}"
    )
    injected = (
        "all positives injected (the evaluator's default)"
        if result.get("always_rerank_positives", True)
        else "realistic: only what BM25 returned (always_rerank_positives=False)"
    )
    return Table(title, headers, table_rows, f"{injected}; {definition_note(result)}")


def _nanobeir_retrieval_table(result: dict[str, Any], rows: list[tuple[str, dict[str, float]]]) -> Table:
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    k, similarity = result["at_k"], result["similarity"]
    names = [f"Nano{DATASET_NAME_TO_HUMAN_READABLE[name.lower()]}" for name in result["datasets"]]
    keys = [f"{name}_{similarity}_ndcg@{k}" for name in names]
    keys += [f"NanoBEIR_mean_{similarity}_{metric}" for metric in (f"ndcg@{k}", f"mrr@{k}", "accuracy@1")]
    headers = [f"{name} NDCG@{k}" for name in names] + [f"mean NDCG@{k}", f"mean MRR@{k}", "mean Hit@1"]
    title = (
        f"NanoBEIR retrieval {result['dataset']}{_at(result.get('revision'))}: each subset's whole corpus "
        f"searched, mean over {', '.join(result['datasets'])}"
    )
    note = f"NanoBEIREvaluator, {similarity} similarity"
    return Table(title, headers, [(label, [m.get(key) for key in keys]) for label, m in rows], note)


def definition_note(result: dict[str, Any]) -> str:
    """Which definition a reranking or NanoBEIR result's NDCG and MAP follow (docs/metrics.md)."""
    return f"NDCG and MAP: {recorded_definition(result)} (docs/metrics.md)"


def definition_differences(evaluations: Sequence[Evaluation]) -> list[str]:
    """One line per task whose NDCG or MAP differ under another definition on this data: the headline
    numbers of the first model under each, so a reader knows which number to compare with which."""
    lines: list[str] = []
    seen: set[str] = set()
    for label, results in evaluations:
        for result in results["results"]:
            others = result.get("other_definitions") or {}
            key = _task_key(result)
            if not others or key in seen:
                continue
            seen.add(key)
            where = _source(result) if result["task"] == "reranking" else f"NanoBEIR {result['dataset']}"
            ours = recorded_definition(result)
            for other, values in others.items():
                shown = ", ".join(f"{metric} {value:.4f}" for metric, value in list(values.items())[:3])
                lines.append(
                    f"note: on {where} NDCG and MAP differ under the two definitions: {label} {ours} (shown) "
                    f"vs {other}: {shown}; --metric-definition chooses"
                )
    return lines


def _task_key(result: dict[str, Any]) -> str:
    fields = (
        "task",
        "dataset",
        "revision",
        "config",
        "split",
        "datasets",
        "rerank_k",
        "at_k",
        "always_rerank_positives",
        "metric_definition",
    )
    return json.dumps([result.get(field) for field in fields])


def _source(result: dict[str, Any]) -> str:
    """``ORG/NAME@sha8 config/split``: the data a reranking result was measured on."""
    return f"{result['dataset']}{_at(result.get('revision'))} {result['config']}/{result['split']}"


def _at(revision: str | None) -> str:
    return f"@{revision[:8]}" if revision else ""


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.4f}"
