"""Signed results: the verifier's key, and the ``.eval_results`` entries ``verify`` writes with it.

``hubrerank keys create`` writes an Ed25519 key (PKCS#8 PEM, mode 0600) to
``$HUBRERANK_HOME/keys/verify-ed25519.pem``; in CI the PEM text comes from ``$HUBRERANK_SIGNING_KEY``
(a repository secret). Its public half is registered to the user on the Hub (``hubrerank keys
register``, or ``hubrerank hub key add`` on the embedded Hub's machine). ``verify --open-pr`` and
``verify --push-report`` then write ``.eval_results/hubrerank-<user>.yaml``: one entry per checked headline
metric, with the **re-measured** value (never the claimed one) and a ``verifyToken`` signing it
(:mod:`hubrerank.signatures`), so the Hub can show it as verified; ``eval --open-pr`` does the same with
what it measured on a model that claims nothing for it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hubrerank import __version__
from hubrerank.endpoint import hubrerank_home
from hubrerank.errors import InputError
from hubrerank.signatures import PIPELINE_NOTE, SignedResult, SigningKey

if TYPE_CHECKING:
    from huggingface_hub import EvalResultEntry

    from hubrerank.evaluation.pipeline import PipelineResults
    from hubrerank.refs import ResolvedRef
    from hubrerank.reproducibility.verify import Report

KEY_ENV = "HUBRERANK_SIGNING_KEY"
EVAL_RESULTS_FOLDER = ".eval_results"


def default_key_path() -> Path:
    """Where ``hubrerank keys create`` writes the key and where ``verify`` looks for it."""
    return hubrerank_home() / "keys" / "verify-ed25519.pem"


def create_key(path: Path | None = None, *, force: bool = False) -> tuple[SigningKey, Path]:
    """Generate a key and write it to ``path`` (default :func:`default_key_path`), readable by its owner
    only; an existing key is kept unless ``force`` (it may already be registered)."""
    path = path or default_key_path()
    if path.exists() and not force:
        raise InputError(f"{path} already exists; keep it, or pass --force to replace it (and register anew)")
    key = SigningKey.generate()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # created 0600
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key.to_pem())
        os.replace(tmp, path)
    except OSError as error:
        raise InputError(
            f"cannot write the key {path}: {error.strerror or error}; choose another --key-file"
        ) from None
    return key, path


def load_key(path: Path | None = None) -> tuple[SigningKey, str] | None:
    """The signing key and where it came from: ``path``, else ``$HUBRERANK_SIGNING_KEY``, else the default
    file; None when none is configured (an explicit ``path`` must exist)."""
    if path is not None:
        return SigningKey.load(path), str(path)
    if os.environ.get(KEY_ENV, "").strip():
        return SigningKey.from_pem(os.environ[KEY_ENV], f"${KEY_ENV}"), f"${KEY_ENV}"
    if default_key_path().is_file():
        return SigningKey.load(default_key_path()), str(default_key_path())
    return None


def results_file(user: str) -> str:
    """The ``.eval_results`` file a verifier's entries go to: one per verifier, so several coexist."""
    return f"{EVAL_RESULTS_FOLDER}/hubrerank-{user}.yaml"


NEW = "NEW"  # the verdict of a value measured where the repo claims nothing (``eval --open-pr``)


@dataclass(frozen=True)
class Measurement:
    """One measured headline metric as an eval-results entry: the metric and its definition, and how it
    compares with the repo's claim (``tolerance`` and ``verdict``; NEW and 0 where there is no claim)."""

    entry: EvalResultEntry
    metric: str
    definition: str | None
    tolerance: float
    verdict: str
    pipeline: str | None = None  # the first stage a reranker was measured on (its notes say so too)


def _entries(result: Mapping[str, Any], metric: str, value: float, benchmarks: Mapping) -> list:
    """The entries hubrerank's cards write for ``metric`` of ``result``, with ``value``."""
    from hubrerank.cards.model_index import eval_result_entries

    measured = {**result, "metrics": {metric: value}}
    return [
        entry
        for entries in eval_result_entries({"results": [measured]}, benchmarks).values()
        for entry in entries
    ]


def _benchmarks(results: Iterable[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """The benchmark task ids of the Hub datasets ``results`` were measured on."""
    from hubrerank.benchmark.spec import benchmark_task_ids
    from hubrerank.cards.sections import is_local

    datasets = {str(result.get("dataset", "")) for result in results}
    return benchmark_task_ids(sorted(d for d in datasets if d and not is_local(d)))


def report_measurements(report: Report) -> list[Measurement]:
    """The report's checked headline metrics as ``.eval_results`` entries of their re-measured values.

    Dataset ids and task ids are the ones hubrerank's own cards write
    (:func:`hubrerank.cards.model_index.eval_result_entries`, naming a benchmark's task where the dataset
    is one), so the leaderboard puts a re-measured value next to the self-reported one. Claims the re-run
    did not produce have no entry, and neither do an ONNX or OpenVINO variant's (variants.json): they are
    another file's numbers, not the weights' the leaderboard ranks.
    """
    benchmarks = _benchmarks(check.claim.result for check in report.checks)
    found = []
    for check in report.checks:
        if check.measured is None or check.claim.result.get("backend"):
            continue
        claim = check.claim
        result = {**claim.result, **({"metric_definition": claim.definition} if claim.definition else {})}
        verdict = "PASS" if check.ok else "FAIL"
        found += [
            Measurement(entry, claim.metric, claim.definition, check.tolerance, verdict)
            for entry in _entries(result, claim.metric, check.measured, benchmarks)
        ]
    return found


def result_measurements(results: Mapping[str, Any]) -> list[Measurement]:
    """Every headline metric of an evaluation (an eval_results document, ``hubrerank eval --json``) as
    ``.eval_results`` entries: values measured where the repo may claim nothing (verdict NEW). A result
    measured in an ONNX or OpenVINO variant gives none (another file's numbers than the weights')."""
    benchmarks = _benchmarks(results["results"])
    return [
        Measurement(entry, metric, result.get("metric_definition"), 0.0, NEW)
        for result in results["results"]
        if not result.get("backend")
        for metric, value in result.get("metrics", {}).items()
        for entry in _entries(result, metric, value, benchmarks)
    ]


PIPELINE_METRIC = "ndcg@10"  # what a retrieval benchmark ranks (InformationRetrievalEvaluator)


def pipeline_measurements(results: PipelineResults) -> tuple[ResolvedRef, list[Measurement]]:
    """The reranker of a ``hubrerank pipeline`` run and its NDCG@10 behind each first stage, as
    ``.eval_results`` entries of the split's retrieval task: the whole corpus searched by the first stage,
    its top-k reranked. Each entry's notes state the first stage (``pipeline: REPO@SHA, top K reranked``),
    and its token signs that statement, so a leaderboard tells two pipelines of one reranker apart."""
    from huggingface_hub import EvalResultEntry

    from hubrerank.benchmark.spec import task_id
    from hubrerank.cards.metrics import metric_label
    from hubrerank.refs import ResolvedRef

    reranker = results.models.get(results.reranker or "", "")
    repo, _, sha = reranker.partition("@")
    if not sha:
        raise InputError(
            "pipeline results are proposed to the reranker's Hub repo: give --reranker as REPO[@REV], "
            f"not the local folder {reranker or '(none)'}"
        )
    task = task_id("retrieval", results.config, results.split, PIPELINE_METRIC, None)
    measurements = []
    for row in results.pipelines:
        if row.reranker is None or PIPELINE_METRIC not in row.metrics:
            continue
        first_stage = results.models.get(row.first_stage, row.first_stage)
        pipeline = f"{first_stage}, top {results.top_k} reranked"
        entry = EvalResultEntry(
            dataset_id=results.dataset,
            task_id=task,
            value=row.metrics[PIPELINE_METRIC],
            dataset_revision=results.revision,
            notes=f"{metric_label(PIPELINE_METRIC, setting=False)}; the split's whole corpus searched by "
            f"the first stage; {PIPELINE_NOTE}{pipeline}",
        )
        measurements.append(Measurement(entry, PIPELINE_METRIC, None, 0.0, NEW, pipeline))
    return ResolvedRef(repo, sha), measurements


@dataclass(frozen=True)
class Provenance:
    """Who measured, where the record of it is, what it is called, and when."""

    signer: str
    source_url: str
    source_name: str
    date: str


def signed_entries(
    measurements: Iterable[Measurement], model: ResolvedRef, provenance: Provenance, key: SigningKey | None
) -> list[EvalResultEntry]:
    """The measurements' entries, each with its source and, with a ``key``, a verifyToken."""
    out = []
    for found in measurements:
        entry, token = found.entry, None
        if key is not None:
            token = key.sign(
                SignedResult(
                    model=model.repo_id,
                    model_sha=model.sha,
                    dataset=entry.dataset_id,
                    dataset_revision=entry.dataset_revision,
                    task_id=entry.task_id,
                    metric=found.metric,
                    metric_definition=found.definition,
                    value=float(entry.value),
                    tolerance=found.tolerance,
                    verdict=found.verdict,
                    hubrerank_version=__version__,
                    signer=provenance.signer,
                    signed_at=provenance.date,
                    pipeline=found.pipeline,
                )
            )
        out.append(
            dataclasses.replace(
                entry,
                verify_token=token,
                date=provenance.date,
                source_url=provenance.source_url,
                source_name=provenance.source_name,
                source_user=provenance.signer,
                notes=(entry.notes or "") + f"; {provenance.source_name} by {provenance.signer}",
            )
        )
    return out


def entries_yaml(entries: list[EvalResultEntry]) -> bytes:
    """The ``.eval_results`` file's bytes, as huggingface_hub serialises entries, each marked
    ``remeasured: true`` (hubrerank's field: the value was measured again, not copied from a claim)."""
    from huggingface_hub import eval_result_entries_to_yaml

    data = [{**item, "remeasured": True} for item in eval_result_entries_to_yaml(entries)]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
