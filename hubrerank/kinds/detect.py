"""What a model folder holds: a cross-encoder (reranker) or a bi-encoder (embedding model).

Read from the files sentence-transformers itself reads: ``config_sentence_transformers.json``'s
``model_type`` when present, else a ``modules.json`` with a Pooling module (a bi-encoder), else a plain
transformers checkpoint, which is a cross-encoder with a sequence-classification head or, as
sentence-transformers loads it (``CrossEncoder._load_default_modules``), when its first architecture is a
``*ForCausalLM``: an LLM reranker scoring the "yes" against the "no" logit after the prompt
(bge-reranker-v2-gemma, Qwen3-Reranker). Layerwise LLM rerankers run their own code and are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from hubrerank.errors import InputError

ModelKind = Literal["cross-encoder", "bi-encoder", "base"]


def model_kind(path: Path) -> ModelKind:
    """``cross-encoder``, ``bi-encoder`` or ``base`` (a transformers checkpoint without a scoring head)."""
    model_type = read_json(path / "config_sentence_transformers.json").get("model_type")
    if model_type == "CrossEncoder":
        return "cross-encoder"
    if model_type == "SentenceTransformer":
        return "bi-encoder"
    if model_type is not None:
        raise InputError(
            f"{path} is a {model_type} (config_sentence_transformers.json model_type); "
            "give a cross-encoder or a bi-encoder (SentenceTransformer)"
        )
    modules = read_json(path / "modules.json", default=[])
    if any(str(module.get("type", "")).endswith("Pooling") for module in modules):
        return "bi-encoder"
    architectures = read_json(path / "config.json").get("architectures") or []
    if any(name.endswith("ForSequenceClassification") for name in architectures):
        return "cross-encoder"
    if architectures and architectures[0].endswith("ForCausalLM"):
        if "layerwise" in architectures[0].lower():
            raise InputError(
                f"{path} is a layerwise LLM reranker ({architectures[0]}): it scores from intermediate "
                "layers with its own code, which sentence-transformers' CrossEncoder cannot run; "
                "use FlagEmbedding's LayerWiseFlagLLMReranker, or a yes/no LLM reranker such as "
                "bge-reranker-v2-gemma"
            )
        return "cross-encoder"
    return "base"


def read_json(path: Path, default: Any = None) -> Any:
    """A JSON file's content, ``default`` (or ``{}``) when absent; InputError when it is not JSON."""
    if not path.is_file():
        return {} if default is None else default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path} is not valid JSON ({error}); re-save or re-download the model") from error
