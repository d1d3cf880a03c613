"""Small sources of every format, written by the tests, and tiny local models (no Hub needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TOPICS = [
    ("what is the capital of the country", "the capital city is large and old"),
    ("who was the first king", "the first king was born in the north"),
    ("how much does a new roof cost", "a new roof price depends on wood and steel"),
    ("when was the film released", "the film was released in the first year"),
    ("where is the river", "the river runs from the mountain to the sea"),
    ("what color is the train", "the train is red and blue"),
    ("which planet is large", "the large planet is far from the sun"),
    ("who wrote the book", "the author of the book died old"),
    ("what heat does a house need", "a house needs heat and energy in winter"),
    ("how is a wall of concrete built", "concrete wall building needs a permit"),
    ("what song did the queen like", "the queen liked music and a song of war"),
    ("is the ocean water cold", "the ocean water is cold in the north sea"),
]


def qa_rows() -> list[dict[str, str]]:
    return [{"question": q, "answer": a} for q, a in TOPICS]


@pytest.fixture()
def qa_csv(tmp_path: Path) -> Path:
    path = tmp_path / "faq.csv"
    lines = ["question,answer", *(f"{q},{a}" for q, a in TOPICS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def pairs_csv(tmp_path: Path) -> Path:
    """Seed 000's layout: query_id,queries,passages,labels with 1 positive and 2 negatives per query."""
    path = tmp_path / "pairs.csv"
    lines = ["query_id,queries,passages,labels"]
    for i, (q, a) in enumerate(TOPICS):
        lines.append(f"q{i},{q},{a},1")
        for j in (1, 2):
            lines.append(f"q{i},{q},{TOPICS[(i + j) % len(TOPICS)][1]},0")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def llamaindex_json(tmp_path: Path) -> Path:
    path = tmp_path / "train_dataset.json"
    document = {
        "queries": {f"q{i}": q for i, (q, _) in enumerate(TOPICS)},
        "corpus": {f"d{i}": a for i, (_, a) in enumerate(TOPICS)} | {"extra": "an old ship on the sea"},
        "relevant_docs": {f"q{i}": [f"d{i}"] for i in range(len(TOPICS))},
        "mode": "text",
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture()
def beir_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "beir"
    folder.mkdir()
    with (folder / "corpus.jsonl").open("w") as handle:
        for i, (_, a) in enumerate(TOPICS):
            handle.write(json.dumps({"_id": f"d{i}", "title": "", "text": a}) + "\n")
    with (folder / "queries.jsonl").open("w") as handle:
        for i, (q, _) in enumerate(TOPICS):
            handle.write(json.dumps({"_id": f"q{i}", "text": q}) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    for i in range(len(TOPICS)):
        lines += [
            f"q{i}\td{i}\t2",
            f"q{i}\td{(i + 1) % len(TOPICS)}\t1",
            f"q{i}\td{(i + 2) % len(TOPICS)}\t0",
        ]
    (folder / "qrels.tsv").write_text("\n".join(lines) + "\n")
    run = [
        f"q{i} Q0 d{(i + r) % len(TOPICS)} {r + 1} {10 - r} bm25"
        for i in range(len(TOPICS))
        for r in range(4)
    ]
    (folder / "bm25.run.trec.txt").write_text("\n".join(run) + "\n")
    return folder


@pytest.fixture()
def flag_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "examples.jsonl"
    with path.open("w") as handle:
        for i, (q, a) in enumerate(TOPICS):
            negatives = [TOPICS[(i + j) % len(TOPICS)][1] for j in (1, 2, 3)]
            row = {
                "query": q,
                "pos": [a],
                "neg": negatives,
                "pos_scores": [0.9],
                "neg_scores": [0.3, 0.2, 0.1],
            }
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture()
def wikiqa_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "wikiqa"
    for split, topics in (("train", TOPICS[:8]), ("dev", TOPICS[8:10]), ("test", TOPICS[10:])):
        (folder / split).mkdir(parents=True)
        rows = [(q, a, 1) for q, a in topics] + [
            (q, TOPICS[(i + 1) % len(TOPICS)][1], 0) for i, (q, _) in enumerate(topics)
        ]
        rows.sort(key=lambda r: r[0])
        (folder / split / "a.toks").write_text("".join(f"{r[0]}\n" for r in rows))
        (folder / split / "b.toks").write_text("".join(f"{r[1]}\n" for r in rows))
        (folder / split / "sim.txt").write_text("".join(f"{r[2]}\n" for r in rows))
        ids = {q: f"Q{split}{n}" for n, q in enumerate(dict.fromkeys(r[0] for r in rows))}
        (folder / split / "id.txt").write_text("".join(f"{ids[r[0]]}\n" for r in rows))
    return folder


@pytest.fixture(scope="session")
def local_bi_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from factories import build_tiny_bi_encoder

    return build_tiny_bi_encoder(tmp_path_factory.mktemp("local-models") / "tiny-bi-encoder")


@pytest.fixture(scope="session")
def local_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from factories import build_tiny_cross_encoder

    return build_tiny_cross_encoder(tmp_path_factory.mktemp("local-models") / "tiny-cross-encoder")
