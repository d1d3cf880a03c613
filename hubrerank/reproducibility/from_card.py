"""A hubrerank recipe rebuilt from a model card written by sentence-transformers' trainer.

A repo hubrerank did not make has no hubrerank.yaml, but the card sentence-transformers' trainer wrote
records most of a run (:mod:`hubrerank.reproducibility.st_card` reads it). :func:`recipe_from_card` turns
it into a hubrerank recipe, looks up on the Hub what the card leaves implicit (a dataset's config and
split, from its size and columns) and lists under ``unknown`` what the card does not say at all (mining
parameters, preprocessing, how a checkpoint was chosen, ...).

An evaluator's data is found by the naming convention hubrerank itself uses: an evaluator called
``<name>-<split>`` ran on split ``<split>`` of a dataset ``ORG/<name>`` the card names.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from hubrerank.errors import HubrerankError
from hubrerank.kinds.spec import DEFAULT_KIND, RANKED_TASKS, KindSpec, get_kind
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.reproducibility.card_claims import (
    BI_NANO_NAME,
    NANO_SUBSET,
    NANOBEIR_EVALUATOR,
    is_retrieval_nanobeir,
    nanobeir_subset,
    unset_settings,
)
from hubrerank.reproducibility.card_loss import REPO_ID, loss_from_card
from hubrerank.reproducibility.st_card import CardDataset, CardEvaluator, StCard, parse_card

Place = tuple[str, str]  # a dataset's Hub id and revision

RERANKING_COLUMNS = ("query", "positive")
# CardRecipe.unknown keys naming these recipe keys must be filled in before the recipe can run; the
# other keys (data_preparation, checkpoint_selection, guessed ..., ...) are caveats
_REQUIRED = re.compile(r"^(base_model|train|loss|evaluation)(?=[.\[ ]|$)")
# training arguments that say where, how fast or how a run was logged, stored, spread over devices or
# evaluated, not what it trained: left out of recipes, and not reported when a card does not list them
NOT_RECIPE_ARGS = frozenset(
    (  # noqa: SIM905 (a word list)
        "output_dir overwrite_output_dir run_name report_to project disable_tqdm use_cpu no_cuda "
        "use_mps_device use_ipex local_rank debug skip_memory_metrics past_index do_train do_eval do_predict "
        "dataloader_num_workers dataloader_pin_memory dataloader_persistent_workers "
        "dataloader_prefetch_factor dataloader_multiprocessing_context accelerator_config parallelism_config "
        "deepspeed mp_parameters ray_scope jit_mode_eval use_legacy_prediction_loop prediction_loss_only "
        "batch_eval_metrics resume_from_checkpoint restore_callback_states_from_checkpoint ignore_data_skip "
        "torch_empty_cache_steps gradient_checkpointing gradient_checkpointing_kwargs "
        "activation_checkpointing activation_checkpointing_kwargs enable_jit_checkpoint use_cache "
        "auto_find_batch_size average_tokens_across_devices split_batches dispatch_batches eval_on_start "
        "eval_delay eval_accumulation_steps eval_do_concat_batches eval_use_gather_object bf16_full_eval "
        "fp16_full_eval fp16_backend half_precision_backend fp16_opt_level label_names length_column_name "
        "per_gpu_train_batch_size per_gpu_eval_batch_size per_device_eval_batch_size tf32 torchdynamo "
        "include_for_metrics dataloader_in_order "
    ).split()
)
_NOT_RECIPE_PREFIXES = ("logging_", "log_", "save_", "hub_", "push_to_hub", "ddp_", "fsdp", "tpu_")
_NOT_RECIPE_PREFIXES += ("trackio_", "torch_compile", "include_")
# what CrossEncoder.fit() (sentence-transformers 4.0 to 6.2) trains with unless its call says otherwise: it
# builds its own AdamW and WarmupLinear scheduler, so the card's hyperparameters do not show these
_FIT_DEFAULTS = {
    "learning_rate": 2e-5,
    "weight_decay": 0.01,
    "warmup_steps": 10000,
    "lr_scheduler_type": "linear",
    "optim": "adamw_torch",
}
_FIT_COLUMNS = ("sentence_0", "sentence_1")  # fit() turns its InputExamples into these columns
# NanoBEIREvaluator parameters hubrerank's NanoBEIR retrieval does not take (it encodes as the model does)
_NANOBEIR_UNSET = frozenset(("truncate_dim", "query_prompts", "corpus_prompts"))


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


def recipe_from_card(ref: ResolvedRef, text: str) -> CardRecipe:
    """Rebuild the recipe of the model at ``ref`` from its card ``text``, looking datasets up on the Hub
    (metadata only). What the card does not say, or says of data the Hub cannot serve, goes to ``unknown``."""
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
    spec = get_kind(card.kind)
    document["model"] = {"kind": spec.name} if spec.name != DEFAULT_KIND else {}
    document["model"] |= {
        key: value
        for key, value in (("max_length", card.max_length), ("num_labels", card.num_labels))
        if value is not None and key in ("max_length", *spec.model_keys)
    }
    _note_modules(card, spec, unknown)
    located = [_locate(dataset, index, ref, unknown) for index, dataset in enumerate(card.train_datasets)]
    document["train"] = [
        _train_entry(dataset, place, index, unknown)
        for index, (dataset, place) in enumerate(zip(card.train_datasets, located, strict=True))
        if place is not None
    ]
    if not card.train_datasets:
        unknown["train"] = "the card lists no training dataset"
    document["loss"] = loss_from_card(card, ref, unknown)
    document["args"] = _args(card, unknown)
    sources = [place for place in located if place is not None]
    sources += [(d.id, d.revision or "main") for d in card.eval_datasets if d.id]
    document["evaluation"] = _evaluation(card, sources, built)
    _drop_eval_schedule(card, document["args"], unknown)
    unknown["data_preparation"] = (
        "how the training data was built (hard-negative mining parameters, filtering, preprocessing) is not "
        "in the card; the recipe trains on the published dataset revision as is"
    )
    if not document["evaluation"]:
        del document["evaluation"]
    if card.versions:
        document["environment"] = dict(card.versions)  # what the card's run used; ignored as input
    return built


def _run_name(repo_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", repo_id.split("/")[-1]).lstrip("-_.")
    return name[:96] or "from-card"


def _locate(dataset: CardDataset, index: int, ref: ResolvedRef, unknown: dict[str, str]) -> Place | None:
    """A training dataset's (Hub id, revision): from the card, else guessed from its name in the model's
    namespace (the card names a dataset by name alone when sentence-transformers could not read its id
    and revision from the datasets library's download checksums, which datasets 4+ no longer records).
    A revision the card does not give is a guess (main), listed in ``unknown``."""
    from hubrerank.hub import resolve

    if dataset.id:
        if dataset.revision is None:
            unknown[f"guessed train[{index}].revision"] = (
                f"the card names {dataset.id} without a revision; the recipe reads main, which may have "
                "changed since: pin the revision the model was trained on"
            )
        return dataset.id, dataset.revision or "main"
    label = repr(dataset.name) if dataset.name else "the unnamed training dataset"
    if (
        dataset.name
        and "/" in ref.repo_id
        and REPO_ID.match(guess := f"{ref.repo_id.split('/')[0]}/{dataset.name}")
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
    """The recipe entry of a located training dataset, with the config and split matching the card; a
    dataset the Hub cannot serve keeps its id and revision and is listed in ``unknown``."""
    dataset_id, revision = place
    entry = {"dataset": dataset_id, "revision": revision}
    try:
        found = _find_split(dataset_id, revision, dataset.columns, dataset.size, prefer="train", exact=True)
    except HubrerankError as error:
        unknown[f"train[{index}]"] = (
            f"the card's training dataset {dataset_id}@{revision} cannot be read on the Hub ({error}); "
            "publish it there or give a dataset, revision, config and split that hold the same rows"
        )
        return entry
    if found is None:
        unknown[f"train[{index}].split"] = (
            f"{dataset_id}@{revision} has no config/split with the card's {dataset.size} rows and columns "
            f"{', '.join(dataset.columns)}; give its config and split"
        )
        return entry
    config, split = found
    return {**entry, "config": config, "split": split}


def _note_modules(card: StCard, spec: KindSpec, unknown: dict[str, str]) -> None:
    """List a module stack the recipe may not rebuild: a cross-encoder is built as one
    sequence-classification Transformer; a bi-encoder keeps its base model's stack (a plain checkpoint gets
    mean Pooling), which the card does not show."""
    if card.modules and card.modules not in spec.st_card_modules:
        built = " or ".join(" -> ".join(stack) for stack in spec.st_card_modules)
        unknown["model.modules"] = (
            f"the card's model is {' -> '.join(card.modules)}; hubrerank builds a {spec.name} as {built}, "
            "so the recipe may not reproduce the other modules (nor their initialisation)"
        )


def _args(card: StCard, unknown: dict[str, str]) -> dict[str, Any]:
    """The card's training arguments that differ from today's defaults (All Hyperparameters, else the
    non-default ones): a default that changed since the card was written is written out, so it holds."""
    from hubrerank.errors import RecipeError
    from hubrerank.training.recipe import CONTROLLED_ARGS, check_argument

    defaults = _today_defaults(card.kind)
    recorded = card.all_args or card.non_default_args
    args = {}
    for key, value in recorded.items():
        if key in ("seed", "data_seed") or not _is_recipe_arg(key):
            continue
        if key not in defaults:
            if not _is_off(value):
                unknown[f"args.{key}"] = (
                    f"the card sets {key}={value!r}, which today's transformers no longer has; left out"
                )
            continue
        value = _card_value(value, defaults[key])
        if _same_value(value, defaults[key]):
            continue
        if key in CONTROLLED_ARGS:
            unknown[f"args.{key}"] = f"the card sets {key}={value!r}; hubrerank sets it itself"
            continue
        try:
            check_argument(key, value, "the card", card.kind)
        except RecipeError as error:
            unknown[f"args.{key}"] = f"{error}; left out"
            continue
        args[key] = value
    # an argument the card does not list matters when today's default does something (a feature that is
    # off by default, and so was off in a release that did not have it, does not)
    unrecorded = sorted(
        key
        for key, default in defaults.items()
        if key not in recorded and _is_recipe_arg(key) and key not in CONTROLLED_ARGS and not _is_off(default)
    )
    if not card.all_args:
        unknown["args (defaults)"] = (
            "the card lists only its non-default hyperparameters: the recipe takes today's defaults for the "
            "others, which may differ from the defaults of the card's transformers"
        )
    elif unrecorded:
        unknown["args (unrecorded)"] = (
            f"the card's hyperparameters do not list {', '.join(unrecorded)}; the recipe takes today's "
            "defaults for them"
        )
    if _is_fit(card):
        for key, value in _FIT_DEFAULTS.items():
            printed = recorded.get(key)
            args[key] = value
            if key != "optim":
                unknown[f"args.{key}"] = (
                    "the card was written by CrossEncoder.fit(), which builds its own optimizer and "
                    f"scheduler: the card's {key}={printed!r} did not run; the recipe takes fit()'s default "
                    f"{value!r}, which the fit() call may have overridden (the card cannot say)"
                )
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


def _is_fit(card: StCard) -> bool:
    """True for a card ``CrossEncoder.fit()`` wrote: it records FitMixinLoss, or trains on the unnamed
    dataset fit() makes of its DataLoader (columns sentence_0, sentence_1, ...)."""
    data = card.train_datasets
    if any(d.loss == "FitMixinLoss" for d in data):
        return True
    return bool(data) and all(d.name is None and d.columns[:2] == _FIT_COLUMNS for d in data)


def _drop_eval_schedule(card: StCard, args: dict[str, Any], unknown: dict[str, str]) -> None:
    """Move an evaluation schedule out of ``args``: hubrerank evaluates during training only with an eval
    split (to keep the best checkpoint), which a card does not name; evaluating does not change the
    weights a run ends with when it does not keep its best checkpoint."""
    strategy = args.pop("eval_strategy", "no")
    steps = args.pop("eval_steps", None)
    if strategy == "no":
        return
    on = "its evaluation dataset and evaluators" if card.eval_datasets else "its evaluators"
    schedule = f"eval_strategy={strategy}" + (f", eval_steps={steps}" if steps is not None else "")
    unknown["args.eval_strategy"] = (
        f"the card's run evaluated during training ({schedule}) on {on}; hubrerank does so only with an eval "
        "split, so the recipe evaluates after training only (the trained weights are the same)"
    )


@functools.cache
def _today_defaults(kind: str) -> dict[str, Any]:
    """Today's defaults of the training arguments of ``kind``, by field (enum defaults as their values)."""
    arguments_class = get_kind(kind).load("training_arguments_class")
    defaults = {}
    for item in dataclasses.fields(arguments_class):
        if not item.init:
            continue
        if item.default is not dataclasses.MISSING:
            value = item.default
        elif item.default_factory is not dataclasses.MISSING:
            value = item.default_factory()
        else:
            continue
        defaults[item.name] = value.value if isinstance(value, enum.Enum) else value
    return defaults


def _is_recipe_arg(key: str) -> bool:
    return key not in NOT_RECIPE_ARGS and not key.startswith(_NOT_RECIPE_PREFIXES)


def _is_off(value: Any) -> bool:
    """True for the values that mean "not set": None, False, 0, empty strings and containers."""
    return value is None or (not isinstance(value, float | int) and not value) or value == 0


def _card_value(value: Any, default: Any) -> Any:
    """A card's printed value as the argument takes it (``BatchSamplers.NO_DUPLICATES``: no_duplicates)."""
    if isinstance(value, str) and isinstance(default, str) and "." in value:
        prefix, member = value.rsplit(".", 1)
        if prefix.isidentifier() and prefix[0].isupper() and member.isupper():
            return member.lower()
    return value


def _same_value(value: Any, default: Any) -> bool:
    return value == default or (_is_off(value) and _is_off(default))


def _evaluation(card: StCard, sources: list[Place], built: CardRecipe) -> dict[str, Any]:
    """The evaluation plan of the card's evaluators hubrerank re-runs: the kind's split evaluators (reranking
    for a cross-encoder; information retrieval and TripletEvaluator for a bi-encoder) on a split of a Hub
    dataset, and NanoBEIR (CrossEncoderNanoBEIREvaluator, or a bi-encoder's NanoBEIREvaluator, its subsets
    read from the names of their claims); the others are listed in ``unknown``."""
    spec = get_kind(card.kind)
    rerun = " and ".join(spec.split_evaluators)
    evaluation: dict[str, Any] = {}
    claimed = {claim.dataset for claim in card.claims}
    subsets: list[str] = []  # a retriever's NanoBEIR subsets, by the names of their claims
    settings_unset = False  # the retriever's NanoBEIREvaluator ran with settings hubrerank does not set
    for evaluator in card.evaluators:
        if evaluator.class_name == NANOBEIR_EVALUATOR:
            _add_nanobeir(evaluator.config, int(evaluator.config.get("at_k", 10)), True, evaluation, built)
            continue
        for name in evaluator.names:
            if name not in claimed or NANO_SUBSET.match(name):  # NanoBEIR's subsets come with its mean
                continue
            if is_retrieval_nanobeir(spec, evaluator, name):
                subset = nanobeir_subset(name)
                if subset is not None:
                    subsets.append(subset)
                elif unset := sorted(_NANOBEIR_UNSET & set(evaluator.config)):
                    built.unknown[f"evaluator {name}"] = (
                        f"NanoBEIREvaluator on {name!r} ran with {', '.join(unset)}, which hubrerank's "
                        "NanoBEIR retrieval does not set; its claims and its subsets' are not checked"
                    )
                    settings_unset = True
                elif evaluator.config:  # the mean's section prints the evaluator's parameters
                    _add_nanobeir(evaluator.config, _claimed_at_k(card, name), False, evaluation, built)
            elif BI_NANO_NAME.match(name):
                built.unknown[f"evaluator {name}"] = (
                    f"{name!r} is named like a NanoBEIR dataset, but is no NanoBEIR subset hubrerank re-runs "
                    f"for a {spec.name}; its claims are not checked"
                )
            elif evaluator.class_name in spec.split_evaluators:
                task = spec.split_evaluators[evaluator.class_name]
                if unset := unset_settings(task, evaluator):
                    built.unknown[f"evaluator {name}"] = (
                        f"{evaluator.class_name} on {name!r} ran with {', '.join(unset)}, which hubrerank's "
                        f"evaluation.{task} does not set; its claims are not checked"
                    )
                else:
                    _add_split_evaluation(task, sources, evaluator, name, evaluation, built)
            else:
                built.unknown[f"evaluator {name}"] = (
                    f"{evaluator.class_name or 'an unnamed evaluator'} on {name!r} is not one hubrerank "
                    f"re-runs for a {spec.name} (it re-runs {rerun} on a Hub dataset split and NanoBEIR); "
                    "its claims are not checked"
                )
    if (
        subsets
        and not settings_unset
        and "nanobeir" not in evaluation
        and "evaluation.nanobeir" not in built.unknown
    ):
        names = [name for name in claimed if nanobeir_subset(name)]
        at_k = max(_claimed_at_k(card, name) for name in names)
        _add_nanobeir({"dataset_names": list(dict.fromkeys(subsets))}, at_k, False, evaluation, built)
    return evaluation


def _claimed_at_k(card: StCard, name: str) -> int:
    """The NDCG cut-off of evaluator ``name``'s claims (``cosine_ndcg@10``: 10), 10 when none is claimed."""
    cuts = [
        int(m.group(1))
        for c in card.claims
        if c.dataset == name and (m := re.search(r"ndcg@(\d+)$", c.metric))
    ]
    return max(cuts, default=10)


def _add_split_evaluation(
    task: str,
    sources: list[Place],
    evaluator: CardEvaluator,
    name: str,
    evaluation: dict[str, Any],
    built: CardRecipe,
) -> None:
    """An ``evaluation.<task>`` entry (reranking, retrieval or triplet) for evaluator ``name``, found by
    hubrerank's ``<dataset name>-<split>`` convention among the card's datasets, else guessed in the model's
    namespace (listed), else a gap."""
    found = _evaluator_data(task, sources, name, built.unknown)
    if found is None and f"evaluation.{task} ({name})" not in built.unknown:
        found = _guess_evaluator_data(built.source.repo_id, name, _task_columns(task))
        if found is not None:
            built.unknown[f"guessed evaluation.{task} ({name})"] = (
                f"the card names the evaluator data {name!r} only; the recipe guesses split {found[3]!r} of "
                f"{found[0]} (the model's namespace) at main: check it, and pin the revision it ran on"
            )
    if found is None:
        built.unknown.setdefault(
            f"evaluation.{task} ({name})",
            f"the card names the evaluator data {name!r} but not the Hub dataset it came from; add an "
            f"evaluation.{task} entry for it (hubrerank names evaluators <dataset name>-<split>)",
        )
        return
    dataset, revision, config, split = found
    entry = {"dataset": dataset, "revision": revision, "config": config, "split": split}
    if task in RANKED_TASKS:  # a reranking evaluator's at_k; InformationRetrievalEvaluator's NDCG cut-offs
        entry["at_k"] = int(evaluator.config.get("at_k", max(evaluator.config.get("ndcg_at_k") or [10])))
    evaluation.setdefault(task, []).append(entry)


def _guess_evaluator_data(
    repo_id: str, name: str, columns: tuple[str, ...]
) -> tuple[str, str, str, str] | None:
    """(dataset, "main", config, split) for evaluator ``<dataset name>-<split>`` when the model's namespace
    has a dataset of that name with that split showing ``columns`` (the card names neither)."""
    if "/" not in repo_id:
        return None
    parts = name.split("-")
    for cut in range(len(parts) - 1, 0, -1):
        guess, split = f"{repo_id.split('/')[0]}/{'-'.join(parts[:cut])}", "-".join(parts[cut:])
        if not REPO_ID.match(guess):
            continue
        try:
            found = _find_split(guess, "main", columns, None, prefer=split, split=split)
        except HubrerankError:
            continue
        if found is not None:
            return guess, "main", found[0], found[1]
    return None


def _add_nanobeir(
    config: dict[str, Any], at_k: int, reranks: bool, evaluation: dict[str, Any], built: CardRecipe
) -> None:
    """``evaluation.nanobeir`` from a NanoBEIR evaluator's parameters (``dataset_names``, ``dataset_id``,
    a reranker's ``rerank_k`` and ``always_rerank_positives``); a dataset the card does not name is the
    evaluator's default, a guess."""
    from hubrerank.evaluation.nanobeir import DEFAULT_DATASET as NANOBEIR_REPO

    dataset = config.get("dataset_id") or NANOBEIR_REPO
    names = config.get("dataset_names")
    if not names or not REPO_ID.match(str(dataset)):
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
        **({"rerank_k": int(config.get("rerank_k", 100))} if reranks else {}),
        "at_k": at_k,
    }
    if reranks and config.get("always_rerank_positives") is False:  # the realistic setting, re-run as such
        evaluation["nanobeir"]["always_rerank_positives"] = False
    if not reranks and "dataset_id" not in config:
        built.unknown["guessed evaluation.nanobeir.dataset"] = (
            f"the card does not name the NanoBEIR dataset its NanoBEIREvaluator read; the recipe reads "
            f"{NANOBEIR_REPO}, the evaluator's default: check it"
        )
    built.unknown["nanobeir_revision"] = (
        "sentence-transformers does not record which revision of the NanoBEIR data it evaluated on; the "
        "recipe reads main, which may have changed since"
    )


def _evaluator_data(
    task: str, sources: list[Place], name: str, unknown: dict[str, str]
) -> tuple[str, str, str, str] | None:
    """(dataset, revision, config, split) of evaluator ``name``: ``<repo name>-<split>`` of a card dataset."""
    for dataset_id, revision in sources:
        stem = dataset_id.split("/")[-1] + "-"
        if name.startswith(stem):
            split = name[len(stem) :]
            try:
                found = _find_split(
                    dataset_id, revision, _task_columns(task), None, prefer=split, split=split
                )
            except HubrerankError as error:
                unknown[f"evaluation.{task} ({name})"] = (
                    f"the evaluator data {name!r} is split {split!r} of {dataset_id}@{revision}, which "
                    f"cannot be read on the Hub ({error}); add an evaluation.{task} entry for it"
                )
                return None
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
    """The (config, split) of ``dataset@revision`` whose metadata shows ``columns`` (exactly those, in that
    order, when ``exact``: the trainer reads inputs by position) and ``size`` rows; among several, the split
    named ``prefer``. ``split`` restricts the search to splits of that name. Reads the Hub's metadata only
    (:func:`hubrerank.hub.dataset_splits`): columns or rows it does not record do not rule a split out."""
    from hubrerank.hub import dataset_splits, resolve

    matches = []
    for info in dataset_splits(resolve(Ref(dataset, revision, "dataset"))):
        if split is not None and info.split != split:
            continue
        if info.columns is not None:
            has_columns = info.columns == columns if exact else set(columns) <= set(info.columns)
            if not has_columns:
                continue
        if size is None or info.rows is None or info.rows == size:
            matches.append((info.config, info.split))
    if len(matches) > 1:
        matches = [match for match in matches if match[1] == prefer] or matches
    return matches[0] if len(matches) == 1 else None


def _task_columns(task: str) -> tuple[str, ...]:
    """The columns a split task's data must show: the reranking form for a ranked task (reranking,
    retrieval); none by name for triplets (any three string columns, checked when they run)."""
    return RERANKING_COLUMNS if task in RANKED_TASKS else ()
