"""A pushed sparse encoder (SPLADE) is verified (re-evaluated) and reproduced (retrained) like the other
kinds: its retrieval claims and its sparsity re-measured exactly, its weights retrained byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import build_tiny_mlm_base
from helpers import card_front_matter, run_cli
from reproduce_fixtures import DATASET, write_recipe

from hubrerank.cards.model_index import eval_result_entries
from hubrerank.hub import publish


@pytest.fixture(scope="module")
def sparse_trained(hub, faq_data, tmp_path_factory) -> str:
    """A tiny SPLADE model trained from a masked-LM base with SpladeLoss around SparseCoSENTLoss on the
    labeled pairs, pushed; returns ``REPO@SHA``."""
    folder = tmp_path_factory.mktemp("sparse-trained")
    base = build_tiny_mlm_base(folder / "base")
    files = {path.relative_to(base).as_posix(): path for path in base.rglob("*") if path.is_file()}
    publish("alice/repro-mlm-base", files, message="Add a masked-LM base")
    recipe = write_recipe(
        folder,
        "alice/repro-mlm-base",
        model={"kind": "sparse-encoder", "max_length": 32},
        loss={
            "name": "SpladeLoss",
            "params": {"document_regularizer_weight": 3e-5, "query_regularizer_weight": 5e-5},
            "inner": {"name": "SparseCoSENTLoss"},
        },
        evaluation={
            "retrieval": [{"dataset": DATASET, "config": "rerank", "split": "test"}],
            "encoder-reranking": [{"dataset": DATASET, "config": "rerank", "split": "test"}],
        },
    )
    result = run_cli("train", str(recipe), "--out", str(folder / "out"), "--push", "alice/repro-splade")
    assert result.exit_code == 0, result.output
    card = (folder / "out" / "README.md").read_text()
    assert "Retrieval: alice/repro-faq (test)" in card and "SparseInformationRetrievalEvaluator" in card
    assert "Reranking: alice/repro-faq (test)" in card and "`SparseRerankingEvaluator`" in card
    assert "alice/repro-faq:test reranking each query's lists" in result.output
    results = json.loads((folder / "out" / "eval_results.json").read_text())
    (entries,) = [v for k, v in eval_result_entries(results).items() if k.startswith("encoder-reranking-")]
    assert [entry.task_id for entry in entries] == [
        f"rerank/test/encoder-reranking/{metric}" for metric in ("map", "mrr@10", "ndcg@10")
    ]
    return next(line for line in result.output.splitlines() if line.startswith("alice/repro-splade@"))


def test_verify_re_measures_the_retrieval_and_sparsity_claims(sparse_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", sparse_trained, "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "alice/repro-faq:test/ndcg@10" in result.output and "PASS" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    assert {"alice/repro-faq:test/accuracy@1", "alice/repro-faq:test/corpus_active_dims"} <= metrics
    # map, mrr@10 and ndcg@10 of SparseRerankingEvaluator (retrieval reports map@100)
    assert "alice/repro-faq:test/encoder-reranking/map" in metrics
    assert all(row["delta"] == 0 for row in report["rows"])


def test_the_record_keeps_apart_retrieval_and_reranking_on_one_split(sparse_trained):
    """hubrerank.yaml's metrics name the reranking of the split the model also retrieves from apart
    (``<dataset>:<split>/encoder-reranking/<metric>``): neither overwrites the other."""
    from hubrerank.hub import read_file
    from hubrerank.refs import ResolvedRef

    repo, sha = sparse_trained.split("@")
    record = yaml.safe_load(read_file(ResolvedRef(repo, sha, "model"), "hubrerank.yaml") or b"")
    results = json.loads(read_file(ResolvedRef(repo, sha, "model"), "eval_results.json") or b"")
    retrieval, reranking = results["results"]
    for metric in ("ndcg@10", "mrr@10", "query_active_dims"):
        assert record["metrics"][f"{DATASET}:test/{metric}"] == retrieval["metrics"][metric]
        assert record["metrics"][f"{DATASET}:test/encoder-reranking/{metric}"] == reranking["metrics"][metric]
    assert retrieval["metrics"]["ndcg@10"] != reranking["metrics"]["ndcg@10"]


def test_the_model_index_task_type_is_the_pipeline_tag_sentence_transformers_writes(
    sparse_trained, st_splade
):
    """hubrerank's card of a sparse encoder has the pipeline tag SparseEncoder's own card has
    (feature-extraction), and so does the model-index entry of its retrieval; its reranking of the same
    split is a reranker's (text-ranking), a result of its own (the Hub groups by task type and split)."""
    ours = card_front_matter(*sparse_trained.split("@"))
    theirs = card_front_matter(ST_SPLADE, st_splade)
    assert theirs["pipeline_tag"] == "feature-extraction" == ours["pipeline_tag"]
    results = ours["model-index"][0]["results"]
    tasks = [(result["task"]["type"], result["task"]["name"]) for result in results]
    assert tasks == [(theirs["pipeline_tag"], "Retrieval"), ("text-ranking", "Reranking")]
    reranking = {metric["type"] for metric in results[1]["metrics"]}
    assert {"map", "mrr@10", "ndcg@10"} <= reranking and "accuracy@1" not in reranking


def test_a_card_edited_by_hand_is_still_checked_whatever_task_type_it_shows(sparse_trained, tmp_path):
    """A card rendered before the task types were the kind's (retrieval as sentence-similarity, reranking
    as feature-extraction), its retrieval NDCG@10 edited by hand: verify still finds the edit (claims are
    matched by task name, dataset and metric) and FAILs on it alone."""
    import shutil

    from hubrerank.hub import download
    from hubrerank.refs import ResolvedRef

    repo, sha = sparse_trained.split("@")
    copy = tmp_path / "copy"
    shutil.copytree(download(ResolvedRef(repo, sha, "model")), copy, ignore=shutil.ignore_patterns(".cache"))
    header, _, body = (copy / "README.md").read_text().removeprefix("---\n").partition("\n---\n")
    data = yaml.safe_load(header)
    retrieval, reranking = data["model-index"][0]["results"]
    retrieval["task"]["type"], reranking["task"]["type"] = "sentence-similarity", "feature-extraction"
    next(m for m in retrieval["metrics"] if m["type"] == "ndcg@10")["value"] += 0.05
    (copy / "README.md").write_text("---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + body)
    files = {path.relative_to(copy).as_posix(): path for path in copy.rglob("*") if path.is_file()}
    edited = publish("alice/repro-splade-edited", files, message="an older card, edited").sha

    report_path = tmp_path / "report.json"
    result = run_cli("verify", f"alice/repro-splade-edited@{edited}", "--json", str(report_path))

    assert result.exit_code == 1, result.output
    rows = json.loads(report_path.read_text())["rows"]
    failed = [(row["metric"], row["source"], round(row["delta"], 4)) for row in rows if not row["ok"]]
    assert failed == [(f"{DATASET}:test/ndcg@10", "README.md model-index", -0.05)]


@pytest.mark.slow
def test_reproduce_retrains_to_byte_identical_weights(sparse_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("reproduce", sparse_trained, "--out", str(tmp_path / "out"), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and report["weights"]["identical"]
    recorded = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert recorded["model"]["kind"] == "sparse-encoder"


ST_SPLADE = "alice/st-splade"
ST_SPLADE_RERANKING = "alice/st-splade-reranking"


@pytest.fixture(scope="module")
def st_splade(hub, faq_data, tmp_path_factory) -> str:
    """A SPLADE model trained by a plain sentence-transformers script (:func:`_st_splade`), its final
    model evaluated by a SparseInformationRetrievalEvaluator named ``<dataset name>-<split>``; its sha."""
    return _st_splade(ST_SPLADE, _retrieval_evaluator(faq_data), faq_data, tmp_path_factory)


def _retrieval_evaluator(faq_data: str) -> Any:
    """A SparseInformationRetrievalEvaluator named ``repro-faq-test`` over every text of the test split."""
    from datasets import load_dataset
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    texts = sorted({text for row in test for text in row["positive"] + row["negative"] + row["documents"]})
    ids = {text: f"d{index}" for index, text in enumerate(texts)}
    return SparseInformationRetrievalEvaluator(
        {row["query_id"]: row["query"] for row in test},
        {ids[text]: text for text in texts},
        {row["query_id"]: {ids[text] for text in row["positive"]} for row in test},
        name="repro-faq-test",
        write_csv=False,
    )


@pytest.fixture(scope="module")
def st_splade_reranking(hub, faq_data, tmp_path_factory) -> str:
    """The same script's model evaluated by a SparseRerankingEvaluator named ``<dataset name>-<split>``
    on each test query's first-stage documents (every positive included); its sha."""
    return _st_splade(ST_SPLADE_RERANKING, _reranking_evaluator(faq_data), faq_data, tmp_path_factory)


def _reranking_evaluator(faq_data: str) -> Any:
    """A SparseRerankingEvaluator named ``repro-faq-test`` on each test query's first-stage documents."""
    from datasets import load_dataset
    from sentence_transformers.sparse_encoder.evaluation import SparseRerankingEvaluator

    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    samples = [
        {
            "query": row["query"],
            "positive": row["positive"],
            "negative": [text for text in row["documents"] if text not in row["positive"]],
        }
        for row in test
    ]
    return SparseRerankingEvaluator(samples, name="repro-faq-test", write_csv=False)


def _st_splade(repo: str, evaluator: Any, faq_data: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SPLADE model trained by a plain sentence-transformers script (:func:`_st_sparse` from a masked-LM
    checkpoint, SpladeLoss around SparseCoSENTLoss), evaluated by ``evaluator``, pushed to ``repo``."""
    from sentence_transformers.sparse_encoder.losses import SparseCoSENTLoss, SpladeLoss

    def splade_loss(model: Any) -> Any:
        return SpladeLoss(
            model, SparseCoSENTLoss(model), document_regularizer_weight=3e-5, query_regularizer_weight=5e-5
        )

    return _st_sparse(repo, build_tiny_mlm_base, splade_loss, evaluator, faq_data, tmp_path_factory)


def _st_sparse(
    repo: str,
    build_base: Callable[[Path], Path],
    make_loss: Callable[[Any], Any],
    evaluator: Any,
    faq_data: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A sparse encoder trained by a plain sentence-transformers script: ``SparseEncoder`` from the base
    ``build_base`` writes (pushed as ``<repo>-base``), ``SparseEncoderTrainer`` with ``make_loss(model)`` on
    data loaded from the Hub by revision, its final model evaluated by ``evaluator``, pushed to ``repo``
    with ``push_to_hub``; returns its sha. The card is the one the installed sentence-transformers writes."""
    from datasets import load_dataset
    from sentence_transformers import SparseEncoder, SparseEncoderTrainer, SparseEncoderTrainingArguments

    from hubrerank.hub import resolve

    work = tmp_path_factory.mktemp("st-sparse")
    base = build_base(work / "base")
    files = {path.relative_to(base).as_posix(): path for path in base.rglob("*") if path.is_file()}
    base_repo = f"{repo}-base"
    base_sha = publish(base_repo, files, message="Add the base model").sha
    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    model = SparseEncoder(base_repo, revision=base_sha)
    model.max_seq_length = 32
    args = SparseEncoderTrainingArguments(
        output_dir=str(work / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        seed=12,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SparseEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=make_loss(model), evaluator=evaluator
    )
    trainer.train()
    evaluator(model)
    model.push_to_hub(repo)
    return resolve(repo).sha


def test_from_card_and_verify_on_a_sentence_transformers_sparse_encoder_card(st_splade, tmp_path):
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", f"{ST_SPLADE}@{st_splade}", "-o", str(path))
    assert written.exit_code == 0, written.output
    recipe = yaml.safe_load(path.read_text())
    assert recipe["model"] == {"kind": "sparse-encoder", "max_length": 32}
    assert recipe["loss"]["name"] == "SpladeLoss"
    assert recipe["loss"]["inner"] == {"name": "SparseCoSENTLoss"}
    assert recipe["evaluation"] == {
        "retrieval": [
            {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
        ]
    }
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", f"{ST_SPLADE}@{st_splade}", "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    assert {f"{DATASET}:test/ndcg@10", f"{DATASET}:test/accuracy@1", f"{DATASET}:test/map@100"} <= metrics
    assert all(row["source"] == "README.md model-index" for row in report["rows"])


def test_from_card_and_verify_on_a_card_with_a_sparse_reranking_evaluator(st_splade_reranking, tmp_path):
    """A card's SparseRerankingEvaluator becomes evaluation.encoder-reranking, and verify re-measures its
    MAP, MRR@10 and NDCG@10 (hubrerank encodes with its own batch size: within tolerance, not exact)."""
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", f"{ST_SPLADE_RERANKING}@{st_splade_reranking}", "-o", str(path))
    assert written.exit_code == 0, written.output
    entry = {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
    assert yaml.safe_load(path.read_text())["evaluation"] == {"encoder-reranking": [entry]}
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", f"{ST_SPLADE_RERANKING}@{st_splade_reranking}", "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    reranking = f"{DATASET}:test/encoder-reranking"
    assert {f"{reranking}/map", f"{reranking}/mrr@10", f"{reranking}/ndcg@10"} <= metrics


ST_SPLADE_BOTH = "alice/st-splade-both"


@pytest.fixture(scope="module")
def st_splade_both(hub, faq_data, tmp_path_factory) -> str:
    """The same script's model evaluated by a SequentialEvaluator of a SparseInformationRetrievalEvaluator
    and a SparseRerankingEvaluator, both named ``repro-faq-test``; its sha."""
    from sentence_transformers.evaluation import SequentialEvaluator

    retrieval = _retrieval_evaluator(faq_data)
    reranking = _reranking_evaluator(faq_data)
    evaluator = SequentialEvaluator([retrieval, reranking])
    return _st_splade(ST_SPLADE_BOTH, evaluator, faq_data, tmp_path_factory)


def test_a_retrieval_and_a_reranking_evaluator_sharing_one_name_are_told_apart(st_splade_both, tmp_path):
    """Each claim is matched to the evaluator that measured it (its model-index task name is the heading of
    that evaluator's Metrics section), so the reranking evaluator's ndcg@10 is re-measured by
    encoder-reranking, not by retrieval: verify PASSes with every delta 0."""
    from hubrerank.hub import read_file
    from hubrerank.refs import ResolvedRef
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import ClaimSource, parse_card

    ref = f"{ST_SPLADE_BOTH}@{st_splade_both}"
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", ref, "-o", str(path))
    assert written.exit_code == 0, written.output
    entry = {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
    evaluation = yaml.safe_load(path.read_text())["evaluation"]
    assert evaluation == {"retrieval": [entry], "encoder-reranking": [entry]}
    text = read_file(ResolvedRef(ST_SPLADE_BOTH, st_splade_both, "model"), "README.md") or b""
    card = parse_card(text.decode())
    assert match_claims(card, evaluation) == {
        ClaimSource("repro-faq-test", "Sparse Information Retrieval"): ("retrieval", 0, ""),
        ClaimSource("repro-faq-test", "Sparse Reranking"): ("encoder-reranking", 0, ""),
    }
    # a plan without the reranking: its claims are left out, named with their task name
    claims, unchecked = claims_from_st_card(card, {"retrieval": evaluation["retrieval"]})
    assert unchecked == ["repro-faq-test (Sparse Reranking)"]
    assert {claim.result["task"] for claim in claims} == {"retrieval"}
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", ref, "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and len(report["rows"]) == len(card.claims)
    assert all(row["delta"] == 0 for row in report["rows"])
    claimed = {row["metric"]: row["claimed"] for row in report["rows"]}
    reranking = claimed[f"{DATASET}:test/encoder-reranking/ndcg@10"]
    assert len(claimed) == len(report["rows"]) and reranking != claimed[f"{DATASET}:test/ndcg@10"]


ST_CSR = "alice/st-csr"


@pytest.fixture(scope="module")
def st_csr(hub, faq_data, tmp_path_factory) -> str:
    """A CSR model (a bi-encoder's modules under a SparseAutoEncoder, which SparseEncoder adds to a dense
    base) trained by the plain script (:func:`_st_sparse`) with CSRLoss around SparseCoSENTLoss, evaluated
    by a SparseInformationRetrievalEvaluator; its sha."""
    from factories import build_tiny_bi_encoder
    from sentence_transformers.sparse_encoder.losses import CSRLoss, SparseCoSENTLoss

    def csr_loss(model: Any) -> Any:
        return CSRLoss(model, loss=SparseCoSENTLoss(model))

    evaluator = _retrieval_evaluator(faq_data)
    return _st_sparse(ST_CSR, build_tiny_bi_encoder, csr_loss, evaluator, faq_data, tmp_path_factory)


def test_from_card_and_verify_on_a_sentence_transformers_csr_card(st_csr, tmp_path):
    """A CSR card the installed trainer wrote: its recipe starts from the dense base with CSRLoss around
    the ranking loss, and verify re-measures its retrieval claims."""
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", f"{ST_CSR}@{st_csr}", "-o", str(path))
    assert written.exit_code == 0, written.output
    recipe = yaml.safe_load(path.read_text())
    assert recipe["model"]["kind"] == "sparse-encoder"
    assert recipe["loss"]["name"] == "CSRLoss" and recipe["loss"]["inner"] == {"name": "SparseCoSENTLoss"}
    assert recipe["base_model"]["repo"] == f"{ST_CSR}-base"
    assert "model.modules" not in recipe["unknown"]  # the recipe rebuilds Transformer -> Pooling -> SAE
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", f"{ST_CSR}@{st_csr}", "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    assert f"{DATASET}:test/ndcg@10" in {row["metric"] for row in report["rows"]}
