"""`hubrerank export`: variants written as sentence-transformers names them, each measured on the model's
own evaluation against float32 torch, recorded (variants.json, the card's "Variants"), published in one
commit; `verify` re-measures each variant's claims in its own runtime and fails on a drifted one."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli
from reproduce_fixtures import publish_copy
from test_verify import table_row

from hubrerank.hub import list_files, resolve
from hubrerank.refs import Ref

pytestmark = pytest.mark.slow  # exports, evaluates and verifies four variants of a tiny model

VARIANT_FILES = {
    "onnx/model.onnx",
    "onnx/model_qint8_avx512_vnni.onnx",
    "openvino/openvino_model.xml",
    "openvino/openvino_model.bin",
    "openvino/openvino_model_qint8_quantized.xml",
    "openvino/openvino_model_qint8_quantized.bin",
}


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """A copy of the trained model, exported with every kind of variant and pushed: (repo id, sha)."""
    folder = tmp_path_factory.mktemp("export")
    sha = publish_copy(trained, "alice/repro-export", folder)
    result = run_cli(
        "export", f"alice/repro-export@{sha}", "--quantize", "avx512_vnni", "--openvino", "--openvino-int8",
        "--out", str(folder / "work"), "--push",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1].split("@")


def test_export_publishes_the_variants_their_record_and_the_card_in_one_commit(exported, trained) -> None:
    repo_id, sha = exported
    head = resolve(Ref(repo_id, "main"))
    assert head.sha == sha
    files = set(list_files(head))
    assert VARIANT_FILES | {"variants.json", "README.md", "model.safetensors"} <= files
    record = json.loads((_download(repo_id, sha, "variants.json")).read_text())
    assert record["model"] == {"repo": repo_id, "revision": record["model"]["revision"]}
    assert record["items"] == "pairs" and record["count"] > 0 and record["baseline_per_second"] > 0
    variants = {variant["model_file"]: variant for variant in record["variants"]}
    assert set(variants) == {f for f in VARIANT_FILES if not f.endswith(".bin")}
    assert variants["onnx/model_qint8_avx512_vnni.onnx"]["precision"] == "int8 dynamic (avx512_vnni)"
    assert variants["openvino/openvino_model_qint8_quantized.xml"]["precision"] == "int8 static"
    baseline = record["baseline_results"][0]["metrics"]
    onnx = variants["onnx/model.onnx"]
    [result] = onnx["results"]
    assert (result["backend"], result["model_file"]) == ("onnx", "onnx/model.onnx")
    assert abs(result["metrics"]["ndcg@10"] - baseline["ndcg@10"]) < 1e-4  # float32 in another runtime
    assert onnx["speedup"] == pytest.approx(onnx["per_second"] / record["baseline_per_second"], rel=1e-2)
    card = _download(repo_id, sha, "README.md").read_text()
    assert (
        "## Variants" in card
        and "| `onnx/model_qint8_avx512_vnni.onnx` | onnx | int8 dynamic (avx512_vnni) |" in card
    )
    assert f"Measured on {record['machine']}" in card


def test_verify_re_measures_every_variant_in_its_own_runtime(exported, tmp_path) -> None:
    repo_id, sha = exported
    report_path = tmp_path / "report.json"
    result = run_cli("verify", f"{repo_id}@{sha}", "--json", str(report_path))
    assert result.exit_code == 0, result.output
    rows = json.loads(report_path.read_text())["rows"]
    measured = {(row.get("measured_backend", "torch"), row.get("measured_model_file")) for row in rows}
    assert measured == {("torch", None)} | {
        ("onnx" if f.endswith(".onnx") else "openvino", f) for f in VARIANT_FILES if not f.endswith(".bin")
    }
    assert all(row["delta"] == 0 for row in rows if row.get("measured_backend") == "openvino"), rows


def test_a_drifted_variant_fails_verify(exported, trained, tmp_path) -> None:
    from hubrerank.hub import publish

    repo_id, sha = exported
    record = json.loads(_download(repo_id, sha, "variants.json").read_text())
    claim = record["variants"][1]["results"][0]["metrics"]
    claim["ndcg@10"] += 0.05  # a variant whose numbers are not what it computes
    drifted = publish(repo_id, {"variants.json": json.dumps(record).encode()}, message="drift").sha
    label = f"alice/repro-faq:test/ndcg@10 [{record['variants'][1]['model_file']}]"

    result = run_cli("verify", f"{repo_id}@{drifted}")

    assert result.exit_code == 1, result.output
    assert table_row(result.output, label)[-1] == "NO"
    assert "FAIL: 129 of 130 claimed metrics within tolerance" in result.output


def test_export_refuses_bad_input_in_one_line(trained, tmp_path) -> None:
    nothing = run_cli("export", trained.ref)
    assert nothing.exit_code == 2 and "nothing to export" in nothing.output.strip().splitlines()[-1]
    local_push = run_cli("export", str(trained.out), "--onnx", "--push")
    assert local_push.exit_code == 2 and "--push publishes to the model's repo" in local_push.output


def _download(repo_id: str, sha: str, path: str):
    from pathlib import Path

    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id, path, revision=sha))
