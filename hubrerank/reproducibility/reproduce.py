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

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hubrerank.errors import HubrerankError
from hubrerank.hashing import file_sha256
from hubrerank.hub import file_info, resolve
from hubrerank.record import WEIGHTS_FILE
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.reproducibility.tolerances import reproduce_tolerances
from hubrerank.reproducibility.verify import (
    Report,
    compare,
    fetch_model_and_record,
    read_subject,
    unpinned_refs,
    unpinned_warnings,
)

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
    echo: Callable[[str], None] = print,
) -> Report:
    """Retrain the model ``REPO[@REV]`` from its recipe into ``out_dir``, re-evaluate it and compare.

    ``tolerance`` / ``tolerance_file`` replace the environment-dependent defaults. Problems that make
    the check impossible (no recipe or claims, a pinned input gone, refused weights or code) give an
    ``ERROR`` report with the reason.
    """
    from hubrerank.training.trainer import train

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
        report.environment = dict(result.record.get("environment") or {})
        same = same_environment(report.claimed_environment, report.environment)
        report.tolerances = reproduce_tolerances(same, tolerance, tolerance_file)
        report.checks = compare(subject.claims, result.results, report.tolerances)
        report.weights = compare_weights(ref, out / WEIGHTS_FILE, expected_identical=same)
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


def compare_weights(ref: ResolvedRef, weights: Path, *, expected_identical: bool) -> dict[str, Any]:
    """The retrained weights' sha256 next to the published file's LFS sha256 (from paths-info)."""
    info = file_info(ref, WEIGHTS_FILE)
    published = info.lfs_sha256 if info is not None else None
    reproduced = file_sha256(weights)
    return {
        "file": WEIGHTS_FILE,
        "published_sha256": published,
        "reproduced_sha256": reproduced,
        "identical": published == reproduced,
        "expected_identical": expected_identical,
    }
