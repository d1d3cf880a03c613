"""`make bench`: run every benchmark, keep its JSON in benchmarks/results/, refresh BENCHMARKS.md.

Each benchmark is a script printing one JSON object (and skipping, with a reason, when ../shared/data
is absent). Figures are ratios against the baseline each script names, measured in the same run.

    python benchmarks/run.py [NAME ...]     # default: all of them
    python benchmarks/run.py --report-only  # re-render BENCHMARKS.md from benchmarks/results/
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHMARKS = {
    "hub_throughput": "Embedded Hub: push + pull of all-MiniLM-L6-v2 against `cp -r`",
    "hub_load": "Embedded Hub under load: 10k-file snapshot, kept-alive latency, RSS, against 3c79323",
    "hub_snapshot": "Embedded Hub: snapshot_download of 10k small files by a client process, against 629f891",
    "leaderboard": "Embedded Hub: a benchmark's leaderboard over 300 model repos, cold against warm",
    "pages": "Embedded Hub's pages: time to first byte and Chromium full load, against the API's JSON",
    "data_build": "`hubrerank data build` against a hand-written mine_hard_negatives script (WikiQA train)",
    "train_speed": "`hubrerank train` against a hand-written CrossEncoderTrainer script (samples/s)",
    "retriever_training": "bi-encoder `hubrerank train` against a hand-written SentenceTransformerTrainer",
    "eval_speed": "`hubrerank eval` cold and warm against CrossEncoderRerankingEvaluator (TREC DL19)",
    "quality": "Quality on TREC DL19: BM25, untrained MiniLM, MiniLM fine-tuned on WikiQA by a recipe",
    "precision": "Precision and concurrency: `eval --dtype bfloat16` against the evaluator in float32 (DL19)",
    "backends": "Backends: ONNX / OpenVINO int8 and bfloat16 against float32 torch (DL19, embeddings)",
    "precision_schemes": "What `--dtype bfloat16` runs in bfloat16: the model cast whole against the blocks' "
    "Linear layers (DL19, embeddings)",
    "sparse_retrieval": "SPLADE retrieval against SparseInformationRetrievalEvaluator and encode (DL19)",
    "multi_vector_retrieval": "Multi-vector retrieval against its library evaluator and encode (DL19)",
}


# What a benchmark's JSON cannot say, printed under its section
NOTES = {
    "precision": (
        "Re-measured on a quiet machine (load average 1.9-2.1 in the JSON), bfloat16 on the blocks' "
        "Linear layers (precision_schemes below)."
    ),
    "precision_schemes": " ".join(
        [
            "Measured once, on 2 cores shared with other engineers' jobs (load average 1.9-3.9 in the JSON);",
            "the speed-ups are medians of per-round ratios, each round timing the evaluator and both schemes",
            "back to back. The blocks' Linear layers scheme is what `--dtype bfloat16` runs since this",
            "benchmark: about 16% slower than the whole cast (3.15x against 3.73x the evaluator in float32),",
            "it keeps the scores 2-3.5x closer to float32 (mean |logit diff|) and distinct (4,189 of 4,200",
            "against 569 untrained, 4,172 against 1,343 trained: the whole cast rounds every score to 8",
            "bits, so list positions are decided among ties). The untrained head's scores span -0.08 to",
            "0.02, so its metric deltas are reorderings of near-ties; on the briefly trained MiniLM (the",
            "backends benchmark's model) NDCG@10 moves by -0.0004 against the whole cast's +0.0023.",
        ]
    ),
    "backends": " ".join(
        [
            "Measured once, on a quiet machine (load average 0.8-2.4 in the JSON), each ratio against a",
            "baseline measured in the same run. float32 measures 1.34x the evaluator here and 1.54x in",
            "eval_speed (run alone the same evening): this model truncates at 128 tokens, where the",
            "evaluator's batches (sorted by characters) hold 110.8 tokens a pair against 90.6 in float32's",
            "(by tokens), so exact float32 has only that padding (1.22x) to win; eval_speed's model reads",
            "512 tokens and pads 135.6 against 96.0. `minilm_trained` is all-MiniLM-L6-v2 with a new head",
            "fine-tuned in the run for 100 steps on WikiQA: on DL19 it learned little (NDCG@10 0.19), so",
            "each variant is also run on WikiQA's test questions, its own domain (float32 NDCG@10 0.73):",
            "the deltas of a reranker that works (NDCG@10 within 0.003). bfloat16 runs the blocks' Linear",
            "layers in it (precision_schemes below). `bert_base_random` has random weights and 3 queries:",
            "speed only, its deltas mean nothing. The embedding side is timed with each variant in a",
            "process of its own, as a command runs one (in one process, OpenVINO's models calibrated by",
            "the export slowed a later ONNX int8 run by up to 30%); every variant but float32 batches texts",
            "by token count, and the 'in sentence-transformers' batches' rows are the same variants batched",
            "by characters, as before. Two concurrent `hubrerank eval` processes against one: the precision",
            "benchmark above.",
        ]
    ),
}
METRIC_KEYS = ("ndcg@10", "map", "mrr@10")  # the reranking headline, in the evaluator's order
GPU_NOTE = """## GPUs: benchmarks/gpu.py (not run here)

None of this project's machines has a GPU. On one that has, `python benchmarks/gpu.py [--model FOLDER]`
runs as is: CrossEncoderRerankingEvaluator in float32 on cuda:0 as the baseline, then `run_evaluations` on
cuda:0 in float32, bfloat16 and float16 (pairs/s, speedup, NDCG@10 / MAP / MRR@10 deltas), and with two GPUs
or more the pairs split across all of them (`--devices cuda`), with a check that its metrics equal one GPU's
float32 metrics. It prints `{"skipped": ...}` without CUDA.
"""


def _backend_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """backends.py: each variant's pairs/s against the evaluator in float32, its NDCG@10 delta, and the
    embedding side against SentenceTransformer.encode in float32."""
    rows = []
    for key, what in (("minilm_trained", "MiniLM-sized, trained"), ("bert_base_random", "BERT-base-sized")):
        model = r[key]
        evaluator = model["evaluator_float32"]
        for label, v in model["variants"].items():
            quality = f", NDCG@10 {v['delta_vs_float32']['ndcg@10']:+.4f}" if key == "minilm_trained" else ""
            rows.append(
                (
                    f"TREC DL19 eval ({model['pairs']} pairs), {what}: {label}",
                    f"{v['pairs_per_s']} pairs/s{quality}",
                    f"evaluator float32 {evaluator['pairs_per_s']} pairs/s",
                    f"{v['speedup_vs_evaluator_float32']}x",
                )
            )
    if padding := r["minilm_trained"].get("padded_tokens_per_pair"):
        rows.append(
            (
                "TREC DL19, MiniLM-sized, trained: tokens per pair in float32's batches, padding included",
                f"{padding['sorted_by_tokens_batch_32']} (by tokens, batch 32)",
                f"evaluator {padding['sorted_by_characters_batch_64']} (by characters, batch 64)",
                f"real {padding['real']}",
            )
        )
    if in_domain := r["minilm_trained"].get("in_domain"):
        float32 = " / ".join(str(in_domain["metrics_float32"][key]) for key in METRIC_KEYS)
        where = f"{in_domain['data']} ({in_domain['queries']} queries, the trained model's domain)"
        for label, delta in in_domain["delta_vs_float32"].items():
            rows.append(
                (
                    f"{where}: {label}",
                    "NDCG@10 / MAP / MRR@10 " + " / ".join(f"{delta[key]:+.4f}" for key in METRIC_KEYS),
                    f"float32 {float32}",
                    "-",
                )
            )
    embeddings = r["embeddings"]
    for label, v in embeddings.items():
        if isinstance(v, dict) and label != "retrieval":
            rows.append(
                (
                    f"embeddings of {embeddings['texts']} DL19 passages (MiniLM): {label}",
                    f"{v['texts_per_s']} texts/s, min cosine {v['min_cosine_to_float32']}",
                    f"encode float32 {embeddings['encode_float32_texts_per_s']} texts/s",
                    f"{v['speedup_vs_encode_float32']}x",
                )
            )
            if "by_characters_speedup_vs_encode_float32" in v:
                rows.append(
                    (
                        f"same, {label} in sentence-transformers' batches (by characters, not tokens)",
                        "-",
                        f"encode float32 {embeddings['encode_float32_texts_per_s']} texts/s",
                        f"{v['by_characters_speedup_vs_encode_float32']}x",
                    )
                )
    if retrieval := embeddings.get("retrieval"):
        keys = list(retrieval["metrics_float32"])
        names = " / ".join(key.upper() for key in keys)
        float32 = " / ".join(str(value) for value in retrieval["metrics_float32"].values())
        where = f"retrieval, {retrieval['queries']} DL19 queries over {retrieval['corpus_size']} passages"
        for label, delta in retrieval["delta_vs_float32"].items():
            rows.append(
                (
                    f"{where} (MiniLM bi-encoder): {label}",
                    f"{names} " + " / ".join(f"{delta[key]:+.4f}" for key in keys),
                    f"float32 {float32}",
                    "-",
                )
            )
    return rows


def _scheme_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """precision_schemes.py: each bfloat16 scheme's pairs/s against the evaluator in float32 (median of
    alternating rounds), its logit and metric deltas to float32, and the embedding side."""
    ce, embeddings, load = r["cross_encoder"], r["embeddings"], r["load_average_at_start"][0]
    rounds = len(ce["seconds"]["evaluator float32"])
    rows = []
    for scheme in ("whole model cast", "blocks' Linear layers"):
        v = ce[scheme]
        delta = " / ".join(f"{v['delta_vs_float32'][key]:+.4f}" for key in ("ndcg@10", "map", "mrr@10"))
        rows += [
            (
                f"TREC DL19 eval in bfloat16, {scheme}: {ce['speed_pairs']} pairs, median of {rounds} "
                f"alternating rounds (load {load})",
                f"{v['pairs_per_s']} pairs/s",
                f"evaluator float32 {ce['evaluator_float32_pairs_per_s']} pairs/s",
                f"{v['speedup_vs_evaluator_float32']}x",
            ),
            (
                f"same, all {ce['queries']} queries ({ce['pairs']} pairs): max / mean logit diff to float32; "
                "NDCG@10 / MAP / MRR@10 delta",
                f"{v['max_abs_logit_diff']} / {v['mean_abs_logit_diff']}; {delta}",
                f"{v['distinct_scores']} of {ce['pairs']} scores distinct",
                "-",
            ),
        ]
    trained = r["trained_cross_encoder"]
    for scheme in ("whole model cast", "blocks' Linear layers"):
        v = trained[scheme]
        delta = " / ".join(f"{v['delta_vs_float32'][key]:+.4f}" for key in ("ndcg@10", "map", "mrr@10"))
        rows.append(
            (
                f"MiniLM fine-tuned {trained['training_steps']} steps on WikiQA, DL19 {trained['pairs']} "
                f"pairs, bfloat16 {scheme}: max / mean logit diff; NDCG@10 / MAP / MRR@10 delta",
                f"{v['max_abs_logit_diff']} / {v['mean_abs_logit_diff']}; {delta}",
                f"{v['distinct_scores']} of {trained['pairs']} scores distinct",
                "-",
            )
        )
    for scheme in ("whole model cast", "blocks' Linear layers"):
        v = embeddings[scheme]
        rows.append(
            (
                f"embeddings of {embeddings['texts']} DL19 passages (MiniLM) in bfloat16, {scheme}",
                f"{v['texts_per_s']} texts/s, min cosine {v['min_cosine_to_float32']}",
                f"encode float32 {embeddings['float32_texts_per_s']} texts/s",
                f"{v['speedup_vs_float32']}x",
            )
        )
    return rows


def headline_rows(name: str, r: dict) -> list[tuple[str, str, str, str]]:
    """(what, hubrerank, baseline, ratio) rows summarising one benchmark's JSON."""
    if "error" in r or "skipped" in r:
        return [(BENCHMARKS[name], "-", "-", r.get("error") or r.get("skipped"))]
    if name == "hub_throughput":
        return [
            (f"push + pull {r['model_mb']} MB (upload_folder + snapshot_download)", f"{r['push_pull_s']} s",
             f"`cp -r` {r['cp_r_s']} s", f"{r['push_pull_over_cp_ratio']}x the time of `cp -r`"),
            ("server start-up (subprocess / in-process)",
             f"{r['server_startup_s_subprocess']} s / {r['server_startup_s_in_process']} s", "-", "-"),
            ("server peak RSS during push + pull", f"{r['server_peak_rss_mb']} MB", "-", "-"),
        ]  # fmt: skip
    if name == "hub_load":
        h, c, q = r["hubrerank"], r["comparison"], r["ratio"]
        n = c["hubrerank"]["files"]
        return [  # the 10k-file snapshot's headline is hub_snapshot's (a client process of its own)
            (f"snapshot_download of {n} small files", f"{c['hubrerank']['snapshot_download_s']} s",
             f"{c['baseline']['snapshot_download_s']} s", f"{q['snapshot_download']}x faster"),
            (f"model_info p50 / p99, 8 kept-alive readers, {n} files",
             f"{c['hubrerank']['model_info_ms']['p50']} / {c['hubrerank']['model_info_ms']['p99']} ms",
             f"{c['baseline']['model_info_ms']['p50']} / {c['baseline']['model_info_ms']['p99']} ms",
             f"{q['model_info_p50']}x faster (p50)"),
            (f"model_info p50 / p99, 8 kept-alive readers, {h['files']} files (lists every file)",
             f"{h['model_info_ms']['p50']} / {h['model_info_ms']['p99']} ms", "-", "-"),
            (f"reads / commits in {c['hubrerank']['mixed_load']['seconds']} s of mixed load, {n} files",
             f"{c['hubrerank']['mixed_load']['reads']} / {c['hubrerank']['mixed_load']['commits']}",
             f"{c['baseline']['mixed_load']['reads']} / {c['baseline']['mixed_load']['commits']}", "-"),
            (f"server RSS over {h['mixed_load']['seconds']:.0f} s of mixed load (start / peak / end)",
             f"{h['rss_mb']['start']} / {h['rss_mb']['peak']} / {h['rss_mb']['end']} MB", "-", "-"),
        ]  # fmt: skip
    if name == "hub_snapshot":
        h, b, q = r["hubrerank"], r["baseline"], r["ratio"]
        where = {"cache_dir": "into an empty cache", "local_dir": "into an empty local_dir"}
        rows = [
            (
                f"snapshot_download of {r['files']} small files {where[mode]} (own process, 8 workers, "
                f"median of {r['repeat']})",
                f"{h[mode]['seconds']} s",
                f"{b[mode]['seconds']} s",
                f"{q[mode]}x faster",
            )
            for mode in where
        ]
        return [
            *rows,
            ("same: server CPU, cache / local_dir", f"{h['cache_dir']['server_cpu_s']} / "
             f"{h['local_dir']['server_cpu_s']} s", f"{b['cache_dir']['server_cpu_s']} / "
             f"{b['local_dir']['server_cpu_s']} s", "-"),
            ("same: client CPU, cache / local_dir", f"{h['cache_dir']['client_cpu_s']} / "
             f"{h['local_dir']['client_cpu_s']} s", f"{b['cache_dir']['client_cpu_s']} / "
             f"{b['local_dir']['client_cpu_s']} s", "-"),
        ]  # fmt: skip
    if name == "leaderboard":
        return [
            (f"GET leaderboard over {r['models']} model repos, warm (median of {r['repeat']})",
             f"{r['warm_ms']} ms", f"cold (nothing cached) {r['cold_ms']} ms",
             f"{r['cold_over_warm_ratio']}x faster"),
            ("same, first request after one repo's new commit", f"{r['after_one_commit_ms']} ms", "-", "-"),
        ]  # fmt: skip
    if name == "pages":
        labels = {
            "model_page": "model page (the demo's card, results, report)",
            "leaderboard": "benchmark leaderboard page (3 entries, SVG chart)",
            "tree_10000_files": "tree page of a 10,000-file folder (200 a page)",
        }
        browser = r["chromium_load_ms"]
        rows = []
        for key, label in labels.items():
            page, api = r["http"][key], r["api_json"][key]
            full = "skipped" if "skipped" in browser else f"{browser[key]['p50']} / {browser[key]['p99']} ms"
            rows += [
                (f"{label}: time to first byte p50 / p99 ({r['loads']} loads)",
                 f"{page['ttfb_ms']['p50']} / {page['ttfb_ms']['p99']} ms",
                 f"the API's JSON {api['whole_ms']['p50']} / {api['whole_ms']['p99']} ms",
                 f"{r['page_over_json_p50'][key]}x the JSON's time (whole page, p50)"),
                (f"same, Chromium full load p50 / p99 ({r['loads']} loads)", full, "-", "-"),
            ]  # fmt: skip
        return rows
    if name == "data_build":
        h, b, q = r["hubrerank"], r["baseline"], r["ratio"]
        return [
            (
                "WikiQA train, 4 mined negatives: wall",
                f"{h['wall_s']} s",
                f"{b['wall_s']} s",
                f"{q['wall_s']}x",
            ),
            ("same: CPU time", f"{h['cpu_s']} s", f"{b['cpu_s']} s", f"{q['cpu_s']}x"),
            ("same: peak RSS", f"{h['peak_rss_mb']} MB", f"{b['peak_rss_mb']} MB", f"{q['peak_rss_mb']}x"),
        ]
    if name == "train_speed":
        m = r["median_samples_per_second"]
        return [(f"training samples/s ({r['pairs']} pairs, MiniLM)", f"{m['hubrerank']}", f"{m['script']}",
                 f"{r['ratio_hubrerank_to_script']}x")]  # fmt: skip
    if name == "retriever_training":
        m = r["median_samples_per_second"]
        same = f"loss curve {'identical' if r['same_loss_curve'] else 'differs'}, weights " + (
            "byte-identical" if r["same_weights"] else "differ"
        )
        return [
            (f"bi-encoder training samples/s ({r['pairs']} pairs, {r['args']['num_train_epochs']} epoch(s), "
             f"MiniLM, MNRL; load {r['machine']['load_average_at_start'][0]})", f"{m['hubrerank']}",
             f"{m['script']}", f"{r['ratio_hubrerank_to_script']}x"),
            ("same seed: hubrerank vs the script", same, "-", "-"),
        ]  # fmt: skip
    if name == "eval_speed":
        direct = f"evaluator {r['evaluator_direct']['pairs_per_s']} pairs/s"
        return [
            (f"TREC DL19 eval, cold ({r['pairs_scored']} pairs)",
             f"{r['run_evaluations_cold']['pairs_per_s']} pairs/s", direct, f"{r['speedup_cold']}x"),
            ("same, warm score cache", f"{r['run_evaluations_warm']['pairs_per_s']} pairs/s",
             direct, f"{r['speedup_warm']}x"),
            ("metrics vs evaluator / vs trec_eval (max abs diff)", f"{r['max_abs_diff_vs_evaluator']}",
             f"{r['max_abs_diff_vs_trec_eval']:.1e}", "-"),
        ]  # fmt: skip
    if name == "multi_vector_retrieval":
        speed = r["texts_per_s"]
        return [
            (f"multi-vector retrieval (MaxSim), {r['queries']} queries over {r['corpus']} passages",
             f"{speed['hubrerank']} texts/s", f"evaluator {speed['evaluator']} texts/s",
             f"{r['hubrerank_over_evaluator_time']}x the evaluator's time"),
            ("metrics vs the evaluator (max abs diff) / a second run identical",
             f"{r['max_metric_difference']}", f"{r['second_run_identical']}", "-"),
        ]  # fmt: skip
    if name == "sparse_retrieval":
        speed, texts = r["texts_per_s"], r["queries"] + r["corpus"]
        return [
            (f"sparse retrieval, {r['queries']} queries over {r['corpus']} passages ({texts} texts encoded)",
             f"{speed['hubrerank']} texts/s", f"evaluator {speed['evaluator']} texts/s",
             f"{r['hubrerank_over_evaluator_time']}x the evaluator's time"),
            ("same, the library's encode_query + encode_document alone", f"{speed['hubrerank']} texts/s",
             f"encode {speed['encode_only']} texts/s", "-"),
            ("metrics vs the evaluator (max abs diff) / a second run identical",
             f"{r['max_metric_difference']}", f"{r['second_run_identical']}", "-"),
        ]  # fmt: skip
    if name == "precision":
        delta, load = r["delta_bfloat16_minus_float32"], r["load_average_at_start"][0]
        rows = [
            (
                f"TREC DL19 eval in bfloat16, no cache ({r['pairs_scored']} pairs; load {load})",
                f"{r['hubrerank_bfloat16']['pairs_per_s']} pairs/s",
                f"evaluator (float32) {r['evaluator_float32']['pairs_per_s']} pairs/s",
                f"{r['bfloat16_over_evaluator_float32']}x",
            ),
            (
                "same, bfloat16 minus the evaluator's float32: NDCG@10 / MAP / MRR@10",
                " / ".join(f"{delta[key]:+.4f}" for key in ("ndcg@10", "map", "mrr@10")),
                f"float32 NDCG@10 {r['metrics_float32']['ndcg@10']}",
                "-",
            ),
        ]
        queries = r["concurrency"]["queries"]
        for policy, c in r["concurrency"].items():
            if policy == "queries":
                continue
            rows.append(
                (
                    f"two concurrent `hubrerank eval` ({queries} queries each), OpenMP {policy}",
                    " / ".join(f"{s} s" for s in c["concurrent_s"]),
                    f"alone {c['alone_s']} s",
                    " / ".join(f"{v}x" for v in c["speed_each_vs_alone"]) + " the lone speed",
                )
            )
        return rows
    if name == "backends":
        return _backend_rows(r)
    if name == "precision_schemes":
        return _scheme_rows(r)
    if name == "quality":
        return (
            [
                (
                    f"TREC DL19 NDCG@10 / MRR@10 / MAP: {label}",
                    " / ".join(str(v) for v in row.values()),
                    "-",
                    "-",
                )
                for label, row in r["rows"].items()
            ]
            + [
                (
                    "BM25 order, NDCG@10 by trec_eval on graded qrels (must read 0.5058)",
                    str(r.get("bm25_ndcg@10_trec_eval_graded", "-")),
                    "-",
                    "-",
                ),
            ]
            + [
                (f"published NDCG@10, trained on all of MS MARCO: {model}", str(value), "-", "-")
                for model, value in r["published_ndcg@10_msmarco_trained"].items()
            ]
        )
    return []


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    import torch

    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, torch {torch.__version__}"


def run(name: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py")], capture_output=True, text=True, cwd=HERE.parent
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    result = json.loads(done.stdout[done.stdout.index("{") :])
    result["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    report_only = "--report-only" in sys.argv
    names = [arg for arg in sys.argv[1:] if not arg.startswith("--")] or list(BENCHMARKS)
    RESULTS.mkdir(exist_ok=True)
    for name in [] if report_only else names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = run(name)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    newest = max((path.stat().st_mtime for path in RESULTS.glob("*.json")), default=time.time())
    lines = [
        "# Benchmarks",
        "",
        f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(newest))} on {machine()}.",
        "Each figure names its baseline, measured in the same run. Raw results: `benchmarks/results/*.json`;",
        "refresh with `make bench`.",
        "",
        "| benchmark | hubrerank | baseline | ratio |",
        "|---|---:|---:|---:|",
    ]
    results = {name: json.loads((RESULTS / f"{name}.json").read_text()) for name in BENCHMARKS
               if (RESULTS / f"{name}.json").exists()}  # fmt: skip
    for name, result in results.items():
        lines += [
            f"| {what} | {ours} | {base} | {ratio} |"
            for what, ours, base, ratio in headline_rows(name, result)
        ]
    (RESULTS / "summary.md").write_text("\n".join(lines[6:]) + "\n")
    lines.append("")
    for name, title in BENCHMARKS.items():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        note = [NOTES[name], ""] if name in NOTES else []
        lines += [f"## {title}", "", *note, "```json", path.read_text().strip(), "```", ""]
    lines.append(GPU_NOTE)
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
