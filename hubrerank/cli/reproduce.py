"""``hubrerank verify`` and ``hubrerank reproduce``: check a published model's claims, print the verdict.

Exit codes: 0 every claimed metric is within tolerance (PASS), 1 some is not (FAIL), 2 nothing could be
checked (ERROR, or bad input); an unexpected exception is 3, never a verdict (docs/exit-codes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hubrerank.cli._errors import ExitCode
from hubrerank.cli._output import devices_option, precision_options
from hubrerank.cli._signing import KEY_FILE_HELP, signing_key

if TYPE_CHECKING:
    from hubrerank.reproducibility.reproduce import WeightsComparison
    from hubrerank.reproducibility.verify import Check, Report
    from hubrerank.runtime import Variant
    from hubrerank.signatures import SigningKey

_REF = "REPO[@REV]"


def _common(function: Any) -> Any:
    options = [
        click.option(
            "--tolerance-file",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="YAML {default: x, metrics: {PATTERN: y}} with per-metric tolerances (fnmatch patterns).",
        ),
        click.option(
            "--json",
            "json_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Also write the report as JSON.",
        ),
        click.option(
            "--push-report",
            is_flag=True,
            help="Publish the report to the repo (reproductions/<timestamp>.json) and re-render its card's "
            "verification section, in one commit that leaves the weights untouched.",
        ),
        click.option(
            "--tag",
            metavar="NAME",
            help="With --push-report: on PASS, tag the report's commit NAME (a CI-verified release).",
        ),
        click.option(
            "--key-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=KEY_FILE_HELP,
        ),
        click.option(
            "--recipe",
            "recipe_path",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="Use this recipe instead of the repo's (e.g. one from `hubrerank recipe from-card`).",
        ),
        click.option(
            "--trust-remote-code", is_flag=True, help="Allow a model that needs its own Python code."
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return precision_options(function)


@click.command("verify")
@click.argument("ref", metavar=_REF)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=None,
    help="Allowed |measured - claimed| for every metric.  [default: 0.001]",
)
@click.option(
    "--open-pr",
    is_flag=True,
    help="Open a pull request on the model (anyone's) with the report and the re-measured values as "
    ".eval_results/hubrerank-<you>.yaml, signed: they show as community results until merged.",
)
@_common
@devices_option
def verify(
    ref: str,
    tolerance: float | None,
    open_pr: bool,
    tolerance_file: Path | None,
    json_path: Path | None,
    push_report: bool,
    tag: str | None,
    key_file: Path | None,
    recipe_path: Path | None,
    trust_remote_code: bool,
    variant: Variant | None,
) -> None:
    """Re-evaluate the published weights on their pinned data and compare with what the repo claims.

    Claims come from eval_results.json (models hubrerank trained) or the model-index of a card written by
    sentence-transformers' trainer, and the variants of variants.json (hubrerank export). Each is
    re-measured in the variant it was made in, unless --dtype or --backend is given: then in that one,
    with the deltas shown and at least 0.01 tolerance across variants (docs/tolerances.md). Exit 0 when
    all are within tolerance, 1 when any is not, 2 when nothing could
    be checked.
    """
    from hubrerank.reproducibility.tolerances import verify_tolerances
    from hubrerank.reproducibility.verify import verify as run_verify

    publication = _publication(push_report, open_pr, tag, key_file)
    tolerances = verify_tolerances(tolerance, tolerance_file)
    report = run_verify(
        ref,
        tolerances=tolerances,
        recipe_path=recipe_path,
        trust_remote_code=trust_remote_code,
        variant=variant,
        echo=click.echo,
    )
    _finish(report, json_path, publication)


@click.command("reproduce")
@click.argument("ref", metavar=_REF)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the retrained model.  [default: ./reproduce-NAME-SHA]",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=None,
    help="Allowed |measured - claimed| for every metric.  [default: exact in the same CPU environment, "
    "else 0.01 and 0.07 for NanoBEIR (docs/tolerances.md)]",
)
@_common
def reproduce(
    ref: str,
    out_dir: Path | None,
    tolerance: float | None,
    tolerance_file: Path | None,
    json_path: Path | None,
    push_report: bool,
    tag: str | None,
    key_file: Path | None,
    recipe_path: Path | None,
    trust_remote_code: bool,
    variant: Variant | None,
) -> None:
    """Retrain the model from its recipe (same seed, data and base-model shas) and compare with its claims.

    Also compares the environments, and in the same CPU environment checks that model.safetensors comes
    out byte-identical. A repo without hubrerank.yaml is retrained from the recipe its
    sentence-transformers card implies (see `hubrerank recipe from-card`).
    """
    from hubrerank.reproducibility.reproduce import reproduce as run_reproduce

    publication = _publication(push_report, False, tag, key_file)
    report = run_reproduce(
        ref,
        out_dir=out_dir,
        tolerance=tolerance,
        tolerance_file=tolerance_file,
        recipe_path=recipe_path,
        trust_remote_code=trust_remote_code,
        variant=variant,
        echo=click.echo,
    )
    _finish(report, json_path, publication)


@dataclass(frozen=True)
class Publication:
    """Where the report goes once checked: main of one's own model, a pull request, or nowhere."""

    push_report: bool
    open_pr: bool
    tag: str | None
    key: SigningKey | None


def _publication(push_report: bool, open_pr: bool, tag: str | None, key_file: Path | None) -> Publication:
    """Check the publishing options and load the signing key, before any long work."""
    if tag and not push_report:
        raise click.UsageError("--tag tags the commit of the published report: add --push-report")
    if push_report and open_pr:
        raise click.UsageError("--push-report publishes on main, --open-pr as a pull request: choose one")
    if not (push_report or open_pr):
        if key_file is not None:
            raise click.UsageError("--key-file signs published entries: add --push-report or --open-pr")
        return Publication(False, False, None, None)
    return Publication(push_report, open_pr, tag, signing_key(key_file))


def _finish(report: Report, json_path: Path | None, publication: Publication) -> None:
    """Print the table and verdict, write and publish the report, and exit with the verdict's code."""
    from hubrerank.reproducibility.publication import open_report_pr, push_report, write_json
    from hubrerank.reproducibility.verify import ERROR, FAIL, PASS

    if report.verdict == ERROR:
        click.echo(f"Error: cannot check {report.model}: {report.reason}", err=True)
    else:
        click.echo(format_report(report))
    if json_path is not None:
        write_json(report, json_path)
        click.echo(f"wrote {json_path}")
    publishing = publication.push_report or publication.open_pr
    if publishing and report.verdict == ERROR:
        click.echo("no report published: nothing was checked", err=True)
    elif publication.push_report:
        pushed = push_report(report, tag=publication.tag, key=publication.key)
        tagged = f", tagged {publication.tag}" if publication.tag and report.verdict == PASS else ""
        click.echo(f"published the report: {pushed.repo_id}@{pushed.sha}{tagged}")
    elif publication.open_pr:
        opened = open_report_pr(report, key=publication.key)
        click.echo(f"opened pull request #{opened.number} on {opened.repo_id}: {opened.url}")
    exit_code = {PASS: ExitCode.OK, FAIL: ExitCode.FAIL, ERROR: ExitCode.BAD_INPUT}[report.verdict]
    click.get_current_context().exit(exit_code)


_RECORDS = ("eval_results", "variants")  # claims from hubrerank's records, not a card's model-index


def format_report(report: Report) -> str:
    """The verdict table (headline metrics and every failure, then, for ``reproduce``, the library versions
    of the original run beside this one's), environment differences, weights, caveats and the verdict."""
    rows = [check for check in report.checks if check.claim.headline or not check.ok]
    header = ("metric", "claimed", "measured", "delta", "tolerance", "ok")
    table = [header] + [
        (
            check.claim.label + ("" if check.claim.source.startswith(_RECORDS) else " (card)"),
            f"{check.claim.value:.4f}",
            "missing" if check.measured is None else f"{check.measured:.4f}",
            "" if check.delta is None else f"{check.delta:+.4f}",
            f"{check.tolerance:.4g}",
            "yes" if check.ok else "NO",
        )
        for check in rows
    ]
    versions = report.library_versions
    if versions:
        table.append(("library", "original", "here", "", "", "same"))
        table += [
            (
                row["name"],
                row["claimed"],
                row["measured"] or "missing",
                "",
                "",
                "NO" if row["differs"] else "yes",
            )
            for row in versions
        ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in table
    ]
    if versions:  # the versions' heading row starts their block
        lines.insert(len(rows) + 1, "")
    hidden = len(report.checks) - len(rows)
    if hidden:
        lines.insert(len(rows) + 1, f"({hidden} more metrics, all within tolerance: --json lists every one)")
    lines.append(f"tolerances: {report.tolerances.source}")
    lines += _environment_lines(report)
    if report.weights is not None:
        lines += _weights_lines(report.weights)
    for key, text in report.caveats.items():
        lines.append(f"caveat ({key}): {text}")
    lines += _definition_lines(rows)
    lines += _precision_lines(report.checks)
    lines += [f"likely cause: {cause}" for cause in report.likely_causes]
    failed = sum(not check.ok for check in report.checks)
    within = len(report.checks) - failed
    verdict = f"{report.verdict}: {within} of {len(report.checks)} claimed metrics within tolerance"
    if report.weights and report.weights["expected_identical"] and not report.weights["identical"]:
        verdict += ", but the weights differ"
    lines.append(verdict)
    return "\n".join(lines)


def _definition_lines(checks: list[Check]) -> list[str]:
    """Which definition NDCG and MAP were compared under, and what the other gives where it differs."""
    definitions = sorted({check.claim.definition for check in checks if check.claim.definition})
    if not definitions:
        return []
    used = ", ".join(definitions)
    lines = [f"NDCG and MAP compared under the claims' definition: {used} (docs/metrics.md)"]
    for check in checks:
        for name, value in check.other_definitions.items():
            lines.append(f"  {check.claim.label} under {name}: {value:.4f}")
    return lines


def _precision_lines(checks: list[Check]) -> list[str]:
    """The precisions the claims were made and re-measured in, and the tolerance between different ones."""
    if not checks:
        return []
    claimed = ", ".join(sorted({check.claim.variant.label for check in checks}))
    measured = ", ".join(sorted({check.variant.label for check in checks}))
    line = f"precision: claims made in {claimed}, re-measured in {measured}"
    crossed = [check for check in checks if check.cross_precision]
    if crossed:
        least = min(check.tolerance for check in crossed)
        line += (
            f"; the deltas of {len(crossed)} claims measure the precision's cost, held to a tolerance of at "
            f"least {least:.4g} (docs/tolerances.md)"
        )
    return [line]


def _environment_lines(report: Report) -> list[str]:
    """For ``reproduce``: what differs besides the library versions (those are in the table)."""
    from hubrerank.reproducibility.verify import NOT_VERSIONS

    if not report.claimed_environment or report.kind != "reproduce":
        return []
    differences = report.environment_differences
    if not differences:
        return ["environment: the same as the original run"]
    others = {key: values for key, values in differences.items() if key in NOT_VERSIONS}
    return [f"environment: {', '.join(differences)} differ{'s' if len(differences) == 1 else ''}"] + [
        f"  {key}: {values['claimed']} -> {values['measured']}" for key, values in others.items()
    ]


def _weights_lines(weights: WeightsComparison, shown: int = 5) -> list[str]:
    """The weights verdict; when they differ, why, the relative L2 distance and the largest changes."""
    published = weights["published_sha256"] or "unknown"
    if weights["identical"]:
        return [f"{weights['file']}: byte-identical to the published weights (sha256 {published[:16]}...)"]
    expectation = (
        "expected identical in the same CPU environment"
        if weights["expected_identical"]
        else "not expected to be identical across environments"
    )
    lines = [
        f"{weights['file']}: differs from the published weights "
        f"(sha256 {weights['reproduced_sha256'][:16]}... vs {published[:16]}...); {expectation}"
    ]
    if weights["why"]:
        lines.append(f"  why: {weights['why']}")
    if weights["relative_l2"] is not None:
        lines.append(f"  by how much: relative L2 distance of the state dict {weights['relative_l2']:.3g}")
    tensors = weights["tensors"]
    for tensor in tensors[:shown]:
        change = "missing or reshaped" if tensor["max_abs_diff"] is None else f"{tensor['max_abs_diff']:.3g}"
        new = " (new: not in the base model)" if tensor["new"] else ""
        lines.append(f"  max |change| {change}  {tensor['name']} {tuple(tensor['shape'])}{new}")
    if len(tensors) > shown:
        least = min((t["max_abs_diff"] for t in tensors if t["max_abs_diff"] is not None), default=0.0)
        lines.append(f"  ({len(tensors) - shown} more tensors, down to {least:.3g}: --json lists every one)")
    return lines
