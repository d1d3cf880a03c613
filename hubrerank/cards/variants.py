"""The card's "Variants" section: each ONNX / OpenVINO file of the model beside float32 torch, with its
headline metrics, their delta to float32, its throughput and speedup, and the machine (``variants.json``).

The section sits between two HTML comments, so ``hubrerank export`` and ``hubrerank card`` replace it in
place, in a card hubrerank rendered and in one sentence-transformers' trainer wrote alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubrerank.variants import VariantsRecord

BEGIN = "<!-- hubrerank:variants -->"
END = "<!-- /hubrerank:variants -->"


def with_variants_section(card: str, record: VariantsRecord) -> str:
    """``card`` with its Variants section replaced by ``record``'s (appended when it has none)."""
    section = f"{BEGIN}\n{render_variants(record)}{END}\n"
    if BEGIN in card and END in card:
        before, rest = card.split(BEGIN, 1)
        return before + section + rest.split(END, 1)[1].lstrip("\n")
    return card.rstrip("\n") + "\n\n" + section if card.strip() else section


def headline_metric(result: dict[str, Any]) -> tuple[str, str] | None:
    """The metric a variant's row shows for an evaluation result: (label, metrics key), NDCG@k."""
    at_k = result.get("at_k", 10)
    dataset = str(result.get("dataset", "")).split("/")[-1]
    task = result.get("task")
    if task in ("reranking", "retrieval"):
        key = f"realistic_ndcg@{at_k}" if f"realistic_ndcg@{at_k}" in result["metrics"] else f"ndcg@{at_k}"
        realistic = " (realistic)" if key.startswith("realistic_") else ""
        return f"{dataset} {result.get('split')} NDCG@{at_k}{realistic}", key
    mean = next(
        (key for key in result.get("metrics", {}) if "_mean_" in key and key.endswith("ndcg@10")), None
    )
    return (f"NanoBEIR {mean.split('_mean_')[0].removeprefix('NanoBEIR_')} NDCG@10", mean) if mean else None


def render_variants(record: VariantsRecord) -> str:
    """The Markdown of the section (variants' results are in the plan's order, as float32's)."""
    metrics = [
        (index, *found)
        for index, result in enumerate(record.baseline_results)
        if (found := headline_metric(result))
    ]
    unit = f"{record.items}/s"
    header = ["file", "backend", "precision", *(label for _, label, _ in metrics), unit, "speedup"]
    rows = [
        ["model.safetensors", "torch", "float32"]
        + [_value(_number(record.baseline_results, index, key)) for index, _, key in metrics]
        + [f"{record.baseline_per_second:.1f}", "1.00x"]
    ]
    for variant in record.variants:
        values = []
        for index, _, key in metrics:
            value, base = _number(variant.results, index, key), _number(record.baseline_results, index, key)
            delta = "" if value is None or base is None else f" ({value - base:+.4f})"
            values.append(_value(value) + delta)
        speed = [f"{variant.per_second:.1f}", f"{variant.speedup:.2f}x"]
        rows.append([f"`{variant.model_file}`", variant.backend, variant.precision, *values, *speed])
    lines = [
        "## Variants",
        "",
        "Files of these weights for faster runtimes (`hubrerank export`), each evaluated on this card's "
        "evaluation and timed against the float32 torch weights in the same run; in brackets, the "
        "difference to float32. `hubrerank verify` re-measures each variant in its own runtime.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"Measured on {record.machine}: {record.count} {record.items}, batch size {record.batch_size}.",
        "",
        "Run one with hubrerank (`--backend onnx|openvino --model-file FILE` on `eval`, `rerank`, `verify`"
        ", `pipeline`), or with sentence-transformers where optimum is installed "
        '(`backend="onnx", model_kwargs={"file_name": FILE}`).',
        "",
    ]
    return "\n".join(lines)


def _number(results: list[dict[str, Any]], index: int, key: str) -> float | None:
    if index >= len(results) or key not in results[index].get("metrics", {}):
        return None
    return float(results[index]["metrics"][key])


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"
