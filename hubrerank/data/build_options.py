"""What ``hubrerank data build`` is asked: :class:`BuildOptions`, each option declared once (flag, default,
choices; :mod:`hubrerank.data.options`), :func:`check_options`, which refuses a combination before any
work, and :func:`rebuild_command`, the options written back as the command a dataset card prints.

The build (:mod:`hubrerank.data.build`) reads the options; the CLI reads its flags from
:data:`BUILD_OPTIONS`; neither owns them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubrerank.data import candidates as first_stage
from hubrerank.data import forms
from hubrerank.data.candidates import FIRST_STAGES
from hubrerank.data.mining import MiningSettings, check_settings
from hubrerank.data.models import model_device
from hubrerank.data.options import option, option_specs, option_values
from hubrerank.data.sources import FORMATS
from hubrerank.errors import InputError
from hubrerank.runtime import DEFAULT_DTYPE, Variant


@dataclass(frozen=True)
class BuildOptions:
    """Every option of ``hubrerank data build``: the CLI reads flags, defaults and choices from these
    fields (:mod:`hubrerank.data.options`)."""

    format: str | None = option("--format", choices=FORMATS)
    config: str | None = option("--config")
    split: tuple[str, ...] = option("--split", (), rebuilt=False)
    query_column: str | None = option("--query-column")
    answer_column: str | None = option("--answer-column")
    label_column: str | None = option("--label-column")
    positive_threshold: float = option("--positive-threshold", 0.5)
    test_size: float | int = option("--test-size", 0.1)
    eval_size: float | int = option("--eval-size", 0.1)
    mine_model: str | None = option("--mine-model", rebuilt=False)
    bm25: bool = option("--bm25", False, rebuilt=False)
    mining: MiningSettings = field(default_factory=MiningSettings)
    random_negatives: int = option("--random-negatives", 0)
    teacher: str | None = option("--teacher", rebuilt=False)
    output_format: str = option("--output-format", "labeled-pair", choices=forms.OUTPUT_FORMS)
    candidates: int = option("--candidates", 30)
    first_stage: str | None = option("--first-stage", choices=FIRST_STAGES)
    fusion_weight: float = option("--fusion-weight", 0.5)
    seed: int = option("--seed", 12, rebuilt=False)
    license: str | None = option("--license")
    language: str = option("--language", "en")
    no_cache: bool = option("--no-cache", False, rebuilt=False)
    dtype: str | None = option("--dtype")  # None: float32
    device: str | None = option("--device", rebuilt=False)
    backend: str | None = option("--backend")  # None: torch
    model_file: str | None = option("--model-file")
    devices: tuple[str, ...] = option("--devices", (), rebuilt=False)  # one process each, same results

    @property
    def precision(self) -> Variant:
        """The variant the mining model and the teacher run as (default device: cpu unless CUDA is
        there; with ``devices``, split across one process per device)."""
        return Variant(
            self.dtype or DEFAULT_DTYPE,
            None if self.devices else self.device or model_device(),
            self.backend or "torch",
            self.model_file,
            self.devices,
        ).check()


BUILD_OPTIONS = option_specs(BuildOptions)


def check_options(options: BuildOptions) -> None:
    """Refuse options that contradict each other or name no value the build knows, before any work."""
    if options.output_format not in forms.OUTPUT_FORMS:
        raise InputError(
            f"--output-format {options.output_format!r}: use one of {', '.join(forms.OUTPUT_FORMS)}"
        )
    if options.output_format == forms.RETRIEVAL_FORM:
        _check_retrieval_options(options)
    if options.first_stage is not None and options.first_stage not in first_stage.FIRST_STAGES:
        raise InputError(
            f"--first-stage {options.first_stage!r}: use one of {', '.join(first_stage.FIRST_STAGES)}"
        )
    if options.mining.negatives < 0 or options.random_negatives < 0 or options.candidates < 0:
        raise InputError("--negatives, --random-negatives and --candidates must be 0 or more")
    if options.mining.negatives and not (options.mine_model or options.bm25):
        raise InputError("--negatives needs a miner: pass --mine-model REPO[@REV]|DIR or --bm25")
    if not 0 <= options.fusion_weight <= 1:
        raise InputError(f"--fusion-weight {options.fusion_weight}: give a weight between 0 and 1")
    if options.fusion_weight != 0.5 and options.first_stage != "fused":
        raise InputError(
            "--fusion-weight weighs the rankings of --first-stage fused; add --first-stage fused"
        )
    if options.first_stage in ("embedding", "fused") and not options.mine_model:
        raise InputError(
            f"--first-stage {options.first_stage} ranks with the mining model; pass --mine-model"
        )
    if options.output_format == "pairs" and (options.mining.negatives or options.random_negatives):
        raise InputError(
            "--output-format pairs writes (query, positive) rows and no negatives; drop --negatives and "
            "--random-negatives, or use --output-format triplets or n-tuple"
        )
    if options.mining.negatives:
        check_settings(options.mining, lexical=options.bm25)


def _check_retrieval_options(options: BuildOptions) -> None:
    """The retrieval form holds the source's queries, documents and judgments only: refuse the options
    that add negatives, first-stage lists or teacher scores (they belong to the reranking forms)."""
    values = option_values(options)
    given = [
        spec.flag
        for name, spec in BUILD_OPTIONS.items()
        if name in _NOT_RETRIEVAL and values[name] not in (None, spec.default)
    ]
    if given:
        raise InputError(
            "--output-format retrieval writes the source's corpus, queries and qrels only; "
            f"drop {', '.join(given)}"
        )


_NOT_RETRIEVAL = (
    "mine_model",
    "bm25",
    "negatives",
    "random_negatives",
    "teacher",
    "candidates",
    "first_stage",
)


def rebuild_command(
    metadata: dict[str, Any], options: BuildOptions, push: str | None, out: str | None
) -> str:
    """The CLI command that rebuilds the dataset: the source and models by sha, no absolute paths."""
    source = metadata["source"]
    args = ["hubrerank", "data", "build"]
    args.append(f"{source['repo']}@{source['revision']}" if source["kind"] == "hub" else source["path"])
    if options.split:
        args += [BUILD_OPTIONS["split"].flag, ",".join(options.split)]
    values = option_values(options)
    for spec in BUILD_OPTIONS.values():
        value = values[spec.name]
        if spec.rebuilt and value is not None and value != spec.default:
            args += [spec.flag, str(value)]
    if metadata["mining_model"]:
        args += [BUILD_OPTIONS["mine_model"].flag, _model_ref(metadata["mining_model"])]
    if options.bm25:
        args.append(BUILD_OPTIONS["bm25"].flag)
    if metadata["teacher"]:
        args += [BUILD_OPTIONS["teacher"].flag, _model_ref(metadata["teacher"])]
    args += [BUILD_OPTIONS["seed"].flag, str(options.seed)]
    if push:
        args += ["--push", push]
    elif out:
        args += ["--out", Path(out).name]
    return shlex.join(args)


def _model_ref(record: dict[str, Any]) -> str:
    return f"{record['repo']}@{record['revision']}" if "repo" in record else record["path"]
