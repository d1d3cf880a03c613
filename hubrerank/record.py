"""The model's record: the files hubrerank writes beside the weights, named, read and written here only.

A trained model folder (and the model repo it is pushed to) holds, besides the weights and the card:

- ``hubrerank.yaml``: the recipe with every revision a sha, plus environment, metrics and training
  statistics (:class:`RunRecord`);
- ``eval_results.json``: every evaluation's metrics (:class:`EvalResults`, docs/contracts.md);
- ``training_log.jsonl``: the trainer's log history, one JSON object a line;
- ``reproductions/*.json``: the reports ``verify --push-report`` and ``reproduce --push-report`` add.

Training writes them, cards, verify and reproduce read them; nobody else names these files. The
structures are TypedDicts over the JSON/YAML documents, so the files stay byte-identical while every
reader sees which keys exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

import yaml

from hubrerank.errors import InputError
from hubrerank.kinds.spec import ENCODER_RERANKING, SPLIT_TASKS
from hubrerank.signatures import is_model_file

RECIPE_FILE = "hubrerank.yaml"
RESULTS_FILE = "eval_results.json"
LOG_FILE = "training_log.jsonl"
REPORTS_DIR = "reproductions"
VARIANTS_FILE = "variants.json"  # hubrerank export's ONNX / OpenVINO variants and their measurements
CARD_FILE = "README.md"
WEIGHTS_FILE = "model.safetensors"
# What a model repo's record is made of (download patterns), and what a card is rendered from.
RECORD_FILES = [RECIPE_FILE, RESULTS_FILE, CARD_FILE, LOG_FILE, VARIANTS_FILE, f"{REPORTS_DIR}/*.json"]
CARD_SOURCES = [RECIPE_FILE, RESULTS_FILE, LOG_FILE, VARIANTS_FILE, f"{REPORTS_DIR}/*.json"]
# A model snapshot: configs, tokenizers and safetensors weights; never pickled weights or code.
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "README.md"]
# The keys that say which evaluation a result is (data, revision, split, cut-offs), without its numbers.
RESULT_KEYS = (
    "task",
    "dataset",
    "revision",
    "config",
    "split",
    "at_k",
    "datasets",
    "rerank_k",
    "always_rerank_positives",
    "dtype",
    "dtype_scheme",
    "backend",
    "model_file",
    "batching",
)


class ModelPointer(TypedDict):
    """A model by repo id and commit sha."""

    repo: str
    revision: str


class VersusFirstStage(TypedDict):
    """A reranking compared with its first stage query by query (hubrerank.evaluation.significance)."""

    metric: str
    queries: int
    delta: float
    wins: int
    losses: int
    ties: int
    p_value: float
    test: str


class EvalResult(TypedDict, total=False):
    """One evaluation: which data (``RESULT_KEYS``) and the metrics measured on it."""

    task: str  # "reranking", "retrieval", "triplet", "nanobeir" or "nanobeir-retrieval"
    dataset: str
    revision: str
    config: str | None
    split: str
    at_k: int
    datasets: list[str]
    rerank_k: int
    num_queries: int
    queries_without_positives: int
    corpus_size: int  # retrieval: the documents each query searched
    columns: list[str]  # triplet: the anchor, positive and negative columns read
    num_triplets: int
    similarity: str  # nanobeir-retrieval, a sparse encoder's retrieval: the model's similarity function
    always_rerank_positives: bool  # nanobeir: written only when false (the evaluator's default is true)
    dtype: str  # the precision the model ran in: written only when not float32 (hubrerank.runtime)
    # how it ran in it: "linear" (the transformer blocks' Linear layers) or "whole" (the model cast);
    # absent beside a dtype: recorded before schemes were, when the whole model was cast
    dtype_scheme: str
    # any variant but float32 torch: how a bi-encoder's texts were batched, "tokens" (by token count) or
    # "characters" (sentence-transformers' encode); absent beside a variant: recorded before, by characters
    batching: str
    # reranking, nanobeir: the definition of NDCG and MAP in ``metrics`` (absent: listed-positives, see
    # hubrerank.evaluation.definitions) and the metrics each other definition gives differently
    metric_definition: str
    other_definitions: dict[str, dict[str, float]]
    metrics: dict[str, float]
    versus_first_stage: VersusFirstStage


class Baseline(TypedDict):
    """The same evaluations run on another model, normally the base model before fine-tuning."""

    model: ModelPointer | None
    results: list[EvalResult]


class EvalResults(TypedDict, total=False):
    """eval_results.json."""

    hubrerank_version: str
    model: ModelPointer | None
    results: list[EvalResult]
    baselines: list[Baseline]


class RunRecord(TypedDict, total=False):
    """hubrerank.yaml: the pinned recipe (docs/recipe.md) plus what the run measured."""

    hubrerank: int
    name: str
    seed: int
    base_model: dict[str, Any]
    model: dict[str, Any]
    train: list[dict[str, Any]]
    eval: dict[str, Any] | None
    loss: dict[str, Any]
    args: dict[str, Any]
    evaluation: dict[str, Any]
    environment: dict[str, Any]
    metrics: dict[str, float]
    training: dict[str, Any]


LogRow = dict[str, Any]  # one entry of the trainer's log history: step, epoch, loss or eval metrics
Report = dict[str, Any]  # a verification report as written by hubrerank.reproducibility.verify.Report


def has_run_record(folder: Path) -> bool:
    """True when ``folder`` holds a hubrerank.yaml (a model hubrerank trained)."""
    return (folder / RECIPE_FILE).is_file()


def read_run_record(folder: Path) -> RunRecord:
    """``folder``'s hubrerank.yaml; InputError naming the file when it is absent or not a YAML mapping."""
    path = folder / RECIPE_FILE
    try:
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{path} is not valid YAML: {_one_line(error)}") from None
    if not isinstance(record, dict):
        raise InputError(f"{path} must be a YAML mapping; rerun `hubrerank train`")
    return record  # type: ignore[return-value]


def write_run_record(folder: Path, record: RunRecord) -> None:
    (folder / RECIPE_FILE).write_text(yaml.safe_dump(dict(record), sort_keys=False, width=110), "utf-8")


def read_results(path: Path) -> EvalResults:
    """An eval_results.json file (a model folder's, or one written by ``hubrerank eval --json``)."""
    results = read_json(path)
    if not isinstance(results, dict) or not isinstance(results.get("results"), list):
        raise InputError(f"{path} must be an object with a 'results' list")
    return results  # type: ignore[return-value]


def write_results(path: Path, results: EvalResults | dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def read_log(folder: Path) -> list[LogRow]:
    """``folder``'s training log, empty when there is none."""
    path = folder / LOG_FILE
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"{path} line {number} is not JSON; rerun `hubrerank train`") from None
    return rows


def write_log(folder: Path, rows: list[LogRow]) -> None:
    (folder / LOG_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def read_reports(folder: Path) -> list[Report]:
    """The verification reports stored beside a model, oldest first."""
    reports = [read_json(path) for path in sorted((folder / REPORTS_DIR).glob("*.json"))]
    return sorted(reports, key=lambda report: str(report.get("timestamp", "")))


def report_path(timestamp: str) -> str:
    """The repo path of a report made at ``timestamp`` (``%Y%m%dT%H%M%S.%fZ``)."""
    return f"{REPORTS_DIR}/{timestamp}.json"


def encode_report(report: Report) -> bytes:
    return (json.dumps(report, indent=2) + "\n").encode()


def is_report_file(path: str) -> bool:
    """True for the files a verification report commit may change (never the model's own files, which a
    signed result covers: :func:`hubrerank.signatures.is_model_file`)."""
    return not is_model_file(path)


def read_card_text(folder: Path) -> str:
    """``folder``'s README.md, empty when there is none."""
    path = folder / CARD_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def read_json(path: Path) -> Any:
    """A record file's JSON content; InputError naming it when it cannot be read or is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON ({error})") from None


def metric_key(result: EvalResult | dict[str, Any], metric: str) -> str:
    """A result's metric as hubrerank.yaml's ``metrics`` and verify's reports name it:
    ``<dataset>:<split>/<metric>`` for a split task, ``<dataset>:<split>/encoder-reranking/<metric>`` for an
    encoder-reranking one (a sparse or multi-vector encoder also retrieves from the split, with metrics of
    the same names), NanoBEIR keys as is."""
    if result["task"] == ENCODER_RERANKING:
        return f"{result['dataset']}:{result.get('split')}/{ENCODER_RERANKING}/{metric}"
    if result["task"] in SPLIT_TASKS:
        return f"{result['dataset']}:{result.get('split')}/{metric}"
    return metric


def result_identity(result: EvalResult | dict[str, Any]) -> dict[str, Any]:
    """Which evaluation a result is: its ``RESULT_KEYS`` that are set."""
    return {key: result[key] for key in RESULT_KEYS if result.get(key) is not None}


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
