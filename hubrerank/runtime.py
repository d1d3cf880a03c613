"""How models run: the precision (torch dtype) and device they score and embed in, and the CPU threads.

Every model hubrerank scores or embeds with is loaded by sentence-transformers itself, with
``model_kwargs={"dtype": ...}`` and ``device=...`` (:func:`model_options`); nothing here is a runtime of
its own. float32 is the default: scores, cache entries and records are then exactly what they were before
hubrerank had a precision setting. Another dtype changes scores (bfloat16 moved logits by up to 2e-4 on
all-MiniLM-L6-v2), so it is part of the cache key (:func:`variant_identity`) and of every result measured
in it (``dtype`` in eval_results.json). The device is not: float32 on CPU and on a GPU differ in rounding
only (about 1e-6, far below any tolerance), and the model's bytes and dtype decide what it computes.

Threads: torch and the tokenizers default to every core of the machine. Two such processes on one
machine then spin against each other (a training step went from 1.8 s to 58-75 s on 2 cores). The CLI
calls :func:`use_cores` before a command loads a model: torch uses the cores this process may run on
(``os.sched_getaffinity``) or ``$HUBRERANK_THREADS``, and OpenMP waits passively
(``OMP_WAIT_POLICY=PASSIVE``) so idle threads yield their core instead of spinning on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hubrerank.errors import InputError

DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPE = "float32"
THREADS_ENV = "HUBRERANK_THREADS"


@dataclass(frozen=True)
class Precision:
    """The dtype a model runs in and the device it runs on (None: the one sentence-transformers picks)."""

    dtype: str = DEFAULT_DTYPE
    device: str | None = None

    def check(self) -> Precision:
        """Raise InputError (one line) for an unknown dtype or a device torch cannot use here; return self."""
        check_dtype(self.dtype)
        if self.device is not None:
            check_device(self.device)
        return self

    @property
    def is_default(self) -> bool:
        """True for float32: the precision every record without a ``dtype`` was measured in."""
        return self.dtype == DEFAULT_DTYPE


FLOAT32 = Precision()


def check_dtype(dtype: str) -> str:
    """``dtype`` if hubrerank can run models in it, else InputError (one line)."""
    if dtype not in DTYPES:
        raise InputError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return dtype


def check_device(device: str) -> str:
    """``device`` if torch can place a model on it here (cpu, cuda, cuda:N, mps), else InputError."""
    import torch

    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return device
    if kind == "cuda" and (not index or index.isdigit()):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"--device {device}: CUDA is not available here (torch {torch.__version__})")
        if index and int(index) >= count:
            raise InputError(
                f"--device {device}: there are {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
        return device
    if kind == "mps" and not index:
        if not torch.backends.mps.is_available():
            raise InputError("--device mps: Apple's MPS backend is not available here")
        return device
    raise InputError(f"--device {device!r} is not cpu, cuda, cuda:N or mps")


def model_options(precision: Precision) -> dict[str, Any]:
    """Keyword arguments of ``CrossEncoder`` / ``SentenceTransformer`` that load a model in ``precision``."""
    import torch

    return {"device": precision.device, "model_kwargs": {"dtype": getattr(torch, precision.dtype)}}


def variant_identity(identity: str, dtype: str) -> str:
    """The cache key of a model run in ``dtype``: its bytes' identity, plus the dtype unless float32 (so
    float32 entries keep the keys they had before precision was a setting)."""
    return identity if dtype == DEFAULT_DTYPE else f"{identity}+{dtype}"


def with_dtype(results: list[dict[str, Any]], dtype: str) -> list[dict[str, Any]]:
    """``results`` (eval_results.json entries) with ``dtype`` recorded when it is not float32."""
    if dtype != DEFAULT_DTYPE:
        for result in results:
            result["dtype"] = dtype
    return results


def result_dtype(result: Any) -> str:
    """The dtype a recorded result was measured in (absent: float32)."""
    return result.get("dtype") or DEFAULT_DTYPE


def core_count() -> int:
    """The threads to use: ``$HUBRERANK_THREADS`` if set, else the cores this process may run on
    (``os.sched_getaffinity``), shared by the processes torchrun started on this machine."""
    value = os.environ.get(THREADS_ENV)
    if value is not None:
        if not value.strip().isdigit() or int(value) < 1:
            raise InputError(f"${THREADS_ENV} must be a positive integer, not {value!r}")
        return int(value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def use_cores() -> int:
    """Run torch on :func:`core_count` threads and let tokenizers parallelise only with more than one;
    return the count. OpenMP's wait policy is set too, and takes effect when torch is not imported yet."""
    threads = core_count()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    return threads
