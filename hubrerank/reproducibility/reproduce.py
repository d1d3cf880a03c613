"""``hubrerank reproduce``: retrain a published model from its recipe and compare with what it claims.

The recipe is the repo's hubrerank.yaml (every input pinned to a sha, the seed, the environment it ran
in), a recipe rebuilt from a sentence-transformers trainer card, or one the user gives. It is validated as
data, its base model must hold safetensors weights and need no code of its own (unless
``trust_remote_code``), and it retrains with the same seed on the same data and base-model shas. The new
numbers are compared with the claims under tolerances chosen by environment
(:mod:`hubrerank.reproducibility.tolerances`):
in the same CPU environment the retrained ``model.safetensors`` must also be byte-identical to the
published one, checked against the sha256 the Hub records for that LFS file (nothing is downloaded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypedDict

from hubrerank.environment import installed_versions
from hubrerank.errors import HubrerankError, InputError
from hubrerank.hashing import file_sha256
from hubrerank.hub import fetch_model, file_info, resolve
from hubrerank.record import WEIGHTS_FILE
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.reproducibility.tolerances import reproduce_tolerances
from hubrerank.reproducibility.verify import (
    Report,
    check_claims,
    fetch_model_and_record,
    read_subject,
    unpinned_refs,
    unpinned_warnings,
)
from hubrerank.runtime import DEFAULT_BACKEND, Variant

# environment keys that may change the numbers; "platform" (OS and kernel) is shown, not compared
SAME_ENVIRONMENT_KEYS = (
    "python",
    "torch",
    "transformers",
    "sentence_transformers",
    "datasets",
    "huggingface_hub",
    "hubrerank",
    "device",
    "world_size",
)


def reproduce(
    text: str,
    *,
    out_dir: Path | None = None,
    tolerance: float | None = None,
    tolerance_file: Path | None = None,
    recipe_path: Path | None = None,
    trust_remote_code: bool = False,
    variant: Variant | None = None,
    echo: Callable[[str], None] = print,
) -> Report:
    """Retrain the model ``REPO[@REV]`` from its recipe into ``out_dir``, re-evaluate it and compare.

    ``tolerance`` / ``tolerance_file`` replace the environment-dependent defaults. Training evaluates the
    retrained model in float32; a claim made in another precision, or every claim when ``variant`` names a
    dtype, is re-measured in that precision on ``variant.device`` (as
    :func:`~hubrerank.reproducibility.verify.verify`). Retraining gives torch weights only: a ``variant``
    with another backend is refused (``verify`` checks published variants).
    Problems that make the check impossible (no recipe or claims, a pinned input gone, refused weights or
    code) give an ``ERROR`` report with the reason.
    """
    from hubrerank.evaluation import run_evaluations
    from hubrerank.training.trainer import evaluation_plan, train

    if variant is not None and variant.backend != DEFAULT_BACKEND:
        raise InputError(
            f"--backend {variant.backend}: reproduce retrains torch weights, which have no "
            f"{variant.backend} variant; verify re-measures a published one"
        )
    override = variant.check() if variant is not None and not variant.is_default else None
    device = variant.device if variant is not None else None
    ref = resolve(Ref.parse(text, "model"))
    report = Report("reproduce", ref, reproduce_tolerances(False, tolerance, tolerance_file))
    try:
        published = fetch_model_and_record(ref, trust_remote_code)
        subject = read_subject(ref, published, recipe_path)
        recipe = subject.recipe
        if recipe is None:  # read_subject refuses a card that leaves training out when training is asked for
            raise AssertionError(f"{ref} has no recipe to retrain")
        report.caveats, report.claimed_environment = subject.caveats, subject.claimed_environment
        unpinned = unpinned_refs(recipe)
        pinned = recipe.pin(resolve)
        resolved = {path: node["revision"] for path, node, _ in pinned.refs()}
        report.unpinned = [{**item, "resolved": resolved[item["field"]]} for item in unpinned]
        report.warnings += unpinned_warnings(report.unpinned)
        for warning in report.warnings:
            echo(warning)
        out = out_dir or Path(f"reproduce-{ref.repo_id.split('/')[-1]}-{ref.sha[:12]}")
        echo(f"retraining {ref} from its recipe into {out}")
        # the pinned recipe is trained as is: its shas were resolved above, and training fetches the
        # base model once, refusing pickled weights and (unless trusted) repo code
        result = train(pinned, out, trust_remote_code=trust_remote_code, echo=echo)
        recorded = dict(result.record.get("environment") or {})
        # what the original recorded beyond hubrerank.yaml's environment (a card's accelerate, tokenizers)
        others = [key for key in report.claimed_environment if key not in recorded]
        report.environment = {**installed_versions(others), **recorded}
        same = same_environment(report.claimed_environment, report.environment)
        report.tolerances = reproduce_tolerances(same, tolerance, tolerance_file)

        def measure(measured: Variant) -> Mapping[str, Any]:
            if measured.is_default and device is None:
                return result.results
            plan = evaluation_plan(pinned.evaluation)
            return run_evaluations(out, None, plan, precision=measured.on(device).check())

        report.checks = check_claims(subject.claims, measure, report.tolerances, override)
        base = ResolvedRef(pinned.base_model["repo"], pinned.base_model["revision"], "model")
        report.weights = compare_weights(
            ref,
            published,
            out,
            fetch_model(base, what="base model", trust_remote_code=trust_remote_code),
            expected_identical=same,
            from_card=subject.from_card,
            environment_differences=report.environment_differences,
        )
    except HubrerankError as error:
        report.reason = str(error)
    return report


def same_environment(claimed: dict[str, Any], measured: dict[str, Any]) -> bool:
    """True when both runs used the CPU with one process and the same library versions: the case where
    training is deterministic, so the numbers (and weights) must come out exactly equal."""
    return (
        bool(claimed)
        and claimed.get("device") == "cpu"
        and all(claimed.get(key) == measured.get(key) for key in SAME_ENVIRONMENT_KEYS)
    )


class TensorDifference(TypedDict):
    """How far one retrained tensor is from the published one; ``new`` when the base model lacks it (a
    head the run initialised at random)."""

    name: str
    shape: list[int]
    max_abs_diff: float | None  # None: the tensor is missing on one side or its shape differs
    new: bool


class WeightsComparison(TypedDict):
    """The retrained weights next to the published ones: the file hashes, and, when they differ, why and
    by how much (the relative L2 distance of the whole state dict and each tensor's largest change)."""

    file: str
    published_sha256: str | None
    reproduced_sha256: str
    identical: bool
    expected_identical: bool
    why: str | None
    relative_l2: float | None
    tensors: list[TensorDifference]


def compare_weights(
    ref: ResolvedRef,
    published: Path,
    reproduced: Path,
    base_model: Path,
    *,
    expected_identical: bool,
    from_card: bool,
    environment_differences: dict[str, dict[str, Any]],
) -> WeightsComparison:
    """The retrained model folder ``reproduced`` against the published one (the sha256 the Hub records for
    its LFS weights file, then tensor by tensor); ``base_model`` tells which tensors the run initialised,
    ``from_card`` and ``environment_differences`` why the two differ."""
    info = file_info(ref, WEIGHTS_FILE)
    published_sha256 = info.lfs_sha256 if info is not None else None
    reproduced_sha256 = file_sha256(reproduced / WEIGHTS_FILE)
    comparison = WeightsComparison(
        file=WEIGHTS_FILE,
        published_sha256=published_sha256,
        reproduced_sha256=reproduced_sha256,
        identical=published_sha256 == reproduced_sha256,
        expected_identical=expected_identical,
        why=None,
        relative_l2=0.0,
        tensors=[],
    )
    if comparison["identical"]:
        return comparison
    comparison["relative_l2"], comparison["tensors"] = tensor_differences(published, reproduced, base_model)
    new_tensors = [tensor["name"] for tensor in comparison["tensors"] if tensor["new"]]
    comparison["why"] = why_weights_differ(from_card, environment_differences, new_tensors)
    return comparison


def tensor_differences(
    published: Path, reproduced: Path, base_model: Path
) -> tuple[float | None, list[TensorDifference]]:
    """The relative L2 distance ||reproduced - published|| / ||published|| over every tensor both hold with
    one shape (None when none does), and each tensor's largest absolute change, largest first."""
    import torch

    old, new = _tensors(published), _tensors(reproduced)
    base = _tensor_names(base_model)
    differences = []
    squared_change = squared_norm = 0.0
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        largest = None
        if a is not None and b is not None and a.shape == b.shape:
            change = b.double() - a.double()
            squared_change += float(torch.sum(change * change))
            squared_norm += float(torch.sum(a.double() * a.double()))
            largest = float(change.abs().max()) if change.numel() else 0.0
        differences.append(
            TensorDifference(
                name=name,
                shape=list((a if a is not None else b).shape),
                max_abs_diff=largest,
                # a base model saved without its task head names its tensors without the model prefix
                new=name not in base and name.split(".", 1)[-1] not in base,
            )
        )
    differences.sort(key=lambda d: -1.0 if d["max_abs_diff"] is None else d["max_abs_diff"], reverse=True)
    relative = (squared_change / squared_norm) ** 0.5 if squared_norm else None
    return relative, differences


def _tensors(folder: Path) -> dict[str, Any]:
    """Every tensor of the safetensors files in ``folder`` (a model folder: its weights at the top)."""
    from safetensors.torch import load_file

    tensors: dict[str, Any] = {}
    for path in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(path))
    return tensors


def _tensor_names(folder: Path) -> set[str]:
    """The tensor names of the safetensors files in ``folder``, read from their headers only."""
    from safetensors import safe_open

    names: set[str] = set()
    for path in folder.glob("*.safetensors"):
        with safe_open(path, framework="pt") as handle:
            names.update(handle.keys())
    return names


def why_weights_differ(
    from_card: bool, environment_differences: dict[str, dict[str, Any]], new_tensors: list[str]
) -> str:
    """Why the retrained weights differ from the published ones, from what hubrerank knows of both runs."""
    reasons = []
    if from_card and new_tensors:
        reasons.append(
            "the original run was not made by hubrerank (sentence-transformers' trainer wrote its card): "
            f"a training script builds the model, initialising the new {', '.join(new_tensors)} from an "
            "unseeded random state, before the trainer sets its seed, while hubrerank seeds before building "
            "the model; the new head starts from other values, and so does everything trained through it"
        )
    elif from_card:
        reasons.append(
            "the original run was not made by hubrerank (sentence-transformers' trainer wrote its card), so "
            "its data order, evaluation schedule and checkpoint selection may differ from the recipe's"
        )
    if environment_differences:
        reasons.append(
            f"the environment differs ({', '.join(environment_differences)}), and floating-point results "
            "differ between library versions"
        )
    return "; ".join(reasons) or (
        "the same recipe in the same recorded environment gave other weights: another CPU model can pick "
        "other math kernels (docs/tolerances.md); on the same machine, this is a bug to report"
    )
