"""How far a re-measured metric may be from its claimed value and still count as reproduced.

The defaults depend on what is re-run and where (docs/tolerances.md gives the reasons):
evaluation only -> 1e-3 (MTEB's "reproducible up to the 3rd decimal"); retraining on CPU in the same
environment -> exact; retraining elsewhere -> 0.01, and 0.07 for NanoBEIR's 50-query subsets and their
mean. A claim re-measured in another precision than it was made in (``verify --dtype bfloat16`` of a
float32 claim) is held to at least ``CROSS_PRECISION_DEFAULT``. A tolerance file overrides them per metric
with fnmatch patterns (and then applies across precisions too)::

    default: 0.01
    metrics:
      "ndcg@10": 0.005
      "Nano*": 0.07
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hubrerank.errors import InputError

VERIFY_DEFAULT = 1e-3
SAME_ENVIRONMENT_DEFAULT = 0.0
CROSS_ENVIRONMENT_DEFAULT = 0.01
# NanoBEIR subsets have 50 queries: re-runs of one recipe moved their mean by up to 0.07 (docs/tolerances.md)
CROSS_ENVIRONMENT_METRICS = {"Nano*": 0.07}
# bfloat16 keeps 8 bits of mantissa: it reorders near-tied documents, and TREC DL19's NDCG@10 moved by
# about 1e-3 against float32 (BENCHMARKS.md, docs/tolerances.md), more than re-evaluation's 1e-3 allows
CROSS_PRECISION_DEFAULT = 0.01


@dataclass(frozen=True)
class Tolerances:
    """A default tolerance and per-metric overrides (fnmatch patterns, first match wins)."""

    default: float
    metrics: dict[str, float] = field(default_factory=dict)
    source: str = "default"
    # the least tolerance of a claim re-measured in another precision (None: the user's tolerances apply)
    cross_precision: float | None = CROSS_PRECISION_DEFAULT

    def for_metric(self, *names: str) -> float:
        """The tolerance of a metric known by any of ``names`` (its key and its qualified label)."""
        for pattern, value in self.metrics.items():
            if pattern in names:
                return value
        for pattern, value in self.metrics.items():
            if any(fnmatch.fnmatchcase(name, pattern) for name in names):
                return value
        return self.default

    def as_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "metrics": dict(self.metrics),
            "source": self.source,
            "cross_precision": self.cross_precision,
        }


def verify_tolerances(tolerance: float | None = None, tolerance_file: Path | None = None) -> Tolerances:
    """Tolerances for re-evaluating published weights: 1e-3 unless the user chose otherwise."""
    return _chosen(tolerance, tolerance_file) or Tolerances(
        VERIFY_DEFAULT, source="default for re-evaluation"
    )


def reproduce_tolerances(
    same_environment: bool, tolerance: float | None = None, tolerance_file: Path | None = None
) -> Tolerances:
    """Tolerances for retraining: exact in the same CPU environment, per benchmark elsewhere."""
    chosen = _chosen(tolerance, tolerance_file)
    if chosen is not None:
        return chosen
    if same_environment:
        return Tolerances(
            SAME_ENVIRONMENT_DEFAULT, source="default for retraining in the same CPU environment"
        )
    return Tolerances(
        CROSS_ENVIRONMENT_DEFAULT,
        dict(CROSS_ENVIRONMENT_METRICS),
        source="default for retraining in another environment",
    )


def load_tolerance_file(path: Path) -> Tolerances:
    """Read ``{default: x, metrics: {pattern: y}}``; raise InputError naming the file and key at fault."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise InputError(f"cannot read tolerance file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise InputError(f"tolerance file {path} is not valid YAML: {' '.join(str(error).split())}") from None
    if not isinstance(data, dict) or not set(data) <= {"default", "metrics"} or "default" not in data:
        raise InputError(f"tolerance file {path} must be a mapping with 'default' and optionally 'metrics'")
    metrics = data.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise InputError(f"tolerance file {path}: 'metrics' must map metric patterns to numbers")
    default = _tolerance(data["default"], f"tolerance file {path}: 'default'")
    patterns = {
        str(key): _tolerance(value, f"tolerance file {path}: metrics[{key!r}]")
        for key, value in metrics.items()
    }
    return Tolerances(default, patterns, source=f"tolerance file {Path(path).name}", cross_precision=None)


def _chosen(tolerance: float | None, tolerance_file: Path | None) -> Tolerances | None:
    if tolerance is not None and tolerance_file is not None:
        raise InputError("give either --tolerance or --tolerance-file, not both")
    if tolerance_file is not None:
        return load_tolerance_file(tolerance_file)
    if tolerance is not None:
        return Tolerances(_tolerance(tolerance, "--tolerance"), source="--tolerance", cross_precision=None)
    return None


def _tolerance(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InputError(f"{where} must be a number >= 0, not {value!r}")
    return float(value)
