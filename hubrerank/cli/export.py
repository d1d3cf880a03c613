"""``hubrerank export``: a model's ONNX and OpenVINO variants, measured, recorded and published."""

from __future__ import annotations

from pathlib import Path

import click

from hubrerank.cli._output import on_own_cores, quiet_loaders
from hubrerank.export import OPTIMIZATION_LEVELS, QUANTIZATION_TARGETS, ExportRequest


@click.command("export")
@click.argument("model", metavar="MODEL[@REV]|DIR")
@click.option("--onnx", "onnx", is_flag=True, help="onnx/model.onnx: the float32 graph (torch's exporter).")
@click.option(
    "--optimize",
    multiple=True,
    type=click.Choice(OPTIMIZATION_LEVELS),
    help="onnx/model_<LEVEL>.onnx: onnxruntime's optimiser at optimum's level (O4 is float16, for GPUs). "
    "Repeatable.",
)
@click.option(
    "--quantize",
    multiple=True,
    type=click.Choice(QUANTIZATION_TARGETS),
    help="onnx/model_qint8_<TARGET>.onnx: dynamic int8 quantisation for that CPU. Repeatable.",
)
@click.option("--openvino", is_flag=True, help="openvino/openvino_model.xml: float32.")
@click.option(
    "--openvino-int8",
    is_flag=True,
    help="openvino/openvino_model_qint8_quantized.xml: static int8 by NNCF, calibrated on --calibration.",
)
@click.option(
    "--calibration",
    metavar="DATASET[@REV][:SPLIT]",
    default=None,
    help="Texts --openvino-int8 calibrates on (300; default: the model's recorded training split).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Work folder (a copy of the model with its variants). Default: a local model's own folder, or "
    "export-<name>-<sha> for a Hub model.",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=32, show_default=True, help="Scoring batch size."
)
@click.option(
    "--speed-items",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Pairs (texts for a bi-encoder) of the first evaluation split each variant is timed on.",
)
@click.option("--push", is_flag=True, help="Publish the variants, variants.json and the card in one commit.")
@on_own_cores
def export(
    model: str,
    onnx: bool,
    optimize: tuple[str, ...],
    quantize: tuple[str, ...],
    openvino: bool,
    openvino_int8: bool,
    calibration: str | None,
    out: Path | None,
    batch_size: int,
    speed_items: int,
    push: bool,
) -> None:
    """Write MODEL's ONNX and OpenVINO variants as sentence-transformers' exporters name them, evaluate
    each on the model's own evaluation and time it against float32 torch in the same run, and record
    them in variants.json and the card's "Variants" section; with --push, in one commit on the model's
    repo. `hubrerank verify` re-measures every variant's claims.
    """
    from hubrerank.variants import ExportJob, export_model

    request = ExportRequest(onnx, optimize, quantize, openvino, openvino_int8).check()
    quiet_loaders()
    job = ExportJob(model, request, out, calibration, batch_size, speed_items, push)
    result = export_model(job, log=lambda line: click.echo(line, err=True))
    record = result.record
    click.echo(f"float32 torch: {record.baseline_per_second:.1f} {record.items}/s", err=True)
    for variant in record.variants:
        click.echo(
            f"{variant.model_file} ({variant.precision}): {variant.per_second:.1f} {record.items}/s, "
            f"{variant.speedup:.2f}x",
            err=True,
        )
    if result.pushed is not None:
        click.echo(f"{result.pushed.repo_id}@{result.pushed.sha}")
    else:
        click.echo(str(result.folder))
