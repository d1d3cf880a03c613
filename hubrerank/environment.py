"""What a training run ran on: library versions, device and world size, recorded in hubrerank.yaml.

A reproduction compares against these: bitwise equality is only expected on the same device type,
world size and library versions.
"""

from __future__ import annotations

import platform
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


def device_name(device: str) -> str:
    """``cpu``, or the accelerator type and model, e.g. ``cuda (NVIDIA A100-SXM4-80GB)``."""
    import torch

    kind = device.split(":")[0]
    if kind == "cuda" and torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(torch.device(device))})"
    return kind
