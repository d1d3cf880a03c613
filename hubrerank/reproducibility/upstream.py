"""Library releases known to change what hubrerank measures, and the likely cause of a failed check.

A reproduction that runs under other library releases than the original can differ for a known reason:
sentence-transformers 6.3 changed the reranking metrics' definition, hard negative mining and the trainer
(../shared/notes/upstream.md, docs/metrics.md). ``verify`` and ``reproduce`` name such a change when a
failure coincides with it, instead of a bare FAIL. Add an entry here when the drift canary
(``make test-latest``) finds a release that changes outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from packaging.version import InvalidVersion, Version

EVALUATION: Final = "evaluation"
TRAINING: Final = "training"
MINING: Final = "mining"


@dataclass(frozen=True)
class UpstreamChange:
    """A release of ``library`` (an environment key, as hubrerank.yaml records it) from which ``what``
    changed, and which stages of a run that changes (evaluation, training, mining)."""

    library: str
    since: str
    what: str
    stages: tuple[str, ...]


KNOWN_CHANGES: Final = (
    UpstreamChange(
        "sentence_transformers",
        "6.3.0",
        "reranking NDCG and MAP are normalised by all known positives (docs/metrics.md)",
        (EVALUATION,),
    ),
    UpstreamChange(
        "sentence_transformers",
        "6.3.0",
        "mine_hard_negatives changed: mined negatives may differ",
        (MINING,),
    ),
    UpstreamChange(
        "sentence_transformers",
        "6.3.0",
        "the trainer, data collator, batch sampler and several losses changed",
        (TRAINING,),
    ),
)


def changes_between(library: str, first: str, second: str, stages: Iterable[str]) -> list[UpstreamChange]:
    """The known changes of ``library`` that lie between releases ``first`` and ``second`` (either order)
    and touch one of ``stages``; none when a version does not parse."""
    try:
        low, high = sorted((Version(first), Version(second)))
    except InvalidVersion:
        return []
    wanted = set(stages)
    return [
        change
        for change in KNOWN_CHANGES
        if change.library == library
        and low.release < Version(change.since).release <= high.release
        and wanted & set(change.stages)
    ]


def likely_causes(
    claimed: Mapping[str, Any], measured: Mapping[str, Any], stages: Iterable[str]
) -> list[str]:
    """One line per known change that lies between the recorded and the current release of a library,
    for the ``stages`` a run went through: what a failed check most likely comes from."""
    stages = tuple(stages)
    lines = []
    for library, recorded in claimed.items():
        here = measured.get(library)
        if here is None or str(here) == str(recorded):
            continue
        for change in changes_between(library, str(recorded), str(here), stages):
            lines.append(f"{library} {recorded} -> {here}: from {change.since}, {change.what}")
    return lines
