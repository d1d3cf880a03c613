"""Record what the real sentence-transformers releases compute for reranking NDCG@k and MAP, for the tests
of hubrerank's two metric definitions (docs/metrics.md).

sentence-transformers 6.3 changed what ``CrossEncoderRerankingEvaluator`` and
``CrossEncoderNanoBEIREvaluator`` mean by NDCG@k and MAP when positives are missing from the ranked list.
hubrerank computes both definitions itself; tests/evaluation/test_metric_definitions.py checks that it
equals each release on data where the two differ. This script writes that data and what each release's
own evaluators return on it:

- ``tests/fixtures/metric_definitions/samples.json``: evaluator samples (``documents`` rows with some, all
  or none of their positives listed, rows with several positives, rows with ``negative``), in two sets;
- ``nanobeir/``: a tiny NanoBEIR-format dataset folder (configs corpus, queries, qrels, bm25; splits
  NanoMSMARCO and NanoNQ; BM25 lists that miss some qrels, some only beyond ``rerank_k``);
- ``scores.json``: the fixed float32 score of every (query, document) pair, from a hash of the pair;
- ``st-<release>.json``: per release, the libraries' versions and every evaluator run (its arguments and
  the dict it returned), with a fake model whose ``predict`` returns the scores of ``scores.json``.

For each release the driver makes a throwaway venv under ``--work`` (torch 2.13.0 CPU from a shared base
venv, linked in with a ``.pth`` file so pip never pulls a CUDA build; then
``sentence-transformers[train]==X`` with the newest libraries pip resolves for it) and runs this file's
``worker`` subcommand inside it, offline. Nothing is downloaded from any hub.

    .venv/bin/python tools/definition_fixtures.py [--versions 6.2.0,6.3.0] [--work /tmp/definition-fixtures]

The worker half imports only what the venv's sentence-transformers release brings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "metric_definitions"
DEFAULT_VERSIONS = "6.2.0,6.3.0"  # the last release of each definition
TORCH = "torch==2.13.0"
SMOKE = "from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator"
AT_KS = (10, 3)
NANOBEIR_SUBSETS = {"msmarco": "NanoMSMARCO", "nq": "NanoNQ"}
RERANK_K = 8  # shorter than the BM25 lists (10): a positive at rank 9 or 10 is cut
NANOBEIR_CONFIGS = ("corpus", "queries", "qrels", "bm25")
WORDS = (
    "river", "stone", "lamp", "violin", "harbor", "comet", "glacier", "orchard", "tram", "lantern",
    "canyon", "meadow", "island", "castle", "market", "bridge", "garden", "tunnel", "desert", "forest",
    "bakery", "volcano", "cloud", "mirror", "ladder", "pepper", "copper", "velvet", "engine",
)  # fmt: skip

# A row with ``documents``: the first stage's list ("p" a positive, "n" a negative) and how many more
# positives the query has that the list misses.
DocumentsRow = tuple[str, int]
# The mixed set covers: one positive missed, two missed of four, none listed, all listed, a positive
# beyond at_k, the only listed positive beyond at_k 10, a query without positives, two lists of 2.
DOCUMENTS_ROWS: tuple[DocumentsRow, ...] = (
    ("nnpnnn", 1),
    ("npnnpnnn", 2),
    ("nnnnn", 1),
    ("pnnpnn", 0),
    ("pnnnnnnnnnnp", 1),
    ("nnnnnnnnnnnnp", 2),
    ("nnnn", 0),
    ("np", 1),
    ("pn", 0),
)
NEGATIVE_ROWS = ((2, 4), (1, 3), (3, 5))  # (positives, negatives)
# Per NanoBEIR split, each query's BM25 top 10 and how many of its qrels BM25 did not return.
BM25_ROWS: dict[str, tuple[DocumentsRow, ...]] = {
    "NanoMSMARCO": (
        ("pnnnnnnnnn", 0),
        ("nnpnnnnnnn", 1),
        ("nnnnnnnnpn", 0),
        ("npnpnnnnnn", 1),
        ("nnnnnnnnnn", 2),
        ("pnpnnnnnnp", 1),
    ),
    "NanoNQ": (
        ("nnnpnnnnnn", 0),
        ("nnnnnnnnnp", 1),
        ("pnnnnnnnnn", 2),
        ("nnnnpnnpnn", 0),
        ("nnnnnnnnnn", 1),
    ),
}


@dataclass(frozen=True)
class RerankingRun:
    """One CrossEncoderRerankingEvaluator call: the sample set, its arguments, what it returned."""

    samples: str
    at_k: int
    always_rerank_positives: bool
    metrics: dict[str, float]


@dataclass(frozen=True)
class NanoBEIRRun:
    """One CrossEncoderNanoBEIREvaluator call on the ``nanobeir`` folder: its arguments, what it returned."""

    dataset_names: list[str]
    rerank_k: int
    at_k: int
    always_rerank_positives: bool
    metrics: dict[str, float]


# ==== driver (the hubrerank venv) =========================================================================


def score_of(query: str, document: str) -> float:
    """The fake model's score of a pair: a float32 in [0, 1) from a hash, exactly representable in JSON."""
    import numpy as np

    digest = hashlib.sha256(f"{query}\x00{document}".encode()).digest()
    return float(np.float32(int.from_bytes(digest[:4], "big") / 2**32))


def _text(rng: random.Random, label: str) -> str:
    return f"{label}: " + " ".join(rng.sample(WORDS, 5))


def _documents_row(rng: random.Random, index: int, layout: str, missed: int) -> dict[str, Any]:
    """An evaluator sample with ``documents`` laid out as ``layout`` and ``missed`` unlisted positives."""
    query = _text(rng, f"query {index}")
    documents = [
        _text(rng, f"q{index} {'positive' if kind == 'p' else 'negative'} {j}")
        for j, kind in enumerate(layout)
    ]
    listed = [doc for doc, kind in zip(documents, layout, strict=True) if kind == "p"]
    unlisted = [_text(rng, f"q{index} missed positive {j}") for j in range(missed)]
    positive = [*unlisted[:1], *listed, *unlisted[1:]]  # a missed positive first: order must not matter
    return {"query": query, "positive": positive, "documents": documents}


def _negative_row(rng: random.Random, index: int, positives: int, negatives: int) -> dict[str, Any]:
    """An evaluator sample with ``negative`` (a single positive as a string, as the evaluator allows)."""
    query = _text(rng, f"query {index}")
    positive = [_text(rng, f"q{index} positive {j}") for j in range(positives)]
    negative = [_text(rng, f"q{index} negative {j}") for j in range(negatives)]
    return {"query": query, "positive": positive[0] if positives == 1 else positive, "negative": negative}


def build_samples() -> dict[str, list[dict[str, Any]]]:
    """The two sample sets: ``mixed`` (documents rows, then negative rows) and ``negatives-only``."""
    rng = random.Random(0)
    mixed = [_documents_row(rng, i, layout, missed) for i, (layout, missed) in enumerate(DOCUMENTS_ROWS)]
    start = len(mixed)
    mixed += [_negative_row(rng, start + i, p, n) for i, (p, n) in enumerate(NEGATIVE_ROWS[:2])]
    start = len(mixed)
    negatives_only = [_negative_row(rng, start + i, p, n) for i, (p, n) in enumerate(NEGATIVE_ROWS)]
    return {"mixed": mixed, "negatives-only": negatives_only}


def build_nanobeir() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Each split's four tables (config -> rows) laid out as ``BM25_ROWS`` says."""
    rng = random.Random(1)
    tables: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for split, layouts in BM25_ROWS.items():
        corpus = [{"_id": f"{split}-d{j}", "text": _text(rng, f"{split} passage {j}")} for j in range(40)]
        ids = [doc["_id"] for doc in corpus]
        queries, qrels, bm25 = [], [], []
        for index, (layout, missed) in enumerate(layouts):
            query_id = f"{split}-q{index}"
            queries.append({"_id": query_id, "text": _text(rng, f"{split} question {index}")})
            picked = rng.sample(ids, len(layout) + missed)
            ranked, unlisted = picked[: len(layout)], picked[len(layout) :]
            positives = [doc for doc, kind in zip(ranked, layout, strict=True) if kind == "p"] + unlisted
            qrels += [{"query-id": query_id, "corpus-id": doc} for doc in positives]
            bm25.append({"query-id": query_id, "corpus-ids": ranked})
        tables[split] = {"corpus": corpus, "queries": queries, "qrels": qrels, "bm25": bm25}
    return tables


def write_nanobeir(folder: Path, tables: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    """The NanoBEIR folder: ``{config}/{split}.jsonl`` and a README whose YAML declares the configs."""
    shutil.rmtree(folder, ignore_errors=True)
    lines = ["---", "configs:"]
    for config in NANOBEIR_CONFIGS:
        (folder / config).mkdir(parents=True)
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, by_config in tables.items():
            rows = "".join(json.dumps(row) + "\n" for row in by_config[config])
            (folder / config / f"{split}.jsonl").write_text(rows)
            lines += [f"  - split: {split}", f"    path: {config}/{split}.jsonl"]
    lines += ["---", "", "A made-up NanoBEIR-format dataset written by tools/definition_fixtures.py.", ""]
    (folder / "README.md").write_text("\n".join(lines))


def build_scores(
    samples: dict[str, list[dict[str, Any]]], nanobeir: dict[str, dict[str, list[dict[str, Any]]]]
) -> dict[str, dict[str, float]]:
    """``score_of`` every pair an evaluator may score: each query with each of its documents. Refuses ties
    within a query (their order would depend on the evaluators' list order)."""
    pairs: dict[str, list[str]] = {}
    for sample in (sample for rows in samples.values() for sample in rows):
        positive = sample["positive"]
        documents = [positive] if isinstance(positive, str) else list(positive)
        pairs.setdefault(sample["query"], []).extend(
            documents + sample.get("documents", []) + sample.get("negative", [])
        )
    for tables in nanobeir.values():
        corpus = {row["_id"]: row["text"] for row in tables["corpus"]}
        queries = {row["_id"]: row["text"] for row in tables["queries"]}
        for row in tables["bm25"] + tables["qrels"]:
            ids = row["corpus-ids"] if "corpus-ids" in row else [row["corpus-id"]]
            pairs.setdefault(queries[row["query-id"]], []).extend(corpus[doc] for doc in ids)
    scores = {
        query: {doc: score_of(query, doc) for doc in dict.fromkeys(docs)} for query, docs in pairs.items()
    }
    for query, by_document in scores.items():
        if len(set(by_document.values())) != len(by_document):
            raise SystemExit(f"tied scores for query {query!r}: change the texts")
    return scores


def write_inputs(folder: Path) -> None:
    """samples.json, scores.json and the nanobeir folder, rebuilt from the constants above."""
    folder.mkdir(parents=True, exist_ok=True)
    samples, nanobeir = build_samples(), build_nanobeir()
    (folder / "samples.json").write_text(json.dumps(samples, indent=1) + "\n")
    write_nanobeir(folder / "nanobeir", nanobeir)
    scores = build_scores(samples, nanobeir)
    (folder / "scores.json").write_text(json.dumps(scores, indent=1, sort_keys=True) + "\n")


def make_venv(work: Path, version: str, log: Path) -> Path | str:
    """A venv with ``sentence-transformers[train]==version`` over the base venv's torch: its python, or why
    it could not be made. A venv that already imports the evaluators is reused."""
    base = work / "venvs" / "base"
    if not (base / "bin" / "python").exists():
        subprocess.run(["python3", "-m", "venv", str(base)], check=True)
        _run([str(base / "bin" / "pip"), "install", "-q", TORCH], log)
    site = next((base / "lib").glob("python3*/site-packages"))
    venv = work / "venvs" / f"st-{version}"
    python = venv / "bin" / "python"
    if python.exists() and _run([str(python), "-c", SMOKE], log) == 0:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    own_site = next((venv / "lib").glob("python3*/site-packages"))
    (own_site / "zz-base-torch.pth").write_text(f"{site}\n")  # torch 2.13.0 CPU, never a CUDA build
    install = [str(python), "-m", "pip", "install", "-q", f"sentence-transformers[train]=={version}", TORCH]
    if _run(install, log) != 0:
        return f"pip install failed (see {log})"
    if _run([str(python), "-c", SMOKE], log) != 0:
        return f"the evaluators do not import (see {log})"
    return python


def _run(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode


def driver(args: argparse.Namespace) -> int:
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    write_inputs(out)
    failed = 0
    for version in args.versions.split(","):
        started = time.monotonic()
        log = work / f"st-{version}.log"
        log.unlink(missing_ok=True)
        made = make_venv(work, version, log)
        if isinstance(made, str):
            print(f"{version}: cannot install: {made}", flush=True)
            failed += 1
            continue
        env = {
            **os.environ,
            "HF_HOME": str(work / f"hf-home-{version}"),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
            "PYTHONHASHSEED": "0",
        }
        command = [
            str(made),
            __file__,
            "worker",
            "--inputs",
            str(out),
            "--out",
            str(out / f"st-{version}.json"),
        ]
        code = _run(command, log, env)
        print(
            f"{version}: {'ok' if code == 0 else f'worker exited {code}, see {log}'} "
            f"({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        failed += code != 0
    return 1 if failed else 0


# ==== worker (inside a release's venv) ====================================================================


class FakeModelCardData:
    """What the evaluators store their metrics in (``store_metrics_in_model_card_data``): discarded."""

    def set_evaluation_metrics(
        self, evaluator: Any, metrics: dict[str, Any], epoch: int = 0, step: int = 0
    ) -> None:
        """Nothing to keep: the fixtures record the dict the evaluator returns."""


class FakeCrossEncoder:
    """All the evaluators use of a CrossEncoder: ``predict`` (the fixed scores of scores.json, float32, as
    ``CrossEncoder.predict`` returns them) and ``model_card_data``."""

    def __init__(self, scores: dict[str, dict[str, float]]) -> None:
        self.scores = scores
        self.model_card_data = FakeModelCardData()

    def predict(self, pairs: list[list[str]], **_: Any) -> Any:
        import numpy as np

        return np.array([self.scores[query][document] for query, document in pairs], dtype=np.float32)


def worker(args: argparse.Namespace) -> int:
    from importlib.metadata import version as installed

    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderNanoBEIREvaluator,
        CrossEncoderRerankingEvaluator,
    )

    inputs = Path(args.inputs)
    samples = json.loads((inputs / "samples.json").read_text())
    model = FakeCrossEncoder(json.loads((inputs / "scores.json").read_text()))
    reranking = []
    for name, rows in samples.items():
        for at_k in AT_KS:
            for always in (True, False):
                evaluator = CrossEncoderRerankingEvaluator(
                    rows, at_k=at_k, always_rerank_positives=always, write_csv=False
                )
                metrics = {key: float(value) for key, value in evaluator(model).items()}
                reranking.append(RerankingRun(name, at_k, always, metrics))
    nanobeir = []
    for at_k in AT_KS:
        for always in (True, False):
            evaluator = CrossEncoderNanoBEIREvaluator(
                list(NANOBEIR_SUBSETS),
                dataset_id=str(inputs / "nanobeir"),
                rerank_k=RERANK_K,
                at_k=at_k,
                always_rerank_positives=always,
                write_csv=False,
            )
            metrics = {key: float(value) for key, value in evaluator(model).items()}
            nanobeir.append(NanoBEIRRun(list(NANOBEIR_SUBSETS), RERANK_K, at_k, always, metrics))
    names = ("sentence-transformers", "scikit-learn", "numpy", "datasets", "transformers", "torch")
    record = {
        "generator": "tools/definition_fixtures.py",
        "versions": {name: installed(name) for name in names},
        "reranking": [asdict(run) for run in reranking],
        "nanobeir": [asdict(run) for run in nanobeir],
    }
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="write the inputs and every release's outputs (the default)")
    for target in (parser, run):
        target.add_argument("--versions", default=DEFAULT_VERSIONS, help="comma-separated releases")
        target.add_argument("--work", default="/tmp/definition-fixtures", help="venvs and logs")
        target.add_argument("--out", default=str(FIXTURES))
    work = sub.add_parser("worker", help="(internal) run the evaluators inside one release's venv")
    work.add_argument("--inputs", required=True)
    work.add_argument("--out", required=True)
    args = parser.parse_args()
    return worker(args) if args.command == "worker" else driver(args)


if __name__ == "__main__":
    sys.exit(main())
