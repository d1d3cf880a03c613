"""hubrerank: build, train, publish and reproduce rerankers on the Hugging Face Hub.

The package is imported by the CLI before the Hub endpoint is chosen, so this module must not
import huggingface_hub, datasets, transformers or torch: those read HF_ENDPOINT at import time.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
