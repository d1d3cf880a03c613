"""``hubrerank export``: a model's ONNX and OpenVINO variants, each measured before it is published.

Each variant :mod:`hubrerank.export` writes is evaluated on the model's own evaluation plan (the one
``verify`` re-runs) and timed against float32 torch in the same run, on the same items, with the same
batch size: the first evaluation split's (query, document) pairs for a cross-encoder, its documents for
a bi-encoder. The record is ``variants.json`` (:class:`VariantsRecord`); the card gets a "Variants"
section from it (:mod:`hubrerank.cards.variants`), and ``verify`` re-measures every variant's claims in
that variant. Everything goes to the Hub in one commit.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hubrerank import __version__
from hubrerank.errors import InputError
from hubrerank.export import ExportRequest, write_variants
from hubrerank.record import RECIPE_FILE, VARIANTS_FILE, has_run_record, read_run_record
from hubrerank.refs import ResolvedRef
from hubrerank.runtime import FLOAT32, Variant, core_count

Log = Callable[[str], None]
CALIBRATION_SIZE = 300  # texts NNCF calibrates on, as sentence-transformers' OpenVINO exporter's default


@dataclass(frozen=True)
class MeasuredVariant:
    """One variant as measured: its backend and file, its precision, its eval_results entries (recorded
    ``backend`` and ``model_file``), and its throughput (items per second) and speedup over float32 torch."""

    backend: str
    model_file: str
    precision: str
    per_second: float
    speedup: float
    results: list[dict[str, Any]]

    @property
    def variant(self) -> Variant:
        return Variant(backend=self.backend, model_file=self.model_file)


@dataclass(frozen=True)
class VariantsRecord:
    """``variants.json``: which model commit the variants belong to, where they were measured, on what,
    float32 torch's numbers from the same run, and each variant's."""

    model: dict[str, str | None]
    machine: str
    items: str  # "pairs" (cross-encoder) or "texts" (bi-encoder)
    count: int
    batch_size: int
    baseline_per_second: float
    baseline_results: list[dict[str, Any]]
    variants: list[MeasuredVariant] = field(default_factory=list)
    hubrerank_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any], source: str) -> VariantsRecord:
        """The record in ``document``; InputError naming ``source`` when it is not one."""
        try:
            variants = [MeasuredVariant(**variant) for variant in document["variants"]]
            return cls(**{**document, "variants": variants})
        except (KeyError, TypeError) as error:
            raise InputError(f"{source} is not a hubrerank variants record ({error})") from None


@dataclass(frozen=True)
class ExportJob:
    """What ``hubrerank export`` does: the model (a folder with hubrerank.yaml, or ``REPO[@REV]``), the
    variants, the work folder (``out``; None: the model's own folder, or ``export-<name>-<sha>`` for a Hub
    model), the calibration data of the int8 OpenVINO variant (None: the model's training split), the
    throughput measurement's batch size and item limit, and whether to push to the model's repo."""

    model: str
    request: ExportRequest
    out: Path | None = None
    calibration: str | None = None
    batch_size: int = 32
    limit: int = 2000
    push: bool = False


@dataclass
class ExportResult:
    folder: Path
    record: VariantsRecord
    ref: ResolvedRef | None
    pushed: ResolvedRef | None = None


def export_model(job: ExportJob, log: Log = lambda _: None) -> ExportResult:
    """Write, measure and record (and with ``job.push`` publish) the variants ``job`` asks for."""
    from hubrerank.hub import check_can_publish, locate, resolve_model

    job.request.check()
    located = locate(job.model, "model", folder_only=True)
    if job.push and located.ref is None:
        raise InputError(
            f"--push publishes to the model's repo: give {job.model} as REPO[@REV], not a folder"
        )
    if job.push and located.ref is not None:
        check_can_publish(located.ref.repo_id)
    ref, source = resolve_model(job.model)
    if ref is not None:
        from hubrerank.reproducibility.verify import fetch_model_and_record

        fetch_model_and_record(ref)
    plan = model_plan(source, ref)
    calibration = calibration_items(job, source) if job.request.openvino_int8 else []
    folder = _work_folder(job, source, ref)
    written = write_variants(folder, job.request, calibration, log)
    record = measure_variants(folder, ref, plan, written, job.batch_size, job.limit, log)
    (folder / VARIANTS_FILE).write_text(_dumps(record.to_json()), encoding="utf-8")
    _write_card(folder, record)
    result = ExportResult(folder, record, ref)
    if job.push:
        assert ref is not None
        result.pushed = publish_variants(folder, ref, record)
    return result


def model_plan(folder: Path, ref: ResolvedRef | None) -> dict[str, Any]:
    """The model's own evaluation plan with every data revision pinned (verify's)."""
    from hubrerank.reproducibility.verify import pin_plan, read_subject
    from hubrerank.training.trainer import evaluation_plan

    if ref is not None:
        plan = read_subject(ref, folder, training=False).plan
    elif has_run_record(folder):
        plan = evaluation_plan(read_run_record(folder).get("evaluation") or {})
    else:
        raise InputError(
            f"{folder} has no {RECIPE_FILE}: export measures each variant on the model's own evaluation; "
            "give a model hubrerank trained, or its Hub repo"
        )
    tasks = [task for task in ("reranking", "retrieval") if plan.get(task)]
    if not tasks:
        raise InputError(f"{folder.name}: its evaluation has no reranking or retrieval split to measure on")
    return pin_plan(plan)[0]


def calibration_items(job: ExportJob, folder: Path) -> list[Any]:
    """Up to CALIBRATION_SIZE texts (a cross-encoder: (query, document) pairs) from ``job.calibration``
    (``DATASET[@REV][:SPLIT]``, default split ``train``), else from the model's recorded training split.
    Never the evaluation data: the variant is judged on that."""
    from hubrerank.evaluation.samples import load_split
    from hubrerank.kinds.detect import model_kind
    from hubrerank.refs import Ref

    if job.calibration:
        text, _, split = job.calibration.partition(":")
        parsed = Ref.parse(text, "dataset")
        dataset, revision, config = parsed.repo_id, parsed.revision, None
        split = split or "train"
    elif has_run_record(folder) and read_run_record(folder).get("train"):
        train = read_run_record(folder)["train"]
        train = train[0] if isinstance(train, list) else train
        dataset, revision = train["dataset"], train.get("revision")
        config, split = train.get("config"), train.get("split", "train")
    else:
        raise InputError(
            "--openvino-int8 calibrates on training texts: the model records no training split; "
            "pass --calibration DATASET[@REV][:SPLIT]"
        )
    records, _, _ = load_split(dataset, revision, config=config, split=split)
    columns = [name for name, kind in records.features.items() if getattr(kind, "dtype", None) == "string"]
    if len(columns) < 2:
        raise InputError(f"--calibration {dataset}: split {split} has fewer than two text columns")
    rows = records.select(range(min(CALIBRATION_SIZE, len(records))))
    pairs = [(row[columns[0]], row[columns[1]]) for row in rows]
    return pairs if model_kind(folder) != "bi-encoder" else [text for pair in pairs for text in pair]


def _work_folder(job: ExportJob, source: Path, ref: ResolvedRef | None) -> Path:
    """Where the variants are written: ``job.out`` (a copy of the model), else the model's own folder, or
    ``export-<name>-<sha12>`` for a Hub model (its cache is never written to)."""
    if job.out is not None:
        folder = job.out
    elif ref is not None:
        folder = Path(f"export-{ref.repo_id.split('/')[-1]}-{ref.sha[:12]}")
    else:
        return source
    if folder.resolve() != source.resolve():
        shutil.copytree(source, folder, dirs_exist_ok=True)
    return folder


def measure_variants(
    folder: Path,
    ref: ResolvedRef | None,
    plan: dict[str, Any],
    variants: Sequence[Variant],
    batch_size: int,
    limit: int,
    log: Log = lambda _: None,
) -> VariantsRecord:
    """float32 torch, then each variant: evaluated on ``plan`` and timed on the same ``limit`` items."""
    from hubrerank.evaluation import ScoreCache, run_evaluations
    from hubrerank.kinds.detect import model_kind

    bi_encoder = model_kind(folder) == "bi-encoder"
    items = _items(plan, bi_encoder, limit)
    measured: list[tuple[Variant, float, list[dict[str, Any]]]] = []
    with tempfile.TemporaryDirectory(prefix="hubrerank-export-") as scratch:
        cache = ScoreCache(Path(scratch) / "scores.sqlite")  # empty: every variant computes its own
        try:
            for variant in [FLOAT32.on("cpu"), *variants]:
                per_second = _throughput(folder, variant, items, bi_encoder, batch_size, cache)
                log(f"{variant.label}: {per_second:.1f} {'texts' if bi_encoder else 'pairs'}/s")
                document = run_evaluations(
                    folder,
                    ref.sha if ref else None,
                    plan,
                    model_repo=ref.repo_id if ref else None,
                    cache=cache,
                    batch_size=batch_size,
                    precision=variant,
                )
                measured.append((variant, per_second, document["results"]))
        finally:
            cache.close()
    (_, baseline, baseline_results), rest = measured[0], measured[1:]
    return VariantsRecord(
        model={"repo": ref.repo_id if ref else None, "revision": ref.sha if ref else None},
        machine=machine(),
        items="texts" if bi_encoder else "pairs",
        count=len(items),
        batch_size=batch_size,
        baseline_per_second=round(baseline, 2),
        baseline_results=baseline_results,
        variants=[
            MeasuredVariant(
                variant.backend,
                variant.file,
                precision_of(variant.file),
                round(per_second, 2),
                round(per_second / baseline, 3),
                results,
            )
            for variant, per_second, results in rest
        ],
    )


def _items(plan: dict[str, Any], bi_encoder: bool, limit: int) -> list[Any]:
    """What the throughput is measured on: the first reranking split's pairs (its documents, else its
    positives and negatives) or the first retrieval split's corpus, the first ``limit``."""
    if bi_encoder:
        from hubrerank.evaluation.retrieval import load_retrieval_split

        entry = plan["retrieval"][0]
        data = load_retrieval_split(entry["dataset"], entry.get("revision"), config=entry.get("config"),
                                    split=entry.get("split", "test"))  # fmt: skip
        return list(data.corpus.corpus.values())[:limit]
    from hubrerank.evaluation.samples import load_reranking_data

    entry = plan["reranking"][0]
    data = load_reranking_data(entry["dataset"], entry.get("revision"), config=entry.get("config"),
                               split=entry.get("split", "test"))  # fmt: skip
    pairs = [
        (row.query, document)
        for row in data.rows
        for document in (row.documents or [*row.positive, *row.negative])
    ]
    return pairs[:limit]


def _throughput(
    folder: Path, variant: Variant, items: list[Any], bi_encoder: bool, batch_size: int, cache: Any
) -> float:
    """Items per second of ``variant`` on ``items`` (loaded first, not timed), filling ``cache``."""
    if bi_encoder:
        from hubrerank.embeddings import EmbeddingCache, encode, load_embedder

        embeddings = EmbeddingCache(cache.path)
        try:
            embedder = load_embedder(folder, embeddings, batch_size=batch_size, precision=variant)
            start = time.perf_counter()
            encode(embedder, items, "document")
            return len(set(items)) / (time.perf_counter() - start)
        finally:
            embeddings.close()
    from hubrerank.evaluation import Scorer

    scorer = Scorer(folder, batch_size=batch_size, cache=cache, precision=variant)
    start = time.perf_counter()
    scorer.logits(items)
    return scorer.computed / (time.perf_counter() - start)


def precision_of(file: str) -> str:
    """What a variant file computes in, from its name (sentence-transformers' exporters' names)."""
    name = Path(file).stem
    if "_qint8_" in name:
        target = name.split("_qint8_", 1)[1]
        return "int8 static" if target == "quantized" else f"int8 dynamic ({target})"
    return "float16" if name.endswith("_O4") else "float32"


def machine() -> str:
    """The CPU and the cores used, as the card names the machine the speed was measured on."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {core_count()} threads, {platform.system()}"


def read_variants(folder: Path) -> VariantsRecord | None:
    """The folder's variants.json (None when it has none)."""
    import json

    path = folder / VARIANTS_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InputError(f"{path}: not JSON ({error})") from None
    return VariantsRecord.from_json(document, str(path))


def _write_card(folder: Path, record: VariantsRecord) -> None:
    from hubrerank.cards.variants import with_variants_section
    from hubrerank.record import CARD_FILE

    card = folder / CARD_FILE
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    card.write_text(with_variants_section(text, record), encoding="utf-8")


def publish_variants(folder: Path, ref: ResolvedRef, record: VariantsRecord) -> ResolvedRef:
    """The variant files, variants.json and the card, as one commit on the model's main, which must
    still be the commit they were measured on (else they would sit beside other weights)."""
    from hubrerank.hub import publish, resolve
    from hubrerank.record import CARD_FILE
    from hubrerank.refs import Ref

    head = resolve(Ref(ref.repo_id, "main"))
    if head.sha != ref.sha:
        raise InputError(
            f"{ref.repo_id}: main is now {head.sha[:12]}, not the measured {ref.sha[:12]}; export "
            f"{ref.repo_id} (its head) again"
        )
    files: dict[str, Path] = {}
    for variant in record.variants:
        for file in variant.variant.files:
            files[file] = folder / file
    files[VARIANTS_FILE] = folder / VARIANTS_FILE
    files[CARD_FILE] = folder / CARD_FILE
    names = ", ".join(variant.model_file for variant in record.variants)
    return publish(ref.repo_id, files, message=f"Add variants {names} (hubrerank export)")


def _dumps(document: Any) -> str:
    import json

    return json.dumps(document, indent=2) + "\n"
