"""Reading a model card written by sentence-transformers' trainer.

When sentence-transformers' trainer wrote a card, it records most of a run: the base model and its
revision, each training dataset's id and revision (with its size and columns), the loss and its
parameters, the training arguments, the evaluators and, in the ``model-index``, the metrics they measured.
:func:`parse_card` reads those into a :class:`StCard`; :mod:`hubrerank.reproducibility.from_card` rebuilds
a recipe from it and :mod:`hubrerank.reproducibility.card_claims` finds where a re-run measures its claims.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml

from hubrerank.errors import InputError
from hubrerank.kinds.spec import DEFAULT_KIND, KindSpec, kind_of_st_card

# by kind, the oldest template the guess tells apart: 4.0.0 stands for every release before 5.0.0; the
# sparse-encoder and multi-vector trainers first wrote cards in 5.0.0 and 6.0.0
FIRST_TEMPLATE = {
    "cross-encoder": "4.0.0",
    "bi-encoder": "4.0.0",
    "sparse-encoder": "5.0.0",
    "multi-vector": "6.0.0",
}


@dataclass(frozen=True)
class CardDataset:
    """A training or evaluation dataset as the card describes it."""

    name: str | None
    id: str | None
    revision: str | None
    size: int | None
    columns: tuple[str, ...]
    loss: str | None
    loss_params: dict[str, Any]


@dataclass(frozen=True)
class CardEvaluator:
    """An evaluator section of the card: its class, the dataset names it ran on and its parameters."""

    class_name: str
    names: tuple[str, ...]
    config: dict[str, Any]
    # the heading of its Metrics section (the evaluator's description, "Sparse Reranking"): the task name of
    # its claims in the model-index
    description: str = ""
    # a reranking evaluator's (CrossEncoderRerankingEvaluator, CrossEncoderNanoBEIREvaluator) setting as the
    # card prints it: True when every positive was added to the candidates it reranks, False for the
    # "realistic" run on the first stage's candidates alone; None when the card does not print it
    always_rerank_positives: bool | None = None


class ClaimSource(NamedTuple):
    """Which evaluator made a claim: the dataset name it ran on, and the model-index task name (its
    description, "Sparse Reranking"), which tells apart two evaluators a card runs on one dataset name."""

    dataset: str
    task: str


@dataclass(frozen=True)
class CardClaim:
    """One number of the card's ``model-index``: evaluator dataset name, metric and value (4 decimals), and
    the task name of the evaluator that measured it ("" when the card has none)."""

    dataset: str
    metric: str
    value: float
    task: str = ""

    @property
    def source(self) -> ClaimSource:
        return ClaimSource(self.dataset, self.task)


@dataclass(frozen=True)
class CardLibraryVersion:
    """The sentence-transformers release that wrote a card: the one its Framework Versions section records
    (``guessed`` False), else the first release of the card template the card's layout matches best
    (``guessed`` True: the card was written by that release or a later one of the same template).
    ``why`` says which, in a sentence. Metric definitions change with releases (6.3.0 normalised
    CrossEncoderRerankingEvaluator's NDCG and MAP anew), so a claim is read under its card's release."""

    version: str
    guessed: bool
    why: str


@dataclass(frozen=True)
class StCard:
    """What a sentence-transformers trainer card records about a training run of a model of ``kind``."""

    base_model: str | None
    base_model_revision: str | None
    max_length: int | None
    num_labels: int | None
    train_datasets: list[CardDataset]
    eval_datasets: list[CardDataset]
    evaluators: list[CardEvaluator]
    non_default_args: dict[str, Any]
    all_args: dict[str, Any]
    versions: dict[str, str]
    claims: list[CardClaim]
    library_version: CardLibraryVersion  # the sentence-transformers release that wrote the card
    modules: tuple[str, ...] = ()  # the "Full Model Architecture" module classes, in order
    kind: str = DEFAULT_KIND  # the model kind the card describes (its kind's card tag)

    def evaluator_of(self, source: ClaimSource) -> CardEvaluator | None:
        """The evaluator that made the claims of ``source``: among those that ran on its dataset name, the one
        whose Metrics section is headed by its task name, else the first."""
        named = [evaluator for evaluator in self.evaluators if source.dataset in evaluator.names]
        return next((e for e in named if e.description == source.task), named[0] if named else None)


def is_st_card(text: str) -> bool:
    """True when ``text`` is a card sentence-transformers' trainer wrote for a kind hubrerank trains."""
    return _card_kind(text) is not None


def _card_kind(text: str) -> KindSpec | None:
    tags = front_matter(_lines(text)).get("tags") or []
    return kind_of_st_card([str(tag) for tag in tags] if isinstance(tags, list) else [])


def parse_card(text: str, source: str = "README.md") -> StCard:
    """Read a sentence-transformers trainer card; InputError when ``text`` is not one."""
    kind = _card_kind(text)
    if kind is None:
        raise InputError(
            f"{source} was not written by sentence-transformers' trainer (no 'generated_from_trainer' tag "
            "beside 'cross-encoder' or 'sentence-similarity'); only such cards record a training run"
        )
    text = _lines(text)
    metadata = front_matter(text)
    base = metadata.get("base_model")
    base = base[0] if isinstance(base, list) and base else base
    revision = re.search(r"\*\*Base model:\*\*.*<!-- at revision (\S+) -->", text)
    training = _section(text, 3, r"Training Datasets?")
    evaluation = _section(text, 3, r"Evaluation Datasets?")
    return StCard(
        base_model=base if isinstance(base, str) else None,
        base_model_revision=revision.group(1) if revision else None,
        max_length=_int(re.search(r"\*\*Maximum Sequence Length:\*\* (\d+) tokens", text)),
        num_labels=_int(re.search(r"\*\*Number of Output Labels:\*\* (\d+) label", text)),
        train_datasets=[_dataset(block) for block in _subsections(training)],
        eval_datasets=[_dataset(block) for block in _subsections(evaluation)],
        evaluators=[_evaluator(block) for block in _subsections(_section(text, 3, "Metrics"))],
        non_default_args=_arguments(_section(text, 4, "Non-Default Hyperparameters")),
        all_args=_arguments(_section(text, 4, "All Hyperparameters")),
        versions=_versions(_section(text, 3, "Framework Versions")),
        claims=_claims(metadata),
        library_version=library_version(text, kind.name),
        modules=tuple(
            re.findall(r"^\s*\(\w+\): (\w+)\(", _section(text, 3, "Full Model Architecture"), re.M)
        ),
        kind=kind.name,
    )


@dataclass(frozen=True)
class _TemplateChange:
    """A change of sentence-transformers' card template: from ``release`` on, the cards of ``kinds`` show
    ``what`` (``shows`` tells whether a card does), and earlier releases' cards do not."""

    release: str
    kinds: frozenset[str]
    what: str
    shows: Callable[[str], bool]


_BOTH = frozenset(("cross-encoder", "bi-encoder"))
_SPARSE = frozenset(("sparse-encoder",))
_ALL = frozenset((*_BOTH, *_SPARSE, "multi-vector"))
# every change of the layout of the cards the trainers wrote from 4.0 on, as the corpus of real cards shows
# them (tests/fixtures/st_cards; 5.5.0 to 6.2.0 and 5.7.0 to 6.2.0 write the same layout, data aside; the
# multi-vector cards of 6.0.0 to 6.2.0 have the 5.x changes already and no 'Additional Resources')
_TEMPLATE_CHANGES = (
    _TemplateChange(
        "5.0.0",
        frozenset(("cross-encoder",)),
        "the 'reranker' tag",
        lambda text: "reranker" in (front_matter(text).get("tags") or []),
    ),
    _TemplateChange(
        "5.0.0",
        frozenset(("bi-encoder",)),
        "a usage example with encode_query",
        lambda text: "encode_query(" in text,
    ),
    _TemplateChange(
        "5.1.2",
        _BOTH | _SPARSE,
        "the repository link to huggingface/sentence-transformers",
        lambda text: "github.com/huggingface/sentence-transformers" in text,
    ),
    _TemplateChange(
        "5.4.0",
        _BOTH | _SPARSE,
        "a 'Supported Modality' line",
        lambda text: "**Supported Modality:**" in text,
    ),
    _TemplateChange(
        "5.5.0",
        frozenset(("cross-encoder", "sparse-encoder")),
        "an 'Additional Resources' section",
        lambda text: "## Additional Resources" in text,
    ),
    _TemplateChange(
        "5.7.0",
        frozenset(("bi-encoder",)),
        "an 'Additional Resources' section",
        lambda text: "## Additional Resources" in text,
    ),
    _TemplateChange(
        "6.3.0",
        _ALL,
        "no 'Direct Usage (Transformers)' section",
        lambda text: "### Direct Usage (Transformers)" not in text,
    ),
)


def library_version(text: str, kind: str) -> CardLibraryVersion:
    """The sentence-transformers release that wrote the card ``text`` of a model of ``kind``: as its
    Framework Versions section records it, else guessed from its layout: the template era (the releases
    between two template changes) whose changes the card agrees with most; among equals, the newest."""
    text = _lines(text)
    recorded = _versions(_section(text, 3, "Framework Versions"))
    if "sentence_transformers" in recorded:
        return CardLibraryVersion(
            recorded["sentence_transformers"], False, "the card's Framework Versions section records it"
        )
    changes = [change for change in _TEMPLATE_CHANGES if kind in change.kinds]
    shown = {change: change.shows(text) for change in changes}
    eras = sorted({FIRST_TEMPLATE[kind], *(change.release for change in changes)}, key=_release)

    def disagreeing(era: str) -> list[_TemplateChange]:
        return [c for c in changes if shown[c] != (_release(era) >= _release(c.release))]

    best = min(reversed(eras), key=lambda era: len(disagreeing(era)))
    later = [era for era in eras if _release(era) > _release(best)]
    span = f"{best} <= release < {later[0]}" if later else f"release >= {best}"
    why = f"the card records no sentence-transformers version; its layout is the template of {span}"
    shows = [change.what for change in changes if shown[change]]
    why += f" ({', '.join(shows)})" if shows else " (none of the later templates' changes)"
    if wrong := disagreeing(best):
        why += "; but it disagrees on " + ", ".join(change.what for change in wrong)
    return CardLibraryVersion(best, True, why)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _lines(text: str) -> str:
    """``text`` with CRLF (or CR) line endings made LF, so that no value keeps a trailing ``\\r``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def front_matter(text: str) -> dict[str, Any]:
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.S)
    if not match:
        return {}
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _section(text: str, level: int, title: str) -> str:
    """The body under the first heading of ``level`` whose title matches ``title``, up to the next one."""
    hashes = "#" * level
    match = re.search(rf"^{hashes} {title}\s*$", text, re.M)
    if not match:
        return ""
    end = re.search(rf"^#{{1,{level}}} ", text[match.end() :], re.M)
    return text[match.end() : match.end() + end.start()] if end else text[match.end() :]


def _subsections(body: str) -> list[str]:
    """The ``#### ...`` blocks of a section, each with its heading line."""
    starts = [m.start() for m in re.finditer(r"^#### ", body, re.M)]
    return [body[start:end] for start, end in zip(starts, [*starts[1:], len(body)], strict=False)]


def _dataset(block: str) -> CardDataset:
    heading = block.splitlines()[0].removeprefix("#### ").strip()
    link = re.search(r"^\* Dataset: \[[^\]]*\]\([^)]*/datasets/([^)\s]+)\)", block, re.M)
    revision = re.search(r"/tree/([0-9a-f]{40})\)", block)
    size = re.search(r"^\* Size: ([\d,]+) ", block, re.M)
    columns = re.search(r"^\* Columns: (.*)$", block, re.M)
    loss = re.search(r"^\* Loss: .*?<code>([\w.]+)</code>", block, re.M)
    return CardDataset(
        name=None if heading == "Unnamed Dataset" else heading,
        id=link.group(1) if link else None,
        revision=revision.group(1) if revision else None,
        size=int(size.group(1).replace(",", "")) if size else None,
        columns=tuple(re.findall(r"<code>(.*?)</code>", columns.group(1))) if columns else (),
        loss=loss.group(1).rsplit(".", 1)[-1] if loss else None,
        loss_params=_json_after(block, "* Loss:"),
    )


def _evaluator(block: str) -> CardEvaluator:
    names = re.search(r"^\* Datasets?: (.*)$", block, re.M)
    class_name = re.search(r"^\* Evaluated with .*?<code>([\w.]+)</code>", block, re.M)
    config = _json_after(block, "* Evaluated with")
    always = config.get("always_rerank_positives")
    return CardEvaluator(
        class_name=class_name.group(1).rsplit(".", 1)[-1] if class_name else "",
        names=tuple(re.findall(r"`([^`]+)`", names.group(1))) if names else (),
        config=config,
        description=block.splitlines()[0].removeprefix("#### ").strip(),
        always_rerank_positives=always if isinstance(always, bool) else None,
    )


def _json_after(block: str, marker: str) -> dict[str, Any]:
    """The ```json block that follows the line starting with ``marker``, if the line ends in 'parameters:'."""
    start = block.find(marker)
    if start < 0:
        return {}
    match = re.match(r"[^\n]*with these parameters:\s*\n\s*```json\s*\n(.*?)\n\s*```", block[start:], re.S)
    if not match:
        return {}
    try:
        value = json.loads(match.group(1))
    except json.JSONDecodeError:
        value = _python_dict(match.group(1))
    return value if isinstance(value, dict) else {}


def _python_dict(text: str) -> Any:
    """A dict some releases print with Python's repr instead of JSON (GISTEmbedLoss's parameters in 4.x:
    ``{'guide': SentenceTransformer(...), 'temperature': 0.05}``): each object call becomes the string of its
    class name and call, the rest is read as a Python literal; None when it still is not one."""
    out, depth, start = [], 0, 0
    for match in re.finditer(r"\b[A-Z]\w*\(|[()]", text):
        token = match.group()
        if token.endswith("(") and token != "(":
            if depth == 0:
                out.append(text[start : match.start()])
                start = match.start()
            depth += 1
        elif token == "(" and depth:
            depth += 1
        elif token == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(repr(" ".join(text[start : match.end()].split())))
                start = match.end()
    out.append(text[start:])
    try:
        return ast.literal_eval("".join(out))
    except (ValueError, SyntaxError):
        return None


def _arguments(body: str) -> dict[str, Any]:
    """``- `key`: value`` lines; values are Python literals as the card printed them, else strings."""
    arguments = {}
    for key, text in re.findall(r"^- `(\w+)`: (.*)$", body, re.M):
        try:
            arguments[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            arguments[key] = text
    return arguments


def _versions(body: str) -> dict[str, str]:
    names = {
        "Python": "python",
        "Sentence Transformers": "sentence_transformers",
        "Transformers": "transformers",
        "PyTorch": "torch",
        "Accelerate": "accelerate",
        "Datasets": "datasets",
        "Tokenizers": "tokenizers",
    }
    found = dict(re.findall(r"^- ([\w ]+): (\S+)\s*$", body, re.M))
    return {key: found[label] for label, key in names.items() if label in found}


def _claims(metadata: dict[str, Any]) -> list[CardClaim]:
    claims = []
    for entry in metadata.get("model-index") or []:
        for result in (entry or {}).get("results") or []:
            dataset = str((result.get("dataset") or {}).get("type", ""))
            task = str((result.get("task") or {}).get("name") or "")
            for metric in result.get("metrics") or []:
                value = metric.get("value")
                if isinstance(value, int | float) and not isinstance(value, bool) and metric.get("type"):
                    claims.append(CardClaim(dataset, str(metric["type"]), float(value), task))
    return claims


def _int(match: re.Match[str] | None) -> int | None:
    return int(match.group(1)) if match else None


def printed_call(text: str) -> tuple[str, dict[str, Any] | None]:
    """A loss as a card prints the one a wrapper trains: ``Name`` (MatryoshkaLoss's) or
    ``Name(key=value, ...)`` (SpladeLoss's, the loss's own repr). Its class name, and its keyword values
    when the card printed them as plain literals (None otherwise)."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return text.strip(), None
    if isinstance(call, ast.Name):
        return call.id, None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.args:
        return text.strip(), None
    try:
        values = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords if keyword.arg}
    except ValueError:
        return call.func.id, None
    return call.func.id, values
