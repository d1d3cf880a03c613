"""Model kind detection from the config files sentence-transformers reads, written by the real classes."""

from __future__ import annotations

import json

import pytest
from factories import (
    build_tiny_bert_base,
    build_tiny_bi_encoder,
    build_tiny_causal_lm,
    build_tiny_cross_encoder,
    build_tiny_mlm_base,
    build_tiny_multi_vector,
    build_tiny_sparse_encoder,
)

from hubrerank.errors import InputError
from hubrerank.kinds import model_kind


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (build_tiny_cross_encoder, "cross-encoder"),
        (build_tiny_bi_encoder, "bi-encoder"),
        (build_tiny_bert_base, "base"),
        (build_tiny_causal_lm, "cross-encoder"),
        (build_tiny_sparse_encoder, "sparse-encoder"),
        (build_tiny_mlm_base, "base"),
        (build_tiny_multi_vector, "multi-vector"),
    ],
)
def test_the_kind_of_what_each_library_saves(build, kind, tmp_path):
    assert model_kind(build(tmp_path / "model")) == kind


def test_a_bi_encoder_without_its_sentence_transformers_config_is_known_by_its_pooling(tmp_path):
    folder = build_tiny_bi_encoder(tmp_path / "model")
    (folder / "config_sentence_transformers.json").unlink()
    assert model_kind(folder) == "bi-encoder"


@pytest.mark.parametrize(
    "module",
    [
        "sentence_transformers.sparse_encoder.modules.splade_pooling.SpladePooling",
        "sentence_transformers.sparse_encoder.models.MLMTransformer",  # the 5.x module path
        "sentence_transformers.sparse_encoder.modules.SparseStaticEmbedding",
    ],
)
def test_a_sparse_encoder_without_its_sentence_transformers_config_is_known_by_its_modules(module, tmp_path):
    folder = build_tiny_sparse_encoder(tmp_path / "model")
    (folder / "config_sentence_transformers.json").unlink()
    modules = json.loads((folder / "modules.json").read_text())
    modules[-1]["type"] = module
    (folder / "modules.json").write_text(json.dumps(modules))
    assert model_kind(folder) == "sparse-encoder"


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("config.json", [1, 2], "holds a JSON list, not an object"),
        ("config_sentence_transformers.json", "x", "holds a JSON str, not an object"),
        ("config.json", "{not json", "is not valid JSON"),
        ("config_sentence_transformers.json", {"model_type": "Router"}, "is a Router"),
    ],
)
def test_malformed_or_other_configs_are_refused_in_one_line(name, content, says, tmp_path):
    folder = build_tiny_bert_base(tmp_path / "model")
    text = content if isinstance(content, str) and content.startswith("{") else json.dumps(content)
    (folder / name).write_text(text)
    with pytest.raises(InputError, match=says) as error:
        model_kind(folder, name="ORG/model@abc")
    assert "\n" not in str(error.value)


def test_odd_shapes_inside_configs_do_not_crash(tmp_path):
    folder = build_tiny_bert_base(tmp_path / "model")
    (folder / "modules.json").write_text(json.dumps([3, "x", {"type": 5}]))
    (folder / "config.json").write_text(json.dumps({"architectures": "BertForSequenceClassification"}))
    assert model_kind(folder) == "base"


def test_a_multi_vector_encoder_without_its_sentence_transformers_config_is_known_by_its_mask(tmp_path):
    folder = build_tiny_multi_vector(tmp_path / "model")
    (folder / "config_sentence_transformers.json").unlink()
    assert model_kind(folder) == "multi-vector"
