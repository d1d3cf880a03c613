"""Training tests run torch on one thread: tiny models gain nothing from more, and on a shared,
loaded machine two OpenMP threads spin against each other (a step takes 4x longer)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
