"""Publishing a verification or reproduction report where the model lives.

Two ways, both one commit that never touches the model's files:

- :func:`push_report`, on one's own model (``--push-report``): the report, the card re-rendered with its
  verification section, and the verifier's signed entries, on main.
- :func:`open_report_pr`, on anyone's model (``verify --open-pr``): a pull request with the report and
  ``.eval_results/hubrerank-<user>.yaml`` (:mod:`hubrerank.reproducibility.signing`); the owner merges it,
  and until then the Hub shows the entries as "community".
- :func:`open_results_pr` (``eval --open-pr``): the same with what ``eval`` measured, for results a
  model's repo does not claim at all (a base model on a new benchmark).
- :func:`open_pipeline_pr` (``pipeline --open-pr``): a reranker's NDCG@10 behind each first stage, on
  the split's retrieval task, each entry naming (and its token signing) the first stage it reranked.

All refuse when main's model files differ from the checked commit's: the entries and the card would
describe weights they are not published beside.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubrerank import __version__
from hubrerank.errors import InputError
from hubrerank.hub import PullRequest, download, list_files, open_pull_request, publish, resolve, whoami
from hubrerank.record import (
    RECORD_FILES,
    RESULTS_FILE,
    encode_report,
    has_run_record,
    is_report_file,
    read_reports,
    report_path,
)
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.reproducibility.signing import (
    Measurement,
    Provenance,
    entries_yaml,
    pipeline_measurements,
    report_measurements,
    result_measurements,
    results_file,
    signed_entries,
)
from hubrerank.reproducibility.verify import ERROR, PASS, Report, ci_run_url
from hubrerank.signatures import SigningKey

if TYPE_CHECKING:
    from huggingface_hub import EvalResultEntry

    from hubrerank.evaluation.pipeline import PipelineResults


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")


def _report_file(report: Report) -> tuple[str, bytes]:
    if report.verdict == ERROR:
        raise InputError(f"nothing was checked ({report.reason}); no report to publish")
    return report_path(report.created.strftime("%Y%m%dT%H%M%S.%fZ")), encode_report(report.as_dict())


def _entries_file(report: Report, signer: str, key: SigningKey | None, name: str) -> dict[str, bytes]:
    """The verifier's ``.eval_results`` file (re-measured values, signed with ``key``), or nothing when no
    checked metric has an entry."""
    from huggingface_hub import constants

    verdicts = f"hubrerank {report.kind} ({report.verdict})"
    url = ci_run_url() or f"{constants.ENDPOINT}/{report.model.repo_id}/blob/main/{name}"
    provenance = Provenance(signer, url, verdicts, report.timestamp)
    entries = signed_entries(report_measurements(report), report.model, provenance, key)
    return {results_file(signer): entries_yaml(entries)} if entries else {}


def push_report(report: Report, tag: str | None = None, key: SigningKey | None = None) -> ResolvedRef:
    """Publish the report as ``reproductions/<timestamp>.json`` with the card re-rendered, in one commit.

    The commit holds only README.md, ``.eval_results/*`` and the report: never the weights. The card's
    verification section lists every report in the repo. A repo without hubrerank.yaml (a card written by
    sentence-transformers) only gets the report: hubrerank does not rewrite a card it did not render.
    The verifier's re-measured entries are added too, signed when ``key`` is given. With ``tag``, a PASS
    also tags the new commit.
    """
    from hubrerank.cards.model_card import card_files

    name, body = _report_file(report)
    ref = report.model
    head = check_same_model_files(ref)
    files: dict[str, Path | bytes] = {name: body, **_entries_file(report, whoami(), key, name)}
    folder = download(head, allow_patterns=RECORD_FILES)
    if has_run_record(folder) and (folder / RESULTS_FILE).is_file():
        with tempfile.TemporaryDirectory(prefix="hubrerank-report-") as tmp:
            sources = Path(tmp) / ref.repo_id.split("/")[-1]
            for path in folder.rglob("*"):
                if path.is_file():
                    target = sources / path.relative_to(folder)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)
            (sources / name).parent.mkdir(parents=True, exist_ok=True)
            (sources / name).write_bytes(body)
            files.update(card_files(sources, ref.repo_id, read_reports(sources), revision=ref.sha))
    kind = "verification" if report.kind == "verify" else "reproduction"
    message = f"hubrerank {report.kind}: {report.verdict} ({kind} report of {ref.sha[:12]})"
    return publish(ref.repo_id, files, message=message, tag=tag if report.verdict == PASS else None)


def open_report_pr(report: Report, key: SigningKey | None = None) -> PullRequest:
    """Open a pull request on the checked model with the report and the verifier's re-measured entries.

    Anyone who can read the model may open it; the card is left to its owner. ``key`` signs the entries.
    """
    name, body = _report_file(report)
    ref = report.model
    check_same_model_files(ref)
    signer = whoami()
    files: dict[str, Path | bytes] = {name: body, **_entries_file(report, signer, key, name)}
    checked = sum(1 for check in report.checks if check.measured is not None)
    signed = "signed" if key is not None else "unsigned"
    description = (
        f"hubrerank {report.kind} of {ref.repo_id}@{ref.sha[:12]} by {signer}: **{report.verdict}** "
        f"({checked} metrics re-measured). The report is `{name}`; the re-measured values are in "
        f"`{results_file(signer)}` ({signed}), so they show on the benchmark leaderboards once merged."
    )
    message = f"hubrerank {report.kind}: {report.verdict} ({ref.sha[:12]}, by {signer})"
    return open_pull_request(ref.repo_id, files, message=message, description=description)


def open_results_pr(results: Mapping[str, Any], key: SigningKey | None = None) -> PullRequest:
    """Open a pull request on the evaluated Hub model with what ``hubrerank eval`` measured (an
    eval_results document) as the evaluator's ``.eval_results`` entries, signed with ``key``: results for
    anyone's model, shown as community until its owner merges them."""

    model = results.get("model") or {}
    if not model.get("repo") or not model.get("revision"):
        raise InputError(
            "only a model read from the Hub (REPO[@REV]) can get a pull request, not a local folder"
        )
    ref = ResolvedRef(model["repo"], model["revision"])
    signer, name, entries = _signed_measurements(ref, result_measurements(results), "eval", key)
    if not entries:
        raise InputError(f"the evaluation of {ref.repo_id} has no headline metric to propose")
    signed = "signed" if key is not None else "unsigned"
    description = (
        f"Results of {ref.repo_id}@{ref.sha[:12]} measured by {signer} with hubrerank {__version__} "
        f"(`hubrerank eval`): {len(entries)} values in `{name}` ({signed}), so they show on the benchmark "
        "leaderboards once merged."
    )
    message = f"hubrerank eval: {len(entries)} results ({ref.sha[:12]}, by {signer})"
    return open_pull_request(
        ref.repo_id, {name: entries_yaml(entries)}, message=message, description=description
    )


def open_pipeline_pr(results: PipelineResults, key: SigningKey | None = None) -> PullRequest:
    """Open a pull request on the reranker of a ``hubrerank pipeline`` run with its NDCG@10 behind each
    first stage (:func:`~hubrerank.reproducibility.signing.pipeline_measurements`), signed with ``key``,
    in the measurer's own pipelines file so it leaves their other results as they are."""

    if not results.variant.is_default:
        raise InputError(
            f"results measured in {results.variant.label} are not proposed to a model; run in float32 "
            "on torch"
        )
    ref, measurements = pipeline_measurements(results)
    if not measurements:
        raise InputError("the run has no reranked pipeline to propose: add --reranker")
    signer, name, entries = _signed_measurements(ref, measurements, "pipeline", key, "-pipelines")
    signed = "signed" if key is not None else "unsigned"
    stages = "\n".join(f"- {found.pipeline}: {found.entry.value:.4f}" for found in measurements)
    description = (
        f"NDCG@10 of {ref.repo_id}@{ref.sha[:12]} reranking first stages over the whole corpus of "
        f"{results.dataset} ({results.config}/{results.split}), measured by {signer} with hubrerank "
        f"{__version__} (`hubrerank pipeline`), in `{name}` ({signed}):\n{stages}"
    )
    message = f"hubrerank pipeline: {len(entries)} results ({ref.sha[:12]}, by {signer})"
    return open_pull_request(
        ref.repo_id, {name: entries_yaml(entries)}, message=message, description=description
    )


def _signed_measurements(
    ref: ResolvedRef, measurements: list[Measurement], command: str, key: SigningKey | None, suffix: str = ""
) -> tuple[str, str, list[EvalResultEntry]]:
    """After checking main holds ``ref``'s model files: the signer, their ``.eval_results`` file (``suffix``
    before ``.yaml``) and ``measurements`` as its entries, credited to ``hubrerank COMMAND`` and signed
    with ``key``."""
    from huggingface_hub import constants

    check_same_model_files(ref)
    signer = whoami()
    name = results_file(signer).removesuffix(".yaml") + suffix + ".yaml"
    date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    url = ci_run_url() or f"{constants.ENDPOINT}/{ref.repo_id}/blob/main/{name}"
    provenance = Provenance(signer, url, f"hubrerank {command}", date)
    return signer, name, signed_entries(measurements, ref, provenance, key)


def check_same_model_files(ref: ResolvedRef) -> ResolvedRef:
    """The head of main, after checking it holds the same model files as the checked commit (else the
    re-rendered card would describe weights it is not published beside)."""
    head = resolve(Ref(ref.repo_id, "main"))
    if head.sha == ref.sha:
        return head

    def model_files(commit: ResolvedRef) -> dict[str, str]:
        files = list_files(commit).items()
        return {path: file.content_id for path, file in files if not is_report_file(path)}

    if model_files(head) != model_files(ref):
        raise InputError(
            f"main of {ref.repo_id} ({head.sha[:12]}) has other model files than the checked "
            f"{ref.sha[:12]}; check the head of main to publish a report"
        )
    return head
