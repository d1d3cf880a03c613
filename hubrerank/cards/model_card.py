"""Model cards: README.md and ``.eval_results/*.yaml`` for a trained reranker, from the files training wrote.

The card is rendered from ``hubrerank.yaml`` (the resolved recipe), ``eval_results.json`` and
``training_log.jsonl`` alone, so it can be regenerated at any time without retraining. Its YAML header
carries a ``model-index`` built with huggingface_hub's ``EvalResult`` (so ``model_index_to_eval_results``
reads it back); the same numbers go to ``.eval_results/*.yaml`` for the Hub's eval-results view.
Links are root-relative (``/datasets/ID/tree/SHA``) so they work on whichever Hub serves the card, and
nothing local (paths, the endpoint URL, tokens) is written into it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hubrerank.cards.metrics import NANOBEIR_TASKS
from hubrerank.cards.model_index import eval_result_entries, model_index_results
from hubrerank.cards.render import MODEL_CARD_TEMPLATE, render_template
from hubrerank.cards.sections import (
    as_list,
    base_model,
    baseline_label,
    encoder_reranking_view,
    eval_dataset_rows,
    hyperparameters,
    is_local,
    log_view,
    nanobeir_view,
    recipe_rows,
    report_view,
    reranking_view,
    retrieval_view,
    summary,
    train_dataset_rows,
    triplet_view,
    versions,
)
from hubrerank.errors import InputError
from hubrerank.kinds.detect import module_classes
from hubrerank.kinds.spec import DEFAULT_KIND, ENCODER_RERANKING, get_kind
from hubrerank.record import (
    CARD_SOURCES,
    RECIPE_FILE,
    RESULTS_FILE,
    EvalResults,
    LogRow,
    RunRecord,
    read_log,
    read_results,
    read_run_record,
)
from hubrerank.refs import Ref, ResolvedRef


@dataclass(frozen=True)
class CardLicense:
    """The card's ``license`` and ``language`` and, for each, whose card it was taken from."""

    values: dict[str, Any]
    sources: dict[str, str]

    def described(self) -> list[str]:
        """``license `cc-by-4.0` (from the training dataset acme/faq's card)`` for each value found."""
        return [
            f"{key} `{', '.join(as_list(self.values[key]) or [])}` (from the card of {self.sources[key]})"
            for key in ("license", "language")
            if key in self.values
        ]


if TYPE_CHECKING:
    from huggingface_hub import ModelCard

# the files a card is built from, as download patterns


def read_model_files(model_dir: Path) -> tuple[RunRecord, EvalResults, list[LogRow]]:
    """The run record, the results and the training log (empty when absent) of a trained model folder."""
    for name in (RECIPE_FILE, RESULTS_FILE):
        if not (model_dir / name).is_file():
            raise InputError(
                f"{name} not found in {model_dir}: a card needs the {RECIPE_FILE} and {RESULTS_FILE} "
                "that `hubrerank train` writes into the model folder"
            )
    return read_run_record(model_dir), read_results(model_dir / RESULTS_FILE), read_log(model_dir)


def render_model_card(
    model_dir: Path,
    repo_id: str | None = None,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> ModelCard:
    """The model card of the trained model in ``model_dir``, to be published as ``repo_id``.

    ``revision`` is the commit (or tag) holding these weights, written into the usage snippet and the
    reproduce commands; leave it None when the card goes into that very commit, whose sha cannot be
    known before it exists. ``reports`` are verification reports (``reproductions/*.json``).
    """
    from huggingface_hub import ModelCard, ModelCardData

    from hubrerank.cards.variants import with_variants_section
    from hubrerank.variants import read_variants

    model_dir = Path(model_dir)
    recipe, results, log = read_model_files(model_dir)
    model_id = repo_id or str(recipe.get("name") or model_dir.name)
    base = base_model(recipe)
    train_datasets = train_dataset_rows(recipe)
    inherited = _card_metadata(base, train_datasets)
    eval_results = results["results"]
    eval_datasets = eval_dataset_rows(eval_results)
    baselines = results.get("baselines") or []
    baseline_results = baselines[0].get("results", []) if baselines else []
    kind = get_kind((recipe.get("model") or {}).get("kind", DEFAULT_KIND))
    card_data = ModelCardData(
        model_name=model_id,
        base_model=base["id"],
        datasets=list(dict.fromkeys([d["id"] for d in train_datasets] + [d["id"] for d in eval_datasets])),
        language=as_list(inherited.values.get("language")),
        license=inherited.values.get("license"),
        library_name="sentence-transformers",
        pipeline_tag=kind.task_type,
        tags=kind.card_tags_for(module_classes(model_dir)),
        eval_results=model_index_results(results, kind) or None,
    )
    reranking = [reranking_view(r, baseline_results) for r in eval_results if r.get("task") == "reranking"]
    nanobeir = [nanobeir_view(r, baseline_results) for r in eval_results if r.get("task") in NANOBEIR_TASKS]
    retrieval = [retrieval_view(r, baseline_results) for r in eval_results if r.get("task") == "retrieval"]
    triplet = [triplet_view(r, baseline_results) for r in eval_results if r.get("task") == "triplet"]
    encoder_reranking = [
        encoder_reranking_view(r, baseline_results)
        for r in eval_results
        if r.get("task") == ENCODER_RERANKING
    ]
    text = render_template(
        MODEL_CARD_TEMPLATE,
        card_data=card_data.to_yaml(),
        title=model_id.split("/")[-1],
        model_id=model_id,
        load_id=repo_id or f"path/to/{model_dir.name}",
        published=repo_id is not None,
        folder=model_dir.name,
        revision=revision,
        base=base,
        metadata_sources=inherited.described(),
        train_datasets=train_datasets,
        eval_datasets=eval_datasets,
        kind=kind.name,
        model_class=kind.st_model_type,
        retrieval_evaluator=kind.in_training_evaluator.rpartition(":")[2],
        summary=summary(reranking, nanobeir, retrieval, triplet, encoder_reranking),
        baseline_label=baseline_label(baselines[0]) if baselines else None,
        reranking=reranking,
        nanobeir=nanobeir,
        retrieval=retrieval,
        triplet=triplet,
        encoder_reranking=encoder_reranking,
        encoder_reranking_evaluator=_evaluator_name(kind.extra_evaluations, ENCODER_RERANKING),
        recipe=recipe_rows(recipe, base),
        hyperparameters=hyperparameters(recipe),
        versions=versions(recipe),
        log=log_view(log, recipe),
        reproduce_ref=f"{repo_id or 'ORG/NAME'}@{revision or '<this commit>'}",
        reports=[report_view(report) for report in reports or []],
    )
    variants = read_variants(model_dir)
    if variants is not None:
        text = with_variants_section(text, variants)
    return ModelCard(_redact(text, model_dir))


def card_files(
    model_dir: Path,
    repo_id: str,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> dict[str, bytes]:
    """The files that publish a card: ``README.md`` and ``.eval_results/*.yaml`` (repo path -> bytes)."""
    from huggingface_hub import eval_result_entries_to_yaml
    from huggingface_hub.constants import EVAL_RESULTS_FOLDER

    from hubrerank.benchmark.spec import benchmark_task_ids

    card = render_model_card(model_dir, repo_id, reports, revision=revision)
    _, results, _ = read_model_files(Path(model_dir))
    files = {"README.md": str(card).encode()}
    hub_datasets = {r["dataset"] for r in results["results"] if "dataset" in r and not is_local(r["dataset"])}
    for name, entries in eval_result_entries(results, benchmark_task_ids(sorted(hub_datasets))).items():
        text = yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True)
        files[f"{EVAL_RESULTS_FOLDER}/{name}.yaml"] = text.encode()
    return files


def fetch_card_sources(ref: ResolvedRef) -> Path:
    """Download the files a card is built from, at the pinned commit."""
    from hubrerank.hub import download

    folder = download(ref, allow_patterns=CARD_SOURCES)
    for name in (RECIPE_FILE, RESULTS_FILE):
        if not (folder / name).is_file():
            raise InputError(
                f"model repo {ref} has no {name}: only models trained and pushed by `hubrerank train` "
                "carry the recipe and results a card is built from"
            )
    return folder


def publish_card(
    model_dir: Path,
    repo_id: str,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> ResolvedRef:
    """Publish README.md and .eval_results/* to ``repo_id`` in one commit; returns the new commit.

    When ``revision`` names the commit the card describes, it must still be the head of main: a card
    rendered from an older commit would describe other weights than the ones it is published beside.
    """
    from hubrerank.hub import publish, resolve

    if revision is not None:
        head = resolve(Ref(repo_id, "main"))
        if head.sha != revision and resolve(Ref(repo_id, revision)).sha != head.sha:
            raise InputError(
                f"{repo_id}@{revision} is not the head of main ({head.sha}); regenerate the card from "
                f"{repo_id} (its current head) instead"
            )
    files = card_files(model_dir, repo_id, reports, revision=revision)
    return publish(repo_id, files, message="Update model card (hubrerank card)")


# ---- the card's sections -------------------------------------------------------------------------------


def _card_metadata(base: dict[str, str | None], train_datasets: list[dict[str, Any]]) -> CardLicense:
    """License and language from the cards of the training data, else of the base model, at their pinned
    revisions, with where each came from. The data decides what the model may be used for and which
    language it learned, so it goes first; empty offline or without such cards."""
    from hubrerank.hub import card_data

    sources = [("dataset", ds["id"], ds["revision"]) for ds in train_datasets if not is_local(ds["id"])]
    sources += [("model", base["id"], base["revision"])] if base["id"] else []
    found = CardLicense({}, {})
    for repo_type, repo, revision in sources:
        data = card_data(ResolvedRef(repo, revision or "main", repo_type))  # type: ignore[arg-type]
        what = f"the training dataset {repo}" if repo_type == "dataset" else f"the base model {repo}"
        for key in ("license", "language"):
            if data.get(key) and key not in found.values:
                found.values[key], found.sources[key] = data[key], what
    return found


# ---- helpers ------------------------------------------------------------------------------------------


def _redact(text: str, model_dir: Path) -> str:
    """Remove what must never reach a public card: tokens, local folders, a non-public endpoint URL."""
    secrets = [os.environ.get(name) for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")]
    for secret in filter(None, secrets):
        if len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    for folder in {str(model_dir.resolve()), str(model_dir.absolute())}:
        text = text.replace(folder, f"<local>/{model_dir.name}")
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    if endpoint and endpoint != "https://huggingface.co":
        text = text.replace(endpoint, "")
    return text


def _evaluator_name(evaluations: tuple[tuple[str, str], ...], task: str) -> str:
    """The class name of the evaluator a kind re-runs for an extra evaluation ``task`` ("" for none)."""
    return dict(evaluations).get(task, "").rpartition(":")[2]
