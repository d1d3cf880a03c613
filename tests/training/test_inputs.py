"""Which columns a loss takes from a dataset, in which order, and the refusal that says how to rebuild it."""

from __future__ import annotations

import pytest

from hubrerank.errors import InputError
from hubrerank.training.inputs import scale_labels, training_columns
from hubrerank.training.losses import find_loss


def _dataset(**columns):
    from datasets import Dataset

    return Dataset.from_dict({name: [value] for name, value in columns.items()})


def test_labeled_pairs_drop_extra_columns_and_pick_the_loss_label():
    pairs = _dataset(query_id="q1", score=0.7, passage="p", label=1.0, query="q")

    assert training_columns(pairs, find_loss("BCE"), "d") == ["query", "passage", "label"]
    assert training_columns(pairs, find_loss("MSE"), "d") == ["query", "passage", "score"]
    assert training_columns(_dataset(query="q", passage="p", score=0.2), find_loss("BCE"), "d")[-1] == "score"


def test_n_tuples_order_negatives_by_number():
    columns = {f"negative_{n}": "n" for n in (10, 2, 1)}
    tuples = _dataset(scores=[1.0, 0.0, 0.0, 0.0], positive="p", query="q", **columns)

    expected = ["query", "positive", "negative_1", "negative_2", "negative_10"]
    assert training_columns(tuples, find_loss("MNRL"), "d") == expected
    assert training_columns(tuples, find_loss("MarginMSE"), "d") == [*expected, "scores"]
    assert training_columns(_dataset(query="q", positive="p"), find_loss("MNRL"), "d") == [
        "query",
        "positive",
    ]


def test_labeled_lists_need_a_list_of_texts():
    lists = _dataset(query="q", documents=["a", "b"], labels=[1.0, 0.0], scores=[0.9, 0.1])

    assert training_columns(lists, find_loss("ListNet"), "d") == ["query", "documents", "labels"]
    with pytest.raises(InputError, match="labeled-list form"):
        training_columns(_dataset(query="q", documents="a", labels=[1.0]), find_loss("ListNet"), "d")


def test_a_recipe_label_column_overrides_the_loss_preference():
    lists = _dataset(query="q", documents=["a", "b"], labels=[1.0, 0.0], scores=[0.9, 0.1])

    assert training_columns(lists, find_loss("ListNet"), "d", "scores") == ["query", "documents", "scores"]
    with pytest.raises(InputError) as error:
        training_columns(
            _dataset(query="q", documents=["a"], labels=[1.0]), find_loss("ListNet"), "d", "scores"
        )
    assert str(error.value) == (
        "d has no scores column (the recipe's label_column); rebuild it with "
        "`hubrerank data build ... --teacher MODEL --output-format labeled-list`"
    )


def test_scale_labels_multiplies_numbers_and_lists_of_numbers():
    from datasets import Dataset

    data = Dataset.from_dict({"query": ["q", "r"], "scores": [[0.5, 0.25], [1.0]], "score": [0.5, 0.1]})

    scaled = scale_labels(scale_labels(data, "scores", 20), "score", 4)

    assert scaled["scores"] == [[10.0, 5.0], [20.0]]
    assert scaled["score"] == [2.0, 0.4]
    assert scaled["query"] == ["q", "r"]


def test_refusal_names_dataset_columns_form_and_rebuild_command():
    reranking = _dataset(query_id="q", query="q", positive=["p"], negative=["n"], documents=["p", "n"])

    with pytest.raises(InputError) as error:
        training_columns(reranking, find_loss("MNRL"), "train dataset o/d@abc (config default, split train)")

    assert str(error.value) == (
        "train dataset o/d@abc (config default, split train) has columns query_id, query, positive, "
        "negative, documents, but MultipleNegativesRankingLoss trains on the n-tuple form (query, positive, "
        "negative_1..negative_n); rebuild it with `hubrerank data build ... --output-format n-tuple`"
    )
