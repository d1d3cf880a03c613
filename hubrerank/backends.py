"""ONNX and OpenVINO variants run inside sentence-transformers' own models.

sentence-transformers' ``backend="onnx"|"openvino"`` loads through optimum, which cannot be installed
beside transformers 5 (issue #26). So hubrerank loads the model as sentence-transformers does (its
tokenizer, modules, pooling, prompts and activation), then replaces the transformers model inside its
``Transformer`` module by :class:`SessionModel`, which runs the variant file in onnxruntime or OpenVINO
and returns the output that module reads (``logits`` for a cross-encoder, ``last_hidden_state`` for a
bi-encoder). Everything before and after the forward pass stays the library's.

OpenVINO is asked for float32 inference (``INFERENCE_PRECISION_HINT``): on CPUs with AVX-512 BF16 its
default is bfloat16, which would make an "fp32" variant silently a bf16 one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hubrerank.errors import InputError
from hubrerank.hashing import file_sha256
from hubrerank.runtime import DEFAULT_BACKEND, Variant, core_count

# the pip extra that installs each backend's runtime
EXTRAS = {"onnx": "onnx", "openvino": "openvino"}


def variant_digest(path: Path, variant: Variant) -> str:
    """A sha256 over the variant's files (part of its cache key), after checking they are there."""
    import hashlib

    check_variant_files(path, variant)
    digest = hashlib.sha256()
    for file in variant.files:
        digest.update(file.encode() + b"\0" + file_sha256(path / file).encode() + b"\0")
    return digest.hexdigest()


def check_variant_files(path: Path, variant: Variant) -> None:
    """Raise InputError (one line) when the variant's files are not in the model folder."""
    for file in variant.files:
        if not (path / file).is_file():
            present = sorted(
                found.relative_to(path).as_posix()
                for folder in ("onnx", "openvino")
                for found in (path / folder).glob("*")
                if found.suffix in (".onnx", ".xml")
            )
            raise InputError(
                f"--model-file {variant.file}: {path.name} has no {file} "
                f"(its variants: {', '.join(present) or 'none'}; hubrerank export writes them)"
            )


def check_runtime(backend: str) -> None:
    """Raise InputError (one line) when the runtime of ``backend`` is not installed."""
    module = {"onnx": "onnxruntime", "openvino": "openvino"}.get(backend)
    if module is None:
        return
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise InputError(
            f"--backend {backend} needs {module}, which is not installed: "
            f"pip install 'hubrerank[{EXTRAS[backend]}]'"
        )


class SessionModel(torch.nn.Module):
    """Stands in for the transformers model inside sentence-transformers' ``Transformer`` module: its
    forward runs the variant file and returns ``{output: tensor}``, as the module reads it.

    ``config`` is the transformers config (the module reads it); ``inputs`` the names the file takes.
    """

    def __init__(self, run: Any, inputs: list[str], output: str, config: Any) -> None:
        super().__init__()
        self.run = run
        self.inputs = inputs
        self.output = output
        self.config = config

    def forward(self, **features: Any) -> dict[str, Any]:
        import numpy as np

        feeds = {name: np.ascontiguousarray(features[name].cpu().numpy()) for name in self.inputs}
        return {self.output: torch.from_numpy(np.asarray(self.run(feeds)))}


def attach(model: Any, path: Path, variant: Variant) -> Any:
    """``model`` (a CrossEncoder or SentenceTransformer loaded from ``path``) running ``variant``'s file in
    its runtime instead of torch; the torch weights are dropped."""
    if variant.backend == DEFAULT_BACKEND:
        return model
    check_runtime(variant.backend)
    check_variant_files(path, variant)
    transformer = model[0]
    output = transformer.modality_config["text"]["method_output_name"]
    config = transformer.model.config
    file = path / variant.file
    if variant.backend == "onnx":
        run, inputs = _onnx_session(file, variant.device)
    else:
        run, inputs = _openvino_model(file)
    transformer.model = SessionModel(run, inputs, output, config)
    return model


def _onnx_session(file: Path, device: str | None) -> tuple[Any, list[str]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = core_count()
    options.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if device and device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise InputError(f"--device {device}: this onnxruntime has no CUDA provider (onnxruntime-gpu)")
        index = device.partition(":")[2] or "0"
        providers = [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
    try:
        session = ort.InferenceSession(str(file), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own untyped errors for a bad file
        raise InputError(f"--model-file {file.name}: onnxruntime cannot load it ({error})") from error
    output = session.get_outputs()[0].name
    return (lambda feeds: session.run([output], feeds)[0]), [i.name for i in session.get_inputs()]


def _openvino_model(file: Path) -> tuple[Any, list[str]]:
    import openvino as ov

    core = ov.Core()
    try:
        compiled = core.compile_model(
            str(file), "CPU", {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": core_count()}
        )
    except Exception as error:  # OpenVINO raises RuntimeError for any unreadable model
        raise InputError(f"--model-file {file.name}: OpenVINO cannot load it ({error})") from error
    request = compiled.create_infer_request()
    output = compiled.outputs[0]

    def run(feeds: dict[str, Any]) -> Any:
        return request.infer(feeds)[output].copy()

    return run, [port.get_any_name() for port in compiled.inputs]


def load_model(model_class: type, path: Path, variant: Variant, **options: Any) -> Any:
    """A ``CrossEncoder`` or ``SentenceTransformer`` (``model_class``) from the folder ``path``, in
    ``variant``: loaded by sentence-transformers on its device, run in its dtype
    (:func:`hubrerank.runtime.in_dtype`), its runtime attached for onnx and openvino (whose files and
    runtime are checked first, so a missing one is one line)."""
    from hubrerank.runtime import in_dtype, model_options

    if variant.backend != DEFAULT_BACKEND:
        check_runtime(variant.backend)
        check_variant_files(path, variant)
    model = in_dtype(model_class(str(path), **options, **model_options(variant)), variant)
    return attach(model, path, variant)


def cache_identity(path: Path, variant: Variant) -> str:
    """The cache key of the model in ``path`` run as ``variant`` (:func:`hubrerank.runtime.variant_identity`;
    for onnx and openvino, the variant file's bytes are part of it)."""
    from hubrerank.hashing import model_identity
    from hubrerank.runtime import variant_identity

    digest = variant_digest(path, variant) if variant.backend != DEFAULT_BACKEND else None
    return variant_identity(model_identity(path), variant, digest)
