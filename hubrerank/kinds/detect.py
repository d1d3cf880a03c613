"""What a model folder holds: a cross-encoder (reranker), a bi-encoder (embedding model) or a sparse
encoder (SPLADE) or a multi-vector encoder (late interaction, ColBERT-style).

Read from the files sentence-transformers itself reads: ``config_sentence_transformers.json``'s
``model_type`` when present, else a ``modules.json`` with a sparse module (``SpladePooling``,
``MLMTransformer``, ``SparseStaticEmbedding``, ``SparseAutoEncoder``: a sparse encoder), a
``MultiVectorMask`` module (a multi-vector encoder) or a Pooling module (a bi-encoder), else a plain
transformers checkpoint, which is a cross-encoder with a sequence-classification head or, as
sentence-transformers loads it (``CrossEncoder._load_default_modules``), when its first architecture is a
``*ForCausalLM``: an LLM reranker scoring the "yes" against the "no" logit after the prompt
(bge-reranker-v2-gemma, Qwen3-Reranker). Layerwise LLM rerankers run their own code and are refused.
:func:`hub_model_kind` reads the same three files of a Hub model without its weights (``model.kind:
auto`` in a recipe).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hubrerank.errors import InputError

if TYPE_CHECKING:
    from hubrerank.refs import Ref, ResolvedRef

ModelKind = Literal["cross-encoder", "bi-encoder", "sparse-encoder", "multi-vector", "base"]
KIND_FILES = ("config_sentence_transformers.json", "modules.json", "config.json")
# config_sentence_transformers.json's model_type of each kind sentence-transformers saves
_MODEL_TYPES: dict[str, ModelKind] = {
    "CrossEncoder": "cross-encoder",
    "SentenceTransformer": "bi-encoder",
    "SparseEncoder": "sparse-encoder",
    "MultiVectorEncoder": "multi-vector",
}
# the modules only a SparseEncoder stacks (sentence_transformers.sparse_encoder.modules), by class name
_SPARSE_MODULES = ("SpladePooling", "MLMTransformer", "SparseStaticEmbedding", "SparseAutoEncoder")


def model_kind(path: Path, name: str | None = None) -> ModelKind:
    """``cross-encoder``, ``bi-encoder``, ``sparse-encoder``, ``multi-vector`` or ``base`` (a transformers
    checkpoint without a scoring head); ``name`` names the model in messages (default: its folder)."""
    name = name or str(path)
    model_type = _object(path / "config_sentence_transformers.json").get("model_type")
    if model_type in _MODEL_TYPES:
        return _MODEL_TYPES[model_type]
    if model_type is not None:
        raise InputError(
            f"{name} is a {model_type} (config_sentence_transformers.json model_type); "
            "give a cross-encoder, a bi-encoder (SentenceTransformer), a sparse encoder (SparseEncoder) or a "
            "multi-vector encoder (MultiVectorEncoder)"
        )
    module_types = module_classes(path)
    if any(module_type in _SPARSE_MODULES for module_type in module_types):
        return "sparse-encoder"
    if "MultiVectorMask" in module_types:
        return "multi-vector"
    if any(module_type.endswith("Pooling") for module_type in module_types):
        return "bi-encoder"
    architectures = [
        arch for arch in _list(_object(path / "config.json").get("architectures")) if isinstance(arch, str)
    ]
    if any(arch.endswith("ForSequenceClassification") for arch in architectures):
        return "cross-encoder"
    if architectures and architectures[0].endswith("ForCausalLM"):
        if "layerwise" in architectures[0].lower():
            raise InputError(
                f"{name} is a layerwise LLM reranker ({architectures[0]}): it scores from intermediate "
                "layers with its own code, which sentence-transformers' CrossEncoder cannot run; "
                "use FlagEmbedding's LayerWiseFlagLLMReranker, or a yes/no LLM reranker such as "
                "bge-reranker-v2-gemma"
            )
        return "cross-encoder"
    return "base"


def module_classes(path: Path) -> list[str]:
    """The class names of the modules ``modules.json`` stacks (``SparseAutoEncoder``), in order; empty for
    a folder without one."""
    modules = read_json(path / "modules.json", default=[])
    return [
        str(module.get("type", "")).rpartition(".")[2]
        for module in _list(modules)
        if isinstance(module, dict)
    ]


def hub_model_kind(ref: Ref) -> tuple[ResolvedRef, ModelKind]:
    """The Hub model ``ref`` pinned to its sha, and its kind read from its config files alone."""
    from hubrerank.hub import download, resolve

    resolved = resolve(ref)
    folder = download(resolved, allow_patterns=list(KIND_FILES))
    return resolved, model_kind(folder, name=str(resolved))


def _object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object (a model config), ``{}`` when absent."""
    content = read_json(path)
    if not isinstance(content, dict):
        raise InputError(f"{path} holds a JSON {type(content).__name__}, not an object; re-save the model")
    return content


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read_json(path: Path, default: Any = None) -> Any:
    """A JSON file's content, ``default`` (or ``{}``) when absent; InputError when it is not JSON."""
    if not path.is_file():
        return {} if default is None else default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path} is not valid JSON ({error}); re-save or re-download the model") from error
