"""Evaluation fixtures: tiny word-level cross-encoders, reranking data, tiny NanoBEIR datasets on the Hub."""

from __future__ import annotations

import io
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import COMMON_WORDS
from helpers import LocalHub

WORDS = COMMON_WORDS.split()
NANOBEIR_CONFIGS = ("corpus", "queries", "qrels", "bm25")


def text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def reranking_records(seed: int = 0) -> list[dict[str, Any]]:
    """Reranking-form rows covering the evaluator's cases: retrieved and missed positives, several
    positives, a query without any positive, a query whose positives were all missed, and rows without a
    first-stage list (negatives only)."""
    rng = random.Random(seed)
    records = []
    for index in range(24):
        documents = list(dict.fromkeys(text(rng, 3, 40) for _ in range(12)))
        positive = rng.sample(documents, rng.randint(1, 3)) if index % 6 else []
        if index % 4 == 1:
            positive.append(text(rng, 3, 40))  # a positive the first stage missed
        if index == 5:
            positive = [text(rng, 3, 40)]  # every positive missed
        records.append(
            {
                "query_id": f"q{index}",
                "query": text(rng, 2, 6),
                "positive": positive,
                "negative": [doc for doc in documents if doc not in positive],
                "documents": documents,
                "document_ids": [f"d{index}-{rank}" for rank in range(len(documents))],
            }
        )
    for index in range(24, 30):
        records.append(
            {
                "query_id": f"q{index}",
                "query": text(rng, 2, 6),
                "positive": [text(rng, 3, 30) for _ in range(rng.randint(1, 2))],
                "negative": [text(rng, 3, 30) for _ in range(6)],
                "documents": [],
                "document_ids": [],
            }
        )
    return records


def parquet_bytes(records: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), buffer)
    return buffer.getvalue()


def dataset_card(configs: dict[str, list[str]]) -> bytes:
    """A README whose YAML declares ``configs`` (name -> splits), files at ``{config}/{split}.parquet``."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {name}/{split}.parquet" for split in splits]
    return ("\n".join(lines) + "\n---\n").encode()


def build_nanobeir_files(
    subsets: dict[str, int], configs: tuple[str, ...] = NANOBEIR_CONFIGS
) -> dict[str, bytes]:
    """A NanoBEIR-layout dataset (CrossEncoderNanoBEIREvaluator's loader): configs corpus (_id, text),
    queries (_id, text), qrels (query-id, corpus-id) and bm25 (query-id, corpus-ids), with one split
    ``Nano{Name}`` per subset; ``subsets`` maps split names to their number of queries."""
    rng = random.Random(1)
    files: dict[str, bytes] = {}
    for split, num_queries in subsets.items():
        corpus = [{"_id": f"{split}-d{i}", "text": text(rng, 4, 30)} for i in range(40)]
        queries = [{"_id": f"{split}-q{i}", "text": text(rng, 2, 6)} for i in range(num_queries)]
        qrels, bm25 = [], []
        for query in queries:
            ranked = rng.sample([doc["_id"] for doc in corpus], 15)
            relevant = [*rng.sample(ranked[:10], 2), rng.choice([doc["_id"] for doc in corpus])]
            qrels += [{"query-id": query["_id"], "corpus-id": doc_id} for doc_id in dict.fromkeys(relevant)]
            bm25.append({"query-id": query["_id"], "corpus-ids": ranked})
        tables = {"corpus": corpus, "queries": queries, "qrels": qrels, "bm25": bm25}
        files.update({f"{name}/{split}.parquet": parquet_bytes(tables[name]) for name in configs})
    files["README.md"] = dataset_card({name: list(subsets) for name in configs})
    return files


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and much faster when the two cores are shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_word_cross_encoder(folder: Path, extra_words: Iterable[str] = ()) -> Path:
    """A tiny random cross-encoder whose tokenizer knows words, so that distinct texts get distinct scores.

    The vocab is factories.write_vocab's (characters and common words) plus ``extra_words``, so that
    real text is not spelt letter by letter and truncated after a few words. (factories'
    ``BertTokenizerFast(vocab_file=...)`` loses its vocab on transformers 5: the session's tiny models
    read every word as [UNK] and score texts of equal length alike.) A wide weight init spreads the
    sigmoid scores, which near 0.5 would otherwise tie in float32.
    """
    import torch
    from factories import _bert_config, write_vocab
    from sentence_transformers import CrossEncoder
    from transformers import BertForSequenceClassification, BertTokenizerFast

    raw = folder.parent / f"{folder.name}-raw"
    raw.mkdir(parents=True)
    vocab = write_vocab(raw / "vocab.txt")
    known = set(vocab.read_text().split())
    with vocab.open("a") as handle:
        handle.writelines(f"{word}\n" for word in dict.fromkeys(extra_words) if word not in known)
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    torch.manual_seed(0)
    config = _bert_config(tokenizer.vocab_size, num_labels=1, initializer_range=0.5)
    BertForSequenceClassification(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    CrossEncoder(str(raw), max_length=256).save(str(folder))
    return folder


@pytest.fixture(scope="session")
def word_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`build_word_cross_encoder` with the common words only (enough for the synthetic data)."""
    return build_word_cross_encoder(tmp_path_factory.mktemp("eval-models") / "word-cross-encoder")


@pytest.fixture(scope="session")
def reranking_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`reranking_records` as a local parquet file."""
    path = tmp_path_factory.mktemp("eval-data") / "rerank-test.parquet"
    path.write_bytes(parquet_bytes(reranking_records()))
    return path


@pytest.fixture(scope="session")
def reranking_repo(hub: LocalHub) -> tuple[str, str]:
    """:func:`reranking_records` pushed as dataset alice/rerank-eval (split test): (repo id, sha)."""
    from hubrerank.hub import publish

    files = {
        "README.md": dataset_card({"default": ["test"]}),
        "default/test.parquet": parquet_bytes(reranking_records()),
    }
    ref = publish("alice/rerank-eval", files, repo_type="dataset", message="Add reranking test split")
    return ref.repo_id, ref.sha


@pytest.fixture(scope="session")
def nanobeir_repo(hub: LocalHub) -> tuple[str, str]:
    """A two-subset NanoBEIR dataset (NanoMSMARCO, NanoNQ) pushed as alice/nanobeir-tiny: (repo id, sha)."""
    from hubrerank.hub import publish

    files = build_nanobeir_files({"NanoMSMARCO": 6, "NanoNQ": 5})
    ref = publish("alice/nanobeir-tiny", files, repo_type="dataset", message="Add a tiny NanoBEIR")
    return ref.repo_id, ref.sha
