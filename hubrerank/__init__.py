"""hubrerank: build, train, publish and reproduce rerankers on the Hugging Face Hub.

The package is imported by the CLI before the Hub endpoint is chosen, so importing it must not import
huggingface_hub, datasets, transformers or torch (they read HF_ENDPOINT at import time). The public
names below are therefore loaded on first use::

    import hubrerank
    hubrerank.configure_hub("local")          # before anything imports the Hugging Face stack
    ref = hubrerank.resolve("ORG/NAME@main")  # -> ResolvedRef(repo_id, sha, ...)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC = {
    "configure_hub": "hubrerank.endpoint",
    "HubServer": "hubrerank.server",
    "Ref": "hubrerank.refs",
    "ResolvedRef": "hubrerank.refs",
    "resolve": "hubrerank.hub",
    "publish": "hubrerank.hub",
    "download": "hubrerank.hub",
    "BuildOptions": "hubrerank.data",
    "build_dataset": "hubrerank.data",
    "load_recipe": "hubrerank.training.recipe",
    "train": "hubrerank.training.trainer",
    "run_evaluations": "hubrerank.evaluation",
    "PipelineRequest": "hubrerank.evaluation",
    "evaluate_pipelines": "hubrerank.evaluation",
    "render_model_card": "hubrerank.cards.model_card",
    "verify": "hubrerank.reproducibility.verify",
    "reproduce": "hubrerank.reproducibility.reproduce",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'hubrerank' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
