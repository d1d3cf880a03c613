"""``hubrerank data build --out``: every format, mining, teacher scores, forms, splits, determinism,
and bad input (exit 2, nothing written)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from factories import QA_TOPICS as TOPICS
from helpers import run_cli


def build(source: Path, out: Path, *args: str) -> dict:
    result = run_cli("data", "build", str(source), "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out.resolve())
    return json.loads((out / "hubrerank_dataset.json").read_text())


def tables(out: Path) -> dict:
    return {p.name.split("-")[0]: pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))}


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "fixture", ["qa_csv", "pairs_csv", "llamaindex_json", "beir_folder", "flag_jsonl", "wikiqa_folder"]
)
def test_every_format_builds_and_validates(
    request: pytest.FixtureRequest, tmp_path: Path, fixture: str
) -> None:
    source = request.getfixturevalue(fixture)
    meta = build(source, tmp_path / "out", "--test-size", "2", "--eval-size", "2")
    built = tables(tmp_path / "out")
    assert list(built) == ["eval", "test", "train"]
    scored = fixture == "flag_jsonl"  # FlagEmbedding's pos_scores/neg_scores become the score column
    assert built["train"].column_names == ["query", "passage", "label", *(["score"] if scored else [])]
    assert built["test"].column_names[:5] == ["query_id", "query", "positive", "negative", "documents"]
    assert meta["source"]["format"] == {
        "qa_csv": "qa",
        "llamaindex_json": "llamaindex",
        "beir_folder": "beir",
        "flag_jsonl": "flag",
    }.get(fixture, "pairs")
    validated = run_cli("data", "validate", str(tmp_path / "out"))
    assert validated.exit_code == 0, validated.output
    assert "0 errors" in validated.output


def test_splits_never_share_a_query_and_source_splits_are_kept(
    tmp_path: Path, wikiqa_folder: Path, qa_csv: Path
) -> None:
    meta = build(wikiqa_folder, tmp_path / "wiki")
    assert meta["splits"] == {"train": "source", "eval": "source", "test": "source"}
    assert {n: t.num_rows for n, t in tables(tmp_path / "wiki").items()} == {
        "eval": 2,
        "test": 2,
        "train": 16,
    }
    meta = build(qa_csv, tmp_path / "qa", "--test-size", "0.25", "--eval-size", "3")
    built = tables(tmp_path / "qa")
    queries = {name: set(table["query"].to_pylist()) for name, table in built.items()}
    assert len(queries["test"]) == 3 and len(queries["eval"]) == 3 and len(queries["train"]) == 6
    assert not (queries["train"] & queries["test"]) and not (queries["train"] & queries["eval"])
    assert meta["splits"]["test"] == "carved"
    other_seed = build(qa_csv, tmp_path / "qa2", "--test-size", "0.25", "--eval-size", "3", "--seed", "7")
    assert other_seed["seed"] == 7
    assert set(tables(tmp_path / "qa2")["test"]["query"].to_pylist()) != queries["test"]


def test_mining_with_a_bi_encoder_adds_negatives_and_scores(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path
) -> None:
    meta = build(
        qa_csv,
        tmp_path / "out",
        "--negatives",
        "3",
        "--mine-model",
        str(local_bi_encoder),
        "--random-negatives",
        "1",
        "--test-size",
        "2",
        "--eval-size",
        "0",
    )
    built = tables(tmp_path / "out")
    train = built["train"].to_pylist()
    per_query: dict[str, list[float]] = {}
    for row in train:
        per_query.setdefault(row["query"], []).append(row["label"])
    assert all(labels.count(1.0) == 1 and labels.count(0.0) == 4 for labels in per_query.values())
    assert meta["mining_model"] == {"path": "tiny-bi-encoder", "sha256": meta["mining_model"]["sha256"]}
    assert meta["first_stage"] == "embedding"
    scores = meta["statistics"]["train"]["mining_scores"]
    assert scores["positive"]["count"] == 10 and scores["negative"]["count"] == 30
    test = built["test"].to_pylist()
    assert all(len(row["documents"]) == 12 for row in test)  # top-30 of a 12-answer corpus: all of it
    assert all(len(row["negative"]) == 4 for row in test)
    assert "--mine-model tiny-bi-encoder" in meta["command"] and str(tmp_path) not in meta["command"]


def test_bm25_mining_and_fused_first_stage(tmp_path: Path, qa_csv: Path, local_bi_encoder: Path) -> None:
    meta = build(
        qa_csv,
        tmp_path / "out",
        "--negatives",
        "2",
        "--bm25",
        "--mine-model",
        str(local_bi_encoder),
        "--first-stage",
        "fused",
        "--candidates",
        "5",
        "--test-size",
        "3",
        "--eval-size",
        "0",
        "--fusion-weight",
        "0.7",
    )
    assert meta["mining"] == "bm25" and meta["first_stage"] == "fused"
    assert meta["parameters"]["fusion_weight"] == 0.7 and "--fusion-weight 0.7" in meta["command"]
    test = tables(tmp_path / "out")["test"].to_pylist()
    assert all(len(row["documents"]) == 5 for row in test)
    assert "fusion" in (tmp_path / "out" / "README.md").read_text()


def test_beir_keeps_the_source_ranking_and_binarises_grades(tmp_path: Path, beir_folder: Path) -> None:
    meta = build(
        beir_folder, tmp_path / "out", "--positive-threshold", "2", "--test-size", "3", "--eval-size", "0"
    )
    built = tables(tmp_path / "out")
    assert meta["first_stage"] == "source"
    assert set(built["train"]["label"].to_pylist()) == {0.0, 1.0}
    row = built["test"].to_pylist()[0]
    assert len(row["documents"]) == 4 and len(row["document_ids"]) == 4
    assert len(row["positive"]) == 1 and len(row["negative"]) == 2


@pytest.mark.parametrize("output_format", ["n-tuple", "labeled-list"])
def test_train_forms_with_teacher_scores(
    tmp_path: Path, pairs_csv: Path, local_cross_encoder: Path, output_format: str
) -> None:
    meta = build(
        pairs_csv,
        tmp_path / "out",
        "--output-format",
        output_format,
        "--teacher",
        str(local_cross_encoder),
        "--test-size",
        "2",
        "--eval-size",
        "0",
    )
    train = tables(tmp_path / "out")["train"]
    if output_format == "n-tuple":
        assert train.column_names == ["query", "positive", "negative_1", "negative_2", "scores"]
        assert all(len(s) == 3 for s in train["scores"].to_pylist())
    else:
        assert train.column_names == ["query", "documents", "labels", "scores"]
        rows = train.to_pylist()
        assert all(len(row["documents"]) == len(row["scores"]) == 3 for row in rows)
    flat = [x for s in train["scores"].to_pylist() for x in s]
    assert all(0.0 < x < 1.0 for x in flat)
    assert meta["teacher"]["path"] == "tiny-cross-encoder"


def test_labeled_pair_teacher_score_column(tmp_path: Path, qa_csv: Path, local_cross_encoder: Path) -> None:
    build(
        qa_csv,
        tmp_path / "out",
        "--teacher",
        str(local_cross_encoder),
        "--test-size",
        "2",
        "--eval-size",
        "0",
    )
    train = tables(tmp_path / "out")["train"]
    assert train.column_names == ["query", "passage", "label", "score"]
    assert "(the cross-encoder's sigmoid score)" in (tmp_path / "out" / "README.md").read_text()


def test_bi_encoder_teacher_scores_are_its_embedding_similarities(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    meta = build(
        qa_csv,
        tmp_path / "out",
        "--negatives",
        "2",
        "--mine-model",
        str(local_bi_encoder),
        "--teacher",
        str(local_bi_encoder),
        "--test-size",
        "2",
        "--eval-size",
        "0",
    )
    rows = tables(tmp_path / "out")["train"].to_pylist()
    model = SentenceTransformer(str(local_bi_encoder), device="cpu")
    expected = model.similarity_pairwise(
        model.encode_query([r["query"] for r in rows], convert_to_tensor=True),
        model.encode_document([r["passage"] for r in rows], convert_to_tensor=True),
    ).tolist()
    assert [r["score"] for r in rows] == pytest.approx(expected, abs=1e-5)
    assert len({round(r["score"], 6) for r in rows}) > 2  # graded, not labels
    assert meta["teacher"]["path"] == "tiny-bi-encoder"
    assert meta["teacher_scores"] == "the bi-encoder's embedding similarity"
    card = (tmp_path / "out" / "README.md").read_text()
    assert "--teacher tiny-bi-encoder" in card
    assert "(the bi-encoder's embedding similarity)" in card


def test_teacher_without_a_scoring_head_is_refused(tmp_path: Path, qa_csv: Path) -> None:
    from factories import build_tiny_bert_base

    base = build_tiny_bert_base(tmp_path / "headless-bert")
    result = run_cli("data", "build", str(qa_csv), "--out", str(tmp_path / "out"), "--teacher", str(base))
    assert result.exit_code == 2
    assert "--teacher headless-bert is neither a cross-encoder nor" in result.output
    assert not (tmp_path / "out").exists()


def test_same_source_options_and_seed_give_identical_files(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path
) -> None:
    args = (
        "--negatives",
        "2",
        "--mine-model",
        str(local_bi_encoder),
        "--sampling",
        "random",
        "--range-max",
        "6",
        "--random-negatives",
        "2",
    )
    build(qa_csv, tmp_path / "a" / "ds", *args)
    build(qa_csv, tmp_path / "b" / "ds", *args)
    first, second = digests(tmp_path / "a" / "ds"), digests(tmp_path / "b" / "ds")
    assert first == second and len(first) == 5
    metadata = pq.read_metadata(tmp_path / "a" / "ds" / "data" / "train-00000-of-00001.parquet").metadata
    assert set(metadata) == {b"ARROW:schema"}


@pytest.mark.slow  # two worker processes start torch for each encode call of the mining
def test_mining_split_across_two_cpu_processes_gives_identical_files(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer

    pools: list[list[str]] = []
    start = SentenceTransformer.start_multi_process_pool

    def counted(self, target_devices=None):
        pools.append(target_devices)
        return start(self, target_devices)

    monkeypatch.setattr(SentenceTransformer, "start_multi_process_pool", counted)
    args = ("--negatives", "2", "--mine-model", str(local_bi_encoder), "--batch-size", "4", "--no-cache")
    build(qa_csv, tmp_path / "one" / "ds", *args)
    assert pools == []
    build(qa_csv, tmp_path / "two" / "ds", *args, "--devices", "cpu,cpu")
    assert pools and all(devices == ["cpu", "cpu"] for devices in pools)
    assert digests(tmp_path / "two" / "ds") == digests(tmp_path / "one" / "ds")


def test_rebuilding_into_an_existing_output_replaces_it(tmp_path: Path, qa_csv: Path) -> None:
    out = tmp_path / "out"
    build(qa_csv, out, "--test-size", "2", "--eval-size", "2")
    build(qa_csv, out, "--test-size", "2", "--eval-size", "0")
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00001.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq.csv", "out"]


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


BAD_INPUTS = [
    ("missing.csv", b"question,reply\na,b\n", (), "no answer/passage column"),
    ("ambiguous.csv", b"query,question,answer\na,b,c\n", (), "ambiguous query column"),
    ("empty.csv", b"", (), "empty.csv is empty"),
    ("latin1.csv", "query,answer\ncaf\u00e9,x\n".encode("latin-1"), (), "line 2: invalid UTF-8"),
    ("labels.csv", b"query,passage,label\na,b,1\nc,d,-1\n", (), "row 2 has -1.0"),
    ("unknown.csv", b"query,answer\na,b\n", ("--format", "xml"), "Invalid value for '--format'"),
    (
        "sizes.csv",
        b"query,answer\na,b\nc,d\n",
        ("--test-size", "2", "--eval-size", "1"),
        "take 3 queries, but there are 2 to split",
    ),
    ("noisy.csv", b"query,answer\na,b\n", ("--negatives", "2"), "--negatives needs a miner"),
    ("fusion.csv", b"query,answer\na,b\n", ("--fusion-weight", "0.7"), "add --first-stage fused"),
]


@pytest.mark.parametrize(("name", "content", "args", "fragment"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_and_writes_nothing(
    tmp_path: Path, name: str, content: bytes, args: tuple, fragment: str
) -> None:
    source = write(tmp_path, name, content)
    out = tmp_path / "out"
    result = run_cli("data", "build", str(source), "--out", str(out), *args)
    assert result.exit_code == 2
    assert fragment in result.output
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_query_in_train_and_test_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "train.csv").write_text("query,answer\nwhat is a roof,a roof\n")
    (folder / "test.csv").write_text("query,answer\nwhat is a roof,the roof\n")
    result = run_cli("data", "build", str(folder), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "is in both the test and the train split" in result.output
    assert not (tmp_path / "out").exists()


def test_a_mining_model_that_is_not_sentence_transformers_exits_2(tmp_path: Path, qa_csv: Path) -> None:
    from factories import build_tiny_bert_base

    plain = build_tiny_bert_base(tmp_path / "plain-bert")
    result = run_cli(
        "data",
        "build",
        str(qa_csv),
        "--out",
        str(tmp_path / "out"),
        "--negatives",
        "2",
        "--mine-model",
        str(plain),
    )
    assert result.exit_code == 2
    assert "--mine-model plain-bert is not a sentence-transformers model" in result.output
    assert not (tmp_path / "out").exists()


def test_test_split_feeds_the_reranking_evaluator(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path, local_cross_encoder: Path
) -> None:
    from datasets import load_dataset
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    build(
        qa_csv,
        tmp_path / "out",
        "--mine-model",
        str(local_bi_encoder),
        "--candidates",
        "5",
        "--test-size",
        "4",
        "--eval-size",
        "0",
    )
    test = load_dataset(
        "parquet", data_files=str(tmp_path / "out/data/test-00000-of-00001.parquet"), split="train"
    )
    samples = [{"query": r["query"], "positive": r["positive"], "documents": r["documents"]} for r in test]
    evaluator = CrossEncoderRerankingEvaluator(
        samples, at_k=5, always_rerank_positives=False, write_csv=False
    )
    metrics = evaluator(CrossEncoder(str(local_cross_encoder), device="cpu"))
    assert {"map", "mrr@5", "ndcg@5", "base_ndcg@5"} <= set(metrics)


def test_a_test_only_build(tmp_path: Path, qa_csv: Path) -> None:
    meta = build(qa_csv, tmp_path / "out", "--test-size", "1.0", "--eval-size", "0")
    built = tables(tmp_path / "out")
    assert list(built) == ["test"]
    assert meta["splits"] == {"test": "carved"}
    validated = run_cli("data", "validate", str(tmp_path / "out"))
    assert validated.exit_code == 0 and "0 errors" in validated.output


def test_rebuilding_never_deletes_other_files(tmp_path: Path, qa_csv: Path) -> None:
    out = tmp_path / "out"
    build(qa_csv, out, "--test-size", "2", "--eval-size", "2")
    (out / "notes.txt").write_text("mine")
    before = digests(out)

    again = run_cli("data", "build", str(qa_csv), "--out", str(out))

    assert again.exit_code == 2
    assert again.output.strip().splitlines()[-1] == (
        f"Error: --out {out} holds notes.txt, which rebuilding the dataset there would delete; "
        "move it away or pick another folder"
    )
    assert "read " not in again.output  # refused before reading the source
    assert digests(out) == before


def test_an_unwritable_out_is_refused_before_the_build(qa_csv: Path) -> None:
    result = run_cli("data", "build", str(qa_csv), "--out", "/proc/hubrerank-data")
    assert result.exit_code == 2
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("Error: --out /proc/hubrerank-data cannot be written")
    )


def test_n_tuple_without_negatives_is_query_positive_pairs(tmp_path: Path, qa_csv: Path) -> None:
    build(qa_csv, tmp_path / "out", "--output-format", "n-tuple", "--test-size", "2", "--eval-size", "0")
    train = tables(tmp_path / "out")["train"]
    assert train.column_names == ["query", "positive"] and train.num_rows == len(TOPICS) - 2
    assert run_cli("data", "validate", str(tmp_path / "out")).exit_code == 0


def test_pairs_are_one_row_per_positive_and_refuse_negatives(tmp_path: Path, pairs_csv: Path) -> None:
    build(pairs_csv, tmp_path / "out", "--output-format", "pairs", "--test-size", "2", "--eval-size", "0")
    train = tables(tmp_path / "out")["train"]
    # the source's judged negatives are left out: MNRL takes its negatives from the batch
    assert train.column_names == ["query", "positive"] and train.num_rows == len(TOPICS) - 2
    assert run_cli("data", "validate", str(tmp_path / "out")).exit_code == 0

    refused = run_cli(
        "data", "build", str(pairs_csv), "--output-format", "pairs", "--negatives", "2", "--bm25",
        "--out", str(tmp_path / "refused"),
    )  # fmt: skip
    assert refused.exit_code == 2 and "--output-format pairs writes (query, positive) rows" in refused.output
    assert not (tmp_path / "refused").exists()


def test_triplets_are_one_row_per_positive_and_negative(tmp_path: Path, pairs_csv: Path) -> None:
    build(pairs_csv, tmp_path / "out", "--output-format", "triplets", "--test-size", "2", "--eval-size", "0")
    train = tables(tmp_path / "out")["train"]
    assert train.column_names == ["query", "positive", "negative_1"]
    assert train.num_rows == 2 * (len(TOPICS) - 2)  # 1 positive x 2 judged negatives per query
    rows = train.to_pylist()
    assert len({(row["query"], row["negative_1"]) for row in rows}) == train.num_rows
    assert all(row["positive"] != row["negative_1"] for row in rows)
    assert run_cli("data", "validate", str(tmp_path / "out")).exit_code == 0


def test_triplets_without_any_negative_exit_2(tmp_path: Path, qa_csv: Path) -> None:
    result = run_cli(
        "data", "build", str(qa_csv), "--output-format", "triplets", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.exit_code == 2 and "no training query has both a positive and a negative" in result.output
    assert not (tmp_path / "out").exists()


def test_the_record_names_the_library_releases_that_built_the_data(tmp_path: Path, qa_csv: Path) -> None:
    """hubrerank_dataset.json says which releases mined, scored and split the data: a rebuild under
    other releases may differ (sentence-transformers 6.3 changed mine_hard_negatives)."""
    from importlib.metadata import version

    result = run_cli("data", "build", str(qa_csv), "--out", str(tmp_path / "out"), "--test-size", "2")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "hubrerank_dataset.json").read_text())
    assert record["libraries"]["sentence_transformers"] == version("sentence-transformers")
    assert record["libraries"]["datasets"] == version("datasets")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "sentence-transformers " + version("sentence-transformers") in card


def test_mining_in_bfloat16_records_how_the_model_ran(tmp_path: Path, qa_csv: Path, local_bi_encoder) -> None:
    options = ("--negatives", "3", "--test-size", "2", "--eval-size", "0")
    options += ("--mine-model", str(local_bi_encoder))
    float32 = build(qa_csv, tmp_path / "float32", *options)["parameters"]
    half = build(qa_csv, tmp_path / "bf16", *options, "--dtype", "bfloat16")["parameters"]

    assert not {"dtype", "dtype_scheme", "batching"} & set(float32)  # float32 builds read as they always did
    assert (half["dtype"], half["dtype_scheme"], half["batching"]) == ("bfloat16", "linear", "tokens")


@pytest.mark.slow  # exports the mining model to ONNX first
def test_mining_with_an_onnx_variant_is_recorded_and_rebuilt_so(
    tmp_path: Path, qa_csv: Path, local_bi_encoder: Path
) -> None:
    import shutil

    from hubrerank.export import ExportRequest, write_variants

    model = tmp_path / "tiny-bi-encoder"
    shutil.copytree(local_bi_encoder, model)
    write_variants(model, ExportRequest(onnx=True))
    options = ("--negatives", "3", "--mine-model", str(model), "--test-size", "2", "--eval-size", "0")
    torch_meta = build(qa_csv, tmp_path / "torch", *options)
    onnx_meta = build(qa_csv, tmp_path / "onnx", *options, "--model-file", "onnx/model.onnx")

    assert "backend" not in torch_meta["parameters"] and "--backend" not in torch_meta["command"]
    assert (onnx_meta["parameters"]["backend"], onnx_meta["parameters"]["model_file"]) == (
        "onnx",
        "onnx/model.onnx",
    )
    assert onnx_meta["parameters"]["batching"] == "tokens"  # the mining model's texts, by token count
    assert "--backend onnx --model-file onnx/model.onnx" in onnx_meta["command"]
    # float32 in another runtime: the same negatives
    assert tables(tmp_path / "onnx")["train"].to_pylist() == tables(tmp_path / "torch")["train"].to_pylist()
