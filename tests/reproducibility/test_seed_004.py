"""Seed 004 end to end: the v4 blog's training script, run as a user runs it, then verified and reproduced.

tests/fixtures/seed_004/train_reranker.py is the blog's script in plain sentence-transformers (no
hubrerank import), scaled down. This module publishes what it reads to the local Hub (a QA dataset cut from
TREC DL 2019, a tiny BERT base model, a tiny embedding model to mine with, and a NanoBEIR-format dataset as
sentence-transformers/NanoBEIR-en), runs it in a subprocess that pushes the model, then checks the model
with ``hubrerank verify``, ``hubrerank recipe from-card`` and ``hubrerank reproduce``.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import SHARED, LocalHub, fresh_st_org_repo

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "seed_004" / "train_reranker.py"
DL19 = SHARED / "data" / "trec-dl19" / "derived"
MODEL_REPO = "alice/reranker-tiny-bert-gooaq-bce"  # the script pushes to run_name in the token's namespace
NANO_SUBSETS = ("NanoMSMARCO", "NanoNFCorpus", "NanoNQ")
PASSAGE_CHARS = 300  # DL19 passages are cut, as in tools/st_card_corpus.py: short pairs train in seconds


@dataclass(frozen=True)
class Dl19:
    """TREC DL 2019: queries, passages (cut to PASSAGE_CHARS), relevant and BM25-ranked passage ids."""

    queries: dict[str, str]
    passages: dict[str, str]
    positives: dict[str, list[str]]
    bm25: dict[str, list[str]]


@dataclass(frozen=True)
class SeedRun:
    """The model the blog's script pushed: repo id and commit."""

    repo_id: str
    sha: str

    @property
    def ref(self) -> str:
        return f"{self.repo_id}@{self.sha}"


def read_dl19() -> Dl19:
    def rows(name: str) -> list[dict]:
        return [json.loads(line) for line in (DL19 / name).open()]

    relevance = [r for r in rows("relevance.jsonl") if r["positive-corpus-ids"]]
    passages = {r["_id"]: r["text"][:PASSAGE_CHARS] for r in rows("corpus.jsonl")}
    return Dl19(
        queries={r["_id"]: r["text"] for r in rows("queries.jsonl")},
        passages=passages,
        positives={r["query-id"]: [p for p in r["positive-corpus-ids"] if p in passages] for r in relevance},
        bm25={r["query-id"]: [p for p in r["bm25-ranked-ids"] if p in passages] for r in relevance},
    )


def qa_rows(dl19: Dl19) -> list[dict[str, str]]:
    """GooAQ's form (question, answer): each DL19 query with up to three of its relevant passages."""
    return [
        {"question": dl19.queries[query], "answer": dl19.passages[passage]}
        for query, positives in dl19.positives.items()
        for passage in positives[:3]
    ]


def nanobeir_files(dl19: Dl19) -> dict[str, bytes]:
    """The NanoBEIR-en layout (configs corpus, queries, qrels, bm25; one split per subset): the DL19
    queries dealt round-robin to the three subsets the script evaluates, each with its BM25 top 30."""
    tables: dict[str, dict[str, list[dict]]] = {name: {} for name in ("corpus", "queries", "qrels", "bm25")}
    queries = sorted(dl19.positives)
    for index, split in enumerate(NANO_SUBSETS):
        mine = queries[index :: len(NANO_SUBSETS)]
        ranked = {query: dl19.bm25[query][:30] for query in mine}
        docs = sorted(
            {doc for ids in ranked.values() for doc in ids} | {d for q in mine for d in dl19.positives[q]}
        )
        tables["corpus"][split] = [{"_id": doc, "text": dl19.passages[doc]} for doc in docs]
        tables["queries"][split] = [{"_id": query, "text": dl19.queries[query]} for query in mine]
        tables["qrels"][split] = [{"query-id": q, "corpus-id": d} for q in mine for d in dl19.positives[q]]
        tables["bm25"][split] = [{"query-id": query, "corpus-ids": ranked[query]} for query in mine]
    files = {
        f"{config}/{split}.parquet": parquet_bytes(rows)
        for config, splits in tables.items()
        for split, rows in splits.items()
    }
    files["README.md"] = dataset_card({config: list(NANO_SUBSETS) for config in tables})
    return files


def parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


def dataset_card(configs: dict[str, list[str]]) -> bytes:
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {name}/{split}.parquet" for split in splits]
    return ("\n".join(lines) + "\n---\n").encode()


def write_word_vocab(path: Path, texts: list[str]) -> Path:
    """A WordPiece vocab: special tokens, characters, and every word seen twice in ``texts``."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]
    counts = Counter(word for text in texts for word in re.findall(r"[a-z0-9]+", text.lower()))
    words = sorted(word for word, count in counts.items() if count >= 2)
    tokens = special + chars + [f"##{c}" for c in chars] + list(".,;:?!'\"-()/%$&") + words
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n")
    return path


def build_bert(folder: Path, texts: list[str], seed: int, initializer_range: float = 0.02) -> Path:
    """A randomly initialised 2-layer, 32-dim BertModel (no head) with a word vocab for ``texts``; its
    config's ``initializer_range`` also sets how a head added to it later is initialised."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True)
    tokenizer = BertTokenizerFast(
        vocab=str(write_word_vocab(folder / "vocab.txt", texts)), do_lower_case=True, model_max_length=128
    )
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        initializer_range=initializer_range,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_embedder(folder: Path, texts: list[str]) -> Path:
    """A tiny SentenceTransformer (BERT + mean pooling) to mine hard negatives with: a bag of random word
    vectors (its layers add nothing, no position embeddings), so that texts sharing words come out similar
    and mining finds the positive among its neighbours, as a real embedding model would."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertModel

    raw = build_bert(folder.parent / f"{folder.name}-raw", texts, seed=1)
    bert = BertModel.from_pretrained(raw)
    with torch.no_grad():
        for name, parameter in bert.named_parameters():
            if "output.dense" in name or "position_embeddings" in name or "token_type_embeddings" in name:
                parameter.zero_()
    bert.save_pretrained(raw)
    SentenceTransformer(modules=[Transformer(str(raw), max_seq_length=128), Pooling(32, "mean")]).save(
        str(folder)
    )
    return folder


def folder_files(folder: Path) -> dict[str, Path]:
    return {path.relative_to(folder).as_posix(): path for path in folder.rglob("*") if path.is_file()}


def publish_inputs(hub: LocalHub, work: Path) -> None:
    """Everything the script reads, under the names it reads them by."""
    from huggingface_hub import HfApi

    from hubrerank.hub import publish

    dl19 = read_dl19()
    rows = qa_rows(dl19)
    texts = [row["question"] for row in rows] + list(dl19.passages.values())
    files = {"README.md": dataset_card({"default": ["train"]}), "default/train.parquet": parquet_bytes(rows)}
    publish(
        "alice/gooaq", files, repo_type="dataset", message="Add a GooAQ-form QA set cut from TREC DL 2019"
    )
    # a wide init spreads the scores: with BERT's 0.02 the tiny model's scores of one query's documents lie
    # so close that the last float bits (the trainer's batches against verify's) swap some of them
    base = build_bert(work / "tiny-bert", texts, seed=0, initializer_range=0.5)
    publish("alice/tiny-bert", folder_files(base), message="Add")
    publish("alice/tiny-embedder", folder_files(build_embedder(work / "tiny-embedder", texts)), message="Add")
    api = HfApi(endpoint=hub.url, token=fresh_st_org_repo(hub, "sentence-transformers/NanoBEIR-en"))
    api.create_repo("sentence-transformers/NanoBEIR-en", repo_type="dataset", exist_ok=True)
    for path, data in nanobeir_files(dl19).items():
        (work / "NanoBEIR-en" / path).parent.mkdir(parents=True, exist_ok=True)
        (work / "NanoBEIR-en" / path).write_bytes(data)
    api.upload_folder(
        repo_id="sentence-transformers/NanoBEIR-en", repo_type="dataset", folder_path=work / "NanoBEIR-en"
    )


@pytest.fixture(scope="module")
def seed_run(hub: LocalHub, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> SeedRun:
    """Publish the script's inputs, run it as a user would (its own process, HF_ENDPOINT and HF_TOKEN set
    to the local Hub), and return the model it pushed."""
    from hubrerank.hub import resolve

    work = tmp_path_factory.mktemp("seed-004")
    publish_inputs(hub, work)
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.alice_token,
        "HF_HUB_DISABLE_XET": "1",
        "OMP_NUM_THREADS": "1",
        "WANDB_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=work, env=env, capture_output=True, text=True, timeout=1200
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Error uploading model" not in log, log[-4000:]
    pushed = resolve(MODEL_REPO)
    return SeedRun(pushed.repo_id, pushed.sha)


def publish_mined_data() -> str:
    """The data the script trained and evaluated on, which it mined in memory and never published: mined
    again here with the script's calls (deterministic on CPU) and published as alice/gooaq-hard, the
    training pairs in config default (query, passage, label: the columns hubrerank's BCE reads) and the
    gooaq-dev lists in config reranking, split dev. Returns the commit sha."""
    from datasets import load_dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    from hubrerank.hub import publish

    full = load_dataset("alice/gooaq", split="train")
    split = full.train_test_split(test_size=20, seed=12)
    embedder = SentenceTransformer("alice/tiny-embedder", device="cpu")
    train = mine_hard_negatives(
        split["train"], embedder, num_negatives=5, absolute_margin=0, range_min=0, range_max=100,
        sampling_strategy="top", batch_size=4096, output_format="labeled-pair", use_faiss=True, verbose=False,
    )  # fmt: skip
    dev = mine_hard_negatives(
        split["test"], embedder, corpus=list(full["answer"]), num_negatives=30, batch_size=4096,
        include_positives=True, output_format="n-tuple", use_faiss=True, verbose=False,
    )  # fmt: skip
    pairs = [{"query": r["question"], "passage": r["answer"], "label": r["label"]} for r in train]
    lists = []
    for row in dev:
        documents = [row[column] for column in dev.column_names[2:]]
        negatives = [document for document in documents if document != row["answer"]]
        lists.append({"query": row["question"], "positive": [row["answer"]], "negative": negatives,
                      "documents": documents})  # fmt: skip
    files = {
        "README.md": dataset_card({"default": ["train"], "reranking": ["dev"]}),
        "default/train.parquet": parquet_bytes(pairs),
        "reranking/dev.parquet": parquet_bytes(lists),
    }
    return publish("alice/gooaq-hard", files, repo_type="dataset", message="The script's mined data").sha


# what `recipe from-card` cannot know from the blog's card: the first two must be filled in (the script
# mined its training pairs and gooaq-dev lists in memory and published neither), the rest are caveats
EXPECTED_UNKNOWN = {
    "train[0]",
    "evaluation.reranking (gooaq-dev)",
    "args.load_best_model_at_end",
    "args (unrecorded)",
    "checkpoint_selection",
    "nanobeir_revision",
    "data_preparation",
}
NANOBEIR_CLAIMS = 12  # map, mrr@10, ndcg@10 of three subsets and their mean
# The blog's script builds its CrossEncoder (a new classification head) before the trainer seeds, and
# torch seeds its default generator from the OS at start-up, so every run of the script starts from another
# head, and none from the one hubrerank's seeded run starts from. Measured over 8 head initialisations of
# this scaled-down run (everything else fixed), the claimed metrics moved by up to 0.09 on gooaq-dev (20
# queries) and for a NanoBEIR mean (MRR@10), and by up to 0.34 for one 14-query NanoBEIR subset
# (NanoNQ MRR@10): 20 steps at the blog's learning rate leave the head's random direction in the scores. A
# reproduction can only be held to that spread, with a margin of about 1.5
# (docs/tolerances.md, "Reproducing a sentence-transformers run").
TOLERANCES = """\
default: 0.15
metrics:
  "NanoBEIR_R100_mean_*": 0.15
  "Nano*": 0.5
"""


def test_verify_rechecks_the_nanobeir_claims_and_lists_the_unplaced_ones(
    seed_run: SeedRun, tmp_path: Path
) -> None:
    from helpers import run_cli

    result = run_cli("verify", seed_run.ref, "--json", str(tmp_path / "verify.json"))

    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "verify.json").read_text())
    assert report["verdict"] == "PASS"
    assert len(report["rows"]) == NANOBEIR_CLAIMS
    # the scores differ from the trainer's in the last float bits (other batches, other padding), which can
    # swap near-tied documents of a tiny model: within verify's 0.001 (plus the card's rounding), not zero
    assert all(row["metric"].startswith("Nano") and row["ok"] for row in report["rows"])
    assert all(abs(row["delta"]) <= 0.00105 for row in report["rows"])
    assert "gooaq-dev" in report["caveats"]["unchecked claims"]


def test_from_card_then_reproduce_passes_and_explains_the_weights(seed_run: SeedRun, tmp_path: Path) -> None:
    import yaml
    from helpers import run_cli

    recipe_path = tmp_path / "recipe.yaml"
    result = run_cli("recipe", "from-card", seed_run.ref, "-o", str(recipe_path))
    assert result.exit_code == 0, result.output
    recipe = yaml.safe_load(recipe_path.read_text())
    assert set(recipe["unknown"]) == EXPECTED_UNKNOWN
    assert recipe["seed"] == 12 and recipe["loss"] == {
        "name": "BinaryCrossEntropyLoss",
        "params": {"pos_weight": 5},
    }
    assert recipe["evaluation"]["nanobeir"]["datasets"] == ["msmarco", "nfcorpus", "nq"]

    sha = publish_mined_data()
    recipe["train"] = [
        {"dataset": "alice/gooaq-hard", "revision": sha, "config": "default", "split": "train"}
    ]
    recipe["evaluation"]["reranking"] = [
        {"dataset": "alice/gooaq-hard", "revision": sha, "config": "reranking", "split": "dev", "at_k": 10}
    ]
    del recipe["unknown"]["train[0]"], recipe["unknown"]["evaluation.reranking (gooaq-dev)"]
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))

    # the filled-in gooaq-dev lists are the script's: its claims re-measure exactly on the published weights
    verified = run_cli(
        "verify", seed_run.ref, "--recipe", str(recipe_path), "--json", str(tmp_path / "v.json")
    )
    assert verified.exit_code == 0, verified.output
    assert len(json.loads((tmp_path / "v.json").read_text())["rows"]) == NANOBEIR_CLAIMS + 3

    report_path, tolerances = tmp_path / "reproduce.json", tmp_path / "tolerances.yaml"
    tolerances.write_text(TOLERANCES)
    result = run_cli(
        "reproduce", seed_run.ref, "--recipe", str(recipe_path), "--out", str(tmp_path / "out"),
        "--tolerance-file", str(tolerances), "--json", str(report_path),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and len(report["rows"]) == NANOBEIR_CLAIMS + 3
    assert {row["metric"].split("/")[-1] for row in report["rows"][:3]} == {
        "realistic_map", "realistic_mrr@10", "realistic_ndcg@10"
    }  # fmt: skip
    assert any(abs(row["delta"]) > 1e-4 for row in report["rows"])  # the other head moves the metrics
    weights = report["weights"]
    assert not weights["identical"] and not weights["expected_identical"]
    assert (
        "not made by hubrerank" in weights["why"] and "classifier.weight, classifier.bias" in weights["why"]
    )
    new = [tensor["name"] for tensor in weights["tensors"] if tensor["new"]]
    assert sorted(new) == ["classifier.bias", "classifier.weight"]
    assert weights["tensors"][0]["name"] == "classifier.weight"  # the new head changed most
    assert 0 < weights["relative_l2"] < 1
    assert all(tensor["max_abs_diff"] is not None for tensor in weights["tensors"])
    versions = {row["name"]: row for row in report["library_versions"]}
    assert {"python", "sentence_transformers", "transformers", "torch", "datasets"} <= set(versions)
    assert not any(row["differs"] for row in versions.values())  # the script ran in this very venv
    assert "why: the original run was not made by hubrerank" in result.output
    assert re.search(r"by how much: relative L2 distance of the state dict \d", result.output)
    assert re.search(r"^sentence_transformers\s+6\.\d+\.\d+\s+6\.\d+\.\d+\s+yes$", result.output, re.M)
