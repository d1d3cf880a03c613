"""``hubrerank verify``: re-run a published model's recorded evaluations and compare with its claims.

The claims are what the repo says it measured: ``eval_results.json`` and the ``model-index`` of the card
hubrerank rendered from it, or, for a repo whose card sentence-transformers' trainer wrote, that card's
``model-index`` (:mod:`hubrerank.reproducibility.card_claims` finds which data each of its evaluators ran on).
The model is downloaded at the sha its reference resolves to, safetensors weights only and no repo code;
every evaluation re-runs on its pinned data revision. The outcome is a :class:`Report`: a verdict of
``PASS``, ``FAIL`` or ``ERROR`` (nothing could be checked, with the one-line reason), and one row per
claimed metric. :mod:`hubrerank.reproducibility.publication` publishes it where the model lives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from hubrerank import __version__
from hubrerank.errors import HubrerankError, InputError
from hubrerank.evaluation.definitions import (
    ROUNDING,
)
from hubrerank.hub import download, fetch_model, resolve
from hubrerank.kinds.spec import DEFAULT_KIND, SPLIT_TASKS, get_kind
from hubrerank.record import (
    RECIPE_FILE,
    RECORD_FILES,
    RESULTS_FILE,
    EvalResults,
    has_run_record,
    read_card_text,
    read_results,
    read_run_record,
)
from hubrerank.refs import SHA_PATTERN, Ref, ResolvedRef
from hubrerank.reproducibility.claims import (
    Claim,
    card_definition,
    claims_from_card,
    claims_from_results,
    claims_from_st_card,
    claims_from_variants,
)
from hubrerank.reproducibility.tolerances import Tolerances, verify_tolerances
from hubrerank.reproducibility.upstream import TRAINING, likely_causes
from hubrerank.runtime import DEFAULT_BACKEND, FLOAT32, VARIANT_KEYS, Variant

PASS, FAIL, ERROR = "PASS", "FAIL", "ERROR"

if TYPE_CHECKING:
    from hubrerank.reproducibility.reproduce import WeightsComparison
    from hubrerank.training.recipe import Recipe


@dataclass(frozen=True)
class Check:
    """A claim next to its re-measured value and the tolerance it must be within."""

    claim: Claim
    measured: float | None
    tolerance: float
    # the re-measured value under each other definition, where it differs from ``measured``
    other_definitions: dict[str, float] = field(default_factory=dict)
    variant: Variant = FLOAT32  # the variant it was re-measured in

    @property
    def cross_precision(self) -> bool:
        """True when the claim was made in another variant (dtype or its scheme, backend or file) than it
        was re-measured in."""
        return self.variant.on(None) != self.claim.variant

    @property
    def delta(self) -> float | None:
        return None if self.measured is None else self.measured - self.claim.value

    @property
    def ok(self) -> bool:
        return self.delta is not None and abs(self.delta) <= self.tolerance

    def as_row(self) -> dict[str, Any]:
        return {
            "metric": self.claim.label,
            "claimed": self.claim.value,
            "measured": self.measured,
            "delta": self.delta,
            "tolerance": self.tolerance,
            "ok": self.ok,
            "source": self.claim.source,
            "headline": self.claim.headline,
            "metric_definition": self.claim.definition,
            "measured_under_other_definitions": self.other_definitions,
            "claimed_dtype": self.claim.variant.dtype_label,
            "measured_dtype": self.variant.dtype_label,
            **_variant_fields("claimed", self.claim.variant),
            **_variant_fields("measured", self.variant),
        }


def _variant_fields(prefix: str, variant: Variant) -> dict[str, str]:
    """A report row's backend and file of a variant other than torch (none for torch: rows read as before)."""
    if variant.backend == DEFAULT_BACKEND:
        return {}
    return {f"{prefix}_backend": variant.backend, f"{prefix}_model_file": variant.file}


# environment keys that are not library versions: shown in the environment block, not the versions table
NOT_VERSIONS = ("platform", "device", "world_size")


class VersionRow(TypedDict):
    """One library as the original run recorded it and as the reproduction ran it (None: not installed)."""

    name: str
    claimed: str
    measured: str | None
    differs: bool


@dataclass
class Report:
    """The outcome of ``verify`` or ``reproduce``; :meth:`as_dict` is the published JSON report."""

    kind: str
    model: ResolvedRef
    tolerances: Tolerances
    checks: list[Check] = field(default_factory=list)
    reason: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    claimed_environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unpinned: list[dict[str, str]] = field(default_factory=list)
    caveats: dict[str, str] = field(default_factory=dict)
    weights: WeightsComparison | None = None
    created: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def verdict(self) -> str:
        if self.reason is not None or not self.checks:
            return ERROR
        weights_ok = (
            self.weights is None or not self.weights["expected_identical"] or self.weights["identical"]
        )
        return PASS if weights_ok and all(check.ok for check in self.checks) else FAIL

    @property
    def timestamp(self) -> str:
        return self.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    @property
    def environment_differences(self) -> dict[str, dict[str, Any]]:
        """What differs between where the claims were measured and here, among what both recorded."""
        return {
            key: {"claimed": value, "measured": self.environment[key]}
            for key, value in self.claimed_environment.items()
            if key in self.environment and value != self.environment[key]
        }

    @property
    def library_versions(self) -> list[VersionRow]:
        """Every library version (and python) the original run recorded, next to the one measured here:
        empty for ``verify``, which re-evaluates the same weights."""
        if self.kind != "reproduce":
            return []
        return [
            VersionRow(
                name=key,
                claimed=str(value),
                measured=None if key not in self.environment else str(self.environment[key]),
                differs=key not in self.environment or value != self.environment[key],
            )
            for key, value in self.claimed_environment.items()
            if key not in NOT_VERSIONS
        ]

    @property
    def likely_causes(self) -> list[str]:
        """Why checks failed, where a known cause fits: a claim that equals the re-measured value under
        another metric definition, and (``reproduce``) a library release between the original run and this
        one that is known to change training."""
        if self.verdict != FAIL:
            return []
        causes = []
        for check in self.checks:
            for name, value in check.other_definitions.items():
                if not check.ok and abs(value - check.claim.value) <= check.tolerance:
                    causes.append(
                        f"{check.claim.label}: the claim {check.claim.value:.4f} is the {name} value "
                        f"({value:.4f}), not the {check.claim.definition} one the claim's source implies"
                    )
        if self.kind == "reproduce":
            causes += likely_causes(self.claimed_environment, self.environment, (TRAINING,))
        return causes

    def as_dict(self) -> dict[str, Any]:
        rows = [check.as_row() for check in self.checks]
        return {
            "kind": self.kind,
            "timestamp": self.timestamp,
            "hubrerank_version": __version__,
            "model": self.model.as_dict(),
            "verdict": self.verdict,
            "reason": self.reason,
            "tolerance": self.tolerances.default,
            "tolerance_rules": self.tolerances.as_dict(),
            "claimed": {row["metric"]: row["claimed"] for row in rows},
            "measured": {row["metric"]: row["measured"] for row in rows},
            "deltas": {row["metric"]: row["delta"] for row in rows},
            "tolerances": {row["metric"]: row["tolerance"] for row in rows},
            "rows": rows,
            "environment": self.environment,
            "claimed_environment": self.claimed_environment,
            "environment_differences": self.environment_differences,
            "library_versions": self.library_versions,
            "weights": self.weights,
            "unpinned": self.unpinned,
            "caveats": self.caveats,
            "likely_causes": self.likely_causes,
            "warnings": self.warnings,
            "ci_run_url": ci_run_url(),
        }


def verify(
    text: str,
    *,
    tolerances: Tolerances | None = None,
    recipe_path: Path | None = None,
    trust_remote_code: bool = False,
    cache: bool = True,
    variant: Variant | None = None,
    echo: Callable[[str], None] = print,
) -> Report:
    """Re-evaluate the model ``REPO[@REV]`` on its pinned evaluations and compare with its claims.

    Each claim is re-measured in the variant it was made in (its result's ``dtype`` and ``dtype_scheme``,
    ``backend`` and ``model_file``; absent: float32 on torch; a dtype without a scheme: the whole model
    cast; the claims of ``variants.json`` each in its own), unless
    ``variant`` names a dtype or backend for all (faster, e.g. bfloat16 for float32 claims: such checks
    get at least the tolerances' ``cross_precision``). ``variant.device`` / ``variant.devices``: where
    torch runs (None: sentence-transformers' choice); a published variant's claims run on the cpu.
    ``recipe_path`` replaces the repo's own evaluation plan (a recipe's ``evaluation`` section, e.g. one
    written by ``hubrerank recipe from-card`` and completed by hand). Problems that make a check
    impossible (no claims, a data revision gone, refused weights or code) give an ``ERROR`` report.
    """
    from hubrerank.evaluation import run_evaluations

    override = variant.check() if variant is not None and not variant.is_default else None
    device = variant.device if variant is not None else None
    devices = variant.devices if variant is not None else ()
    ref = resolve(Ref.parse(text, "model"))
    report = Report("verify", ref, tolerances or verify_tolerances())
    try:
        folder = fetch_model_and_record(ref, trust_remote_code)
        subject = read_subject(ref, folder, recipe_path, training=False)
        plan, report.unpinned = pin_plan(subject.plan)
        report.caveats, report.claimed_environment = subject.caveats, subject.claimed_environment
        report.warnings += unpinned_warnings(report.unpinned)
        for warning in report.warnings:
            echo(warning)
        echo(f"re-evaluating {ref} ({len(subject.claims)} claimed metrics)")

        def measure(measured: Variant) -> dict[str, Any]:
            if measured.files:  # an ONNX / OpenVINO variant: its files, run where its runtime runs (cpu)
                download(ref, allow_patterns=measured.files)
            return run_evaluations(
                folder,
                ref.sha,
                plan,
                model_repo=ref.repo_id,
                cache=cache,
                trust_remote_code=trust_remote_code,
                precision=(measured.on(device, devices) if not measured.files else measured).check(),
            )

        report.checks = check_claims(subject.claims, measure, report.tolerances, override)
        report.environment = current_environment()
    except HubrerankError as error:
        report.reason = str(error)
    return report


@dataclass
class Subject:
    """What a repo claims and how to re-run it: its recipe (validated, not pinned; None when only its
    evaluation is known, which is all verify needs), evaluation section and claims, the environment the
    claims were measured in, and what its card leaves unknown."""

    recipe: Recipe | None
    evaluation: dict[str, Any]
    source: str
    claims: list[Claim] = field(default_factory=list)
    claimed_environment: dict[str, Any] = field(default_factory=dict)
    caveats: dict[str, str] = field(default_factory=dict)
    from_card: bool = False  # the claims and recipe come from a sentence-transformers trainer card

    @property
    def plan(self) -> dict[str, Any]:
        from hubrerank.training.trainer import evaluation_plan

        plan = evaluation_plan(self.evaluation)
        if not any(plan.get(task) for task in (*SPLIT_TASKS, "nanobeir")):
            raise InputError(f"{self.source} has no evaluation section: there is nothing to re-run")
        return plan


def read_subject(
    ref: ResolvedRef, folder: Path, recipe_path: Path | None = None, *, training: bool = True
) -> Subject:
    """The recipe and claims of the model downloaded into ``folder``: hubrerank.yaml and eval_results.json,
    else its sentence-transformers trainer card. ``recipe_path`` replaces the recipe (and so the plan).

    Without ``training`` (verify), a card that leaves out what retraining needs (its training data, say)
    still gives the evaluations it names, and the claims no evaluation re-runs are listed as unchecked.
    """
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import is_st_card, parse_card
    from hubrerank.training.recipe import validate, validate_evaluation

    card_text = read_card_text(folder)
    override = validate(load_recipe_document(recipe_path), str(recipe_path)) if recipe_path else None
    if has_run_record(folder):
        record = read_run_record(folder)
        recipe = override or validate(dict(record), f"{ref.repo_id}@{ref.sha[:12]}/{RECIPE_FILE}")
        results = read_results(folder / RESULTS_FILE) if (folder / RESULTS_FILE).is_file() else EvalResults()
        kind = get_kind((record.get("model") or {}).get("kind", DEFAULT_KIND))
        claims = claims_from_results(results, RESULTS_FILE) + claims_from_card(card_text, results, kind)
        subject = Subject(
            recipe, recipe.evaluation, recipe.source, claims, dict(record.get("environment") or {})
        )
    elif is_st_card(card_text):
        built = recipe_from_card(ref, card_text)
        source = f"the recipe rebuilt from the card of {ref.repo_id}"
        if override is None and built.missing and training:
            key = built.missing[0]
            raise InputError(
                f"the card of {ref.repo_id} does not say {key} ({built.unknown[key]}); write the recipe "
                f"with `hubrerank recipe from-card {ref} -o recipe.yaml`, complete it and pass --recipe"
            )
        card = parse_card(card_text)
        if override is not None:
            subject = Subject(override, override.evaluation, override.source, [], card.versions)
        elif built.missing:  # verify: the card's evaluations are known, its training is not
            evaluation = validate_evaluation(built.document.get("evaluation") or {}, source, card.kind)
            subject = Subject(None, evaluation, source, [], card.versions)
        else:
            recipe = validate(built.document, source)
            subject = Subject(recipe, recipe.evaluation, source, [], card.versions)
        subject.from_card = True
        if override is None:
            subject.caveats = {k: v for k, v in built.unknown.items() if k not in built.missing}
        subject.claims, unchecked = claims_from_st_card(card, pin_plan(subject.plan)[0])
        read_as = card_definition(card)
        if read_as.release.guessed and any(claim.definition for claim in subject.claims):
            release = read_as.release
            subject.caveats["metric definition"] = (
                f"{read_as.definition}, as sentence-transformers {release.version}: {release.why}"
            )
        if unchecked:
            subject.caveats["unchecked claims"] = (
                f"the card's claims for {', '.join(unchecked)} are not re-run: the recipe has no evaluation "
                "that matches them"
            )
    else:
        raise InputError(
            f"{ref} has no {RECIPE_FILE} and its card was not written by sentence-transformers' trainer: "
            "it records no claims hubrerank can check"
        )
    if not training:  # verify: each published variant's claims too (reproduce retrains torch weights only)
        subject.claims += claims_from_variants(folder)
    if not subject.claims:
        raise InputError(f"{ref} claims no metric that its evaluation plan re-measures: nothing to check")
    return subject


def load_recipe_document(path: Path) -> dict[str, Any]:
    """A recipe file as a document, refusing one whose ``unknown`` still lists required entries."""
    from hubrerank.reproducibility.from_card import is_required
    from hubrerank.training.recipe_yaml import parse_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read the recipe {path}: {error.strerror}") from None
    document = parse_yaml(text, str(path))
    if not isinstance(document, dict):
        raise InputError(f"{path} is not a recipe (a YAML mapping)")
    unknown = document.pop("unknown", None) or {}
    required = [key for key in unknown if is_required(str(key))]
    if required:
        raise InputError(
            f"{path}: unknown.{required[0]} is still open ({unknown[required[0]]}); "
            "fill it in and delete the entry"
        )
    return document


def pin_plan(plan: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The plan with every data revision a sha, and the entries that named a branch or tag.

    A revision that cannot be read any more (a deleted repo, branch or commit) raises RefError.
    """
    pinned: dict[str, Any] = {}
    unpinned: list[dict[str, str]] = []

    def pin(entry: Mapping[str, Any], field_name: str) -> dict[str, Any]:
        if os.path.exists(entry["dataset"]):
            return dict(entry)
        revision = entry.get("revision") or "main"
        try:
            found = resolve(Ref(entry["dataset"], revision, "dataset"))
        except HubrerankError as error:
            raise type(error)(f"the evaluation data cannot be read: {error}") from None
        if found.sha != revision:
            unpinned.append(
                {"field": field_name, "repo": found.repo_id, "requested": revision, "resolved": found.sha}
            )
        return {**entry, "revision": found.sha}

    for task in SPLIT_TASKS:
        if plan.get(task):
            pinned[task] = [
                pin(entry, f"evaluation.{task}[{index}]") for index, entry in enumerate(plan[task])
            ]
    if plan.get("nanobeir"):
        pinned["nanobeir"] = pin(plan["nanobeir"], "evaluation.nanobeir")
    return pinned, unpinned


def unpinned_refs(recipe: Recipe) -> list[dict[str, str]]:
    """The references of a recipe that name a branch or tag instead of a commit (before pinning)."""
    return [
        {"field": path, "repo": node.get("repo") or node["dataset"], "requested": node["revision"]}
        for path, node, _ in recipe.refs()
        if not SHA_PATTERN.match(str(node["revision"]))
    ]


def unpinned_warnings(unpinned: Iterable[Mapping[str, str]]) -> list[str]:
    return [
        f"warning: {item['field']} names {item['repo']}@{item['requested']}, not a commit; used "
        f"{item.get('resolved', 'what it points to now')}, and that name may move"
        for item in unpinned
    ]


def fetch_model_and_record(ref: ResolvedRef, trust_remote_code: bool = False) -> Path:
    """The model at ``ref`` (safetensors weights, no repo code unless trusted) with its record files."""
    folder = fetch_model(ref, trust_remote_code=trust_remote_code)
    download(ref, allow_patterns=RECORD_FILES)
    return folder


def check_claims(
    claims: Iterable[Claim],
    measure: Callable[[str], Mapping[str, Any]],
    tolerances: Tolerances,
    variant: Variant | None = None,
) -> list[Check]:
    """One check per claim, in claim order: ``measure(variant)`` (an eval_results dict) runs once per
    variant needed, ``variant`` for every claim when given, else each claim's own."""
    claims = list(claims)
    groups: dict[Variant, list[Claim]] = {}
    for claim in claims:
        groups.setdefault(variant or claim.variant, []).append(claim)
    checks = {
        id(check.claim): check
        for measured, group in groups.items()
        for check in compare(group, measure(measured), tolerances, measured)
    }
    return [checks[id(claim)] for claim in claims]


def compare(
    claims: Iterable[Claim],
    measured: Mapping[str, Any],
    tolerances: Tolerances,
    variant: Variant = FLOAT32,
) -> list[Check]:
    """One check per claim: its re-measured value under the claim's definition (None when the re-run did
    not produce it), and the value under each other definition where that differs. ``variant`` is the
    variant ``measured`` was measured in; a claim made in another is held to at least the tolerances'
    ``cross_precision``."""
    checks = []
    for claim in claims:
        result = next((r for r in measured.get("results", []) if _same_evaluation(claim.result, r)), None)
        by_definition = {} if result is None else measured_by_definition(result)
        plain = {} if result is None else result.get("metrics", {})
        values = by_definition.get(claim.definition or "", plain)
        value = values.get(claim.metric)
        others = {
            name: float(other[claim.metric])
            for name, other in by_definition.items()
            if name != claim.definition
            and claim.metric in other
            and value is not None
            and abs(other[claim.metric] - value) > ROUNDING
        }
        tolerance = tolerances.for_metric(claim.metric, claim.label)
        if claim.variant != variant.on(None) and tolerances.cross_precision is not None:
            tolerance = max(tolerance, tolerances.cross_precision)
        if claim.decimals is not None:
            tolerance += 0.5 * 10**-claim.decimals
        checks.append(Check(claim, None if value is None else float(value), tolerance, others, variant))
    return checks


def measured_by_definition(result: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """A re-measured result's metrics under each definition it carries (none for a task without one)."""
    definition = result.get("metric_definition")
    if not definition:
        return {}
    metrics = dict(result.get("metrics", {}))
    others = result.get("other_definitions") or {}
    return {definition: metrics} | {name: metrics | values for name, values in others.items()}


def current_environment() -> dict[str, Any]:
    """The environment this process evaluates in, in hubrerank.yaml's ``environment`` format."""
    import torch

    from hubrerank.environment import capture

    return capture("cuda" if torch.cuda.is_available() else "cpu", 1)


def ci_run_url() -> str | None:
    """The GitHub Actions run this process belongs to, from the variables Actions sets; None elsewhere."""
    parts = [os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def _same_evaluation(claimed: Mapping[str, Any], measured: Mapping[str, Any]) -> bool:
    """The same data and cut-offs; the variant is compared by the check, not here (module docstring)."""
    defaults = {"config": "default"}
    return all(
        measured.get(key, defaults.get(key)) == value
        for key, value in claimed.items()
        if key not in VARIANT_KEYS
    )
