"""Generate model cards with the real sentence-transformers releases, for `hubrerank recipe from-card`.

For each release (every one from 4.0 that the corpus lacks, as the package index lists them) this makes
a throwaway venv under the work dir (torch 2.13.0 CPU from a shared base venv,
sentence-transformers[train]==X with the newest transformers/datasets that work with it), trains a tiny
randomly initialised BERT cross-encoder for a few steps per case (losses, evaluators, fit(),
a custom head, fp16/bf16, non-default arguments) and keeps the README.md the library wrote, beside a
case.json holding exactly the arguments the script gave. With ``--kind bi-encoder`` it trains a tiny
SentenceTransformer (the same BERT with mean Pooling) with SentenceTransformerTrainer instead
(``BI_CASES``: losses, a wrapped loss, a guide model, retrieval and triplet evaluators), into
``<out>/bi-encoder/<release>/``. With ``--kind sparse-encoder`` it trains a tiny SPLADE SparseEncoder (the
same BERT with its masked-LM head) with SparseEncoderTrainer (``SPARSE_CASES``: SpladeLoss around the
sparse ranking losses, CachedSpladeLoss, the sparse retrieval and NanoBEIR evaluators), from 5.0, the
first release that has them, into ``<out>/sparse-encoder/<release>/``; ``--kind multi-vector`` a tiny
ColBERT-style MultiVectorEncoder from the plain BERT with MultiVectorEncoderTrainer (``MULTI_VECTOR_CASES``),
from 6.0, into ``<out>/multi-vector/<release>/``. Base model and datasets come from
a local hubrerank Hub the script starts (the real Hub is never contacted): datasets are pushed there and
loaded back by id and revision, as a user would. See docs/st-card-corpus.md.

    .venv/bin/python tools/st_card_corpus.py                  # every kind, every release not in the corpus
    .venv/bin/python tools/st_card_corpus.py --all            # every release from 4.0, and the +contemporary
    .venv/bin/python tools/st_card_corpus.py --kind bi-encoder --versions 6.2.0 [--cases gist]
    .venv/bin/python tools/st_card_corpus.py --kind sparse-encoder --versions 5.0.0,6.3.0

The same file is the worker the driver runs inside each venv (``worker`` subcommand); the worker half
imports only what the venv's sentence-transformers release brings.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sentence-transformers"
FIRST_RELEASE = "4.0.0"  # the first release whose CrossEncoderTrainer writes a card
TOKEN = "hrk_corpus_" + "c" * 30
NAMESPACE = "corpus"
BASE_MODEL = f"{NAMESPACE}/tiny-bert"
BI_BASE_MODEL = f"{NAMESPACE}/tiny-bert-st"  # the same BERT with mean Pooling: a SentenceTransformer
MLM_BASE_MODEL = f"{NAMESPACE}/tiny-bert-mlm"  # the same BERT with a masked-LM head: what SPLADE starts from
KINDS = ("cross-encoder", "bi-encoder", "sparse-encoder", "multi-vector")
# the first release whose trainer of each kind writes a card (SparseEncoder arrived in 5.0,
# MultiVectorEncoder in 6.0)
FIRST_RELEASES = {
    "cross-encoder": FIRST_RELEASE,
    "bi-encoder": FIRST_RELEASE,
    "sparse-encoder": "5.0.0",
    "multi-vector": "6.0.0",
}
ALL_KINDS = "all"
DL19 = Path("/work/shared/data/trec-dl19/derived")
# pins tried in turn until `import` of the trainer works; the first is sentence-transformers' own ranges
PIN_ATTEMPTS: tuple[tuple[str, ...], ...] = (
    (),
    ("transformers<5", "huggingface_hub<1.0"),
    ("transformers<4.52", "huggingface_hub<1.0", "datasets<4"),
)
# "<release>+contemporary" installs a release with the libraries of its time instead of the newest that
# work: datasets < 4 still recorded download checksums, from which cards name a dataset's id and revision
CONTEMPORARY_PINS: dict[str, tuple[str, ...]] = {
    "4.0.2": ("transformers<4.51", "datasets<3.5", "huggingface_hub<0.30", "accelerate<1.6"),
    "4.1.0": ("transformers<4.52", "datasets<3.6", "huggingface_hub<0.31", "accelerate<1.7"),
    "5.0.0": ("transformers<4.54", "datasets<4", "huggingface_hub<0.34", "accelerate<1.9"),
}
# releases that import with the newest libraries but fail to train with them (5.2.0 to 5.2.2: the trainer
# calls Trainer._nested_gather, which transformers 5 removed): the pins tried first
_BEFORE_TRANSFORMERS_5 = ("transformers<5", "huggingface_hub<1.0")
TRAIN_PINS: dict[str, tuple[str, ...]] = dict.fromkeys(("5.2.0", "5.2.1", "5.2.2"), _BEFORE_TRANSFORMERS_5)
CONTEMPORARY = tuple(f"{version}+contemporary" for version in CONTEMPORARY_PINS)
SMOKE = "from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer"


@dataclass(frozen=True)
class Case:
    """One training run: what the worker builds and passes to sentence-transformers."""

    name: str
    loss: str | None = "BinaryCrossEntropyLoss"
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    train: str = "toy-pairs"
    pin_revision: bool = True
    num_labels: int = 1
    evaluator: str | None = None
    evaluator_kwargs: dict[str, Any] = field(default_factory=dict)
    eval_dataset: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    api: str = "trainer"  # trainer | fit | untrained
    head: bool = False  # append a Dense module after the transformer (modular CrossEncoders only)
    fit_loss_fct: str | None = None  # a torch.nn loss class passed to fit() as loss_fct


RERANK = {"evaluator": "CrossEncoderRerankingEvaluator", "evaluator_kwargs": {"at_k": 10}}
LISTWISE_ARGS = {"per_device_train_batch_size": 4, "learning_rate": 5e-5}
CASES: tuple[Case, ...] = (
    Case(
        "bce-reranking",
        eval_dataset="toy-pairs",
        args={
            "eval_strategy": "steps",
            "eval_steps": 2,
            "learning_rate": 3e-5,
            "warmup_ratio": 0.1,
            "optim": "adamw_torch",
            "lr_scheduler_type": "cosine",
            "seed": 7,
        },
        **RERANK,
    ),
    Case(
        "bce-no-revision",
        pin_revision=False,
        args={"seed": 11, "weight_decay": 0.01, "dataloader_drop_last": True},
    ),
    Case(
        "ce-classification",
        loss="CrossEntropyLoss",
        train="toy-graded",
        num_labels=4,
        evaluator="CrossEncoderClassificationEvaluator",
        args={"gradient_accumulation_steps": 2, "max_grad_norm": 0.5, "seed": 3},
    ),
    Case(
        "mnrl-steps-no-eval-data",
        loss="MultipleNegativesRankingLoss",
        loss_kwargs={"num_negatives": 2},
        train="toy-triplets",
        args={"eval_strategy": "steps", "eval_steps": 2, "batch_sampler": "no_duplicates"},
        **RERANK,
    ),
    Case(
        "cmnrl",
        loss="CachedMultipleNegativesRankingLoss",
        loss_kwargs={"mini_batch_size": 4, "num_negatives": 2},
        train="toy-triplets",
        args={"learning_rate": 4e-5, "warmup_steps": 1},
    ),
    Case(
        "mse-correlation",
        loss="MSELoss",
        train="toy-scores",
        evaluator="CrossEncoderCorrelationEvaluator",
        args={"learning_rate": 1e-4, "adam_beta2": 0.99},
    ),
    Case("marginmse", loss="MarginMSELoss", train="toy-margins", args={"seed": 5}),
    Case("listnet", loss="ListNetLoss", train="toy-lists", args=LISTWISE_ARGS),
    Case("listmle", loss="ListMLELoss", train="toy-lists", args=LISTWISE_ARGS),
    Case("plistmle", loss="PListMLELoss", train="toy-lists", args=LISTWISE_ARGS),
    Case("lambdaloss", loss="LambdaLoss", loss_kwargs={"k": 5}, train="toy-lists", args=LISTWISE_ARGS),
    Case("ranknet", loss="RankNetLoss", train="toy-lists", args=LISTWISE_ARGS),
    Case(
        "nanobeir",
        evaluator="CrossEncoderNanoBEIREvaluator",
        evaluator_kwargs={"dataset_names": ["msmarco"], "rerank_k": 10, "at_k": 10},
        args={"eval_strategy": "steps", "eval_steps": 2},
    ),
    Case(
        "fit", loss=None, api="fit", args={"epochs": 1, "warmup_steps": 2, "optimizer_params": {"lr": 3e-5}}
    ),
    Case("fit-loss-fct", loss=None, api="fit", fit_loss_fct="BCEWithLogitsLoss", args={"epochs": 1}),
    Case("custom-head", head=True, args={"seed": 13}),
    Case("bf16", args={"bf16": True}),
    Case("fp16", args={"fp16": True}),
    Case("untrained", loss=None, api="untrained"),
)


@dataclass(frozen=True)
class BiCase:
    """One SentenceTransformer (bi-encoder) training run: what the worker builds and passes to
    sentence-transformers. ``inner`` is the loss a wrapper (MatryoshkaLoss) wraps; ``guide`` gives
    GISTEmbedLoss the bi-encoder base model, loaded by repo id and revision, as its guide."""

    name: str
    loss: str = "MultipleNegativesRankingLoss"
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    inner: str | None = None
    guide: bool = False
    similarity: str | None = None  # a sentence_transformers.util function passed as similarity_fct
    train: str = "toy-triplets"
    pin_revision: bool = True
    evaluator: str | None = None
    evaluator_kwargs: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    untrained: bool = False  # save the base model without training (not a trainer card)


NO_DUPLICATES = {"batch_sampler": "no_duplicates"}
BI_CASES: tuple[BiCase, ...] = (
    BiCase(
        "mnrl-ir",
        loss_kwargs={"scale": 10.0},
        evaluator="InformationRetrievalEvaluator",
        args={
            **NO_DUPLICATES,
            "eval_strategy": "steps",
            "eval_steps": 1,
            "learning_rate": 3e-5,
            "warmup_ratio": 0.1,
            "lr_scheduler_type": "cosine",
            "optim": "adamw_torch",
            "seed": 7,
        },
    ),
    BiCase("mnrl-no-revision", pin_revision=False, args={"seed": 11, "weight_decay": 0.01}),
    BiCase("mnrl-dot", similarity="dot_score", args={"seed": 17}),
    BiCase(
        "cmnrl",
        loss="CachedMultipleNegativesRankingLoss",
        loss_kwargs={"mini_batch_size": 4},
        args={**NO_DUPLICATES, "learning_rate": 4e-5, "warmup_steps": 1},
    ),
    BiCase("gist", loss="GISTEmbedLoss", loss_kwargs={"temperature": 0.05}, guide=True, args={"seed": 5}),
    BiCase(
        "matryoshka-mnrl",
        loss="MatryoshkaLoss",
        inner="MultipleNegativesRankingLoss",
        loss_kwargs={"matryoshka_dims": [32, 16, 8]},
        evaluator="InformationRetrievalEvaluator",
        args={**NO_DUPLICATES, "gradient_accumulation_steps": 2, "max_grad_norm": 0.5},
    ),
    BiCase(
        "triplet",
        loss="TripletLoss",
        loss_kwargs={"triplet_margin": 1.0},
        evaluator="TripletEvaluator",
        args={"learning_rate": 1e-4, "adam_beta2": 0.99, "eval_strategy": "steps", "eval_steps": 2},
    ),
    BiCase("cosent", loss="CoSENTLoss", loss_kwargs={"scale": 10.0}, train="toy-scores", args={"seed": 3}),
    BiCase(
        "nanobeir",
        evaluator="NanoBEIREvaluator",
        evaluator_kwargs={"dataset_names": ["msmarco"]},
        args={**NO_DUPLICATES, "seed": 13},
    ),
    BiCase("untrained", untrained=True),
)


@dataclass(frozen=True)
class SparseCase:
    """One SparseEncoder (SPLADE) training run: SpladeLoss (or ``wrapper``) around ``loss`` with the
    regularizer weights, on ``train``; what the worker builds and passes to sentence-transformers."""

    name: str
    loss: str = "SparseMultipleNegativesRankingLoss"
    wrapper: str = "SpladeLoss"
    wrapper_kwargs: dict[str, Any] = field(
        default_factory=lambda: {"document_regularizer_weight": 3e-5, "query_regularizer_weight": 5e-5}
    )
    train: str = "toy-triplets"
    pin_revision: bool = True
    evaluator: str | None = None
    evaluator_kwargs: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    untrained: bool = False  # save the base model as a SparseEncoder without training (not a trainer card)


SPARSE_CASES: tuple[SparseCase, ...] = (
    SparseCase(
        "splade-mnrl-ir",
        evaluator="SparseInformationRetrievalEvaluator",
        args={**NO_DUPLICATES, "eval_strategy": "steps", "eval_steps": 1, "learning_rate": 3e-5, "seed": 7},
    ),
    SparseCase("splade-no-revision", pin_revision=False, args={"seed": 11, "weight_decay": 0.01}),
    SparseCase(
        "splade-margin-mse", loss="SparseMarginMSELoss", train="toy-margins", args={"learning_rate": 1e-4}
    ),
    SparseCase("splade-cosent", loss="SparseCoSENTLoss", train="toy-scores", args={"seed": 3}),
    SparseCase(
        "cached-splade",
        wrapper="CachedSpladeLoss",
        wrapper_kwargs={"document_regularizer_weight": 3e-5, "mini_batch_size": 4},
        args=NO_DUPLICATES,
    ),
    SparseCase(
        "sparse-nanobeir",
        evaluator="SparseNanoBEIREvaluator",
        evaluator_kwargs={"dataset_names": ["msmarco"]},
        args={**NO_DUPLICATES, "seed": 13},
    ),
    SparseCase("untrained", untrained=True),
)


@dataclass(frozen=True)
class MultiVectorCase:
    """One MultiVectorEncoder (ColBERT-style) training run from the plain BERT, which MultiVectorEncoder
    turns into Transformer -> Dense -> MultiVectorMask -> Normalize."""

    name: str
    loss: str = "MultiVectorMultipleNegativesRankingLoss"
    train: str = "toy-triplets"
    pin_revision: bool = True
    evaluator: str | None = None
    evaluator_kwargs: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    untrained: bool = False


MULTI_VECTOR_CASES: tuple[MultiVectorCase, ...] = (
    MultiVectorCase(
        "mv-mnrl-ir",
        evaluator="MultiVectorInformationRetrievalEvaluator",
        args={**NO_DUPLICATES, "eval_strategy": "steps", "eval_steps": 1, "learning_rate": 3e-5, "seed": 7},
    ),
    MultiVectorCase("mv-no-revision", pin_revision=False, args={"seed": 11, "weight_decay": 0.01}),
    MultiVectorCase("mv-margin-mse", loss="MultiVectorMarginMSELoss", train="toy-margins"),
    MultiVectorCase(
        "mv-nanobeir",
        evaluator="MultiVectorNanoBEIREvaluator",
        evaluator_kwargs={"dataset_names": ["msmarco"]},
        args={**NO_DUPLICATES, "seed": 13},
    ),
    MultiVectorCase("untrained", untrained=True),
)
COMMON_ARGS = {
    "num_train_epochs": 1,
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 8,
    "save_strategy": "no",
    "report_to": "none",
    "logging_steps": 1,
    "use_cpu": True,
}


# ==== driver (the hubrerank venv) =========================================================================


def released_versions() -> list[str]:
    """sentence-transformers' releases as the package index lists them (``pip index versions``: the
    registry pip is configured with, the only network this needs); SystemExit when it cannot be asked."""
    command = [sys.executable, "-m", "pip", "index", "versions", "--json", PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"cannot list the releases of {PACKAGE} ({why}); give them with --versions")
    return list(json.loads(done.stdout)["versions"])


def corpus_releases(out: Path) -> set[str]:
    """The releases a kind's corpus folder holds (each ``<release>/`` that has its results.json)."""
    return {path.parent.name for path in out.glob("*/results.json")}


def select_versions(
    available: Iterable[str], present: Iterable[str], everything: bool = False, first: str = FIRST_RELEASE
) -> list[str]:
    """The corpus entries to generate: every final release from ``first`` among ``available``, oldest
    first, then the ``+contemporary`` entries from ``first``; only those not in ``present`` (the corpus'
    release folders) unless ``everything``."""
    from packaging.version import InvalidVersion, Version

    releases = []
    for text in available:
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version >= Version(first) and not version.is_prerelease and not version.is_devrelease:
            releases.append((version, text))
    contemporary = [entry for entry in CONTEMPORARY if Version(entry.split("+")[0]) >= Version(first)]
    wanted = [text for _, text in sorted(releases)] + contemporary
    skip = set() if everything else set(present)
    return [entry for entry in wanted if entry not in skip]


def plan_runs(args: argparse.Namespace) -> list[tuple[str, Path, list[str]]]:
    """(kind, corpus folder, releases) to generate: ``--versions`` as given, else found on the index."""
    kinds = KINDS if args.kind == ALL_KINDS else (args.kind,)
    available = released_versions() if not args.versions else []
    runs = []
    for kind in kinds:
        out = Path(args.out) / ("" if kind == "cross-encoder" else kind)
        versions = (
            args.versions.split(",")
            if args.versions
            else select_versions(available, corpus_releases(out), args.all, FIRST_RELEASES[kind])
        )
        runs.append((kind, out, versions))
    return runs


def _words(texts: list[str]) -> list[str]:
    counts = collections.Counter(w for text in texts for w in re.findall(r"[a-z0-9]+", text.lower()))
    return [word for word, _ in counts.most_common(1500)]


TOPICS = (
    "river",
    "volcano",
    "glacier",
    "desert",
    "forest",
    "harbor",
    "comet",
    "violin",
    "bakery",
    "tram",
    "lantern",
    "orchard",
    "canyon",
    "meadow",
    "island",
    "castle",
    "market",
    "bridge",
    "garden",
    "tunnel",
)
FACTS = (
    "is old",
    "is large",
    "is quiet",
    "is busy",
    "is cold",
    "is warm",
    "has a long history",
    "is near a town",
)


def _synthetic(rng: random.Random, topic: str, relevant: bool) -> str:
    """A made-up passage about ``topic`` (relevant) or about another topic."""
    subject = topic if relevant else rng.choice([t for t in TOPICS if t != topic])
    facts = rng.sample(FACTS, 3)
    return f"the {subject} {facts[0]} and {facts[1]}; people say the {subject} {facts[2]}."


def build_datasets() -> dict[str, dict[str, dict[str, list]]]:
    """The training/evaluation datasets (name -> split -> columns), made up from a few topics: the cards
    show samples of them, so no third-party text. Deterministic, so tests can publish the same rows."""
    rng = random.Random(0)
    train_topics, dev_topics = TOPICS[:8], TOPICS[8:12]

    def graded_rows(topics: tuple[str, ...]) -> list[tuple[str, str, int]]:
        return [
            (f"what about the {t}?", _synthetic(rng, t, grade > 0), grade)
            for t in topics
            for grade in (3, 2, 0, 0)
        ]

    def pairs(topics: tuple[str, ...], kind: str) -> dict[str, list]:
        got = graded_rows(topics)
        value = {"label": lambda g: float(g >= 2), "graded": int, "score": lambda g: g / 3}[kind]
        return {
            "query": [q for q, _, _ in got],
            "passage": [p for _, p, _ in got],
            ("score" if kind == "score" else "label"): [value(g) for *_, g in got],
        }

    def triplets(topics: tuple[str, ...], margin: bool) -> dict[str, list]:
        out: dict[str, list] = collections.defaultdict(list)
        for t in topics:
            out["query"].append(f"what about the {t}?")
            out["positive"].append(_synthetic(rng, t, True))
            out["negative"].append(_synthetic(rng, t, False))
            if margin:
                out["score"].append(float(rng.choice((1, 2, 3))))
        return dict(out)

    def lists(topics: tuple[str, ...]) -> dict[str, list]:
        out: dict[str, list] = collections.defaultdict(list)
        for t in topics:
            labels = [float(rng.choice((0, 0, 1, 2, 3))) for _ in range(5)]
            out["query"].append(f"what about the {t}?")
            out["docs"].append([_synthetic(rng, t, label > 0) for label in labels])
            out["labels"].append(labels)
        return dict(out)

    def rerank(topics: tuple[str, ...]) -> dict[str, list]:
        out: dict[str, list] = collections.defaultdict(list)
        for t in topics:
            out["query"].append(f"what about the {t}?")
            out["positive"].append([_synthetic(rng, t, True) for _ in range(2)])
            out["negative"].append([_synthetic(rng, t, False) for _ in range(6)])
        return dict(out)

    datasets = {
        "toy-pairs": {"train": pairs(train_topics, "label"), "dev": pairs(dev_topics, "label")},
        "toy-graded": {"train": pairs(train_topics, "graded"), "dev": pairs(dev_topics, "graded")},
        "toy-scores": {"train": pairs(train_topics, "score"), "dev": pairs(dev_topics, "score")},
        "toy-triplets": {"train": triplets(TOPICS[:16], False)},
        "toy-margins": {"train": triplets(TOPICS[:16], True)},
        "toy-lists": {"train": lists(train_topics)},
        "toy-rerank": {"dev": rerank(dev_topics)},
    }
    return datasets


def build_data() -> tuple[dict[str, dict[str, dict[str, list]]], dict[str, Any], list[str]]:
    """The toy datasets, a NanoBEIR-format subset cut from TREC DL 2019 (its texts stay in the evaluator
    and never reach a card) and the vocab of both."""
    nano = _nanobeir()
    texts = [f"{t} {f}" for t in TOPICS for f in FACTS] + ["what about the people say and"]
    return build_datasets(), nano, _words(texts + nano["corpus"]["text"] + nano["queries"]["text"])


def _nanobeir() -> dict[str, dict[str, list]]:
    """Three TREC DL 2019 queries with their BM25 top-10, in both NanoBEIR layouts."""
    queries = {r["_id"]: r["text"] for r in map(json.loads, (DL19 / "queries.jsonl").open())}
    corpus = {r["_id"]: r["text"][:300] for r in map(json.loads, (DL19 / "corpus.jsonl").open())}
    relevance = [json.loads(line) for line in (DL19 / "relevance.jsonl").open()]
    nano_q = [r for r in relevance if r["positive-corpus-ids"] and r["query-id"] in queries][:3]
    top = {r["query-id"]: [p for p in r["bm25-ranked-ids"] if p in corpus][:10] for r in nano_q}
    docs = sorted({p for ids in top.values() for p in ids})
    positives = {r["query-id"]: [p for p in r["positive-corpus-ids"] if p in docs] for r in nano_q}
    return {
        "corpus": {"_id": docs, "text": [corpus[p] for p in docs]},
        "queries": {"_id": list(top), "text": [queries[q] for q in top]},
        "qrels": {
            "query-id": [q for q, ids in positives.items() for _ in ids],
            "corpus-id": [p for ids in positives.values() for p in ids],
        },
        "bm25": {"query-id": list(top), "corpus-ids": list(top.values())},
        "relevance": {  # the per-dataset layout of sentence-transformers/Nano<Name>-bm25
            "query-id": list(top),
            "positive-corpus-ids": list(positives.values()),
            "bm25-ranked-ids": list(top.values()),
        },
    }


def write_base_model(folder: Path, words: list[str]) -> None:
    """A randomly initialised 2-layer BERT (hidden 32) and a WordPiece vocab built here, no download."""
    import torch
    from transformers import BertConfig, BertModel

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    vocab = list(dict.fromkeys(specials + chars + [f"##{c}" for c in chars] + list(".,?!'-()") + words))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer_config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 128}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    special_map = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
    (folder / "special_tokens_map.json").write_text(json.dumps({**special_map, "mask_token": "[MASK]"}))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)


def write_mlm_base_model(bert: Path, folder: Path) -> None:
    """``bert``'s encoder under a masked-LM head (BertForMaskedLM, the head seeded), with its tokenizer:
    the checkpoint every release's SparseEncoder turns into MLM transformer -> SpladePooling."""
    import torch
    from transformers import BertForMaskedLM, BertModel

    shutil.copytree(bert, folder, dirs_exist_ok=True)
    torch.manual_seed(0)
    encoder = BertModel.from_pretrained(str(bert), add_pooling_layer=False)
    model = BertForMaskedLM(encoder.config)
    model.bert.load_state_dict(encoder.state_dict())
    for stale in folder.glob("*.safetensors"):
        stale.unlink()
    model.save_pretrained(folder)


def write_bi_base_model(bert: Path, folder: Path) -> None:
    """``bert`` as a SentenceTransformer (Transformer + mean Pooling), its module files written in the
    layout every release from 4.0 reads (today's library would save 6.x module paths)."""
    shutil.copytree(bert, folder, dirs_exist_ok=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 64, "do_lower_case": False})
    )
    pooling = {
        "word_embedding_dimension": 32,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2))


@dataclass
class LocalHub:
    """The hubrerank Hub the driver runs for the whole corpus."""

    process: subprocess.Popen
    url: str


def start_hub(data: Path, orgs: tuple[str, ...] = ("sentence-transformers",)) -> LocalHub:
    """``hubrerank hub serve`` of this checkout (run with the driver's Python), on a free port; the user
    ``corpus`` (token ``TOKEN``) may also write to ``orgs``."""
    port_file = data.parent / "hub.port"
    port_file.unlink(missing_ok=True)
    user = f"{NAMESPACE}:{TOKEN}:{','.join(orgs)}"
    log = (data.parent / "hub.log").open("w")
    command = [sys.executable, "-m", "hubrerank", "hub", "serve", "--data", str(data), "--port", "0"]
    command += ["--port-file", str(port_file), "--user", user]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    for _ in range(300):
        if port_file.exists() and port_file.read_text().strip():
            return LocalHub(process, f"http://127.0.0.1:{port_file.read_text().strip()}")
        if process.poll() is not None:
            raise SystemExit(f"the local Hub did not start; see {data.parent / 'hub.log'}")
        time.sleep(0.2)
    raise SystemExit("the local Hub did not write its port within 60 s")


def publish(work: Path) -> dict[str, Any]:
    """Push datasets, NanoBEIR data and the base model to the local Hub; their ids and revisions."""
    from datasets import Dataset, DatasetDict
    from huggingface_hub import HfApi

    api = HfApi()
    datasets, nano, words = build_data()
    revisions: dict[str, str] = {}
    for name, splits in datasets.items():
        repo = f"{NAMESPACE}/{name}"
        DatasetDict({split: Dataset.from_dict(cols) for split, cols in splits.items()}).push_to_hub(repo)
        revisions[repo] = api.dataset_info(repo).sha
    nano_folder = work / "NanoBEIR-dl19"
    shutil.rmtree(nano_folder, ignore_errors=True)
    configs = []
    for subset in ("corpus", "queries", "qrels", "bm25"):
        (nano_folder / subset).mkdir(parents=True)
        Dataset.from_dict(nano[subset]).to_parquet(nano_folder / subset / "NanoMSMARCO.parquet")
        configs.append(
            f"- config_name: {subset}\n  data_files:\n  - split: NanoMSMARCO\n    path: {subset}/*"
        )
    (nano_folder / "README.md").write_text("---\nconfigs:\n" + "\n".join(configs) + "\n---\n")
    api.create_repo("sentence-transformers/NanoBEIR-en", repo_type="dataset", exist_ok=True)
    api.upload_folder(
        repo_id="sentence-transformers/NanoBEIR-en", repo_type="dataset", folder_path=nano_folder
    )
    for subset in ("corpus", "queries", "relevance"):
        Dataset.from_dict(nano[subset]).push_to_hub(
            "sentence-transformers/NanoMSMARCO-bm25", subset, split="train"
        )
    base = work / "tiny-bert"
    write_base_model(base, words)
    api.create_repo(BASE_MODEL, exist_ok=True)
    api.upload_folder(repo_id=BASE_MODEL, folder_path=base)
    bi_base = work / "tiny-bert-st"
    write_bi_base_model(base, bi_base)
    api.create_repo(BI_BASE_MODEL, exist_ok=True)
    api.upload_folder(repo_id=BI_BASE_MODEL, folder_path=bi_base)
    mlm_base = work / "tiny-bert-mlm"
    write_mlm_base_model(base, mlm_base)
    api.create_repo(MLM_BASE_MODEL, exist_ok=True)
    api.upload_folder(repo_id=MLM_BASE_MODEL, folder_path=mlm_base)
    return {
        "base_model": BASE_MODEL,
        "base_model_revision": api.model_info(BASE_MODEL).sha,
        "bi_base_model": BI_BASE_MODEL,
        "bi_base_model_revision": api.model_info(BI_BASE_MODEL).sha,
        "mlm_base_model": MLM_BASE_MODEL,
        "mlm_base_model_revision": api.model_info(MLM_BASE_MODEL).sha,
        "datasets": revisions,
        "nanobeir_folder": str(nano_folder),
    }


def make_venv(work: Path, item: str, log: Path) -> tuple[Path, tuple[str, ...]] | str:
    """A venv with sentence-transformers[train]==<release> over the base venv's torch, for ``item``
    ``<release>`` or ``<release>+contemporary``: (python, pins), or why it could not be made."""
    version, _, variant = item.partition("+")
    if variant and (variant != "contemporary" or version not in CONTEMPORARY_PINS):
        return f"no pins for {item} (contemporary pins exist for {', '.join(CONTEMPORARY_PINS)})"
    if variant:
        attempts = [CONTEMPORARY_PINS[version]]
    else:
        attempts = [TRAIN_PINS[version], *PIN_ATTEMPTS] if version in TRAIN_PINS else list(PIN_ATTEMPTS)
    base = work / "venvs" / "base"
    if not (base / "bin" / "python").exists():
        subprocess.run(["python3", "-m", "venv", str(base)], check=True)
        _run([str(base / "bin" / "pip"), "install", "-q", "torch==2.13.0"], log)
    site = next((base / "lib").glob("python3*/site-packages"))
    reasons = []
    venv = work / "venvs" / f"st-{item}"
    made = venv / "pins.json"  # written once the venv works: a rerun reuses it
    if made.exists() and _run([str(venv / "bin" / "python"), "-c", SMOKE], log) == 0:
        return venv / "bin" / "python", tuple(json.loads(made.read_text()))
    for pins in attempts:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        own_site = next((venv / "lib").glob("python3*/site-packages"))
        (own_site / "zz-base-torch.pth").write_text(f"{site}\n")  # torch 2.13.0 CPU, never a CUDA build
        install = [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            f"sentence-transformers[train]=={version}",
            *pins,
        ]
        if _run([*install, "torch==2.13.0"], log) != 0:
            reasons.append(f"pip install failed with pins {list(pins)}")
            continue
        if _run([str(python), "-c", SMOKE], log) == 0:
            made.write_text(json.dumps(pins))
            return python, pins
        reasons.append(f"import failed with pins {list(pins)}")
    return "; ".join(reasons) + f" (see {log})"


def _run(command: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode


# the driver's and workers' environment besides HF_ENDPOINT/HF_HOME: the local Hub's token, no telemetry,
# progress bars, Xet transfers, tracking integrations or pip version checks
DRIVER_ENV = {
    "HF_HUB_DISABLE_XET": "1",
    "HF_TOKEN": TOKEN,
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "WANDB_DISABLED": "true",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}


def driver(args: argparse.Namespace) -> int:
    work = Path(args.work)
    runs = plan_runs(args)
    for kind, out, versions in runs:
        print(f"{kind}: {', '.join(versions) or 'the corpus holds every release'} ({out})", flush=True)
    if not any(versions for _, _, versions in runs):
        return 0
    work.mkdir(parents=True, exist_ok=True)
    hub_data = work / "hub"
    shutil.rmtree(hub_data, ignore_errors=True)
    hub = start_hub(hub_data)
    os.environ.update(DRIVER_ENV, HF_ENDPOINT=hub.url, HF_HOME=str(work / "hf-home-driver"))
    try:
        published = publish(work)
        print(f"local Hub {hub.url}: published {', '.join(published['datasets'])}", flush=True)
        for kind, out, versions in runs:
            for version in versions:
                generate(kind, version, out / version, work, {**published, "cases": args.cases})
    finally:
        hub.process.terminate()
        hub.process.wait(30)
    return 0


def generate(kind: str, version: str, out: Path, work: Path, spec: dict[str, Any]) -> None:
    """One release's cards of ``kind`` into ``out``, by the worker in the release's venv; what became of
    each case (or why the venv could not be made) is printed and kept in ``out``/results.json."""
    started = time.monotonic()
    log = work / f"st-{version}-{kind}.log"
    log.unlink(missing_ok=True)
    made = make_venv(work, version, log)
    if isinstance(made, str):
        print(f"{kind} {version}: cannot install: {made}", flush=True)
        out.mkdir(parents=True, exist_ok=True)  # the reason stays beside the corpus
        failed = {"error": f"cannot install: {made}", "cases": {}}
        (out / "results.json").write_text(json.dumps(failed, indent=2) + "\n")
        return
    python, pins = made
    spec_file = work / f"spec-{version}-{kind}.json"
    spec_file.write_text(json.dumps({**spec, "pins": list(pins), "kind": kind}))
    worker_env = {**os.environ, "HF_HOME": str(work / f"hf-home-{version}")}
    command = [str(python), __file__, "worker", "--spec", str(spec_file), "--out", str(out)]
    code = _run(command, log, worker_env)
    results = out / "results.json"
    got = json.loads(results.read_text()) if results.exists() else {}
    got.setdefault("error", None if code == 0 else f"worker exited {code}: see {log}")
    print(f"{kind} {version} ({time.monotonic() - started:.0f} s, pins {list(pins)}):", flush=True)
    for case, outcome in got.get("cases", {}).items():
        print(f"  {case}: {outcome}", flush=True)
    if got["error"]:
        print(f"  error: {got['error']}", flush=True)


# ==== worker (inside a version's venv) ====================================================================


def _class(module: Any, name: str) -> Any | None:
    return getattr(module, name, None)


def run_case(case: Case, spec: dict[str, Any], out: Path, versions: dict[str, str]) -> str:
    """Train ``case``, write its README.md and case.json into ``out``; 'ok' or why it was not generated."""
    import inspect

    import torch
    from datasets import load_dataset
    from sentence_transformers.cross_encoder import CrossEncoder, evaluation, losses

    loss_class = _class(losses, case.loss) if case.loss else None
    if case.loss and loss_class is None:
        return f"not in this version: losses.{case.loss}"
    evaluator_class = _class(evaluation, case.evaluator) if case.evaluator else None
    if case.evaluator and evaluator_class is None:
        return f"not in this version: evaluation.{case.evaluator}"
    if case.api == "fit" and not hasattr(CrossEncoder, "fit"):
        return "not in this version: CrossEncoder.fit"

    def load(name: str, split: str) -> tuple[Any, dict[str, Any]]:
        repo = f"{NAMESPACE}/{name}"
        revision = spec["datasets"][repo] if case.pin_revision else None
        kwargs = {"split": split, **({"revision": revision} if revision else {})}
        return load_dataset(repo, **kwargs), {"id": repo, **kwargs}

    record: dict[str, Any] = {
        "case": case.name,
        "api": case.api,
        "versions": versions,
        "model": {
            "id": spec["base_model"],
            "revision": spec["base_model_revision"],
            "num_labels": case.num_labels,
            "max_length": 64,
        },
    }
    torch.manual_seed(0)
    model = CrossEncoder(
        spec["base_model"], revision=spec["base_model_revision"], num_labels=case.num_labels, max_length=64
    )
    if case.head:
        if not hasattr(model, "append") or not hasattr(model, "_modules") or len(model._modules) == 0:
            return "not in this version: a CrossEncoder is not a module stack (no custom heads)"
        from sentence_transformers.cross_encoder.modules import Dense

        model.append(Dense(1, 1, module_input_name="scores", module_output_name="scores"))
        record["head"] = [{"module": "Dense", "in_features": 1, "out_features": 1, "io": "scores"}]
    target = Path(tempfile.mkdtemp(prefix=f"st-{case.name}-"))
    if case.api == "untrained":
        model.save_pretrained(str(target))
        return _keep(target, out, record)
    train, record["train"] = load(case.train, "train")
    evaluator = None
    if case.evaluator:
        evaluator, record["evaluator"] = _evaluator(evaluator_class, case, spec, load, inspect)
    if case.api == "fit":
        from sentence_transformers import InputExample
        from torch.utils.data import DataLoader

        examples = [InputExample(texts=[r["query"], r["passage"]], label=r["label"]) for r in train]
        loader = DataLoader(examples, shuffle=True, batch_size=8)
        record["fit"] = {"batch_size": 8, "shuffle": True, **case.args}
        extra = {}
        if case.fit_loss_fct:
            extra["loss_fct"] = getattr(torch.nn, case.fit_loss_fct)()
            record["fit"]["loss_fct"] = case.fit_loss_fct
        model.fit(train_dataloader=loader, evaluator=evaluator, show_progress_bar=False, **case.args, **extra)
        model.save_pretrained(str(target))
        return _keep(target, out, record)
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments

    loss = loss_class(model, **case.loss_kwargs)
    record["loss"] = {"name": case.loss, "kwargs": case.loss_kwargs}
    eval_dataset = None
    if case.eval_dataset:
        eval_dataset, record["eval_dataset"] = load(case.eval_dataset, "dev")
    arguments = {**COMMON_ARGS, **case.args}
    fields = inspect.signature(CrossEncoderTrainingArguments).parameters
    if "warmup_ratio" in arguments and "warmup_ratio" not in fields:  # transformers 5.0: a float warmup_steps
        arguments["warmup_steps"] = arguments.pop("warmup_ratio")
    record["args"] = arguments
    try:
        training_args = CrossEncoderTrainingArguments(output_dir=str(target / "out"), **arguments)
        trainer = CrossEncoderTrainer(
            model=model,
            args=training_args,
            train_dataset=train,
            eval_dataset=eval_dataset,
            loss=loss,
            evaluator=evaluator,
        )
        trainer.train()
    except (ValueError, RuntimeError, TypeError, NotImplementedError) as error:
        if case.name in ("fp16", "bf16"):
            return f"cannot run on CPU: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        raise
    model.save_pretrained(str(target / "final"))
    return _keep(target / "final", out, record)


def _evaluator(evaluator_class: Any, case: Case, spec: dict, load: Any, inspect: Any) -> tuple[Any, dict]:
    """The case's evaluator and its record (dataset ids/revisions and kwargs)."""
    kwargs = dict(case.evaluator_kwargs)
    if case.evaluator == "CrossEncoderNanoBEIREvaluator":
        if "dataset_id" in inspect.signature(evaluator_class).parameters:
            kwargs["dataset_id"] = spec["nanobeir_folder"]
        return evaluator_class(**kwargs), {"name": case.evaluator, "kwargs": kwargs}
    if case.evaluator == "CrossEncoderRerankingEvaluator":
        data, where = load("toy-rerank", "dev")
        samples = [{"query": r["query"], "positive": r["positive"], "negative": r["negative"]} for r in data]
        kwargs["name"] = "toy-rerank-dev"  # hubrerank's <dataset name>-<split> convention
        return evaluator_class(samples, **kwargs), {"name": case.evaluator, "kwargs": kwargs, "data": where}
    data, where = load(case.train, "dev")
    pairs = [[r["query"], r["passage"]] for r in data]
    kwargs["name"] = f"{case.train}-dev"
    labels = data["label"] if "label" in data.column_names else data["score"]
    return evaluator_class(pairs, labels, **kwargs), {"name": case.evaluator, "kwargs": kwargs, "data": where}


def run_bi_case(case: BiCase, spec: dict[str, Any], out: Path, versions: dict[str, str]) -> str:
    """Train the SentenceTransformer ``case``, write its README.md and case.json into ``out``; 'ok' or why
    it was not generated."""
    import inspect

    import torch
    from datasets import load_dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        evaluation,
        losses,
    )

    for module, name in ((losses, case.loss), (losses, case.inner), (evaluation, case.evaluator)):
        if name and _class(module, name) is None:
            return f"not in this version: {module.__name__.rsplit('.', 1)[-1]}.{name}"

    def load(name: str, split: str) -> tuple[Any, dict[str, Any]]:
        repo = f"{NAMESPACE}/{name}"
        revision = spec["datasets"][repo] if case.pin_revision else None
        kwargs = {"split": split, **({"revision": revision} if revision else {})}
        return load_dataset(repo, **kwargs), {"id": repo, **kwargs}

    base = {"id": spec["bi_base_model"], "revision": spec["bi_base_model_revision"]}
    record: dict[str, Any] = {"case": case.name, "kind": "bi-encoder", "versions": versions, "model": base}
    torch.manual_seed(0)
    model = SentenceTransformer(base["id"], revision=base["revision"])
    record["model"] = {**base, "max_seq_length": model.max_seq_length}
    target = Path(tempfile.mkdtemp(prefix=f"st-bi-{case.name}-"))
    if case.untrained:
        model.save_pretrained(str(target))
        return _keep(target, out, {**record, "api": "untrained"})
    loss_class = getattr(losses, case.loss)
    record["loss"] = {"name": case.loss, "kwargs": case.loss_kwargs}
    extra = {}
    if case.similarity:
        from sentence_transformers import util

        extra["similarity_fct"] = getattr(util, case.similarity)
        record["loss"]["kwargs"] = {**case.loss_kwargs, "similarity_fct": case.similarity}
    if case.inner:
        loss = loss_class(model, getattr(losses, case.inner)(model), **case.loss_kwargs)
        record["loss"]["inner"] = {"name": case.inner, "kwargs": {}}
    elif case.guide:
        guide = SentenceTransformer(base["id"], revision=base["revision"])
        loss = loss_class(model, guide, **case.loss_kwargs)
        record["loss"]["guide"] = dict(base)
    else:
        loss = loss_class(model, **case.loss_kwargs, **extra)
    train, record["train"] = load(case.train, "train")
    evaluator = None
    if case.evaluator == "NanoBEIREvaluator":
        if "dataset_id" not in inspect.signature(evaluation.NanoBEIREvaluator).parameters:
            return "not in this version: NanoBEIREvaluator(dataset_id=...) (it reads the real Hub's repos)"
        kwargs = {**case.evaluator_kwargs, "dataset_id": spec["nanobeir_folder"]}
        evaluator = evaluation.NanoBEIREvaluator(**kwargs)
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs}
    elif case.evaluator:
        data, where = load("toy-rerank", "dev")
        kwargs = {**case.evaluator_kwargs, "name": "toy-rerank-dev"}  # <dataset name>-<split>
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs, "data": where}
        if case.evaluator == "TripletEvaluator":
            evaluator = evaluation.TripletEvaluator(
                data["query"], [r[0] for r in data["positive"]], [r[0] for r in data["negative"]], **kwargs
            )
        else:
            texts = sorted({text for row in data for text in row["positive"] + row["negative"]})
            ids = {text: f"d{i}" for i, text in enumerate(texts)}
            queries = {f"q{i}": row["query"] for i, row in enumerate(data)}
            relevant = {f"q{i}": {ids[text] for text in row["positive"]} for i, row in enumerate(data)}
            corpus = {ids[text]: text for text in texts}
            evaluator = evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, **kwargs)
    arguments = {**COMMON_ARGS, **case.args}
    fields = inspect.signature(SentenceTransformerTrainingArguments).parameters
    if "warmup_ratio" in arguments and "warmup_ratio" not in fields:  # transformers 5.0: a float warmup_steps
        arguments["warmup_steps"] = arguments.pop("warmup_ratio")
    record["args"] = arguments
    training_args = SentenceTransformerTrainingArguments(output_dir=str(target / "out"), **arguments)
    trainer = SentenceTransformerTrainer(
        model=model, args=training_args, train_dataset=train, loss=loss, evaluator=evaluator
    )
    trainer.train()
    if evaluator is not None:  # the final model too, as the library's examples do: the card records it
        evaluator(model)
    model.save_pretrained(str(target / "final"))
    return _keep(target / "final", out, record)


def run_sparse_case(case: SparseCase, spec: dict[str, Any], out: Path, versions: dict[str, str]) -> str:
    """Train the SparseEncoder ``case``, write its README.md and case.json into ``out``; 'ok' or why it
    was not generated."""
    import inspect

    import torch
    from datasets import load_dataset
    from sentence_transformers.sparse_encoder import (
        SparseEncoder,
        SparseEncoderTrainer,
        SparseEncoderTrainingArguments,
        evaluation,
        losses,
    )

    for module, name in ((losses, case.loss), (losses, case.wrapper), (evaluation, case.evaluator)):
        if name and _class(module, name) is None:
            return f"not in this version: {module.__name__.rsplit('.', 1)[-1]}.{name}"

    def load(name: str, split: str) -> tuple[Any, dict[str, Any]]:
        repo = f"{NAMESPACE}/{name}"
        revision = spec["datasets"][repo] if case.pin_revision else None
        kwargs = {"split": split, **({"revision": revision} if revision else {})}
        return load_dataset(repo, **kwargs), {"id": repo, **kwargs}

    base = {"id": spec["mlm_base_model"], "revision": spec["mlm_base_model_revision"]}
    record: dict[str, Any] = {
        "case": case.name,
        "kind": "sparse-encoder",
        "versions": versions,
        "model": base,
    }
    torch.manual_seed(0)
    model = SparseEncoder(base["id"], revision=base["revision"])
    record["model"] = {**base, "max_seq_length": model.max_seq_length}
    target = Path(tempfile.mkdtemp(prefix=f"st-sparse-{case.name}-"))
    if case.untrained:
        model.save_pretrained(str(target))
        return _keep(target, out, {**record, "api": "untrained"})
    loss = getattr(losses, case.wrapper)(model, getattr(losses, case.loss)(model), **case.wrapper_kwargs)
    record["loss"] = {
        "name": case.wrapper,
        "kwargs": case.wrapper_kwargs,
        "inner": {"name": case.loss, "kwargs": {}},
    }
    train, record["train"] = load(case.train, "train")
    evaluator = None
    if case.evaluator == "SparseNanoBEIREvaluator":
        kwargs = {**case.evaluator_kwargs, "dataset_id": spec["nanobeir_folder"]}
        if "dataset_id" not in inspect.signature(evaluation.SparseNanoBEIREvaluator).parameters:
            return (
                "not in this version: SparseNanoBEIREvaluator(dataset_id=...) (it reads the real Hub's repos)"
            )
        evaluator = evaluation.SparseNanoBEIREvaluator(**kwargs)
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs}
    elif case.evaluator:
        data, where = load("toy-rerank", "dev")
        kwargs = {**case.evaluator_kwargs, "name": "toy-rerank-dev"}  # <dataset name>-<split>
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs, "data": where}
        texts = sorted({text for row in data for text in row["positive"] + row["negative"]})
        ids = {text: f"d{i}" for i, text in enumerate(texts)}
        queries = {f"q{i}": row["query"] for i, row in enumerate(data)}
        relevant = {f"q{i}": {ids[text] for text in row["positive"]} for i, row in enumerate(data)}
        corpus = {ids[text]: text for text in texts}
        evaluator = evaluation.SparseInformationRetrievalEvaluator(queries, corpus, relevant, **kwargs)
    arguments = {**COMMON_ARGS, **case.args}
    fields = inspect.signature(SparseEncoderTrainingArguments).parameters
    if "warmup_ratio" in arguments and "warmup_ratio" not in fields:  # transformers 5.0: a float warmup_steps
        arguments["warmup_steps"] = arguments.pop("warmup_ratio")
    record["args"] = arguments
    training_args = SparseEncoderTrainingArguments(output_dir=str(target / "out"), **arguments)
    trainer = SparseEncoderTrainer(
        model=model, args=training_args, train_dataset=train, loss=loss, evaluator=evaluator
    )
    trainer.train()
    if evaluator is not None:  # the final model too, as the library's examples do: the card records it
        evaluator(model)
    model.save_pretrained(str(target / "final"))
    return _keep(target / "final", out, record)


def run_multi_vector_case(
    case: MultiVectorCase, spec: dict[str, Any], out: Path, versions: dict[str, str]
) -> str:
    """Train the MultiVectorEncoder ``case``, write its README.md and case.json into ``out``; 'ok' or why
    it was not generated."""
    import torch
    from datasets import load_dataset
    from sentence_transformers.multi_vector_encoder import (
        MultiVectorEncoder,
        MultiVectorEncoderTrainer,
        MultiVectorEncoderTrainingArguments,
        evaluation,
        losses,
    )

    for module, name in ((losses, case.loss), (evaluation, case.evaluator)):
        if name and _class(module, name) is None:
            return f"not in this version: {module.__name__.rsplit('.', 1)[-1]}.{name}"

    def load(name: str, split: str) -> tuple[Any, dict[str, Any]]:
        repo = f"{NAMESPACE}/{name}"
        revision = spec["datasets"][repo] if case.pin_revision else None
        kwargs = {"split": split, **({"revision": revision} if revision else {})}
        return load_dataset(repo, **kwargs), {"id": repo, **kwargs}

    base = {"id": spec["base_model"], "revision": spec["base_model_revision"]}
    record: dict[str, Any] = {"case": case.name, "kind": "multi-vector", "versions": versions, "model": base}
    torch.manual_seed(0)
    model = MultiVectorEncoder(base["id"], revision=base["revision"])
    record["model"] = {**base, "max_seq_length": model.max_seq_length}
    target = Path(tempfile.mkdtemp(prefix=f"st-mv-{case.name}-"))
    if case.untrained:
        model.save_pretrained(str(target))
        return _keep(target, out, {**record, "api": "untrained"})
    loss = getattr(losses, case.loss)(model)
    record["loss"] = {"name": case.loss, "kwargs": {}}
    train, record["train"] = load(case.train, "train")
    evaluator = None
    if case.evaluator == "MultiVectorNanoBEIREvaluator":
        kwargs = {**case.evaluator_kwargs, "dataset_id": spec["nanobeir_folder"]}
        evaluator = evaluation.MultiVectorNanoBEIREvaluator(**kwargs)
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs}
    elif case.evaluator:
        data, where = load("toy-rerank", "dev")
        kwargs = {**case.evaluator_kwargs, "name": "toy-rerank-dev"}  # <dataset name>-<split>
        record["evaluator"] = {"name": case.evaluator, "kwargs": kwargs, "data": where}
        texts = sorted({text for row in data for text in row["positive"] + row["negative"]})
        ids = {text: f"d{i}" for i, text in enumerate(texts)}
        queries = {f"q{i}": row["query"] for i, row in enumerate(data)}
        relevant = {f"q{i}": {ids[text] for text in row["positive"]} for i, row in enumerate(data)}
        corpus = {ids[text]: text for text in texts}
        evaluator = evaluation.MultiVectorInformationRetrievalEvaluator(queries, corpus, relevant, **kwargs)
    arguments = {**COMMON_ARGS, **case.args}
    record["args"] = arguments
    training_args = MultiVectorEncoderTrainingArguments(output_dir=str(target / "out"), **arguments)
    trainer = MultiVectorEncoderTrainer(
        model=model, args=training_args, train_dataset=train, loss=loss, evaluator=evaluator
    )
    trainer.train()
    if evaluator is not None:  # the final model too, as the library's examples do: the card records it
        evaluator(model)
    model.save_pretrained(str(target / "final"))
    return _keep(target / "final", out, record)


def _keep(folder: Path, out: Path, record: dict[str, Any]) -> str:
    card = folder / "README.md"
    if not card.exists():
        return "the library wrote no README.md"
    out.mkdir(parents=True, exist_ok=True)
    text = card.read_text()
    (out / "README.md").write_text(text)
    (out / "case.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(folder.parent if folder.name == "final" else folder, ignore_errors=True)
    return "ok"


def worker(args: argparse.Namespace) -> int:
    from importlib.metadata import version as installed

    spec = json.loads(Path(args.spec).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = ("sentence-transformers", "transformers", "datasets", "torch", "huggingface-hub", "accelerate")
    versions = {name: installed(name) for name in names}
    wanted = set(spec["cases"].split(",")) if spec.get("cases") else None
    known = out / "results.json"  # a run of some cases keeps the others' cards and outcomes
    results: dict[str, Any] = json.loads(known.read_text()) if known.exists() and wanted else {"cases": {}}
    results.update(versions=versions, pins=spec["pins"])
    cases = {"bi-encoder": BI_CASES, "sparse-encoder": SPARSE_CASES, "multi-vector": MULTI_VECTOR_CASES}.get(
        spec.get("kind", ""), CASES
    )
    for case in cases:
        if wanted and case.name not in wanted:
            continue
        shutil.rmtree(out / case.name, ignore_errors=True)
        started = time.monotonic()
        try:
            if isinstance(case, MultiVectorCase):
                outcome = run_multi_vector_case(case, spec, out / case.name, versions)
            elif isinstance(case, SparseCase):
                outcome = run_sparse_case(case, spec, out / case.name, versions)
            elif isinstance(case, BiCase):
                outcome = run_bi_case(case, spec, out / case.name, versions)
            else:
                outcome = run_case(case, spec, out / case.name, versions)
        except Exception as error:
            traceback.print_exc()
            outcome = (
                f"failed: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
            )
        print(f"{case.name}: {outcome} ({time.monotonic() - started:.1f} s)", flush=True)
        results["cases"][case.name] = outcome
    (out / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="generate the corpus (the default)")
    for target in (parser, run):
        target.add_argument(
            "--versions",
            default="",
            help="comma-separated releases (default: every release from 4.0 the corpus lacks, on the index)",
        )
        target.add_argument(
            "--all",
            action="store_true",
            help="every release from 4.0 on the index and the +contemporary entries, present or not",
        )
        target.add_argument("--cases", default="", help="comma-separated case names (default: all)")
        target.add_argument(
            "--kind",
            choices=(*KINDS, ALL_KINDS),
            default=ALL_KINDS,
            help="train CrossEncoders, SentenceTransformers, SparseEncoders, MultiVectorEncoders or all (the "
            "default)",
        )
        target.add_argument("--work", default="/tmp/st-card-corpus", help="venvs, Hub data, logs")
        target.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "st_cards"))
    work = sub.add_parser("worker", help="(internal) train the cases inside one release's venv")
    work.add_argument("--spec", required=True)
    work.add_argument("--out", required=True)
    args = parser.parse_args()
    return worker(args) if args.command == "worker" else driver(args)


if __name__ == "__main__":
    sys.exit(main())
