"""Retrieval over a split's whole corpus equals sentence-transformers' InformationRetrievalEvaluator."""

from __future__ import annotations

import json

import pytest
from factories import build_tiny_bi_encoder, build_tiny_cross_encoder

from hubrerank.errors import InputError
from hubrerank.evaluation import run_evaluations
from hubrerank.evaluation.retrieval import (
    evaluate_retrieval,
    evaluator_ks,
    load_bi_encoder,
    retrieval_corpus,
)
from hubrerank.evaluation.samples import load_reranking_data


@pytest.fixture(scope="module")
def bi_encoder_path(tmp_path_factory):
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("retrieval") / "bi")


def test_corpus_is_every_distinct_document_of_the_split(reranking_file):
    data = load_reranking_data(str(reranking_file), split="test")
    corpus = retrieval_corpus(data)
    texts = {text for row in data.rows for text in (*row.positive, *row.negative, *row.documents)}
    assert sorted(corpus.corpus.values()) == sorted(texts)
    assert corpus.queries_without_positives == sum(not row.positive for row in data.rows) > 0
    assert (
        set(corpus.queries)
        == set(corpus.relevant_docs)
        == {row.query_id for row in data.rows if row.positive}
    )


@pytest.mark.parametrize("at_k", [10, 5, 20])
def test_metrics_equal_information_retrieval_evaluator(reranking_file, bi_encoder_path, at_k):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    model = load_bi_encoder(bi_encoder_path)
    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    ours = evaluate_retrieval(model, corpus, at_k).metrics
    evaluator = InformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(at_k), write_csv=False
    )
    prefix = f"{model.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): value for key, value in evaluator(model.model).items()}
    assert set(ours) == set(theirs)
    assert {f"accuracy@{k}" for k in (1, 3, 5, 10)} <= set(ours) and f"ndcg@{at_k}" in ours
    for key, value in ours.items():
        assert value == pytest.approx(theirs[key], abs=1e-9, rel=0), key


def test_run_evaluations_records_a_retrieval_result(reranking_file, bi_encoder_path):
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    (result,) = run_evaluations(bi_encoder_path, None, plan)["results"]
    assert result["task"] == "retrieval"
    assert result["num_queries"] + result["queries_without_positives"] == 30
    assert result["corpus_size"] > result["num_queries"]
    assert 0 <= result["metrics"]["ndcg@10"] <= 1


def test_a_bi_encoder_with_nothing_to_evaluate_gets_no_results(bi_encoder_path):
    # a bi-encoder recipe with neither `eval` nor `evaluation` ends its training here: never the reranker path
    assert run_evaluations(bi_encoder_path, None, {})["results"] == []


def test_retrieval_refuses_a_cross_encoder(reranking_file, tmp_path):
    folder = build_tiny_cross_encoder(tmp_path / "ce")
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test"}]}
    with pytest.raises(InputError, match="retrieval needs a bi-encoder"):
        run_evaluations(folder, None, plan)


def test_eval_cli_compares_a_bi_encoder_by_retrieval_beside_a_reranker(
    reranking_file, bi_encoder_path, tiny_cross_encoder, tmp_path
):
    from helpers import run_cli

    json_path = tmp_path / "results.json"
    result = run_cli(
        "eval",
        str(bi_encoder_path),
        tiny_cross_encoder.ref,
        "--data",
        str(reranking_file),
        "--json",
        str(json_path),
    )

    assert result.exit_code == 0, result.output
    assert "Retrieval " in result.output and "queries over" in result.output and "Hit@10" in result.output
    assert "Reranking " in result.output
    document = json.loads(json_path.read_text())
    tasks = [[entry["task"] for entry in model["results"]] for model in document["models"]]
    assert tasks == [["retrieval"], ["reranking"]]


def test_eval_cli_tests_the_first_bi_encoder_against_the_others_query_by_query(
    reranking_file, bi_encoder_path, tmp_path
):
    from helpers import run_cli

    other = build_tiny_bi_encoder(tmp_path / "other", seed=1)
    json_path = tmp_path / "results.json"
    result = run_cli(
        "eval", str(bi_encoder_path), str(other), "--data", str(reranking_file), "--json", str(json_path)
    )

    assert result.exit_code == 0, result.output
    assert f"{bi_encoder_path} against the other retrievers, NDCG@10 per query" in result.output
    first, second = json.loads(json_path.read_text())["models"]
    [versus] = first["results"][0]["versus_models"]
    assert versus["model"] == str(other) and versus["queries"] == first["results"][0]["num_queries"]
    assert versus["delta"] == pytest.approx(
        first["results"][0]["metrics"]["ndcg@10"] - second["results"][0]["metrics"]["ndcg@10"], abs=1e-12
    )
    assert 0 <= versus["p_value"] <= 1 and "versus_models" not in second["results"][0]


def test_eval_cli_writes_what_a_bi_encoder_retrieved_and_trec_eval_agrees(
    reranking_file, bi_encoder_path, tmp_path
):
    import numpy as np
    import pytrec_eval
    from helpers import run_cli
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from hubrerank.evaluation import read_run
    from hubrerank.hashing import text_id

    run_file, json_path = tmp_path / "bi.run", tmp_path / "results.json"
    options = ("--split", "test", "--run-file", str(run_file), "--json", str(json_path), "--no-cache")
    result = run_cli("eval", str(bi_encoder_path), "--data", str(reranking_file), *options)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(json_path.read_text())["results"]

    # qrels straight from the split: each row's positives, named by the hash of their text
    rows = load_reranking_data(str(reranking_file), split="test").rows
    qrels = {row.query_id: {text_id(text): 1 for text in row.positive} for row in rows if row.positive}
    texts = {text_id(text) for row in rows for text in (*row.positive, *row.negative, *row.documents)}
    run = read_run(run_file)
    assert set(run) == set(qrels) and entry["num_queries"] == len(qrels)
    for ranking in run.values():
        assert len(ranking) == min(100, entry["corpus_size"]) and {doc for doc, _ in ranking} <= texts
        assert len({score for _, score in ranking}) == len(ranking)  # no tie for trec_eval to reorder

    def trec_eval(measure: str, depth: int) -> float:
        as_trec = {qid: dict(ranking[:depth]) for qid, ranking in run.items()}
        per_query = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(as_trec)
        return float(np.mean([values[measure] for values in per_query.values()]))

    model = load_bi_encoder(bi_encoder_path)
    evaluator = InformationRetrievalEvaluator(
        **retrieval_corpus(load_reranking_data(str(reranking_file), split="test")).evaluator_inputs(),
        **evaluator_ks(10),
        write_csv=False,
    )
    theirs = evaluator(model.model)
    prefix = f"{model.similarity_fn_name}_"
    for measure, depth, metric in (
        ("ndcg_cut_10", 100, "ndcg@10"),
        ("recip_rank", 10, "mrr@10"),  # MRR@10: the reciprocal rank over the run cut at 10
        ("recall_10", 100, "recall@10"),
    ):
        assert trec_eval(measure, depth) == pytest.approx(entry["metrics"][metric], abs=1e-9), metric
        assert entry["metrics"][metric] == pytest.approx(theirs[prefix + metric], abs=1e-9), metric


def test_a_run_file_of_several_retrieval_tasks_prefixes_the_query_ids(
    reranking_file, bi_encoder_path, tmp_path
):
    from hubrerank.evaluation import read_run

    task = {"dataset": str(reranking_file), "split": "test"}
    plan = {"retrieval": [task, {**task, "at_k": 5}]}
    first, _ = run_evaluations(bi_encoder_path, None, plan, cache=False, run_file=tmp_path / "r.run")[
        "results"
    ]
    run = read_run(tmp_path / "r.run")
    queries = {qid.split(":", 1)[1] for qid in run}
    assert {qid.split(":", 1)[0] for qid in run} == {"0", "1"} and len(queries) == first["num_queries"]
    assert run[f"0:{min(queries)}"] == run[f"1:{min(queries)}"]  # the same retrieval, whatever the cut-off


def test_eval_cli_refuses_reranking_options_for_a_bi_encoder(reranking_file, bi_encoder_path):
    from helpers import run_cli

    result = run_cli("eval", str(bi_encoder_path), "--data", str(reranking_file), "--fuse-first-stage")
    assert result.exit_code == 2
    assert "--fuse-first-stage reranks with cross-encoders, but" in result.output


def _retrieval_folder(folder, qrels_test: list[dict], corpus: list[dict] | None = None):
    """A retrieval-form dataset folder (Hub layout) with one train and one test split."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    corpus = corpus or [{"_id": "d1", "text": "apple tree"}, {"_id": "d2", "text": "garden hose"}]
    tables = {
        "corpus-corpus": corpus,
        "queries-train": [{"_id": "q1", "text": "apple"}],
        "queries-test": [{"_id": "q1", "text": "apple"}, {"_id": "q2", "text": "hose"}],
        "qrels-train": [{"query-id": "q1", "corpus-id": "d1", "score": 1}],
        "qrels-test": qrels_test,
    }
    (folder / "data").mkdir(parents=True)
    for name, rows in tables.items():
        pq.write_table(pa.Table.from_pylist(rows), folder / "data" / f"{name}-00000-of-00001.parquet")
    configs = "".join(
        f"- config_name: {config}\n  data_files:\n"
        + "".join(
            f"  - split: {split}\n    path: data/{config}-{split}-00000-of-00001.parquet\n"
            for split in splits
        )
        for config, splits in {
            "corpus": ["corpus"],
            "queries": ["train", "test"],
            "qrels": ["train", "test"],
        }.items()
    )
    (folder / "README.md").write_text(f"---\nconfigs:\n{configs}---\n")
    return folder


def test_retrieval_form_qrels_of_score_0_are_not_relevant(tmp_path):
    """BEIR qrels may judge a document non-relevant (score 0); it counted as relevant."""
    from hubrerank.evaluation.retrieval import load_retrieval_split

    qrels = [
        {"query-id": "q1", "corpus-id": "d1", "score": 1},
        {"query-id": "q1", "corpus-id": "d2", "score": 0},
        {"query-id": "q2", "corpus-id": "d1", "score": 0},
    ]
    split = load_retrieval_split(str(_retrieval_folder(tmp_path / "ds", qrels)))
    assert split.corpus.relevant_docs == {"q1": {"d1"}}
    assert split.corpus.queries == {"q1": "apple"} and split.corpus.queries_without_positives == 1


@pytest.mark.parametrize(
    ("corpus", "qrels_columns", "expected"),
    [
        ([{"_id": "d1", "text": None}], None, "config corpus: _id 'd1' has text None, not a string"),
        (
            [{"_id": "d1", "text": "a"}, {"_id": "d1", "text": "b"}],
            None,
            "config corpus: _id 'd1' occurs twice",
        ),
        ([{"id": "d1", "contents": "a"}], None, "config corpus lacks column(s) _id, text (has id, contents)"),
        (None, ("query_id", "corpus_id"), "(config qrels, split test): CastError: Couldn't cast"),
    ],
)
def test_a_broken_retrieval_form_is_refused_in_one_line(tmp_path, corpus, qrels_columns, expected):
    """Each of these was exit 3 (AttributeError in the encoder, ValueError, DatasetGenerationError)."""
    from hubrerank.evaluation.retrieval import load_retrieval_split

    query_id, corpus_id = qrels_columns or ("query-id", "corpus-id")
    qrels = [{query_id: "q1", corpus_id: "d1", "score": 1}]
    folder = _retrieval_folder(tmp_path / tmp_path.name, qrels, corpus)  # datasets caches by folder name
    with pytest.raises(InputError) as error:
        load_retrieval_split(str(folder))
    assert expected in str(error.value) and "\n" not in str(error.value)
