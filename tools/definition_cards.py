"""Generate the cards sentence-transformers 6.2 and 6.3 write for one reranker whose first stage missed
positives, so `hubrerank verify` is tested on both definitions of NDCG and MAP with the real libraries.

sentence-transformers 6.3 normalises CrossEncoderRerankingEvaluator's (and so
CrossEncoderNanoBEIREvaluator's) NDCG@k and MAP by all known positives, 6.2 by the listed ones
(hubrerank/evaluation/definitions.py): the same model on the same data gets two numbers. This script
builds ONE tiny BERT cross-encoder whose every parameter comes from ``numpy.random.default_rng(SEED)`` in
sorted name order (:func:`build_model`: the weights do not depend on transformers' init code, so a test
rebuilds them instead of committing them), pushes it and made-up data to a local hubrerank Hub (the
machinery of tools/st_card_corpus.py: throwaway venvs, ``hubrerank hub serve``), and in each release's
venv runs CrossEncoderTrainer for two steps at ``learning_rate=0.0`` (the weights stay the same, checked)
with CrossEncoderRerankingEvaluator (``always_rerank_positives=False`` on one split, the default on
another) and CrossEncoderNanoBEIREvaluator (``always_rerank_positives=False``, ``dataset_id`` a Hub id),
all loaded from the Hub by id as a user would. Kept under ``<out>/<release>/``: the README.md the library
wrote, case.json (the arguments, library versions and the weights' digest) and ``data/<repo>/``, the
dataset files as pushed (tests/reproducibility/test_definition_cards.py publishes them again).

    .venv/bin/python tools/definition_cards.py [--versions 6.2.0,6.3.0] [--work /tmp/definition-cards]

The same file is the worker the driver runs inside each venv (``worker`` subcommand); the worker half
imports only what the venv's sentence-transformers release brings.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import shutil
import string
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "definition_cards"
RELEASES = ("6.2.0", "6.3.0")
SEED = 6263
ORG = "acme"  # the tests' org on the session Hub: from-card guesses evaluator data in the model's namespace
MODEL_REPO = f"{ORG}/definition-tiny-reranker"
PAIRS = "definition-pairs"  # training data: the card needs a trainer, the weights must not move
RERANK = "definition-rerank"  # reranking splits test (realistic evaluator) and dev (default evaluator)
NANOBEIR = "definition-nanobeir"  # a NanoBEIR-layout dataset whose BM25 lists miss some qrels
NANOBEIR_SPLITS = {"NanoMSMARCO": "msmarco", "NanoNFCorpus": "nfcorpus"}
NANOBEIR_CONFIGS = ("corpus", "queries", "qrels", "bm25")
RERANK_K = 10
AT_K = 10
MAX_LENGTH = 128
VOCABULARY = (  # the words of the made-up texts, each one token
    "the a of to in is what how which where river mountain city country king queen war film music song "
    "book author born died first large small new old color red blue green car train plane ship sea "
    "ocean sun moon star planet house roof wall water heat energy window door floor paint wood steel "
    "price cost time year law rule bridge castle garden market tunnel island forest desert glacier "
    "harbor comet violin bakery lantern orchard canyon meadow quiet busy cold warm near far"
)
WORDS = tuple(VOCABULARY.split())


# ==== data and weights (shared with the test) =============================================================


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def _unique_texts(rng: random.Random, count: int, seen: set[str]) -> list[str]:
    """``count`` made-up texts, none in ``seen`` (which they join): a text is relevant by equality."""
    texts: list[str] = []
    while len(texts) < count:
        text = _text(rng, 4, 16)
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def _rerank_rows(rng: random.Random, split: str, queries: int) -> list[dict[str, Any]]:
    """Reranking-form rows (docs/contracts.md) whose first-stage ``documents`` miss some positives: every
    third query has a positive the list lacks, the last one has only missed positives."""
    rows = []
    seen: set[str] = set()
    for index in range(queries):
        documents = _unique_texts(rng, 8, seen)
        listed = [] if index == queries - 1 else rng.sample(documents, rng.randint(1, 2))
        missed = _unique_texts(rng, 1, seen) if index % 3 == 0 or index == queries - 1 else []
        positive = listed + missed
        rows.append(
            {
                "query_id": f"{split}-q{index}",
                "query": _text(rng, 2, 6),
                "positive": positive,
                "negative": [doc for doc in documents if doc not in positive],
                "documents": documents,
                "document_ids": [f"{split}-q{index}-d{rank}" for rank in range(len(documents))],
            }
        )
    return rows


def _nanobeir_tables(rng: random.Random, split: str) -> dict[str, list[dict[str, Any]]]:
    """One NanoBEIR subset: a BM25 list of 15 per query of which the evaluator reranks the top
    ``RERANK_K``; some qrels rank below it, some are not in the list at all."""
    ids = [f"{split}-d{i}" for i in range(30)]
    corpus = [
        {"_id": doc, "text": text} for doc, text in zip(ids, _unique_texts(rng, 30, set()), strict=True)
    ]
    queries, qrels, bm25 = [], [], []
    for index in range(8):
        query = f"{split}-q{index}"
        ranked = rng.sample(ids, 15)
        relevant = rng.sample(ranked[:RERANK_K], rng.randint(1, 2))
        if index % 2 == 0:
            relevant.append(rng.choice(ranked[RERANK_K:]))  # below the reranked top
        if index % 3 == 0:
            relevant.append(rng.choice([doc for doc in ids if doc not in ranked]))  # BM25 missed it
        queries.append({"_id": query, "text": _text(rng, 2, 6)})
        qrels += [{"query-id": query, "corpus-id": doc} for doc in relevant]
        bm25.append({"query-id": query, "corpus-ids": ranked})
    return {"corpus": corpus, "queries": queries, "qrels": qrels, "bm25": bm25}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows).encode()


def _dataset_card(configs: dict[str, list[str]]) -> bytes:
    """A README whose YAML declares ``configs`` (name -> splits), files at ``{config}/{split}.jsonl``."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {name}/{split}.jsonl" for split in splits]
    return ("\n".join(lines) + "\n---\n").encode()


def build_data() -> dict[str, dict[str, bytes]]:
    """The made-up datasets as the files of their Hub repos: repo name -> path -> bytes."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    pairs = [
        {"query": _text(rng, 2, 6), "passage": passage, "label": float(index % 2 == 0)}
        for index, passage in enumerate(_unique_texts(rng, 16, seen))
    ]
    rerank = {split: _rerank_rows(rng, split, 12) for split in ("test", "dev")}
    nano = {split: _nanobeir_tables(rng, split) for split in NANOBEIR_SPLITS}
    return {
        PAIRS: {"README.md": _dataset_card({"default": ["train"]}), "default/train.jsonl": _jsonl(pairs)},
        RERANK: {
            "README.md": _dataset_card({"default": list(rerank)}),
            **{f"default/{split}.jsonl": _jsonl(rows) for split, rows in rerank.items()},
        },
        NANOBEIR: {
            "README.md": _dataset_card({config: list(nano) for config in NANOBEIR_CONFIGS}),
            **{
                f"{config}/{split}.jsonl": _jsonl(tables[config])
                for split, tables in nano.items()
                for config in NANOBEIR_CONFIGS
            },
        },
    }


def read_data(folder: Path) -> dict[str, dict[str, bytes]]:
    """The dataset files kept under ``folder`` (``<repo name>/<path>``), as :func:`build_data` gives them."""
    return {
        repo.name: {
            path.relative_to(repo).as_posix(): path.read_bytes() for path in repo.rglob("*") if path.is_file()
        }
        for repo in sorted(folder.iterdir())
        if repo.is_dir()
    }


def weights_digest(model: Any) -> str:
    """sha256 of a torch module's parameters, by sorted name, as float32 bytes: the same weights whatever
    library saved or loaded them."""
    digest = hashlib.sha256()
    for name, parameter in sorted(model.named_parameters()):
        digest.update(name.encode() + b"\0")
        digest.update(parameter.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_model(folder: Path) -> str:
    """A 2-layer, 32-dim BERT cross-encoder (one logit) with a WordPiece tokenizer knowing :data:`WORDS`,
    saved in transformers' layout (every release reads it); every parameter drawn from
    ``numpy.random.default_rng(SEED)`` in sorted name order (standard deviation 0.5, wide enough that
    distinct texts never tie). Returns :func:`weights_digest` of the saved weights."""
    import numpy as np
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits)
    vocab = folder / "vocab.txt"
    tokens = specials + chars + list(string.punctuation) + [f"##{c}" for c in chars] + list(WORDS)
    vocab.write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True, model_max_length=MAX_LENGTH)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_LENGTH,
        num_labels=1,
    )
    model = BertForSequenceClassification(config)
    rng = np.random.default_rng(SEED)
    with torch.no_grad():
        for _, parameter in sorted(model.named_parameters()):
            values = rng.normal(0.0, 0.5, size=tuple(parameter.shape)).astype(np.float32)
            parameter.copy_(torch.from_numpy(values))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return weights_digest(model)


# ==== driver (the hubrerank venv) =========================================================================


def _corpus_tool() -> Any:
    """tools/st_card_corpus.py: its venvs (``make_venv``), local Hub (``start_hub``) and environment."""
    spec = importlib.util.spec_from_file_location("st_card_corpus", ROOT / "tools" / "st_card_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def publish_all(work: Path) -> dict[str, Any]:
    """Push the datasets and the model to the local Hub: the worker's spec (ids, revisions, digest)."""
    from hubrerank.hub import publish

    data = build_data()
    revisions = {}
    for name, files in data.items():
        ref = publish(f"{ORG}/{name}", files, repo_type="dataset", message=f"Add {name}")
        revisions[ref.repo_id] = ref.sha
    folder = work / "model"
    shutil.rmtree(folder, ignore_errors=True)
    digest = build_model(folder)
    files = {path.name: path for path in folder.iterdir() if path.is_file()}
    model = publish(MODEL_REPO, files, message="Add the tiny reranker")
    return {"model": MODEL_REPO, "model_revision": model.sha, "digest": digest, "datasets": revisions}


def driver(args: argparse.Namespace) -> int:
    corpus = _corpus_tool()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    hub_data = work / "hub"
    shutil.rmtree(hub_data, ignore_errors=True)
    hub = corpus.start_hub(hub_data, orgs=(ORG,))
    os.environ.update(corpus.DRIVER_ENV, HF_ENDPOINT=hub.url, HF_HOME=str(work / "hf-home-driver"))
    failed = []
    try:
        spec = publish_all(work)
        print(f"local Hub {hub.url}: published {MODEL_REPO} and {', '.join(spec['datasets'])}", flush=True)
        for version in args.versions.split(","):
            if not generate(corpus, version, Path(args.out) / version, work, spec):
                failed.append(version)
    finally:
        hub.process.terminate()
        hub.process.wait(30)
    return 1 if failed else 0


def generate(corpus: Any, version: str, out: Path, work: Path, spec: dict[str, Any]) -> bool:
    """One release's card, case.json and data files into ``out``, by the worker in the release's venv."""
    log = work / f"st-{version}.log"
    log.unlink(missing_ok=True)
    made = corpus.make_venv(work, version, log)
    if isinstance(made, str):
        print(f"{version}: cannot install: {made}", flush=True)
        return False
    python, _ = made
    target = Path(tempfile.mkdtemp(prefix=f"definition-card-{version}-", dir=work))
    spec_file = work / f"spec-{version}.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "HF_HOME": str(work / f"hf-home-{version}")}
    command = [str(python), __file__, "worker", "--spec", str(spec_file), "--out", str(target)]
    if corpus._run(command, log, env) != 0 or not (target / "README.md").is_file():
        print(f"{version}: the worker failed; see {log}", flush=True)
        return False
    shutil.rmtree(out, ignore_errors=True)
    (out / "data").mkdir(parents=True)
    for name in ("README.md", "case.json"):
        shutil.copyfile(target / name, out / name)
    for name, files in build_data().items():
        for path, content in files.items():
            (out / "data" / name / path).parent.mkdir(parents=True, exist_ok=True)
            (out / "data" / name / path).write_bytes(content)
    shutil.rmtree(target)
    print(f"{version}: {out}", flush=True)
    return True


# ==== worker (inside a release's venv) ====================================================================


def _transformer(model: Any) -> Any:
    """The transformers model inside a CrossEncoder (an attribute in 6.2, a module of the stack in 6.3)."""
    from transformers import PreTrainedModel

    return next(module for module in model.modules() if isinstance(module, PreTrainedModel))


def worker(args: argparse.Namespace) -> int:
    """Train for two steps at learning rate 0 with the evaluators, check the weights did not move, and
    keep the README.md the library writes and case.json in ``--out``."""
    from importlib.metadata import version as installed

    from datasets import load_dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderNanoBEIREvaluator,
        CrossEncoderRerankingEvaluator,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    spec = json.loads(Path(args.spec).read_text())
    out = Path(args.out)
    names = ("sentence-transformers", "transformers", "datasets", "torch", "huggingface-hub", "accelerate")
    model = CrossEncoder(spec["model"], revision=spec["model_revision"])
    if weights_digest(_transformer(model)) != spec["digest"]:
        raise SystemExit("the model this release loaded is not the one built (weights digest differs)")

    def load(name: str, split: str) -> Any:
        repo = f"{ORG}/{name}"
        return load_dataset(repo, split=split, revision=spec["datasets"][repo])

    def samples(split: str) -> list[dict[str, Any]]:
        return [
            {"query": row["query"], "positive": row["positive"], "documents": row["documents"]}
            for row in load(RERANK, split)
        ]

    evaluators = {  # hubrerank's <dataset name>-<split> names, so from-card finds the data
        f"{RERANK}-test": {"always_rerank_positives": False},
        f"{RERANK}-dev": {},
    }
    nanobeir = {
        "dataset_names": list(NANOBEIR_SPLITS.values()),
        "dataset_id": f"{ORG}/{NANOBEIR}",
        "rerank_k": RERANK_K,
        "at_k": AT_K,
        "always_rerank_positives": False,
    }
    built = [
        CrossEncoderRerankingEvaluator(samples(name.rsplit("-", 1)[1]), at_k=AT_K, name=name, **kwargs)
        for name, kwargs in evaluators.items()
    ]
    built.append(CrossEncoderNanoBEIREvaluator(**nanobeir))
    arguments = {
        "max_steps": 2,
        "per_device_train_batch_size": 8,
        "learning_rate": 0.0,
        "eval_strategy": "steps",
        "eval_steps": 2,
        "save_strategy": "no",
        "report_to": "none",
        "logging_steps": 1,
        "seed": SEED,
        "use_cpu": True,
    }
    target = Path(tempfile.mkdtemp(prefix="definition-card-"))
    trainer = CrossEncoderTrainer(
        model=model,
        args=CrossEncoderTrainingArguments(output_dir=str(target / "out"), **arguments),
        train_dataset=load(PAIRS, "train"),
        loss=BinaryCrossEntropyLoss(model),
        evaluator=built,
    )
    trainer.train()
    for evaluator in built:  # the final model, as the library's examples do: the card records it
        evaluator(model)
    if weights_digest(_transformer(model)) != spec["digest"]:
        raise SystemExit("training at learning rate 0 changed the weights")
    model.save_pretrained(str(target / "final"))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target / "final" / "README.md", out / "README.md")
    record = {
        "versions": {name: installed(name) for name in names},
        "model": {"id": spec["model"], "revision": spec["model_revision"], "weights_sha256": spec["digest"]},
        "seed": SEED,
        "loss": "BinaryCrossEntropyLoss",
        "train": {"id": f"{ORG}/{PAIRS}", "split": "train"},
        "args": arguments,
        "evaluators": [
            *(
                {"name": "CrossEncoderRerankingEvaluator", "kwargs": {"at_k": AT_K, "name": name, **kwargs}}
                for name, kwargs in evaluators.items()
            ),
            {"name": "CrossEncoderNanoBEIREvaluator", "kwargs": nanobeir},
        ],
        "datasets": spec["datasets"],
    }
    (out / "case.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="generate the cards (the default)")
    for target in (parser, run):
        target.add_argument("--versions", default=",".join(RELEASES), help="comma-separated releases")
        target.add_argument("--work", default="/tmp/definition-cards", help="venvs, Hub data, logs")
        target.add_argument("--out", default=str(OUT))
    work = sub.add_parser("worker", help="(internal) train and write the card inside one release's venv")
    work.add_argument("--spec", required=True)
    work.add_argument("--out", required=True)
    args = parser.parse_args()
    return worker(args) if args.command == "worker" else driver(args)


if __name__ == "__main__":
    sys.exit(main())
