"""What the evaluation commands share: their scoring and BM25 options, quiet loaders, output files."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from hubrerank.evaluation.compare import ComparisonRequest
from hubrerank.runtime import Variant

F = TypeVar("F", bound=Callable[..., object])


def scoring_options(command: F) -> F:
    """--batch-size, --max-length and --no-cache, as every command that scores pairs or embeds texts has
    them (the caches live in ``$HUBRERANK_HOME/scores.sqlite``), and :func:`precision_options`."""
    options = (
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=ComparisonRequest.batch_size,
            show_default=True,
        ),
        click.option(
            "--max-length",
            type=click.IntRange(min=1),
            default=None,
            help="Truncate cross-encoder pairs to this many tokens.",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Do not read or write the score and embedding cache ($HUBRERANK_HOME/scores.sqlite).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return precision_options(command)


def precision_options(command: F) -> F:
    """--dtype, --device, --backend and --model-file, as every command that loads a model to score or embed
    has them, given to the command as one ``variant`` (:class:`hubrerank.runtime.Variant`; None when none
    of them is given, so verify and reproduce re-measure each claim in its own), and the command's threads
    set to the cores it may use (:func:`hubrerank.runtime.use_cores`) before it runs.

    They are checked before the command runs, so a bad value or combination is one line and exit 2 before
    any model loads.
    """
    from hubrerank.runtime import BACKENDS, DEFAULT_DTYPE, DTYPES, Variant, check_device, check_dtype

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        dtype, device = kwargs.pop("dtype"), kwargs.pop("device")
        backend, model_file = kwargs.pop("backend"), kwargs.pop("model_file")
        devices = kwargs.pop("devices", None) or ()
        given = (dtype, device, backend, model_file, devices) != (None, None, None, None, ())
        backend = backend or ("onnx" if model_file and model_file.endswith(".onnx") else None)
        backend = backend or ("openvino" if model_file and model_file.endswith(".xml") else None)
        variant = Variant(dtype or DEFAULT_DTYPE, device, backend or "torch", model_file, devices).check()
        return command(*args, variant=variant if given else None, **kwargs)

    options = (
        click.option(
            "--dtype",
            default=None,
            metavar="|".join(DTYPES),
            callback=lambda _ctx, _param, value: value if value is None else check_dtype(value),
            help=f"The precision models score and embed in: the Linear layers of their transformer blocks "
            f"run in it, embeddings, norms, residual stream and head in float32. Default: {DEFAULT_DTYPE} "
            "(verify, reproduce: each claim's own). Results record it and the caches keep it apart; "
            "bfloat16 is much faster on CPUs with AVX-512 BF16 (BENCHMARKS.md).",
        ),
        click.option(
            "--device",
            default=None,
            metavar="cpu|cuda|cuda:N|mps",
            callback=lambda _ctx, _param, value: value if value is None else check_device(value),
            help="Where models run. Default: the device sentence-transformers picks (a GPU if there is one).",
        ),
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            default=None,
            help="The runtime: torch (default), onnx (onnxruntime) or openvino, running a variant file of "
            "the model (--model-file; hubrerank export writes them) with sentence-transformers' own "
            "tokenisation and activation. Needs pip install 'hubrerank[onnx]' / '[openvino]'.",
        ),
        click.option(
            "--model-file",
            default=None,
            metavar="PATH",
            help="The variant file inside the model, as sentence-transformers' exporters name them: "
            "onnx/model.onnx (the onnx default), onnx/model_O3.onnx, onnx/model_qint8_avx512_vnni.onnx, "
            "openvino/openvino_model.xml (the openvino default), "
            "openvino/openvino_model_qint8_quantized.xml.",
        ),
    )
    wrapped = on_own_cores(cast(F, run))
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def devices_option(command: F) -> F:
    """--devices, for the commands that score many pairs with a cross-encoder or embed many texts with a
    bi-encoder (eval, pipeline, verify, data build): one process per device, results the same as on one
    device. Goes with :func:`precision_options`."""
    from hubrerank.runtime import parse_devices

    return click.option(
        "--devices",
        default=None,
        metavar="DEV,DEV,...|cuda",
        callback=lambda _ctx, _param, value: None if value is None else parse_devices(value),
        help="Split the cross-encoder's pairs and the bi-encoder's texts across one process per device "
        "(cuda: every GPU; cpu,cpu: two CPU processes sharing the cores), with the scores and vectors one "
        "device gives.",
    )(command)


def precision_heading(variant: Variant) -> str:
    """The line above a table of results measured in ``variant``: none for float32 torch, whose tables
    read as they always did."""
    if variant.is_default:
        return ""
    return f"Measured in {variant.label} (float32 is the reference precision).\n\n"


def on_own_cores(command: F) -> F:
    """``command`` running torch and the tokenizers on the cores this process may use (``$HUBRERANK_THREADS``
    overrides), so that concurrent hubrerank processes share a machine instead of fighting over it."""
    from hubrerank.runtime import use_cores

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        use_cores()
        return command(*args, **kwargs)

    return cast(F, run)


bm25_language_option = click.option(
    "--language",
    default="en",
    show_default=True,
    help="The corpus language for BM25: en removes English stopwords, any other code keeps every word; "
    "Chinese, Japanese and Korean text is split into characters either way.",
)


def check_outputs(*outputs: tuple[str, Path | None]) -> None:
    """Refuse an unwritable output file, named by its option, before any work: it would be lost."""
    from hubrerank.paths import check_writable

    for option, path in outputs:
        if path is not None:
            check_writable(path, option)


def quiet_loaders() -> None:
    """Keep stderr for our own progress: no per-file bars from datasets or transformers."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()


def write_output(path: Path, text: str) -> None:
    """Write an output file (its folder created) and say so on stderr."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {path}", err=True)
