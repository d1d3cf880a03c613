"""Format detection and reading of every source format, and the one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubrerank.data.normalize import normalize
from hubrerank.data.sources import ColumnHints, read_source
from hubrerank.errors import InputError


def test_qa_csv_is_detected_with_common_column_names(qa_csv: Path) -> None:
    data = read_source(str(qa_csv))
    assert data.format == "qa"
    assert data.judgments.num_rows == 12
    assert set(data.judgments["label"].to_pylist()) == {1.0}
    assert data.provenance["path"] == "faq.csv" and len(data.provenance["sha256"]) == 64


def test_pairs_csv_keeps_query_ids_and_labels(pairs_csv: Path) -> None:
    data = read_source(str(pairs_csv))
    assert data.format == "pairs"
    assert data.judgments["query_id"][0].as_py() == "q0"
    assert data.judgments["label"].to_pylist()[:3] == [1.0, 0.0, 0.0]


def test_llamaindex_json_brings_its_corpus(llamaindex_json: Path) -> None:
    data = read_source(str(llamaindex_json))
    assert data.format == "llamaindex"
    assert data.judgments.num_rows == 12
    assert data.corpus is not None and data.corpus.num_rows == 13


def test_beir_folder_reads_qrels_grades_and_run(beir_folder: Path) -> None:
    data = read_source(str(beir_folder))
    assert data.format == "beir"
    assert sorted(set(data.judgments["label"].to_pylist())) == [0.0, 1.0, 2.0]
    assert data.ranking is not None and data.ranking.num_rows == 48
    collection = normalize(data)
    assert collection.ranking is not None and len(collection.ranking[0]) == 4


def test_flag_jsonl_explodes_positives_and_negatives(flag_jsonl: Path) -> None:
    data = read_source(str(flag_jsonl))
    assert data.format == "flag"
    assert data.judgments.num_rows == 12 * 4
    first = data.judgments.slice(0, 4).to_pylist()
    assert [row["label"] for row in first] == [1.0, 0.0, 0.0, 0.0]
    assert len({row["query"] for row in first}) == 1


def test_wikiqa_folder_is_read_as_pairs_with_its_splits(wikiqa_folder: Path) -> None:
    data = read_source(str(wikiqa_folder))
    assert data.format == "pairs"
    assert sorted(set(data.judgments["split"].to_pylist())) == ["eval", "test", "train"]
    train_only = read_source(str(wikiqa_folder), splits=["train"])
    assert set(train_only.judgments["split"].to_pylist()) == {"train"}


def test_parquet_tsv_and_jsonl_tables(tmp_path: Path, qa_csv: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson  # noqa: F401
    import pyarrow.parquet as pq

    table = pacsv.read_csv(qa_csv)
    pq.write_table(table, tmp_path / "faq.parquet")
    assert read_source(str(tmp_path / "faq.parquet")).format == "qa"
    rows = table.to_pylist()
    (tmp_path / "faq.tsv").write_text("q\ta\n" + "".join(f"{r['question']}\t{r['answer']}\n" for r in rows))
    assert read_source(str(tmp_path / "faq.tsv")).judgments.num_rows == 12
    import json

    (tmp_path / "faq.jsonl").write_text(
        "".join(json.dumps({"anchor": r["question"], "positive": r["answer"]}) + "\n" for r in rows)
    )
    assert read_source(str(tmp_path / "faq.jsonl")).format == "qa"


def test_explicit_columns_resolve_unusual_names(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("prompt,reply\nwhat is a roof,a roof is on a house\n")
    data = read_source(str(path), hints=ColumnHints(query="prompt", answer="reply"))
    assert data.judgments["passage"][0].as_py() == "a roof is on a house"


def test_normalize_strips_nfc_and_drops_empty_and_duplicate_rows(tmp_path: Path) -> None:
    path = tmp_path / "messy.csv"
    path.write_text(
        "query,answer\n"
        "  cafe\u0301 hours ,open at nine\n"
        "caf\u00e9 hours,open at nine\n"
        "empty answer,\n"
        ",no query\n"
        "caf\u00e9 hours,closed on sunday\n",
        encoding="utf-8",
    )
    collection = normalize(read_source(str(path)))
    assert collection.queries.to_pylist() == ["caf\u00e9 hours"]
    assert collection.corpus.to_pylist() == ["open at nine", "closed on sunday"]
    assert collection.dropped == {"empty_rows": 2, "duplicate_rows": 1}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("question,query,answer\na,b,c\n", "ambiguous query column (question, query)"),
        ("question,reply\na,b\n", "no answer/passage column"),
        ("text,body\na,b\n", "no query column"),
        ("", "is empty"),
        ("query,answer\n", "has no rows"),
        ("query,passage,label\nq,p,1\nq,r,3\n", "column 'label' row 2 has 3.0"),
        ("query,passage,label\nq,p,yes\n", "row 1 has 'yes', not a number"),
    ],
)
def test_bad_tables_raise_one_line_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_source(str(path))
    assert fragment in str(error.value)
    assert "bad.csv" in str(error.value) and "\n" not in str(error.value)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("query,answer\nok,fine\ncaf\u00e9,bad\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.csv line 3: invalid UTF-8 .*iconv"):
        read_source(str(path))


def test_a_query_in_two_source_splits_is_refused(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("query,answer\nwhat is a roof,a roof\nwho is king,the king\n")
    (tmp_path / "test.csv").write_text("query,answer\nwhat is a roof,a roof on a house\n")
    with pytest.raises(
        InputError, match=r"'what is a roof' \(row \d\) is in both the test and the train split"
    ):
        normalize(read_source(str(tmp_path)))


def test_a_format_that_does_not_fit_is_refused(qa_csv: Path) -> None:
    with pytest.raises(InputError, match="beir reads a folder"):
        read_source(str(qa_csv), format="beir")
    with pytest.raises(InputError, match="unknown format 'xml'"):
        read_source(str(qa_csv), format="xml")


def test_a_missing_local_file_is_not_taken_for_a_hub_repo(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"faq\.csv: no such file or folder"):
        read_source(str(tmp_path / "faq.csv"))
    with pytest.raises(InputError, match="no such file"):
        read_source("faq.csv")


def test_every_format_has_a_reader_and_tables_are_told_apart_in_registry_order(tmp_path: Path) -> None:
    from hubrerank.data.sources import FORMATS
    from hubrerank.data.sources.tables import TABLE_FORMATS

    assert list(TABLE_FORMATS) == ["flag", "pairs", "qa"]  # list positives beat a label column, qa is last
    assert set(TABLE_FORMATS) | {"llamaindex", "beir"} == set(FORMATS)
    source = tmp_path / "both.jsonl"
    source.write_text('{"query": "q", "pos": ["p"], "label": 1}\n')
    assert read_source(str(source)).format == "flag"
