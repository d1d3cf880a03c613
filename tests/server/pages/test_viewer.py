"""The dataset viewer: configs and splits from the card or the file names, paged rows, types, counts."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hubrerank.server.pages.viewer import MAX_CELL_CHARS

CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
- config_name: reranking
  data_files:
  - split: test
    path: data/test-00000-of-00001.parquet
---
# Data
"""


def _parquet(table: pa.Table, row_group_size: int | None = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


@pytest.fixture
def dataset(api, name) -> str:
    repo_id = f"alice/{name}"
    api.create_repo(repo_id, repo_type="dataset")
    train = pa.table({"query": [f"q{i}" for i in range(60)], "label": list(range(60))})
    test = pa.table({"query": ["<script>alert(1)</script>", "x" * 1000], "documents": [["a", "b"], []]})
    files = {
        "README.md": CARD,
        "data/train-00000-of-00001.parquet": _parquet(train, row_group_size=7),
        "data/test-00000-of-00001.parquet": _parquet(test),
    }
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, repo_type="dataset")
    return repo_id


def test_the_first_rows_of_the_first_split_with_types_and_counts(web, dataset):
    page = web.get(f"/datasets/{dataset}/viewer")
    assert page.status == 200
    assert "default / train: 60 rows in 1 file, rows 1 to 25" in page.text
    assert "<td>q0</td>" in page.text and "<td>q24</td>" in page.text and "<td>q25</td>" not in page.text
    assert 'label<br><small class="hint">int64</small>' in page.text
    assert "reranking / test" in page.text
    assert f'href="/datasets/{dataset}/viewer"' in web.get(f"/datasets/{dataset}").text


def test_pages_cross_row_groups(web, dataset):
    page = web.get(f"/datasets/{dataset}/viewer?config=default&split=train&p=3")
    assert "rows 51 to 60" in page.text and "<td>q50</td>" in page.text and "<td>q59</td>" in page.text
    assert "page 3 of 3" in page.text
    assert (
        "No rows on this page" in web.get(f"/datasets/{dataset}/viewer?config=default&split=train&p=9").text
    )


def test_cells_are_escaped_cut_and_lists_shown_as_json(web, dataset):
    page = web.get(f"/datasets/{dataset}/viewer?config=reranking&split=test")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert "x" * MAX_CELL_CHARS + "…" in page.text and "x" * (MAX_CELL_CHARS + 1) not in page.text
    assert "[&#34;a&#34;, &#34;b&#34;]" in page.text
    assert "list&lt;element: string&gt;" in page.text


def test_without_a_card_splits_come_from_file_names(web, api, name):
    repo_id = f"alice/{name}"
    api.create_repo(repo_id, repo_type="dataset")
    table = pa.table({"a": [1, 2, 3]})
    for path in (
        "data/validation-00000-of-00002.parquet",
        "data/validation-00001-of-00002.parquet",
        "other/x.parquet",
    ):
        api.upload_file(
            path_or_fileobj=_parquet(table), path_in_repo=path, repo_id=repo_id, repo_type="dataset"
        )
    page = web.get(f"/datasets/{repo_id}/viewer")
    assert "default / validation: 6 rows in 2 files" in page.text
    assert "other / x" in page.text


def test_a_broken_parquet_file_is_one_line(web, api, name):
    repo_id = f"alice/{name}"
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"PAR1 not really",
        path_in_repo="data/train.parquet",
        repo_id=repo_id,
        repo_type="dataset",
    )
    page = web.get(f"/datasets/{repo_id}/viewer")
    assert page.status == 200 and "cannot read default/train:" in page.text


def test_a_dataset_without_parquet_has_no_viewer_tab(web, api, name):
    repo_id = f"alice/{name}"
    api.create_repo(repo_id, repo_type="dataset")
    assert "/viewer" not in web.get(f"/datasets/{repo_id}").text
    assert "no parquet files" in web.get(f"/datasets/{repo_id}/viewer").text
