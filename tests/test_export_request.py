"""What `hubrerank export` is asked to write: sentence-transformers' file names, the precision each file
computes in, and bad requests refused in one line before any model loads."""

from __future__ import annotations

import pytest
from helpers import run_cli

from hubrerank.errors import InputError
from hubrerank.export import ExportRequest
from hubrerank.variants import precision_of


def test_the_files_are_named_as_sentence_transformers_exporters_name_them() -> None:
    request = ExportRequest(
        optimize=("O2", "O4"), quantize=("arm64", "avx2"), openvino=True, openvino_int8=True
    )
    assert [(v.backend, v.file) for v in request.check().variants()] == [
        ("onnx", "onnx/model.onnx"),  # the float32 graph the others are made from
        ("onnx", "onnx/model_O2.onnx"),
        ("onnx", "onnx/model_O4.onnx"),
        ("onnx", "onnx/model_qint8_arm64.onnx"),
        ("onnx", "onnx/model_qint8_avx2.onnx"),
        ("openvino", "openvino/openvino_model.xml"),
        ("openvino", "openvino/openvino_model_qint8_quantized.xml"),
    ]
    assert [precision_of(v.file) for v in request.variants()] == [
        "float32", "float32", "float16", "int8 dynamic (arm64)", "int8 dynamic (avx2)",
        "float32", "int8 static",
    ]  # fmt: skip
    assert request.variants()[-1].files == [
        "openvino/openvino_model_qint8_quantized.xml",
        "openvino/openvino_model_qint8_quantized.bin",
    ]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ExportRequest(), "nothing to export"),
        (ExportRequest(optimize=("O5",)), "--optimize O5: not one of O1, O2, O3, O4"),
        (ExportRequest(quantize=("avx9",)), "--quantize avx9: not one of arm64, avx2, avx512, avx512_vnni"),
    ],
)
def test_a_bad_request_is_one_line(request_: ExportRequest, message: str) -> None:
    with pytest.raises(InputError, match=message):
        request_.check()


def test_the_command_refuses_before_loading_anything(tmp_path) -> None:
    result = run_cli("export", str(tmp_path / "nowhere"), "--optimize", "O7")
    assert result.exit_code == 2
    assert "'O7' is not one of 'O1', 'O2', 'O3', 'O4'" in result.output.strip().splitlines()[-1]
