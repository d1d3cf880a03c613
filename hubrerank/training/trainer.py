"""Train a model of the recipe's kind (a cross-encoder, or a bi-encoder retriever) reproducibly, and
write (or publish) the model with its record.

``train`` pins every reference to a commit sha first, refuses inputs that cannot work (weights that
are not safetensors, a base model of another kind, dataset columns that do not fit the loss) before any
training, seeds the model's construction, trains with the kind's trainer (``CrossEncoderTrainer``,
``SentenceTransformerTrainer``) keeping the best checkpoint by the eval split's ndcg@k, evaluates the
result with :func:`hubrerank.evaluation.run_evaluations` and writes the model
folder: weights, README card, ``hubrerank.yaml`` (the resolved recipe, environment, metrics and
training statistics), ``eval_results.json`` and ``training_log.jsonl``. Under ``torchrun`` every rank
trains on the shas rank 0 resolved, and only rank 0 writes or publishes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hubrerank.errors import HubrerankError, InputError, RecipeError
from hubrerank.hub import check_can_publish, first_line, resolve
from hubrerank.kinds.spec import ENCODER_RERANKING, SPLIT_TASKS
from hubrerank.paths import check_writable
from hubrerank.record import (
    CARD_FILE,
    RECIPE_FILE,
    RESULTS_FILE,
    EvalResults,
    LogRow,
    RunRecord,
    metric_key,
    read_results,
    read_run_record,
    write_log,
    write_results,
    write_run_record,
)
from hubrerank.refs import ResolvedRef
from hubrerank.training.inputs import load_eval_inputs, load_train_data
from hubrerank.training.losses import OBJECT_PARAMS, TENSOR_PARAMS
from hubrerank.training.recipe import Recipe, load_recipe

if TYPE_CHECKING:
    from accelerate import PartialState
    from datasets import Dataset

CHECKPOINTS = "checkpoints"
RUN_FILE = "hubrerank-run.yaml"  # the pinned recipe of an unfinished run, inside CHECKPOINTS
T = TypeVar("T")


@dataclass(frozen=True)
class TrainResult:
    """A finished run: its folder, the pinned recipe as recorded, the evaluation results and the push."""

    output_dir: Path
    record: RunRecord
    results: EvalResults
    pushed: ResolvedRef | None


def train(
    recipe: Recipe,
    output_dir: Path | None = None,
    *,
    push: str | None = None,
    resume: bool = False,
    trust_remote_code: bool = False,
    echo: Callable[[str], None] = print,
) -> TrainResult:
    """Train ``recipe`` into ``output_dir`` (default ``out/<name>``), optionally publishing it to ``push``.

    With ``resume`` an interrupted run in ``output_dir`` continues from its last checkpoint, on the
    shas it was started with; a finished one is only published (when ``push`` is given).
    """
    from accelerate import PartialState

    state = PartialState(cpu=_cpu_ddp())
    if push:  # a malformed repo id or one the token may not write to fails now, not after training
        _on_main(state, lambda: check_can_publish(push, "model"))
    out = Path(output_dir) if output_dir else Path("out") / recipe.name
    say = echo if state.is_main_process else _silent
    finished = _check_output_dir(out, resume)
    state.wait_for_everyone()
    if finished is not None:
        _check_same_run(recipe, finished, out / RECIPE_FILE)
        say(f"{out} already holds the finished run {recipe.name}")
        pushed = _on_main(state, lambda: _publish(out, push, say)) if push else None
        return TrainResult(out, finished.document, read_results(out / RESULTS_FILE), pushed)

    pinned = _on_main(state, lambda: _pin(recipe, out, resume))
    for path, node, _ in pinned.refs():
        repo = node.get("repo") or node["dataset"]
        say(f"{path}: {repo}@{node['requested']} -> {node['revision']}")
    say(f"model.kind: {pinned.kind.name}")
    model_path = _main_first(state, lambda: fetch_base_model(pinned, trust_remote_code))
    check_base_kind(pinned, model_path)
    guide_path = (
        _main_first(state, lambda: fetch_guide_model(pinned)) if "guide" in pinned.document["loss"] else None
    )
    train_data = _main_first(state, lambda: load_train_data(pinned))
    eval_inputs = _main_first(state, lambda: load_eval_inputs(pinned)) if pinned.eval else None

    trainer = _build_trainer(pinned, model_path, out, train_data, eval_inputs, trust_remote_code, guide_path)
    checkpoint = last_checkpoint(out / CHECKPOINTS) if resume else None
    if checkpoint:
        say(f"resuming from {checkpoint}")
    elif resume:
        say(f"no complete checkpoint in {out / CHECKPOINTS}: starting over on the run's shas")
    elif state.is_main_process:  # every check passed: from here on the run can be resumed
        (out / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        (out / CHECKPOINTS / RUN_FILE).write_text(pinned.to_yaml(), encoding="utf-8")
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    if trainer.state.global_step == 0:
        if not resume:
            shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
        raise InputError(_no_batch(pinned, trainer.args, state.num_processes))

    if not state.is_main_process:
        # rank 0 alone evaluates, writes and publishes; waiting for it could outlast the DDP timeout
        return TrainResult(out, {}, {}, None)
    trainer.model.save(str(out), create_model_card=False)  # the card is rendered from the record
    tasks = [
        f"{node['dataset']}:{node['split']}"
        for task in SPLIT_TASKS
        for node in pinned.evaluation.get(task, [])
    ]
    tasks += ["NanoBEIR"] if pinned.evaluation.get("nanobeir") else []
    say(f"evaluating {out} on {', '.join(tasks) or 'nothing (the recipe has no evaluation section)'}")
    results = evaluate(out, pinned.evaluation, progress=not trainer.args.disable_tqdm)
    from hubrerank.evaluation.encoder_reranking import encoder_reranking_headline
    from hubrerank.evaluation.report import headline
    from hubrerank.evaluation.retrieval import retrieval_headline
    from hubrerank.evaluation.sparse_retrieval import sparsity_line
    from hubrerank.evaluation.triplet import triplet_headline

    for result in results["results"]:
        if result["task"] == "reranking":
            say(headline(result))
        elif result["task"] == "retrieval":
            say(retrieval_headline(result))
            if "avg_flops" in result["metrics"]:  # a sparse encoder's retrieval reports its sparsity
                say(sparsity_line(result["metrics"]))
        elif result["task"] == "triplet":
            say(triplet_headline(result))
        elif result["task"] == ENCODER_RERANKING:
            say(encoder_reranking_headline(result))
    record = _record(pinned, trainer, output.metrics, train_data, state, results)
    _write_outputs(out, record, results, trainer.state.log_history)
    shutil.rmtree(out / CHECKPOINTS)
    say(f"wrote {out}")
    return TrainResult(out, record, results, _publish(out, push, say) if push else None)


def train_file(
    path: Path,
    overrides: list[str],
    output_dir: Path | None = None,
    **options: Any,
) -> TrainResult:
    """Load the recipe at ``path`` with ``--set`` style ``overrides`` and :func:`train` it."""
    return train(load_recipe(path, overrides), output_dir, **options)


def fetch_base_model(recipe: Recipe, trust_remote_code: bool = False) -> Path:
    """The pinned base model's configs, tokenizer and safetensors weights (hub.fetch_model)."""
    from hubrerank.hub import fetch_model

    node = recipe.base_model
    ref = ResolvedRef(node["repo"], node["revision"], "model", node.get("requested", node["revision"]))
    return fetch_model(ref, what="base model", trust_remote_code=trust_remote_code)


def check_base_kind(recipe: Recipe, model_path: Path) -> None:
    """Refuse a base model the recipe's kind cannot start from: a retriever recipe (bi-encoder, sparse
    encoder, multi-vector) on a cross-encoder or on a retriever of another kind (the folder's modules are
    loaded as they are), and CSRLoss on a model without a SparseAutoEncoder, whose reconstruction it
    trains. (A cross-encoder recipe may start from a bi-encoder, as the demo does from all-MiniLM-L6-v2: its
    encoder gets a new scoring head; so may a sparse encoder: ``SparseEncoder`` appends a
    ``SparseAutoEncoder`` to the embedding model's modules, a CSR model.)"""
    from hubrerank.kinds import model_kind
    from hubrerank.kinds.detect import module_classes

    found = model_kind(model_path)
    kind = recipe.kind.name
    retrievers = ("bi-encoder", "sparse-encoder", "multi-vector")
    csr_base = kind == "sparse-encoder" and found == "bi-encoder"
    if found != kind and (kind in retrievers and found in ("cross-encoder", *retrievers)) and not csr_base:
        start = {
            "sparse-encoder": "a masked-LM checkpoint, an embedding model or a SparseEncoder",
            "multi-vector": "a plain checkpoint or a MultiVectorEncoder",
        }.get(kind, "an embedding model or a plain checkpoint")
        raise RecipeError(
            f"{recipe.source}: model.kind is {kind} but base_model {recipe.base_model['repo']} is a "
            f"{found}; choose {start}, or set model.kind to {found}"
        )
    if recipe.document["loss"]["name"] == "CSRLoss" and not (
        csr_base or "SparseAutoEncoder" in module_classes(model_path)
    ):
        raise RecipeError(
            f"{recipe.source}: loss.name: CSRLoss trains a SparseAutoEncoder, which a model from base_model "
            f"{recipe.base_model['repo']} would not have; start from an embedding model (a bi-encoder), "
            "which becomes a CSR model, or from a SparseEncoder with one"
        )


def fetch_guide_model(recipe: Recipe) -> Path:
    """The pinned guide model of a GISTEmbedLoss recipe (``loss.guide``), as hub.fetch_model gives it."""
    from hubrerank.hub import fetch_model

    node = recipe.document["loss"]["guide"]
    ref = ResolvedRef(node["repo"], node["revision"], "model", node.get("requested", node["revision"]))
    return fetch_model(ref, what="guide model")


def build_loss(recipe: Recipe, model: Any, guide: Any = None) -> Any:
    """The recipe's loss, its plain-data parameters turned into tensors and allow-listed objects; a
    wrapper (MatryoshkaLoss) around its ``loss.inner``; ``guide`` the guide model of GISTEmbedLoss."""
    node = recipe.document["loss"]
    if "inner" in node:
        return _loss(recipe, node, model, loss=_loss(recipe, node["inner"], model))
    return _loss(recipe, node, model, **({"guide": guide} if guide is not None else {}))


def _loss(recipe: Recipe, node: Mapping[str, Any], model: Any, **objects: Any) -> Any:
    import importlib

    import torch

    losses = importlib.import_module(recipe.kind.losses_module)

    kwargs: dict[str, Any] = dict(objects)
    for key, value in node["params"].items():
        if key in TENSOR_PARAMS:
            value = torch.tensor(float(value))
        elif key in OBJECT_PARAMS and value is not None:
            if value not in OBJECT_PARAMS[key]:
                raise RecipeError(
                    f"{recipe.source}: loss.params.{key}: {value!r} is not one of {OBJECT_PARAMS[key]}"
                )
            value = getattr(torch.nn if key == "activation_fn" else losses, value)()
        kwargs[key] = value
    try:
        return getattr(losses, node["name"])(model, **kwargs)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{recipe.source}: loss: {node['name']} refused its parameters: {error}") from None


def last_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (one whose trainer state was written) in ``folder``."""
    complete = [
        path
        for path in folder.glob("checkpoint-*")
        if path.name[11:].isdigit() and (path / "trainer_state.json").is_file()
    ]
    return max(complete, key=lambda path: int(path.name[11:]), default=None)


def evaluate(model_dir: Path, plan: Mapping[str, Any], progress: bool = False) -> EvalResults:
    """The final evaluation of ``model_dir`` by the recipe's pinned plan: eval_results.json's content."""
    from hubrerank.evaluation import run_evaluations

    return run_evaluations(model_dir, None, evaluation_plan(plan), progress=progress)  # type: ignore[return-value]


def evaluation_plan(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe's pinned ``evaluation`` section as run_evaluations takes it: without ``requested``."""
    return {
        task: [_without_requested(node) for node in entry]
        if isinstance(entry, list)
        else _without_requested(entry)
        for task, entry in evaluation.items()
    }


def _without_requested(node: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key != "requested"}


def flat_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """Every final metric in one mapping, named by :func:`hubrerank.record.metric_key`."""
    return {
        metric_key(result, key): value
        for result in results.get("results", [])
        for key, value in result["metrics"].items()
    }


def render_card(model_dir: Path, repo_id: str | None = None) -> str:
    """The README model card of the trained model in ``model_dir``, to be published as ``repo_id``."""
    from hubrerank.cards.model_card import render_model_card

    return str(render_model_card(model_dir, repo_id))


def _check_output_dir(out: Path, resume: bool) -> Recipe | None:
    """Refuse to train over existing output; with ``resume``, return the recipe of a finished run there."""
    if resume:
        if (out / CHECKPOINTS / RUN_FILE).is_file():
            return None
        if (out / RECIPE_FILE).is_file():
            return load_recipe(out / RECIPE_FILE)
        raise InputError(
            f"--resume: {out} holds no interrupted run ({CHECKPOINTS}/{RUN_FILE}); train without --resume"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(
            f"{out} is not empty; choose another --out, or pass --resume to continue an interrupted run there"
        )
    check_writable(out, "--out")
    return None


def _pin(recipe: Recipe, out: Path, resume: bool) -> Recipe:
    """Resolve the recipe's references; on resume, take those the interrupted run started with."""
    if not resume:
        return recipe if recipe.pinned else recipe.pin(resolve)
    run_file = out / CHECKPOINTS / RUN_FILE
    started = load_recipe(run_file)
    _check_same_run(recipe, started, run_file)
    return Recipe(recipe.source, started.document)


def _check_same_run(recipe: Recipe, started: Recipe, where: Path) -> None:
    difference = _first_difference(recipe.as_requested(), started.as_requested())
    if difference is not None:
        raise InputError(
            f"--resume: {recipe.source} differs from the run in {where} at {difference}; "
            "resume with the same recipe and --set options"
        )


def _first_difference(left: Any, right: Any, path: str = "") -> str | None:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in [*left, *(key for key in right if key not in left)]:
            found = _first_difference(left.get(key), right.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return next(
            (
                found
                for i, pair in enumerate(zip(left, right, strict=True))
                if (found := _first_difference(*pair, f"{path}[{i}]"))
            ),
            None,
        )
    return None if left == right else path or "(top level)"


def _build_trainer(
    recipe: Recipe,
    model_path: Path,
    out: Path,
    train_data: Dataset | dict[str, Dataset],
    eval_inputs: dict[str, Any] | None,
    trust_remote_code: bool,
    guide_path: Path | None = None,
) -> Any:
    """Seed, then build the model, loss, arguments, evaluator and trainer (of the recipe's model kind),
    in that order."""
    import transformers
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    kind = recipe.kind
    kwargs = recipe.training_arguments()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        kwargs.setdefault("ddp_find_unused_parameters", kind.ddp_find_unused_parameters)
    if _cpu_ddp():  # without it, each torchrun process would train alone
        kwargs["use_cpu"] = True
    try:
        args = kind.load("training_arguments_class")(output_dir=str(out / CHECKPOINTS), **kwargs)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"{recipe.source}: args: {first_line(error)}") from None

    # The head of a base model without one is initialised when the model is built: seed before that.
    if args.full_determinism:
        transformers.enable_full_determinism(recipe.seed)
    else:
        transformers.set_seed(recipe.seed)
    model = kind.load("model_class")(
        str(model_path),
        **{key: recipe.model[key] for key in kind.model_keys},
        trust_remote_code=trust_remote_code,
        local_files_only=True,
        # the trainer's card callbacks look datasets up on the Hub unless told not to
        model_card_data=kind.load("model_card_data_class")(local_files_only=True),
    )
    if kind.max_length_attribute and recipe.model["max_length"] is not None:
        setattr(model, kind.max_length_attribute, recipe.model["max_length"])
    guide = None
    if guide_path is not None:
        guide = kind.load("model_class")(str(guide_path), local_files_only=True)

    evaluator = None
    if eval_inputs is not None:
        evaluator = kind.load("in_training_evaluator")(**eval_inputs, name=recipe.eval_name, write_csv=False)
    loss = build_loss(recipe, model, guide)
    trainer = kind.load("trainer_class")(
        model=model, args=args, train_dataset=train_data, loss=loss, evaluator=evaluator
    )
    for callback in (ProgressCallback, PrinterCallback):
        trainer.remove_callback(callback)
    trainer.add_callback(_log_lines_callback(recipe.eval_name))
    if not args.disable_tqdm:
        trainer.add_callback(_progress_bar_callback())
    return trainer


def _no_batch(recipe: Recipe, args: Any, processes: int) -> str:
    """Why a training ran 0 steps: the trainer drew no batch from the data (it only warns)."""
    sampler = getattr(args, "batch_sampler", None)
    unique = (
        " without a repeated text (batch_sampler: no_duplicates)"
        if getattr(sampler, "value", sampler) == "no_duplicates"
        else ""
    )
    return (
        f"{recipe.source}: training ran 0 steps: no batch of {args.per_device_train_batch_size} rows{unique} "
        f"could be drawn for each of {processes} process(es); lower args.per_device_train_batch_size, "
        "train on fewer processes or add training rows"
    )


def _record(
    recipe: Recipe,
    trainer: Any,
    metrics: Mapping[str, float],
    train_data: Any,
    state: PartialState,
    results: EvalResults,
) -> RunRecord:
    """hubrerank.yaml: the pinned recipe plus environment, final metrics and training statistics."""
    from hubrerank.environment import capture

    datasets = train_data.values() if isinstance(train_data, dict) else [train_data]
    record: RunRecord = dict(recipe.document)  # type: ignore[assignment]
    record["environment"] = capture(str(state.device), state.num_processes)
    record["metrics"] = flat_metrics(results)
    record["training"] = {
        "runtime_s": round(metrics.get("train_runtime", 0.0), 3),
        "samples_per_second": round(metrics.get("train_samples_per_second", 0.0), 3),
        "global_step": trainer.state.global_step,
        "best_step": trainer.state.best_global_step,
        "best_metric": trainer.state.best_metric,
        "train_rows": sum(len(dataset) for dataset in datasets),
    }
    return record


def _write_outputs(out: Path, record: RunRecord, results: EvalResults, log_history: list[LogRow]) -> None:
    write_results(out / RESULTS_FILE, results)
    write_log(out, log_history)
    write_run_record(out, record)
    (out / CARD_FILE).write_text(render_card(out), encoding="utf-8")


def _publish(out: Path, repo_id: str, say: Callable[[str], None]) -> ResolvedRef:
    """Publish the model folder to ``repo_id`` in one commit, with the card rendered for that repo, and
    keep that card in the folder."""
    from hubrerank.cards.model_card import card_files
    from hubrerank.hub import publish

    files: dict[str, Path | bytes] = {
        path.relative_to(out).as_posix(): path for path in sorted(out.rglob("*")) if path.is_file()
    }
    files.update(card_files(out, repo_id))
    name = read_run_record(out)["name"]
    ref = publish(repo_id, files, message=f"hubrerank train {name}")
    (out / CARD_FILE).write_bytes(files[CARD_FILE])  # the folder's card now names its repo
    say(f"{repo_id}@{ref.sha}")
    return ref


def _on_main(state: PartialState, task: Callable[[], T]) -> T:
    """Run ``task`` on rank 0 only and give every rank its result (or raise its error everywhere)."""
    outcome: list[Any] = [None, None]
    if state.is_main_process:
        try:
            outcome = [task(), None]
        except HubrerankError as error:
            outcome = [None, error]
    if state.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        broadcast_object_list(outcome)
    if outcome[1] is not None:
        raise outcome[1]
    return outcome[0]


def _main_first(state: PartialState, task: Callable[[], T]) -> T:
    """Run ``task`` on rank 0, then on the other ranks (which then read what rank 0 cached)."""
    result = _on_main(state, task)
    return result if state.is_main_process else task()


def _cpu_ddp() -> bool:
    """True under torchrun with several processes and no accelerator: DDP over gloo on the CPU."""
    import torch

    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available()


def _silent(_: str) -> None:
    pass


def _progress_lines(state: Any, logs: Mapping[str, Any], eval_name: str | None) -> Iterator[str]:
    step = f"step {state.global_step}/{state.max_steps}"
    if "loss" in logs:
        epoch, rate = logs.get("epoch", 0), logs.get("learning_rate", 0)
        yield f"{step}  epoch {epoch:.2f}  loss {logs['loss']:.4f}  lr {rate:.2e}"
    prefix = f"eval_{eval_name}_"
    metrics = {key[len(prefix) :]: value for key, value in logs.items() if key.startswith(prefix)}
    if metrics:
        yield f"{step}  eval {eval_name}: " + "  ".join(
            f"{key} {value:.4f}" for key, value in metrics.items()
        )
    if "train_runtime" in logs:
        yield (
            f"trained {state.global_step} steps in {logs['train_runtime']:.1f} s "
            f"({logs.get('train_samples_per_second', 0):.1f} samples/s)"
        )


def _log_lines_callback(eval_name: str | None) -> Any:
    """A callback printing one compact line per training log and evaluation (beside the progress bar)."""
    from tqdm.auto import tqdm
    from transformers.trainer_callback import TrainerCallback

    class LogLines(TrainerCallback):
        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            if state.is_world_process_zero and logs:
                for line in _progress_lines(state, logs, eval_name):
                    tqdm.write(line)

    return LogLines()


def _progress_bar_callback() -> Any:
    """The trainer's progress bar with its ETA, without its printing of raw log dicts."""
    from transformers.trainer_callback import ProgressCallback

    class ProgressBar(ProgressCallback):
        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any
        ) -> None:
            pass

    return ProgressBar()
