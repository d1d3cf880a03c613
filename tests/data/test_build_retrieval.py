"""``data build --output-format retrieval``: BEIR/MTEB-shaped corpus, queries and qrels, evaluated over
the whole corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import LocalHub, run_cli

SPLIT_ARGS = ("--output-format", "retrieval", "--test-size", "4", "--eval-size", "2")


def build(source: Path, out: Path, *args: str) -> Path:
    result = run_cli("data", "build", str(source), "--out", str(out), *SPLIT_ARGS, *args)
    assert result.exit_code == 0, result.output
    return out


def test_a_llamaindex_json_maps_onto_corpus_queries_and_qrels(tmp_path: Path, llamaindex_json: Path) -> None:
    out = build(llamaindex_json, tmp_path / "out")
    source = json.loads(llamaindex_json.read_text())
    metadata = json.loads((out / "hubrerank_dataset.json").read_text())
    table = {name: pq.read_table(out / path).to_pylist() for name, path in metadata["files"].items()}

    # the whole corpus, the unjudged "extra" document included, with the source's ids
    assert {row["_id"]: row["text"] for row in table["corpus/corpus"]} == source["corpus"]
    queries = {}
    for split in ("train", "eval", "test"):
        rows = table[f"queries/{split}"]
        assert {row["_id"] for row in rows} == {row["query-id"] for row in table[f"qrels/{split}"]}
        queries |= {row["_id"]: row["text"] for row in rows}
        for qrel in table[f"qrels/{split}"]:
            assert qrel["corpus-id"] in source["relevant_docs"][qrel["query-id"]] and qrel["score"] == 1
    assert queries == source["queries"]  # every query once, in exactly one split
    assert [len(table[f"queries/{split}"]) for split in ("train", "eval", "test")] == [6, 2, 4]
    card = (out / "README.md").read_text()
    assert "task_categories:\n- text-retrieval" in card and "config_name: qrels" in card
    assert "every document of the source, 13 of them" in card
    assert "--output-format retrieval" in metadata["command"]


def test_the_same_seed_carves_the_same_test_queries_as_the_reranking_build(
    tmp_path: Path, qa_csv: Path
) -> None:
    out = build(qa_csv, tmp_path / "retrieval")
    reranking = tmp_path / "reranking"
    result = run_cli(
        "data", "build", str(qa_csv), "--out", str(reranking), "--test-size", "4", "--eval-size", "2"
    )
    assert result.exit_code == 0, result.output
    retrieval_test = pq.read_table(out / "data/queries-test-00000-of-00001.parquet")["text"].to_pylist()
    reranking_test = pq.read_table(reranking / "data/test-00000-of-00001.parquet")["query"].to_pylist()
    assert sorted(retrieval_test) == sorted(reranking_test)


@pytest.mark.parametrize(
    ("args", "flags"),
    [(("--negatives", "2", "--bm25"), "--bm25, --negatives"), (("--candidates", "5"), "--candidates")],
)
def test_options_that_add_documents_are_refused(tmp_path: Path, qa_csv: Path, args, flags) -> None:
    result = run_cli("data", "build", str(qa_csv), "--out", str(tmp_path / "out"), *SPLIT_ARGS, *args)
    assert result.exit_code == 2
    assert f"--output-format retrieval writes the source's corpus, queries and qrels only; drop {flags}" in (
        result.output
    )
    assert not (tmp_path / "out").exists()


def test_retrieval_is_measured_over_the_whole_corpus_as_the_evaluator_does(
    tmp_path: Path, llamaindex_json: Path, local_bi_encoder: Path
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from hubrerank.evaluation.retrieval import (
        evaluate_retrieval,
        evaluator_ks,
        load_bi_encoder,
        load_retrieval_split,
    )

    out = build(llamaindex_json, tmp_path / "out")
    data = load_retrieval_split(str(out), split="test")
    source = json.loads(llamaindex_json.read_text())
    assert data.corpus.corpus == source["corpus"] and data.config == "queries" and data.revision is None
    assert len(data.corpus.queries) == 4

    model = SentenceTransformer(str(local_bi_encoder))
    ours = evaluate_retrieval(load_bi_encoder(local_bi_encoder), data.corpus, 10).metrics
    evaluator = InformationRetrievalEvaluator(
        queries=data.corpus.queries,
        corpus=source["corpus"],
        relevant_docs={qid: set(source["relevant_docs"][qid]) for qid in data.corpus.queries},
        **evaluator_ks(10),
        write_csv=False,
    )
    prefix = f"{model.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): value for key, value in evaluator(model).items()}
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        assert value == pytest.approx(theirs[key], abs=1e-9, rel=0), key


def test_a_bi_encoders_run_file_names_the_corpus_ids_and_trec_eval_agrees(
    tmp_path: Path, llamaindex_json: Path, local_bi_encoder: Path
) -> None:
    import pytrec_eval

    from hubrerank.evaluation import read_run

    out = build(llamaindex_json, tmp_path / "out")
    run_file, json_path = tmp_path / "bi.run", tmp_path / "results.json"
    options = ("--run-file", str(run_file), "--json", str(json_path), "--no-cache")
    result = run_cli("eval", str(local_bi_encoder), "--data", str(out), "--split", "test", *options)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(json_path.read_text())["results"]

    qrels: dict[str, dict[str, int]] = {}
    for row in pq.read_table(out / "data/qrels-test-00000-of-00001.parquet").to_pylist():
        qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = row["score"]
    run = read_run(run_file)
    corpus = json.loads(llamaindex_json.read_text())["corpus"]
    assert set(run) == set(qrels) and len(qrels) == 4
    assert all(sorted(doc for doc, _ in ranking) == sorted(corpus) for ranking in run.values())  # all 13
    for measure, depth, metric in (
        ("ndcg_cut_10", 100, "ndcg@10"),
        ("recip_rank", 10, "mrr@10"),
        ("recall_10", 100, "recall@10"),
    ):
        as_trec = {qid: dict(ranking[:depth]) for qid, ranking in run.items()}
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(as_trec)
        mean = sum(values[measure] for values in per_query.values()) / len(per_query)
        assert mean == pytest.approx(entry["metrics"][metric], abs=1e-9), metric


def test_push_is_one_commit_and_pipelines_search_the_whole_corpus(
    hub: LocalHub, llamaindex_json: Path, local_bi_encoder: Path, tmp_path: Path
) -> None:
    from huggingface_hub import HfApi

    result = run_cli("data", "build", str(llamaindex_json), "--push", "alice/faq-retrieval", *SPLIT_ARGS)
    assert result.exit_code == 0, result.output
    ref = result.stdout.strip().splitlines()[-1]
    commits = HfApi().list_repo_commits("alice/faq-retrieval", repo_type="dataset")
    assert commits[0].commit_id == ref.split("@")[1] and len(commits) == 2

    json_path = tmp_path / "pipelines.json"
    result = run_cli(
        "pipeline", "--data", ref, "--retriever", str(local_bi_encoder), "--bm25", "--json", str(json_path)
    )
    assert result.exit_code == 0, result.output
    document = json.loads(json_path.read_text())
    assert document["corpus_size"] == 13 and document["num_queries"] == 4 and document["config"] == "queries"
    assert "(4 queries over 13 documents)" in result.output


def test_validate_checks_the_retrieval_tables_and_their_ids(tmp_path: Path, llamaindex_json: Path) -> None:
    out = build(llamaindex_json, tmp_path / "out")
    result = run_cli("data", "validate", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == f"{out}: 0 errors, 0 warnings"
    assert "corpus/corpus: 13 rows" in result.output

    qrels = out / "data/qrels-test-00000-of-00001.parquet"
    table = pq.read_table(qrels)
    pq.write_table(table.set_column(1, "corpus-id", pa.array(["gone"] * table.num_rows)), qrels)
    queries = out / "data/queries-eval-00000-of-00001.parquet"
    train = pq.read_table(out / "data/queries-train-00000-of-00001.parquet")
    pq.write_table(pa.concat_tables([pq.read_table(queries), train.slice(0, 1)]), queries)
    result = run_cli("data", "validate", str(out))
    assert result.exit_code == 1
    assert "error: [qrels/test] 4 corpus-ids are not in corpus/corpus (e.g. gone)" in result.output
    assert "1 queries are in both queries/eval and queries/train" in result.output


def test_eval_measures_a_bi_encoder_over_the_whole_corpus_and_refuses_a_reranker(
    tmp_path: Path, llamaindex_json: Path, local_bi_encoder: Path, local_cross_encoder: Path
) -> None:
    out = build(llamaindex_json, tmp_path / "out")
    json_path = tmp_path / "results.json"
    result = run_cli("eval", str(local_bi_encoder), "--data", str(out), "--json", str(json_path))
    assert result.exit_code == 0, result.output
    [entry] = json.loads(json_path.read_text())["results"]
    assert entry["task"] == "retrieval" and entry["corpus_size"] == 13 and entry["config"] == "queries"

    result = run_cli("eval", str(local_cross_encoder), "--data", str(out))
    assert result.exit_code == 2
    assert f"{local_cross_encoder} is a reranker, but {out} is retrieval-form data" in result.output
