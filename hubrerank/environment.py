"""What a training run ran on: library versions, device and world size, recorded in hubrerank.yaml.

A reproduction compares against these: bitwise equality is only expected on the same device type,
world size and library versions.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata

from hubrerank import __version__

_PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "sentence_transformers": "sentence-transformers",
    "datasets": "datasets",
    "huggingface_hub": "huggingface-hub",
}


def capture(device: str, world_size: int) -> dict[str, str | int]:
    """The environment block of hubrerank.yaml for a run on ``device`` with ``world_size`` processes."""
    environment: dict[str, str | int] = {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    for key, distribution in _PACKAGES.items():
        environment[key] = metadata.version(distribution)
    environment.update(hubrerank=__version__, device=device_name(device), world_size=world_size)
    return environment


# The libraries whose release can change what ``data build`` writes: mining and embedding
# (sentence-transformers, transformers, torch), lexical mining and first stages (bm25s), reading, splitting
# and writing (datasets, numpy). Recorded in hubrerank_dataset.json and named on the dataset card.
DATA_LIBRARIES = ("sentence_transformers", "transformers", "torch", "bm25s", "datasets", "numpy")


def device_name(device: str) -> str:
    """``cpu``, or the accelerator type and model, e.g. ``cuda (NVIDIA A100-SXM4-80GB)``."""
    import torch

    kind = device.split(":")[0]
    if kind == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(torch.device(device))})"
    return kind


def installed_versions(keys: Iterable[str]) -> dict[str, str]:
    """The installed version of each library named by an environment key (``sentence_transformers``,
    ``accelerate``, ``tokenizers``, ``python``, ...), leaving out what is not installed: what a card's
    "Framework Versions" lists beyond hubrerank.yaml's environment is compared too."""
    versions = {}
    for key in keys:
        if key == "python":
            versions[key] = platform.python_version()
            continue
        try:
            versions[key] = metadata.version(_PACKAGES.get(key, key.replace("_", "-")))
        except metadata.PackageNotFoundError:
            continue
    return versions
