"""Two-stage pipelines: first stages over a whole corpus, each alone and reranked, side by side."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import parquet_bytes
from factories import build_tiny_bi_encoder, build_tiny_cross_encoder, build_tiny_sparse_encoder
from helpers import run_cli

from hubrerank.data.candidates import RRF_K
from hubrerank.evaluation.pipeline import (
    BM25_NAME,
    PipelineRequest,
    evaluate_pipelines,
    hybrid_rankings,
    pipeline_tables,
    rerank,
)


@pytest.fixture(scope="module")
def bi_encoder_path(tmp_path_factory):
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("pipeline") / "bi")


def test_a_bi_encoder_alone_equals_information_retrieval_evaluator(reranking_file, bi_encoder_path):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from hubrerank.evaluation.retrieval import load_bi_encoder, retrieval_corpus
    from hubrerank.evaluation.samples import load_reranking_data

    request = PipelineRequest(data=str(reranking_file), retrievers=(str(bi_encoder_path),))
    [result] = evaluate_pipelines(request).pipelines

    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    model = load_bi_encoder(bi_encoder_path)
    evaluator = InformationRetrievalEvaluator(
        **corpus.evaluator_inputs(),
        accuracy_at_k=[1, 2, 3, 4, 5],
        precision_recall_at_k=[1],
        mrr_at_k=[1, 2, 3, 4, 5],
        ndcg_at_k=[10],
        map_at_k=[10],
        write_csv=False,
    )
    prefix = f"{model.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): value for key, value in evaluator(model).items()}
    for k in range(1, 6):
        assert result.metrics[f"hit_rate@{k}"] == pytest.approx(theirs[f"accuracy@{k}"], abs=1e-12)
        assert result.metrics[f"mrr@{k}"] == pytest.approx(theirs[f"mrr@{k}"], abs=1e-12)
    assert result.metrics["ndcg@10"] == pytest.approx(theirs["ndcg@10"], abs=1e-9)
    assert result.versus_baseline is None and len(result.per_query_ndcg) == len(corpus.queries)


def test_a_sparse_encoder_alone_equals_sparse_information_retrieval_evaluator(reranking_file, tmp_path):
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    from hubrerank.evaluation.retrieval import retrieval_corpus
    from hubrerank.evaluation.samples import load_reranking_data
    from hubrerank.evaluation.sparse_retrieval import load_sparse_encoder

    splade = build_tiny_sparse_encoder(tmp_path / "splade")
    request = PipelineRequest(
        data=str(reranking_file), retrievers=(str(splade),), bm25=True, hybrid_weight=0.5
    )
    sparse, bm25, hybrid = evaluate_pipelines(request).pipelines
    assert (bm25.name, hybrid.name) == (BM25_NAME, f"{BM25_NAME} + {splade} (RRF 0.5:0.5)")

    corpus = retrieval_corpus(load_reranking_data(str(reranking_file), split="test"))
    evaluator = SparseInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(),
        accuracy_at_k=[1, 2, 3, 4, 5],
        precision_recall_at_k=[1],
        mrr_at_k=[1, 2, 3, 4, 5],
        ndcg_at_k=[10],
        map_at_k=[10],
        write_csv=False,
    )
    theirs = {
        key.removeprefix("dot_"): value for key, value in evaluator(load_sparse_encoder(splade).model).items()
    }
    for k in range(1, 6):
        assert sparse.metrics[f"hit_rate@{k}"] == pytest.approx(theirs[f"accuracy@{k}"], abs=1e-12)
        assert sparse.metrics[f"mrr@{k}"] == pytest.approx(theirs[f"mrr@{k}"], abs=1e-12)
    assert sparse.metrics["ndcg@10"] == pytest.approx(theirs["ndcg@10"], abs=1e-9)


def test_cli_reranks_a_sparse_first_stage(reranking_file, bi_encoder_path, tmp_path):
    splade = build_tiny_sparse_encoder(tmp_path / "splade")
    reranker = build_tiny_cross_encoder(tmp_path / "ce")
    retrievers = ("--retriever", str(splade), "--retriever", str(bi_encoder_path))
    names = ("--retriever-name", "SPLADE", "--retriever-name", "MiniBERT")
    reranking = ("--reranker", str(reranker), "--reranker-name", "CE")
    json_path = tmp_path / "pipelines.json"
    result = run_cli(
        "pipeline", "--data", str(reranking_file), *retrievers, *names, *reranking, "--json", str(json_path)
    )
    assert result.exit_code == 0, result.output
    document = json.loads(json_path.read_text())
    rows = [pipeline["name"] for pipeline in document["pipelines"]]
    assert rows == ["SPLADE", "SPLADE + CE (top 20)", "MiniBERT", "MiniBERT + CE (top 20)"]
    assert document["models"]["SPLADE"] == str(splade)


def test_a_cross_encoder_is_no_first_stage(reranking_file, tmp_path):
    reranker = build_tiny_cross_encoder(tmp_path / "ce")
    result = run_cli("pipeline", "--data", str(reranking_file), "--retriever", str(reranker))
    assert result.exit_code == 2, result.output
    assert "is a cross-encoder model; a first stage is a bi-encoder, a sparse encoder or a multi-vector" in (
        result.output
    )


def test_rerank_orders_the_top_k_by_score_and_keeps_the_rest():
    # ties (documents 4 and 9) keep the first-stage order; 5 and 6 are past the top 4
    assert rerank([7, 4, 9, 2, 5, 6], {7: 0.1, 4: 0.5, 9: 0.5, 2: 0.9}, 4) == [2, 4, 9, 7, 5, 6]


def test_a_reranked_pipeline_equals_a_hand_computation(tmp_path, word_cross_encoder):
    """Three documents, two queries; BM25 ranks them, the cross-encoder reorders the top 2."""
    from sentence_transformers import CrossEncoder

    documents = ["apple pie with cream", "apple tree in the garden", "garden hose and water"]
    rows = [
        {"query_id": "a", "query": "apple garden", "positive": [documents[1]], "negative": documents[::2]},
        {"query_id": "b", "query": "garden water", "positive": [documents[2]], "negative": documents[:2]},
    ]
    data = tmp_path / "tiny.parquet"
    data.write_bytes(parquet_bytes(rows))
    request = PipelineRequest(
        data=str(data), bm25=True, reranker=str(word_cross_encoder), top_k=2, cache=False
    )
    results = evaluate_pipelines(request)
    bm25, reranked = results.pipelines

    from hubrerank.data.retrieval import Bm25Index
    from hubrerank.evaluation.retrieval import retrieval_corpus
    from hubrerank.evaluation.samples import load_reranking_data

    corpus = retrieval_corpus(load_reranking_data(str(data), split="test"))
    texts = list(corpus.corpus.values())
    found, _ = Bm25Index(texts).search([row["query"] for row in rows], len(texts))
    model = CrossEncoder(str(word_cross_encoder))
    expected_hits: list[list[bool]] = []
    for row, ranking in zip(rows, found, strict=True):
        ranked = [texts[int(i)] for i in ranking if i >= 0]
        scores = model.predict([(row["query"], doc) for doc in ranked[:2]], activation_fn=None)
        head = [doc for _, doc in sorted(zip(-scores, ranked[:2], strict=True), key=lambda pair: pair[0])]
        expected_hits.append([doc in row["positive"] for doc in head + ranked[2:]])

    first_rank = [hits.index(True) + 1 if True in hits else None for hits in expected_hits]
    for k in range(1, 6):
        hit = sum(rank is not None and rank <= k for rank in first_rank) / 2
        mrr = sum(1 / rank for rank in first_rank if rank is not None and rank <= k) / 2
        assert reranked.metrics[f"hit_rate@{k}"] == pytest.approx(hit)
        assert reranked.metrics[f"mrr@{k}"] == pytest.approx(mrr)
    assert (
        reranked.name == f"{BM25_NAME} + {word_cross_encoder} (top 2)" and reranked.first_stage == BM25_NAME
    )
    assert results.pairs_scored == 4 and results.baseline == BM25_NAME
    assert reranked.metrics != bm25.metrics  # the case tells a reranked order from the first stage's
    assert reranked.versus_baseline is not None and reranked.versus_baseline["queries"] == 2


def test_the_hybrid_fuses_the_full_rankings():
    """Document 1 is first for the bi-encoder only; document 2 is 25th in both rankings. Fused over
    lists cut at 20, 1 wins; over the full rankings, 2 does (2 / 85 > 1 / 61)."""
    dense = [[1, *range(3, 26), 2, *range(26, 30)]]
    lexical = [[*range(3, 27), 2]]
    assert dense[0].index(2) + 1 == 25 and lexical[0].index(2) + 1 == 25
    [fused] = hybrid_rankings(dense, lexical, 0.5)
    assert fused.index(2) < fused.index(1)
    score = {
        d: 0.5 / (RRF_K + dense[0].index(d) + 1) + 0.5 / (RRF_K + lexical[0].index(d) + 1) for d in lexical[0]
    }
    score[1] = 0.5 / (RRF_K + 1)
    score |= {d: 0.5 / (RRF_K + dense[0].index(d) + 1) for d in range(27, 30)}
    assert fused == sorted(score, key=lambda d: (-score[d], dense[0].index(d)))
    cut = hybrid_rankings([dense[0][:20]], [lexical[0][:20]], 0.5)[0]
    assert 2 not in cut and cut[0] == 3


def test_weight_one_is_the_bi_encoder_and_zero_is_bm25_first():
    dense, lexical = [[4, 3, 2, 1]], [[1, 2]]
    assert hybrid_rankings(dense, lexical, 1.0) == dense
    assert hybrid_rankings(dense, lexical, 0.0) == [[1, 2, 4, 3]]


def test_cli_prints_writes_and_tests_against_the_baseline(
    reranking_file, bi_encoder_path, word_cross_encoder, tmp_path
):
    other = build_tiny_bi_encoder(tmp_path / "other", seed=1)
    markdown, json_path = tmp_path / "out" / "pipelines.md", tmp_path / "pipelines.json"
    result = run_cli(
        "pipeline",
        "--data",
        str(reranking_file),
        "--retriever",
        str(bi_encoder_path),
        "--retriever",
        str(other),
        "--retriever-name",
        "base",
        "--retriever-name",
        "tuned",
        "--bm25",
        "--hybrid",
        "0.7",
        "--reranker",
        str(word_cross_encoder),
        "--reranker-name",
        "CE",
        "--top-k",
        "5",
        "--baseline",
        "base",
        "--markdown",
        str(markdown),
        "--json",
        str(json_path),
    )

    assert result.exit_code == 0, result.output
    names = ["base", "tuned", "BM25", "BM25 + base (RRF 0.7:0.3)", "BM25 + tuned (RRF 0.7:0.3)"]
    document = json.loads(json_path.read_text())
    rows = [p["name"] for p in document["pipelines"]]
    assert rows == [row for name in names for row in (name, f"{name} + CE (top 5)")]
    assert "Pipelines " in result.output and "Against base, NDCG@10 per query" in result.output
    assert "| pipeline | Hit@1 |" in markdown.read_text()
    base, *others = document["pipelines"]
    assert base["versus_baseline"] is None
    for entry in others:
        versus = entry["versus_baseline"]
        assert versus["delta"] == pytest.approx(
            entry["metrics"]["ndcg@10"] - base["metrics"]["ndcg@10"], abs=1e-12
        )
        assert versus["wins"] + versus["losses"] + versus["ties"] == document["num_queries"]
    assert document["models"] == {
        "base": str(bi_encoder_path),
        "tuned": str(other),
        "CE": str(word_cross_encoder),
    }
    assert document["reranker"] == "CE" and document["pipelines"][1]["reranker"] == "CE"
    # each distinct pair of the five first stages' top 5 went through the model or came from the cache
    assert 0 < document["pairs_scored"] + document["pairs_cached"] <= 5 * 5 * document["num_queries"]
    assert "dtype" not in document  # float32: the document reads as it always did


def test_a_bfloat16_pipeline_says_so(reranking_file, bi_encoder_path, word_cross_encoder, tmp_path):
    json_path = tmp_path / "pipelines.json"
    arguments = ["pipeline", "--data", str(reranking_file), "--retriever", str(bi_encoder_path),
                 "--reranker", str(word_cross_encoder), "--json", str(json_path), "--no-cache"]  # fmt: skip

    result = run_cli(*arguments, "--dtype", "bfloat16")

    assert result.exit_code == 0, result.output
    assert "Measured in bfloat16 (float32 is the reference precision)." in result.output.splitlines()
    document = json.loads(json_path.read_text())
    assert (document["dtype"], document["dtype_scheme"]) == ("bfloat16", "linear")


def test_cli_writes_a_trec_run_per_pipeline_and_trec_eval_agrees(
    reranking_file, bi_encoder_path, word_cross_encoder, tmp_path
):
    import pytrec_eval

    from hubrerank.evaluation import load_reranking_data, read_run
    from hubrerank.hashing import text_id

    run_file, json_path = tmp_path / "runs" / "p.run", tmp_path / "p.json"
    result = run_cli(
        "pipeline", "--data", str(reranking_file), "--retriever", str(bi_encoder_path), "--retriever-name",
        "base", "--bm25", "--reranker", str(word_cross_encoder), "--reranker-name", "CE", "--top-k", "5",
        "--run-file", str(run_file), "--json", str(json_path), "--no-cache",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    rows = load_reranking_data(str(reranking_file), split="test").rows
    qrels = {row.query_id: {text_id(text): 1 for text in row.positive} for row in rows if row.positive}
    files = {
        "base": "p.base.run",
        "base + CE (top 5)": "p.base_CE_top_5.run",
        "BM25": "p.BM25.run",
        "BM25 + CE (top 5)": "p.BM25_CE_top_5.run",
    }
    assert sorted(path.name for path in run_file.parent.iterdir()) == sorted(files.values())
    for pipeline in json.loads(json_path.read_text())["pipelines"]:
        path = run_file.parent / files[pipeline["name"]]
        assert {line.split()[-1] for line in path.read_text().splitlines()} == {
            "_".join(pipeline["name"].split())
        }
        run = read_run(path)
        assert set(run) == set(qrels) and all(len(ranking) <= 100 for ranking in run.values())
        for measure, depth, metric in (("ndcg_cut_10", 100, "ndcg@10"), ("recip_rank", 5, "mrr@5")):
            as_trec = {qid: dict(ranking[:depth]) for qid, ranking in run.items()}
            per_query = pytrec_eval.RelevanceEvaluator(qrels, {measure}).evaluate(as_trec)
            mean = sum(values[measure] for values in per_query.values()) / len(qrels)
            assert mean == pytest.approx(pipeline["metrics"][metric], abs=1e-9), (pipeline["name"], metric)


def test_tables_follow_the_results(reranking_file, bi_encoder_path):
    request = PipelineRequest(data=str(reranking_file), retrievers=(str(bi_encoder_path),), bm25=True)
    side_by_side, versus = pipeline_tables(evaluate_pipelines(request))
    assert [name for name, _ in side_by_side.rows] == [str(bi_encoder_path), BM25_NAME]
    assert side_by_side.headers[0] == "Hit@1" and side_by_side.headers[-1] == "NDCG@10"
    assert [name for name, _ in versus.rows] == [BM25_NAME]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--retriever", "{broken}"], "--retriever {broken}"),
        (["--hybrid", "0.5", "--bm25"], "--hybrid fuses BM25 with a bi-encoder: add --retriever"),
        (
            ["--hybrid", "1.5", "--retriever", "{bi}"],
            "--hybrid 1.5: give the bi-encoder's weight between 0 and 1",
        ),
        (["--bm25", "--markdown", "/proc/hr/out.md"], "--markdown /proc/hr/out.md cannot be written"),
        (["--bm25", "--baseline", "nope"], "--baseline 'nope' is no pipeline"),
        (["--bm25", "--reranker", "{broken}"], "--reranker {broken}"),
        ([], "give a first stage"),
        (["--bm25", "--reranker-name", "CE"], "--reranker-name names the --reranker: add --reranker MODEL"),
        (
            [
                "--retriever",
                "{bi}",
                "--retriever",
                "{bi}",
                "--retriever-name",
                "a b",
                "--retriever-name",
                "a_b",
                "--run-file",
                "r.run",
            ],
            "--run-file: two pipelines would write r.a_b.run",
        ),
        (["--bm25", "--run-file", "/proc/hr/r.run"], "--run-file /proc/hr/r.run cannot be written"),
    ],
)
def test_bad_input_exits_2_naming_the_option(reranking_file, bi_encoder_path, tmp_path, arguments, message):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("not json")
    values = {"{broken}": str(broken), "{bi}": str(bi_encoder_path)}
    arguments = [values.get(argument, argument) for argument in arguments]
    message = message.format(broken=broken)
    result = run_cli("pipeline", "--data", str(reranking_file), *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) <= 2


def test_an_unknown_split_exits_2_naming_the_option(reranking_repo):
    repo_id, sha = reranking_repo
    result = run_cli("pipeline", "--data", f"{repo_id}@{sha}", "--split", "nope", "--bm25")
    assert result.exit_code == 2, result.output
    assert "has no split 'nope'; it has test (--split)" in result.output


def test_bm25_keeps_english_stopwords_for_another_language(tmp_path):
    """Spanish "no" is an English stopword: BM25 finds the answer only when stopwords are kept."""
    documents = ["no hay agua", "la casa grande", "el perro pequeño"]
    rows = [{"query_id": "q", "query": "no", "positive": [documents[0]], "negative": documents[1:]}]
    data = tmp_path / "es.parquet"
    data.write_bytes(parquet_bytes(rows))
    metrics = {}
    for language in ("en", "es"):
        result = run_cli("pipeline", "--data", str(data), "--bm25", "--language", language, "--no-cache")
        assert result.exit_code == 0, result.output
        request = PipelineRequest(data=str(data), bm25=True, language=language, cache=False)
        [pipeline] = evaluate_pipelines(request).pipelines
        metrics[language] = pipeline.metrics["hit_rate@1"]
    assert metrics == {"en": 0.0, "es": 1.0}
