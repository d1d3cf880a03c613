"""The dataset card: YAML metadata plus a body rendered from the package's dataset_card.md.j2 template."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import yaml

from hubrerank.cards.render import DATASET_CARD_TEMPLATE, RETRIEVAL_CARD_TEMPLATE, render_template
from hubrerank.cards.sections import link

RERANKING_CONFIG = "reranking"
SAMPLE_ROWS = 3
SAMPLE_CHARS = 160
SIZE_CATEGORIES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


def dataset_configs(splits: list[str]) -> dict[str, list[str]]:
    """Configs by form: ``default`` holds train, ``reranking`` holds eval and test.

    A datasets config has one schema, and train and reranking rows have different columns.
    """
    configs = {
        "default": [s for s in splits if s == "train"],
        RERANKING_CONFIG: [s for s in splits if s != "train"],
    }
    return {name: members for name, members in configs.items() if members}


def retrieval_configs(names: list[str]) -> dict[str, list[str]]:
    """Configs of the retrieval form (corpus, queries, qrels): its ``config/split`` table names grouped."""
    configs: dict[str, list[str]] = {}
    for name in names:
        config, split = name.split("/")
        configs.setdefault(config, []).append(split)
    return configs


def is_retrieval(metadata: dict[str, Any]) -> bool:
    """Whether ``metadata`` describes a retrieval-form dataset (``--output-format retrieval``)."""
    from hubrerank.data.forms import RETRIEVAL_FORM  # at call time: hubrerank.data imports this module

    return metadata["parameters"]["output_format"] == RETRIEVAL_FORM


def size_category(rows: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "1B<n<10B")


def card_metadata(metadata: dict[str, Any], repo_id: str | None) -> dict[str, Any]:
    """The card's YAML header: license, language, task, size, source, configs with data files, tags."""
    rows = sum(s["rows"] for s in metadata["statistics"].values())
    retrieval = is_retrieval(metadata)
    header: dict[str, Any] = {
        "license": metadata["license"],
        "language": [metadata["language"]],
        "task_categories": ["text-retrieval" if retrieval else "text-ranking"],
        "size_categories": [size_category(rows)],
    }
    if metadata["source"]["kind"] == "hub":
        header["source_datasets"] = [metadata["source"]["repo"]]
    header["tags"] = ["hubrerank", "retrieval" if retrieval else "reranking"]
    files = metadata["files"]
    if retrieval:
        configs = {
            config: [(split, files[f"{config}/{split}"]) for split in splits]
            for config, splits in retrieval_configs(list(files)).items()
        }
    else:
        configs = {
            config: [(split, files[split]) for split in splits]
            for config, splits in dataset_configs(list(files)).items()
        }
    header["configs"] = [
        {"config_name": config, "data_files": [{"split": split, "path": path} for split, path in splits]}
        for config, splits in configs.items()
    ]
    if repo_id:
        header["pretty_name"] = repo_id.split("/")[-1]
    return header


def render_card(metadata: dict[str, Any], tables: dict[str, pa.Table], repo_id: str | None = None) -> str:
    """README.md text for a built dataset (``metadata`` as written to hubrerank_dataset.json)."""
    yaml_text = yaml.safe_dump(card_metadata(metadata, repo_id), sort_keys=False, allow_unicode=True)
    if is_retrieval(metadata):
        return render_template(
            RETRIEVAL_CARD_TEMPLATE,
            yaml_metadata=yaml_text,
            title=repo_id or f"Retrieval dataset from {metadata['source']['name']}",
            meta=metadata,
            repo_id=repo_id or "REPO_ID",
            source_text=_source_text(metadata["source"]),
            splits=list(metadata["splits"]),
            parameters=sorted(_flatten(metadata["parameters"]).items()),
            samples={name: _samples(table) for name, table in tables.items()},
        )
    evaluated = [name for name in ("eval", "test") if name in tables]
    statistics = metadata["statistics"]
    score_rows = [
        (name, kind, s["mining_scores"][kind])
        for name, s in statistics.items()
        if "mining_scores" in s
        for kind in ("positive", "negative")
        if s["mining_scores"][kind]
    ]
    return render_template(
        DATASET_CARD_TEMPLATE,
        yaml_metadata=yaml_text,
        title=repo_id or f"Reranking dataset from {metadata['source']['name']}",
        meta=metadata,
        repo_id=repo_id or "REPO_ID",
        evaluated=evaluated,
        has_document_ids=any("document_ids" in tables[name].column_names for name in evaluated),
        has_scores=any("scores" in tables[name].column_names for name in evaluated),
        source_text=_source_text(metadata["source"]),
        negatives_text=_negatives_text(metadata),
        first_stage_text=_first_stage_text(metadata),
        model_text=_model_text,
        per_query=_per_query,
        parameters=sorted(_flatten(metadata["parameters"]).items()),
        score_rows=score_rows,
        samples={name: _samples(table) for name, table in tables.items()},
    )


def _source_text(source: dict[str, Any]) -> str:
    if source["kind"] == "hub":
        config = f", config `{source['config']}`" if source.get("config") else ""
        target = link("dataset", source["repo"], source["revision"])
        return f"[{source['repo']}]({target}) @ `{source['revision']}`{config}"
    return (
        f"local {'folder' if 'files' in source else 'file'} `{source['path']}` (sha256 `{source['sha256']}`)"
    )


def _model_text(record: dict[str, Any] | None) -> str:
    if not record:
        return "none"
    if "repo" in record:
        target = link("model", record["repo"], record["revision"])
        return f"[{record['repo']}]({target}) @ `{record['revision']}`"
    digest = f" (model.safetensors sha256 `{record['sha256']}`)" if "sha256" in record else ""
    return f"local folder `{record['path']}`{digest}"


def _negatives_text(metadata: dict[str, Any]) -> str:
    p = metadata["parameters"]
    parts = ["the source's judged negatives, if any"]
    if metadata["mining"] == "embedding":
        parts.append(
            f"{p['mining']['negatives']} hard negatives per query mined with `mine_hard_negatives` "
            f"(sampling {p['mining']['sampling']})"
        )
    elif metadata["mining"] == "bm25":
        parts.append(
            f"{p['mining']['negatives']} BM25 (bm25s) negatives per query "
            f"(sampling {p['mining']['sampling']})"
        )
    if p["random_negatives"]:
        parts.append(f"{p['random_negatives']} random corpus negative(s) per query")
    return "; ".join(parts)


def _first_stage_text(metadata: dict[str, Any]) -> str:
    return {
        None: "none (no eval/test split)",
        "embedding": "the mining model's nearest neighbours",
        "bm25": "BM25 (bm25s)",
        "fused": "reciprocal rank fusion of BM25 and the mining model",
        "source": "the ranking the source ships (run file)",
    }[metadata["first_stage"]]


def _per_query(value: dict[str, Any] | None) -> str:
    if not value:
        return "–"
    return f"{value['mean']} (min {value['min']}, max {value['max']})"


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _samples(table: pa.Table) -> list[str]:
    """The first rows as one-line JSON, long texts and lists shortened."""

    def shorten(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= SAMPLE_CHARS else value[:SAMPLE_CHARS] + "…"
        if isinstance(value, list):
            shown = [shorten(v) for v in value[:3]]
            return shown + ([f"… {len(value) - 3} more"] if len(value) > 3 else [])
        if isinstance(value, float):
            return round(value, 4)
        return value

    rows = table.slice(0, SAMPLE_ROWS).to_pylist()
    return [json.dumps({k: shorten(v) for k, v in row.items()}, ensure_ascii=False) for row in rows]
