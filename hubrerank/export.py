"""Write a model's ONNX and OpenVINO variants, where sentence-transformers' exporters put them.

sentence-transformers' own exporters (``export_optimized_onnx_model``,
``export_dynamic_quantized_onnx_model``, ``export_static_quantized_openvino_model``) go through optimum,
which cannot be installed beside transformers 5 (issue #26). These write the same files with the
libraries that can: torch's ONNX exporter
(``torch.onnx.export(dynamo=True)``, onnxscript), onnxruntime's transformer optimiser and dynamic
quantiser, OpenVINO's ``convert_model`` and NNCF's static quantisation. The names are theirs:

- ``onnx/model.onnx``: the float32 graph, inputs named as the tokenizer's, the output ``logits`` (a
  cross-encoder) or ``last_hidden_state`` (a bi-encoder), as optimum names them;
- ``onnx/model_O1.onnx`` .. ``model_O4.onnx``: onnxruntime's optimiser, optimum's levels (O1 basic
  fusions, O2 extended, O3 with the GELU approximation, O4 O3 in float16: for GPUs);
- ``onnx/model_qint8_<target>.onnx``: dynamic int8 quantisation of ``model.onnx`` for ``arm64``, ``avx2``,
  ``avx512`` or ``avx512_vnni`` (optimum's settings for each);
- ``openvino/openvino_model.xml`` (+ ``.bin``): float32; ``openvino/openvino_model_qint8_quantized.xml``:
  static int8 by NNCF, calibrated on texts the caller gives (never the evaluation data).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank.errors import InputError
from hubrerank.runtime import Variant

OPTIMIZATION_LEVELS = ("O1", "O2", "O3", "O4")
QUANTIZATION_TARGETS = ("arm64", "avx2", "avx512", "avx512_vnni")
ONNX_FILE = "onnx/model.onnx"
OPENVINO_FILE = "openvino/openvino_model.xml"
OPENVINO_INT8_FILE = "openvino/openvino_model_qint8_quantized.xml"

Log = Callable[[str], None]


@dataclass(frozen=True)
class ExportRequest:
    """Which variants to write: ``onnx`` the float32 ONNX graph (written anyway when an optimisation or a
    quantisation needs it), ``optimize`` onnxruntime levels, ``quantize`` dynamic int8 targets, ``openvino``
    float32 and ``openvino_int8`` static int8 OpenVINO models."""

    onnx: bool = False
    optimize: tuple[str, ...] = ()
    quantize: tuple[str, ...] = ()
    openvino: bool = False
    openvino_int8: bool = False

    def check(self) -> ExportRequest:
        """Raise InputError (one line) for an unknown level or target, nothing asked, or a runtime missing."""
        for level in self.optimize:
            if level not in OPTIMIZATION_LEVELS:
                raise InputError(f"--optimize {level}: not one of {', '.join(OPTIMIZATION_LEVELS)}")
        for target in self.quantize:
            if target not in QUANTIZATION_TARGETS:
                raise InputError(f"--quantize {target}: not one of {', '.join(QUANTIZATION_TARGETS)}")
        if not self.variants():
            raise InputError(
                "nothing to export: give --onnx, --optimize O1..O4, --quantize TARGET, --openvino or "
                "--openvino-int8"
            )
        from hubrerank.backends import check_runtime

        if self.onnx or self.optimize or self.quantize:
            check_runtime("onnx")
        if self.openvino or self.openvino_int8:
            check_runtime("openvino")
        return self

    def variants(self) -> list[Variant]:
        """The variants asked for, in the order they are written."""
        onnx = [ONNX_FILE] if self.onnx or self.optimize or self.quantize else []
        onnx += [f"onnx/model_{level}.onnx" for level in self.optimize]
        onnx += [f"onnx/model_qint8_{target}.onnx" for target in self.quantize]
        openvino = [OPENVINO_FILE] if self.openvino else []
        openvino += [OPENVINO_INT8_FILE] if self.openvino_int8 else []
        return [Variant(backend="onnx", model_file=file) for file in onnx] + [
            Variant(backend="openvino", model_file=file) for file in openvino
        ]


def write_variants(
    folder: Path, request: ExportRequest, calibration: Sequence[Any] = (), log: Log = lambda _: None
) -> list[Variant]:
    """Write the variants ``request`` asks for into the model folder ``folder`` (a CrossEncoder or a
    SentenceTransformer); ``calibration`` are the texts (cross-encoder: (query, document) pairs) NNCF
    calibrates the int8 OpenVINO model on. Returns the variants written."""
    module = _export_module(folder)
    variants = request.variants()
    for variant in variants:
        log(f"writing {variant.file}")
        target = folder / variant.file
        target.parent.mkdir(parents=True, exist_ok=True)
        if variant.file == ONNX_FILE:
            _export_onnx(module, target)
        elif variant.file.startswith("onnx/model_O"):
            _optimize(folder / ONNX_FILE, target, variant.file.removeprefix("onnx/model_")[:2], module)
        elif variant.file.startswith("onnx/model_qint8_"):
            _quantize(folder / ONNX_FILE, target, variant.file.removeprefix("onnx/model_qint8_")[:-5])
        elif variant.file == OPENVINO_FILE:
            _save_openvino(_convert_openvino(module), target)
        else:
            _save_openvino(_quantize_openvino(module, calibration), target)
    return variants


@dataclass
class _Module:
    """The transformers model inside a sentence-transformers model, what it outputs, and example inputs."""

    model: Any
    output: str
    tokenizer: Any
    config: Any

    def example(self) -> dict[str, Any]:
        """Tokenised example inputs (two rows, so the batch axis is not specialised to one)."""
        texts = ["a query", "another, longer query"]
        pairs = (texts, ["a document", "a second one"]) if self.output == "logits" else (texts,)
        return dict(self.tokenizer(*pairs, return_tensors="pt", padding=True))

    def wrapped(self) -> Any:
        """A torch module taking the tokenizer's inputs by name and returning the one output tensor."""
        import torch

        model, output = self.model, self.output

        class Forward(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(
                self,
                input_ids: torch.Tensor,
                attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None,
            ) -> torch.Tensor:
                inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
                if token_type_ids is not None:
                    inputs["token_type_ids"] = token_type_ids
                return getattr(self.model(**inputs), output)

        return Forward().eval()


def _export_module(folder: Path) -> _Module:
    """Load the model in ``folder`` as sentence-transformers does and take its transformers model."""
    from sentence_transformers import CrossEncoder, SentenceTransformer

    from hubrerank.kinds.detect import model_kind

    kind = model_kind(folder)
    if kind == "base":
        raise InputError(f"{folder.name} is neither a cross-encoder nor a sentence-transformers bi-encoder")
    model_class = SentenceTransformer if kind == "bi-encoder" else CrossEncoder
    model = model_class(str(folder), device="cpu")
    transformer = model[0]
    output = transformer.modality_config["text"]["method_output_name"]
    if output not in ("logits", "last_hidden_state"):
        raise InputError(f"{folder.name}: hubrerank exports text models only (its output is {output})")
    return _Module(transformer.model.eval(), output, model.tokenizer, transformer.model.config)


def _export_onnx(module: _Module, target: Path) -> None:
    import torch

    example = module.example()
    names = list(example)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with torch.inference_mode():
        program = torch.onnx.export(
            module.wrapped(),
            (),
            kwargs=example,
            input_names=names,
            output_names=[module.output],
            dynamic_shapes={name: {0: batch, 1: sequence} for name in names},
            dynamo=True,
            external_data=False,
            optimize=True,
            verbose=False,
        )
    program.save(str(target), external_data=False)


def _optimize(source: Path, target: Path, level: str, module: _Module) -> None:
    """onnxruntime's transformer optimiser at optimum's level ``level`` (O1-O4)."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model_type = getattr(module.config, "model_type", "bert")
    options = FusionOptions(model_type if model_type in ("bert", "roberta", "gpt2") else "bert")
    options.enable_gelu_approximation = level in ("O3", "O4")
    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=module.config.num_attention_heads,
        hidden_size=module.config.hidden_size,
        opt_level=1 if level == "O1" else 2,
        optimization_options=options,
        use_gpu=level == "O4",
    )
    if level == "O4":
        optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(target))


# optimum's AutoQuantizationConfig for each target: weights' type, per channel, reduced range
_QUANTIZATION = {
    "arm64": ("QUInt8", True, False),
    "avx2": ("QUInt8", True, True),
    "avx512": ("QInt8", True, True),
    "avx512_vnni": ("QInt8", True, False),
}


def _quantize(source: Path, target: Path, name: str) -> None:
    """onnxruntime's dynamic int8 quantisation of the float32 graph with optimum's settings for ``name``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    weights, per_channel, reduce_range = _QUANTIZATION[name]
    logging.getLogger().setLevel(logging.ERROR)  # its "run pre-processing first" advice, every call
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=getattr(QuantType, weights),
        per_channel=per_channel,
        reduce_range=reduce_range,
    )


def _convert_openvino(module: _Module) -> Any:
    import openvino as ov
    import torch

    example = module.example()
    names = list(example)
    with torch.inference_mode():
        model = ov.convert_model(
            module.wrapped(),
            example_input=example,
            input=[(name, ov.PartialShape([-1, -1]), ov.Type.i64) for name in names],
        )
    for port, name in zip(model.inputs, names, strict=True):
        port.get_tensor().set_names({name})
    model.outputs[0].get_tensor().set_names({module.output})
    return model


def _quantize_openvino(module: _Module, calibration: Sequence[Any]) -> Any:
    """NNCF's static int8 quantisation (transformer preset) calibrated on ``calibration``."""
    import nncf

    if not calibration:
        raise InputError("--openvino-int8 needs calibration texts (--calibration DATASET)")
    model = _convert_openvino(module)
    names = [port.get_any_name() for port in model.inputs]
    items = []
    for item in calibration:
        if module.output == "logits":
            encoded = module.tokenizer([item[0]], [item[1]], return_tensors="np", truncation=True)
        else:
            encoded = module.tokenizer([item], return_tensors="np", truncation=True)
        items.append({name: encoded[name].astype("int64") for name in names})
    return nncf.quantize(
        model,
        nncf.Dataset(items),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(items),
        preset=nncf.QuantizationPreset.MIXED,
    )


def _save_openvino(model: Any, target: Path) -> None:
    import openvino as ov

    ov.save_model(model, str(target), compress_to_fp16=False)
