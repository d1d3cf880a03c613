"""How models run: the variant (backend, variant file, torch dtype, device) they score and embed in, and
the CPU threads.

Every model hubrerank scores or embeds with is loaded by sentence-transformers itself, in float32 with
``device=...`` (:func:`model_options`), and then runs its transformer blocks' Linear layers in bfloat16
or float16 when the variant says so, everything else in float32 (:func:`in_dtype`); an ONNX or OpenVINO
variant keeps sentence-transformers' tokenisation, pooling and activation and runs its file in
onnxruntime or OpenVINO in place of the torch forward (:mod:`hubrerank.backends`). float32 on torch is
the default: scores, cache entries and records are then exactly what they were before hubrerank had
variants. Another dtype changes scores, so it is part of the cache key (:func:`variant_identity`) and of
every result measured in it (``dtype`` in eval_results.json, with ``dtype_scheme``: the Linear layers
only, or the whole model cast as hubrerank did before); so are another backend and its file, by the
file's bytes (``backend`` and ``model_file``). The device is not: float32 on CPU and on a GPU
differ in rounding only (about 1e-6, far below any tolerance), and the model's bytes and dtype decide
what it computes.

Threads: torch and the tokenizers default to every core of the machine. Two such processes on one
machine then spin against each other (a training step went from 1.8 s to 58-75 s on 2 cores). The CLI
calls :func:`use_cores` before a command loads a model: torch uses the cores this process may run on
(``os.sched_getaffinity``) or ``$HUBRERANK_THREADS``, and OpenMP waits passively
(``OMP_WAIT_POLICY=PASSIVE``) so idle threads yield their core instead of spinning on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hubrerank.errors import InputError

DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_DTYPE = "float32"
# how a half dtype runs (:func:`in_dtype`): the transformer blocks' Linear layers (what --dtype gives), or
# the whole model cast to it (what hubrerank did before, and what a result without ``dtype_scheme`` means)
SCHEMES = ("linear", "whole")
DEFAULT_SCHEME = "linear"
WHOLE = "whole"
# how a variant other than float32 torch batches a bi-encoder's texts: by token count (what a new run does),
# or by characters, as sentence-transformers' encode does (float32's batches, and every variant's before
# hubrerank recorded this); a cross-encoder's pairs are batched by token count in every variant
BATCHINGS = ("tokens", "characters")
BY_TOKENS = "tokens"
BY_CHARACTERS = "characters"
BACKENDS = ("torch", "onnx", "openvino")
DEFAULT_BACKEND = "torch"
# the file each runtime loads when --model-file is not given, as sentence-transformers' exporters name them
DEFAULT_FILES = {"onnx": "onnx/model.onnx", "openvino": "openvino/openvino_model.xml"}
# the keys of an eval_results.json entry that say which variant measured it (absent: float32 on torch)
VARIANT_KEYS = ("dtype", "dtype_scheme", "backend", "model_file", "batching")
THREADS_ENV = "HUBRERANK_THREADS"


@dataclass(frozen=True)
class Variant:
    """How a model runs: its backend (torch, onnx, openvino), the variant file the runtime loads (onnx and
    openvino only; None: the backend's default file), the torch dtype, the device (None: the one
    sentence-transformers picks), for bfloat16 or float16 the scheme it runs in (``SCHEMES``; None
    reads as ``linear``, float32 has none), and but for float32 torch how a bi-encoder's texts are batched
    (``BATCHINGS``; None reads as ``tokens``). The default, float32 on torch, is what every record without
    a variant was measured in."""

    dtype: str = DEFAULT_DTYPE
    device: str | None = None
    backend: str = DEFAULT_BACKEND
    model_file: str | None = None
    # several devices: a cross-encoder's pairs and a bi-encoder's texts are split across one process per
    # device (not part of what the model computes: results are the same as on one device)
    devices: tuple[str, ...] = ()
    scheme: str | None = None
    batching: str | None = None

    def __post_init__(self) -> None:
        # a half dtype always names its scheme (Variant("bfloat16") == Variant("bfloat16", scheme="linear"));
        # every variant but float32 torch names its batching
        if self.scheme is None and self.dtype != DEFAULT_DTYPE:
            object.__setattr__(self, "scheme", DEFAULT_SCHEME)
        if self.batching is None and not self.is_default:
            object.__setattr__(self, "batching", BY_TOKENS)

    def check(self) -> Variant:
        """Raise InputError (one line) for an unknown dtype or backend, a device this machine cannot use,
        or a combination no runtime runs (a dtype or file beside the wrong backend); return self."""
        check_dtype(self.dtype)
        check_backend(self.backend)
        if self.dtype == DEFAULT_DTYPE and self.scheme is not None:
            raise InputError(f"the {self.scheme} scheme applies to bfloat16 and float16, not float32")
        if self.scheme is not None and self.scheme not in SCHEMES:
            raise InputError(f"dtype scheme {self.scheme!r} is not one of {', '.join(SCHEMES)}")
        if self.is_default and self.batching is not None:
            raise InputError("float32 torch embeds in sentence-transformers' own batches: give no batching")
        if self.batching is not None and self.batching not in BATCHINGS:
            raise InputError(f"batching {self.batching!r} is not one of {', '.join(BATCHINGS)}")
        if self.device is not None:
            check_device(self.device)
        for device in self.devices:
            check_device(device)
        if self.devices and (self.device is not None or self.backend != DEFAULT_BACKEND):
            raise InputError("--devices splits torch scoring across processes: drop --device and --backend")
        if self.backend == DEFAULT_BACKEND and self.model_file is not None:
            raise InputError(
                f"--model-file {self.model_file} needs --backend onnx or openvino "
                "(torch loads the safetensors)"
            )
        if self.backend != DEFAULT_BACKEND:
            if self.dtype != DEFAULT_DTYPE:
                raise InputError(
                    f"--dtype {self.dtype} applies to torch only; an {self.backend} variant's precision is "
                    "its file's (--model-file)"
                )
            if self.device not in (None, "cpu") and not self.device.startswith("cuda"):
                raise InputError(f"--device {self.device}: the {self.backend} backend runs on cpu or cuda")
            if self.backend == "openvino" and self.device not in (None, "cpu"):
                raise InputError("--device: hubrerank runs OpenVINO variants on the cpu only")
            file = self.file
            suffix = ".onnx" if self.backend == "onnx" else ".xml"
            if not file.endswith(suffix):
                raise InputError(f"--model-file {file}: an {self.backend} variant is a {suffix} file")
        return self

    @property
    def is_default(self) -> bool:
        """True for float32 on torch: the variant every record without a ``dtype`` or ``backend`` was
        measured in."""
        return self.dtype == DEFAULT_DTYPE and self.backend == DEFAULT_BACKEND

    @property
    def file(self) -> str:
        """The variant file inside the model folder (onnx and openvino), else ``model.safetensors``."""
        return self.model_file or DEFAULT_FILES.get(self.backend, "model.safetensors")

    @property
    def label(self) -> str:
        """How outputs name it: ``float32``, ``bfloat16`` (its Linear layers), ``bfloat16 (whole model)``,
        ``onnx onnx/model_O3.onnx``."""
        return self.dtype_label if self.backend == DEFAULT_BACKEND else f"{self.backend} {self.file}"

    @property
    def dtype_label(self) -> str:
        """How outputs name the dtype: ``bfloat16 (whole model)`` for the whole cast, else the dtype (the
        Linear-layer scheme is what ``--dtype`` means)."""
        return f"{self.dtype} (whole model)" if self.scheme == WHOLE else self.dtype

    @property
    def files(self) -> list[str]:
        """The files of the variant inside the model folder: none for torch (its safetensors), the file
        itself, and an OpenVINO model's weights (``.bin`` beside its ``.xml``)."""
        if self.backend == DEFAULT_BACKEND:
            return []
        file = self.file
        return [file, file.removesuffix(".xml") + ".bin"] if self.backend == "openvino" else [file]

    def record(self) -> dict[str, str]:
        """What an eval_results.json entry measured in this variant adds: nothing for float32 torch, the
        dtype and its scheme for another torch dtype, the backend and file otherwise; and the batching."""
        if self.is_default:
            return {}
        batching = {"batching": self.batching or BY_TOKENS}
        if self.backend != DEFAULT_BACKEND:
            return {"backend": self.backend, "model_file": self.file, **batching}
        return {"dtype": self.dtype, "dtype_scheme": self.scheme or DEFAULT_SCHEME, **batching}

    def on(self, device: str | None, devices: tuple[str, ...] = ()) -> Variant:
        """This variant on ``device`` (or split across ``devices``)."""
        return Variant(self.dtype, device, self.backend, self.model_file, devices, self.scheme, self.batching)


FLOAT32 = Variant()


def check_dtype(dtype: str) -> str:
    """``dtype`` if hubrerank can run models in it, else InputError (one line)."""
    if dtype not in DTYPES:
        raise InputError(f"--dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return dtype


def check_backend(backend: str) -> str:
    """``backend`` if hubrerank can run models on it, else InputError (one line)."""
    if backend not in BACKENDS:
        raise InputError(f"--backend {backend!r} is not one of {', '.join(BACKENDS)}")
    return backend


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


def parse_devices(text: str) -> tuple[str, ...]:
    """``--devices``: a comma-separated list (``cpu,cpu``, ``cuda:0,cuda:1``), or ``cuda`` for every CUDA
    device torch sees; each checked (:func:`check_device`), at least two."""
    import torch

    if text.strip() == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        devices = tuple(f"cuda:{index}" for index in range(count))
    else:
        devices = tuple(part.strip() for part in text.split(",") if part.strip())
    for device in devices:
        check_device(device)
    if len(devices) < 2:
        raise InputError(f"--devices {text}: give two devices or more (one device: --device)")
    return devices


def model_options(variant: Variant) -> dict[str, Any]:
    """Keyword arguments of ``CrossEncoder`` / ``SentenceTransformer`` that load a model in float32 on
    ``variant``'s device; :func:`in_dtype` then gives it the variant's dtype (another backend's runtime is
    attached after loading: :mod:`hubrerank.backends`)."""
    import torch

    device = variant.device if variant.backend == DEFAULT_BACKEND else "cpu"
    return {"device": device, "model_kwargs": {"dtype": torch.float32}}


def in_dtype(model: Any, variant: Variant) -> Any:
    """``model`` (loaded in float32) running in ``variant``'s dtype: in the ``linear`` scheme the
    ``Linear`` layers of its transformer blocks (the largest ``ModuleList``) hold their weights in
    bfloat16 or float16 and multiply in it, their input rounded to it and their output returned as
    float32; everything else (embeddings, norms, attention softmax, the residual stream, pooling and the
    scoring head) stays float32. In the ``whole`` scheme every parameter is cast (``model.to(dtype)``), as
    hubrerank ran ``--dtype`` before: only to re-measure a claim made so.

    Why not the whole model in the dtype: the matrix multiplications are where the time goes, but a model
    cast whole also rounds its residual stream, LayerNorms and head, and with them every score to 8
    significant bits (bfloat16 scores of a reranker tie, and moved NDCG@10 by +0.0023 on TREC DL19).
    Kept in float32 they move scores 2-3.5x less (NDCG@10 -0.0004), for about 16% of the speed: the
    casts and the float32 attention (BENCHMARKS.md, "What `--dtype bfloat16` runs in bfloat16").
    float32 leaves the model as loaded."""
    import torch

    if variant.backend != DEFAULT_BACKEND or variant.dtype == DEFAULT_DTYPE:
        return model
    if variant.scheme == WHOLE:
        return model.to(getattr(torch, variant.dtype))
    lists = [module for module in model.modules() if isinstance(module, torch.nn.ModuleList)]
    if not lists:
        raise InputError(f"--dtype {variant.dtype}: the model has no transformer blocks to run in it")
    for module in max(lists, key=len).modules():
        if isinstance(module, torch.nn.Linear):
            module.to(getattr(torch, variant.dtype))
            module.register_forward_pre_hook(_input_in_weight_dtype)
            module.register_forward_hook(_output_in_float32)
    return model


def _input_in_weight_dtype(module: Any, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    # module-level (not a closure), so a model with it pickles into sentence-transformers' process pool
    return tuple(value.to(module.weight.dtype) for value in inputs)


def _output_in_float32(module: Any, inputs: tuple[Any, ...], output: Any) -> Any:
    return output.float()


def variant_identity(identity: str, variant: Variant, file_digest: str | None = None) -> str:
    """The cache key of a model run as ``variant``: its bytes' identity, plus the dtype and the scheme it
    runs in unless float32 (so float32 torch entries keep the keys they had before variants existed):
    ``+bfloat16:linear`` for the Linear layers (:func:`in_dtype`), ``+bfloat16`` for the whole model cast,
    the key hubrerank gave it before schemes, so those entries answer whole-cast questions again and only
    them; plus the backend, the file and ``file_digest`` (the variant file's bytes) for onnx and
    openvino."""
    if variant.backend != DEFAULT_BACKEND:
        return f"{identity}+{variant.backend}:{variant.file}:{file_digest}"
    if variant.dtype == DEFAULT_DTYPE:
        return identity
    return f"{identity}+{variant.dtype}" if variant.scheme == WHOLE else f"{identity}+{variant.dtype}:linear"


def with_variant(results: list[dict[str, Any]], variant: Variant) -> list[dict[str, Any]]:
    """``results`` (eval_results.json entries) with ``variant`` recorded unless it is float32 torch."""
    for result in results:
        result.update(variant.record())
    return results


def result_variant(result: Any, device: str | None = None) -> Variant:
    """The variant a recorded result was measured in (no ``dtype``: float32; no ``backend``: torch), to be
    re-measured on ``device``. A half dtype without ``dtype_scheme`` was recorded before the scheme was,
    when ``--dtype`` cast the whole model, and a variant without ``batching`` before texts were batched by
    tokens: each is re-measured so."""
    backend = result.get("backend") or DEFAULT_BACKEND
    model_file = result.get("model_file") if backend != DEFAULT_BACKEND else None
    dtype = result.get("dtype") or DEFAULT_DTYPE
    scheme = None if dtype == DEFAULT_DTYPE else result.get("dtype_scheme") or WHOLE
    default = dtype == DEFAULT_DTYPE and backend == DEFAULT_BACKEND
    batching = None if default else result.get("batching") or BY_CHARACTERS
    return Variant(dtype, device, backend, model_file, scheme=scheme, batching=batching)


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


@contextmanager
def process_pool(model: Any, devices: Sequence[str]) -> Iterator[dict[str, Any]]:
    """sentence-transformers' multi-process pool of ``model`` (a ``CrossEncoder`` or
    ``SentenceTransformer``), one process per device, started for the block and stopped after it.

    CPU processes share the cores this one may use (:func:`core_count`): each spawned worker's torch reads
    ``OMP_NUM_THREADS`` when it starts, so it is set to their share while the pool starts, then restored.
    """
    threads = max(1, core_count() // max(1, list(devices).count("cpu")))
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        pool = model.start_multi_process_pool(target_devices=list(devices))
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = saved
    try:
        yield pool
    finally:
        model.stop_multi_process_pool(pool)
