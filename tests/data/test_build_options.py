"""``hubrerank data build``'s options are defined once: the click command and the rebuild command a
dataset card prints read their flags, defaults and choices from BuildOptions and MiningSettings."""

from __future__ import annotations

from typing import Any

import click

from hubrerank.cli.data import build
from hubrerank.data.build_options import BUILD_OPTIONS, BuildOptions, rebuild_command
from hubrerank.data.mining import MiningSettings

LOCAL = {"source": {"kind": "local", "path": "faq.csv"}, "mining_model": None, "teacher": None}
HUB = {
    "source": {"kind": "hub", "repo": "acme/src", "revision": "a" * 40},
    "mining_model": {"repo": "acme/bi", "revision": "b" * 40},
    "teacher": {"path": "teacher"},
}


def test_click_reads_flags_defaults_and_choices_from_the_library() -> None:
    params: dict[str, Any] = {
        opt: param for param in build.params if isinstance(param, click.Option) for opt in param.opts
    }
    for spec in BUILD_OPTIONS.values():
        param = params[spec.flag]
        if spec.default not in (None, ()):
            assert param.default == spec.default, spec.flag
        if spec.choices:
            assert isinstance(param.type, click.Choice) and tuple(param.type.choices) == spec.choices


def test_the_rebuild_command_names_only_what_differs_from_the_defaults() -> None:
    assert rebuild_command(LOCAL, BuildOptions(), push=None, out="out/dir") == (
        "hubrerank data build faq.csv --seed 12 --out dir"
    )
    options = BuildOptions(test_size=0.1, eval_size=1, mining=MiningSettings(batch_size=32))
    assert (
        rebuild_command(LOCAL, options, push=None, out=None)
        == "hubrerank data build faq.csv --eval-size 1 --seed 12"
    )


def test_the_rebuild_command_with_every_option() -> None:
    mining = MiningSettings(
        negatives=3, range_min=1, range_max=20, absolute_margin=0.1, relative_margin=0.05, max_score=0.9,
        sampling="random", batch_size=8,
    )  # fmt: skip
    options = BuildOptions(
        format="pairs", config="c", split=("train", "dev"), query_column="q q", answer_column="a",
        label_column="l", positive_threshold=0.7, test_size=100, eval_size=0.2, mine_model="x", bm25=True,
        mining=mining, random_negatives=2, teacher="t", output_format="n-tuple", candidates=10,
        first_stage="fused", seed=3, license="mit", language="de",
    )  # fmt: skip
    assert rebuild_command(HUB, options, push="acme/out", out=None) == (
        f"hubrerank data build acme/src@{'a' * 40} --split train,dev --format pairs --config c "
        "--query-column 'q q' --answer-column a --label-column l --positive-threshold 0.7 --test-size 100 "
        "--eval-size 0.2 --negatives 3 --range-min 1 --range-max 20 --absolute-margin 0.1 "
        "--relative-margin 0.05 --max-score 0.9 --sampling random --batch-size 8 --random-negatives 2 "
        "--output-format n-tuple --candidates 10 --first-stage fused --license mit --language de "
        f"--mine-model acme/bi@{'b' * 40} --bm25 --teacher teacher --seed 3 --push acme/out"
    )


def test_a_half_precision_build_is_rebuilt_in_it_and_float32_reads_as_before() -> None:
    assert "--dtype bfloat16" in rebuild_command(LOCAL, BuildOptions(dtype="bfloat16"), push=None, out=None)
    assert "--dtype" not in rebuild_command(LOCAL, BuildOptions(device="cpu"), push=None, out=None)
