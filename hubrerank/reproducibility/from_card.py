"""Recipes and claims from a model card written by sentence-transformers' trainer.

A repo hubrerank did not make has no hubrerank.yaml, but when sentence-transformers' trainer wrote its
card, the card records most of a run: the base model and its revision, each training dataset's id and
revision (with its size and columns), the loss and its parameters, the non-default training arguments,
the evaluators and, in the ``model-index``, the metrics they measured. :func:`parse_card` reads those;
:func:`recipe_from_card` turns them into a hubrerank recipe, looks up on the Hub what the card leaves
implicit (a dataset's config and split, from its size and columns) and lists under ``unknown`` what
the card does not say at all (mining parameters, preprocessing, how a checkpoint was chosen, ...).

An evaluator's data is found by the naming convention hubrerank itself uses: an evaluator called
``<name>-<split>`` ran on split ``<split>`` of a dataset ``ORG/<name>`` the card names.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from hubrerank.errors import HubrerankError, InputError
from hubrerank.refs import SHA_PATTERN, Ref, ResolvedRef

Place = tuple[str, str]  # a dataset's Hub id and revision

RERANKING_EVALUATOR = "CrossEncoderRerankingEvaluator"
NANOBEIR_EVALUATOR = "CrossEncoderNanoBEIREvaluator"
RERANKING_COLUMNS = ("query", "positive")
# CardRecipe.unknown keys naming these recipe keys must be filled in before the recipe can run; the
# other keys (data_preparation, checkpoint_selection, guessed ..., ...) are caveats
_REQUIRED = re.compile(r"^(base_model|train|loss|evaluation)(?=[.\[ ]|$)")
# training arguments that say where or how a run was logged or stored, not what it computed
_NOT_RECIPE_ARGS = {"use_cpu", "dataloader_num_workers", "dataloader_persistent_workers", "disable_tqdm"}
_NANO_SUBSET = re.compile(r"^Nano\w+_R\d+$")  # a NanoBEIR subset's evaluator name, e.g. NanoMSMARCO_R100
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


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


@dataclass(frozen=True)
class CardClaim:
    """One number of the card's ``model-index``: evaluator dataset name, metric and value (4 decimals)."""

    dataset: str
    metric: str
    value: float


@dataclass(frozen=True)
class StCard:
    """What a sentence-transformers trainer card records about a cross-encoder's training run."""

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

    def evaluator_of(self, dataset_name: str) -> CardEvaluator | None:
        return next((e for e in self.evaluators if dataset_name in e.names), None)


@dataclass
class CardRecipe:
    """A recipe rebuilt from a card, and what the card left unsaid (recipe key or topic -> why)."""

    source: ResolvedRef
    document: dict[str, Any]
    unknown: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """The unknown entries a run cannot do without."""
        return [key for key in self.unknown if is_required(key)]

    def to_yaml(self) -> str:
        """The recipe as a commented YAML file, ``unknown`` last."""
        header = (
            f"# Reconstructed by `hubrerank recipe from-card` from the card of {self.source}, written by\n"
            "# sentence-transformers' trainer. A card does not record everything a run needs: `unknown`\n"
            "# lists what it leaves out. Fill in the entries whose key is a recipe key (base_model, train,\n"
            "# loss, evaluation...) and delete them; the others are caveats `hubrerank reproduce` reports.\n"
        )
        document = dict(self.document)
        if self.unknown:
            document["unknown"] = dict(self.unknown)
        return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)


def is_required(key: str) -> bool:
    """True when an ``unknown`` entry names a recipe key a run needs (base_model, train, loss, evaluation)."""
    return _REQUIRED.match(key) is not None


def is_st_card(text: str) -> bool:
    """True when ``text`` is a cross-encoder card written by sentence-transformers' trainer."""
    tags = front_matter(text).get("tags") or []
    return "generated_from_trainer" in tags and "cross-encoder" in tags


def parse_card(text: str, source: str = "README.md") -> StCard:
    """Read a sentence-transformers trainer card; InputError when ``text`` is not one."""
    if not is_st_card(text):
        raise InputError(
            f"{source} was not written by sentence-transformers' trainer (no 'generated_from_trainer' and "
            "'cross-encoder' tags); only such cards record a training run"
        )
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
    )


def recipe_from_card(ref: ResolvedRef, text: str) -> CardRecipe:
    """Rebuild the recipe of the model at ``ref`` from its card ``text``, looking datasets up on the Hub."""
    card = parse_card(text, f"README.md of {ref}")
    built = CardRecipe(ref, {"hubrerank": 1, "name": _run_name(ref.repo_id)})
    document, unknown = built.document, built.unknown
    seed = card.all_args.get("seed", card.non_default_args.get("seed"))
    if isinstance(seed, int):
        document["seed"] = seed
    if card.base_model:
        document["base_model"] = {"repo": card.base_model, "revision": card.base_model_revision or "main"}
        if card.base_model_revision is None:
            unknown["base_model.revision"] = "the card names the base model but not its revision; pin one"
    else:
        unknown["base_model"] = "the card does not name the base model (it was loaded from a local folder)"
    document["model"] = {
        key: value
        for key, value in (("max_length", card.max_length), ("num_labels", card.num_labels))
        if value is not None
    }
    located = [_locate(dataset, index, ref, unknown) for index, dataset in enumerate(card.train_datasets)]
    document["train"] = [
        _train_entry(dataset, place, index, unknown)
        for index, (dataset, place) in enumerate(zip(card.train_datasets, located, strict=True))
        if place is not None
    ]
    if not card.train_datasets:
        unknown["train"] = "the card lists no training dataset"
    document["loss"] = _loss(card, ref, unknown)
    document["args"] = _args(card, unknown)
    sources = [place for place in located if place is not None]
    sources += [(d.id, d.revision or "main") for d in card.eval_datasets if d.id]
    document["evaluation"] = _evaluation(card, sources, built)
    unknown["data_preparation"] = (
        "how the training data was built (hard-negative mining parameters, filtering, preprocessing) is not "
        "in the card; the recipe trains on the published dataset revision as is"
    )
    if not document["evaluation"]:
        del document["evaluation"]
    return built


def match_claims(card: StCard, plan: dict[str, Any]) -> dict[str, tuple[str, int | None, str]]:
    """Where a re-run of ``plan`` measures each claimed evaluator: name -> (task, index, metric prefix).

    A reranking evaluator ``<name>-<split>`` matches the plan entry on split ``<split>`` of a dataset
    ``ORG/<name>``; evaluators left over match the entries left over in order, when they are as many
    (one evaluator the card does not place, and one entry the user added for it). NanoBEIR subsets and
    their mean match the plan's ``nanobeir`` task. The prefix is ``realistic_`` for evaluators that ran
    with ``always_rerank_positives=False``. Claimed evaluators that match nothing are left out.
    """
    matches: dict[str, tuple[str, int | None, str]] = {}
    entries = list(enumerate(plan.get("reranking") or []))
    pending = []
    for name in dict.fromkeys(claim.dataset for claim in card.claims):
        evaluator = card.evaluator_of(name)
        if evaluator is None:
            continue
        prefix = "realistic_" if evaluator.config.get("always_rerank_positives") is False else ""
        if evaluator.class_name == NANOBEIR_EVALUATOR or _NANO_SUBSET.match(name):
            if plan.get("nanobeir") and not prefix:  # hubrerank's NanoBEIR runs inject all positives
                matches[name] = ("nanobeir", None, prefix)
            continue
        if evaluator.class_name != RERANKING_EVALUATOR:
            continue
        index = next(
            (i for i, e in entries if f"{e['dataset'].split('/')[-1]}-{e.get('split')}" == name), None
        )
        if index is None:
            pending.append((name, prefix))
        else:
            matches[name] = ("reranking", index, prefix)
            entries = [(i, e) for i, e in entries if i != index]
    if pending and len(pending) == len(entries):
        for (name, prefix), (index, _) in zip(pending, entries, strict=True):
            matches[name] = ("reranking", index, prefix)
    return matches


# ---- reading the card ----------------------------------------------------------------------------------


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
    return CardEvaluator(
        class_name=class_name.group(1).rsplit(".", 1)[-1] if class_name else "",
        names=tuple(re.findall(r"`([^`]+)`", names.group(1))) if names else (),
        config=_json_after(block, "* Evaluated with"),
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
        return {}
    return value if isinstance(value, dict) else {}


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
            for metric in result.get("metrics") or []:
                value = metric.get("value")
                if isinstance(value, int | float) and not isinstance(value, bool) and metric.get("type"):
                    claims.append(CardClaim(dataset, str(metric["type"]), float(value)))
    return claims


def _int(match: re.Match[str] | None) -> int | None:
    return int(match.group(1)) if match else None


# ---- building the recipe -------------------------------------------------------------------------------


def _run_name(repo_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", repo_id.split("/")[-1]).lstrip("-_.")
    return name[:96] or "from-card"


def _locate(dataset: CardDataset, index: int, ref: ResolvedRef, unknown: dict[str, str]) -> Place | None:
    """A training dataset's (Hub id, revision): from the card, else guessed from its name in the model's
    namespace (the card names a dataset by name alone when sentence-transformers could not read its id
    and revision from the datasets library's download checksums, which datasets 4+ no longer records)."""
    from hubrerank.hub import resolve

    if dataset.id:
        return dataset.id, dataset.revision or "main"
    label = repr(dataset.name) if dataset.name else "the unnamed training dataset"
    if (
        dataset.name
        and "/" in ref.repo_id
        and _REPO_ID.match(guess := f"{ref.repo_id.split('/')[0]}/{dataset.name}")
    ):
        try:
            resolve(Ref(guess, None, "dataset"))
        except HubrerankError:
            pass
        else:
            unknown[f"guessed train[{index}]"] = (
                f"the card names {label} without its Hub id or revision; the recipe guesses {guess} (the "
                "model's namespace) at main: check it, and pin the revision the model was trained on"
            )
            return guess, "main"
    unknown[f"train[{index}]"] = f"the card names {label} without its Hub id or revision; give them"
    return None


def _train_entry(dataset: CardDataset, place: Place, index: int, unknown: dict[str, str]) -> dict[str, Any]:
    """The recipe entry of a located training dataset, with the config and split matching the card."""
    dataset_id, revision = place
    found = _find_split(dataset_id, revision, dataset.columns, dataset.size, prefer="train", exact=True)
    if found is None:
        unknown[f"train[{index}].split"] = (
            f"{dataset_id}@{revision} has no config/split with the card's {dataset.size} rows and columns "
            f"{', '.join(dataset.columns)}; give its config and split"
        )
        return {"dataset": dataset_id, "revision": revision}
    config, split = found
    return {"dataset": dataset_id, "revision": revision, "config": config, "split": split}


def _loss(card: StCard, source: ResolvedRef, unknown: dict[str, str]) -> dict[str, Any]:
    from hubrerank.training.losses import OBJECT_PARAMS, find_loss, loss_parameters

    losses = {(d.loss, json.dumps(d.loss_params, sort_keys=True)) for d in card.train_datasets if d.loss}
    if len(losses) != 1:
        unknown["loss"] = "the card names no loss" if not losses else "the card uses one loss per dataset"
        return {"name": None}
    name, _ = losses.pop()
    info = find_loss(name, f"the card of {source}")
    parameters = loss_parameters(info)
    params = {}
    for key, value in next(d.loss_params for d in card.train_datasets if d.loss).items():
        if isinstance(value, str) and key in OBJECT_PARAMS:
            value = value.rsplit(".", 1)[-1]
        default = parameters[key].default if key in parameters else inspect.Parameter.empty
        if default is not inspect.Parameter.empty and _same_object(value, default):
            continue
        params[key] = value
    return {"name": info.name, "params": params} if params else {"name": info.name}


def _same_object(value: Any, default: Any) -> bool:
    """True when a card value equals a signature default (objects compare by class name)."""
    if isinstance(default, bool | int | float | str | type(None)):
        return value == default
    return value == type(default).__name__


def _args(card: StCard, unknown: dict[str, str]) -> dict[str, Any]:
    from hubrerank.training.recipe import CONTROLLED_ARGS

    args = {}
    for key, value in card.non_default_args.items():
        if key in ("seed", "data_seed") or key in _NOT_RECIPE_ARGS or key.startswith(("hub_", "push_to_hub")):
            continue
        if key in CONTROLLED_ARGS:
            unknown[f"args.{key}"] = f"the card sets {key}={value!r}; hubrerank sets it itself"
            continue
        args[key] = value
    data_seed = card.all_args.get("data_seed")
    if data_seed is not None and data_seed != card.all_args.get("seed"):
        unknown["args.data_seed"] = (
            f"the card's data_seed {data_seed} differs from its seed; hubrerank uses one"
        )
    if card.all_args.get("load_best_model_at_end"):
        unknown["checkpoint_selection"] = (
            "the card's run kept its best checkpoint, but the card does not say by which metric nor how "
            "often it evaluated (eval_strategy, eval_steps)"
        )
    return args


def _evaluation(card: StCard, sources: list[Place], built: CardRecipe) -> dict[str, Any]:
    evaluation: dict[str, Any] = {}
    claimed = {claim.dataset for claim in card.claims}
    for evaluator in card.evaluators:
        if evaluator.class_name == NANOBEIR_EVALUATOR:
            _add_nanobeir(evaluator, evaluation, built)
            continue
        for name in evaluator.names:
            if name not in claimed or _NANO_SUBSET.match(name):  # NanoBEIR's subsets come with its mean
                continue
            if evaluator.class_name == RERANKING_EVALUATOR:
                _add_reranking(sources, evaluator, name, evaluation, built)
            else:
                built.unknown[f"evaluator {name}"] = (
                    f"{evaluator.class_name or 'an unnamed evaluator'} is not one hubrerank re-runs "
                    "(it re-runs reranking and NanoBEIR evaluators); its claims are not checked"
                )
    return evaluation


def _add_reranking(
    sources: list[Place], evaluator: CardEvaluator, name: str, evaluation: dict[str, Any], built: CardRecipe
) -> None:
    found = _evaluator_data(sources, name)
    if found is None:
        built.unknown[f"evaluation.reranking ({name})"] = (
            f"the card names the evaluator data {name!r} but not the Hub dataset it came from; add an "
            f"evaluation.reranking entry for it (hubrerank names evaluators <dataset name>-<split>)"
        )
        return
    dataset, revision, config, split = found
    entry = {"dataset": dataset, "revision": revision, "config": config, "split": split}
    evaluation.setdefault("reranking", []).append({**entry, "at_k": int(evaluator.config.get("at_k", 10))})


def _add_nanobeir(
    card: StCard, evaluator: CardEvaluator, evaluation: dict[str, Any], built: CardRecipe
) -> None:
    from hubrerank.evaluation.nanobeir import DEFAULT_DATASET as NANOBEIR_REPO

    config = evaluator.config
    dataset = config.get("dataset_id") or NANOBEIR_REPO
    names = config.get("dataset_names")
    if not names or not _REPO_ID.match(str(dataset)):
        built.unknown["evaluation.nanobeir"] = (
            f"the card's NanoBEIR evaluator ran on {dataset!r}, which is not a Hub dataset"
            if names
            else "the card's NanoBEIR evaluator does not list its datasets"
        )
        return
    evaluation["nanobeir"] = {
        "dataset": dataset,
        "revision": "main",
        "datasets": [str(name).lower() for name in names],
        "rerank_k": int(config.get("rerank_k", 100)),
        "at_k": int(config.get("at_k", 10)),
    }
    built.unknown["nanobeir_revision"] = (
        "sentence-transformers does not record which revision of the NanoBEIR data it evaluated on; the "
        "recipe reads main, which may have changed since"
    )


def _evaluator_data(sources: list[Place], name: str) -> tuple[str, str, str, str] | None:
    """(dataset, revision, config, split) of evaluator ``name``: ``<repo name>-<split>`` of a card dataset."""
    for dataset_id, revision in sources:
        stem = dataset_id.split("/")[-1] + "-"
        if name.startswith(stem):
            split = name[len(stem) :]
            found = _find_split(dataset_id, revision, RERANKING_COLUMNS, None, prefer=split, split=split)
            if found is not None:
                return dataset_id, revision, found[0], found[1]
    return None


def _find_split(
    dataset: str,
    revision: str,
    columns: tuple[str, ...],
    size: int | None,
    *,
    prefer: str,
    split: str | None = None,
    exact: bool = False,
) -> tuple[str, str] | None:
    """The (config, split) of ``dataset@revision`` that has ``columns`` (exactly those, in that order, when
    ``exact``: the trainer reads inputs by position) and ``size`` rows; among several, the split named
    ``prefer``. ``split`` restricts the search to splits of that name."""
    from hubrerank.hub import dataset_layout, load_dataset_split, resolve

    if not SHA_PATTERN.match(revision):
        revision = resolve(Ref(dataset, revision, "dataset")).sha
    matches = []
    for config, splits in dataset_layout(dataset, revision).items():
        for name in splits:
            if split is not None and name != split:
                continue
            loaded = load_dataset_split(dataset, config, name, revision)
            names = tuple(loaded.column_names)
            has_columns = names == columns if exact else set(columns) <= set(names)
            if has_columns and (size is None or loaded.num_rows == size):
                matches.append((config, name))
    if len(matches) > 1:
        matches = [match for match in matches if match[1] == prefer] or matches
    return matches[0] if len(matches) == 1 else None
