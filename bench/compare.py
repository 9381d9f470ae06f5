#!/usr/bin/python3
"""Forge vs PyTorch side by side: every workload, N runs each, 1 and 2 threads.

    /usr/bin/python3 bench/compare.py                        # all rows, 5 runs, threads 1 and 2
    /usr/bin/python3 bench/compare.py --only mlp_train,mlp_latency --runs 3 --samples 12800
    /usr/bin/python3 bench/compare.py --json out.json --markdown out.md

Each run is a fresh process (`bench/forge_bench NAME --json` with OMP_NUM_THREADS and the
OpenMP wait policy it sets itself, a ~50 us bounded spin, see core/parallel.h;
`bench/reference/torch_workloads.py NAME --json` with torch.set_num_threads and libgomp's
default ~7 ms spin), Forge and PyTorch alternating so machine noise hits both alike.
Reports the median of each (system, threads) and the ratio Forge/PyTorch with each system at
its best thread count, as a Markdown table (for docs/BENCHMARKS.md) and JSON.

Adding a row (other branches): register the Forge workload (src/bench/), add the PyTorch
function to WORKLOADS in bench/reference/torch_workloads.py, and add an entry to ROWS here.
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH = os.path.join(HERE, "reference", "torch_workloads.py")

# name -> (label, target text, check(ratio) -> bool). ratio = Forge / PyTorch in the row's unit
# (samples/s, us, MiB, ns), both at their best thread count.
ROWS = {
    "mlp_train": ("MLP 784-128-10, batch 64, SGD, training samples/s", ">= 1.5x", lambda r: r >= 1.5),
    "cnn_train": ("seed CNN, batch 64, Adam, training samples/s", ">= 1.5x", lambda r: r >= 1.5),
    "cnn_latency": ("seed CNN batch-1 predict latency (us)", "<= 0.25x", lambda r: r <= 0.25),
    "mlp_latency": ("MLP single-sample predict latency (us)", "<= 3 us", None),
    "cnn_peak_rss": ("peak RSS during a CNN epoch (MiB)", "<= 1.0x", lambda r: r <= 1.0),
    "op_overhead": ("per-op overhead, 4-element add with autograd (ns)", "<= 0.3x", lambda r: r <= 0.3),
    "op_overhead_nograd": ("per-op overhead, 4-element add, no grad (ns)", "(info)", None),
    "sgemm_256": ("SGEMM 256 (GFLOP/s)", ">= 0.95x oneDNN", None),
    "sgemm_512": ("SGEMM 512 (GFLOP/s)", ">= 0.95x oneDNN", None),
    "sgemm_1024": ("SGEMM 1024 (GFLOP/s)", ">= 0.95x oneDNN", None),
    "sgemm_2048": ("SGEMM 2048 (GFLOP/s)", ">= 0.95x oneDNN", None),
    "sgemm_4096": ("SGEMM 4096 (GFLOP/s)", ">= 0.95x oneDNN", None),
    # Language-model rows (issue 5; src/bench/lm_workloads.cpp). The bf16 row's PyTorch side is
    # PyTorch's fp32 loop (the target: Forge bf16 >= 2x PyTorch, at equal loss).
    "textcnn_train": ("text CNN on fortunes, batch 32, Adam, training samples/s", ">= 1.5x", lambda r: r >= 1.5),
    "lstm_train": ("LSTM 32 on fortunes, batch 32, Adam, training samples/s", ">= 2x", lambda r: r >= 2.0),
    "gpt_char_train": ("char GPT 6x384, ctx 256, batch 8, AdamW, fp32, tokens/s", ">= 1.3x", lambda r: r >= 1.3),
    "gpt_char_train_bf16": ("char GPT as above, Forge bf16 vs PyTorch fp32, tokens/s", ">= 2x", lambda r: r >= 2.0),
    "gpt_generate": ("GPT 6x384 KV-cache decode, batch 1, prompt 128, tokens/s", ">= 2x", lambda r: r >= 2.0),
}
# Rows with an absolute target or a target against another baseline than PyTorch.
def special_check(name, forge):
    if name == "mlp_latency":
        return forge["value"] <= 3.0
    if name.startswith("sgemm_"):
        return forge["extra"].get("vs_onednn", 0) >= 0.95
    return None


def run_json(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(name, system, threads, a):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))  # Debian torch links OpenBLAS (spinning pool)
    common = [name, "--threads", str(threads), "--samples", str(a.samples), "--json"]
    if system == "forge":
        env.pop("OMP_WAIT_POLICY", None)  # forge_bench applies its own bounded spin
        env.pop("GOMP_SPINCOUNT", None)
        return run_json([a.forge_bench] + common, env)
    return run_json([a.python, TORCH] + common, env)


def median_result(results):
    vals = [r["value"] for r in results]
    med = statistics.median(vals)
    extra = {}
    for k in results[0].get("extra", {}):
        extra[k] = statistics.median(r["extra"][k] for r in results)
    return {"value": med, "runs": vals, "unit": results[0]["unit"],
            "higher_is_better": results[0]["higher_is_better"], "extra": extra}


def best(by_threads):
    hib = next(iter(by_threads.values()))["higher_is_better"]
    pick = (max if hib else min)(by_threads.items(), key=lambda kv: kv[1]["value"])
    return pick[0], pick[1]


def fmt(v):
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def markdown(report, a):
    lines = [f"Medians of {a.runs} runs per cell, threads {', '.join(map(str, a.threads))}; "
             f"training rows on {'the whole epoch' if a.samples == 0 else f'{a.samples} samples'}.", "",
             "| workload | Forge " + " | Forge ".join(f"{t}T" for t in a.threads) +
             " | PyTorch " + " | PyTorch ".join(f"{t}T" for t in a.threads) +
             " | Forge / PyTorch (best vs best) | target | met |",
             "|---|" + "---|" * (2 * len(a.threads) + 3)]
    for name, r in report.items():
        cells = [fmt(r["forge"][str(t)]["value"]) for t in a.threads]
        cells += [fmt(r["torch"][str(t)]["value"]) if r.get("torch") else "—" for t in a.threads]
        ratio = r.get("ratio")
        ratio_s = f"{ratio:.2f}x" if ratio is not None else "—"
        if name.startswith("sgemm_"):
            ratio_s += f" (vs oneDNN alone: {r['forge_best']['extra'].get('vs_onednn', 0):.2f}x)"
        met = {True: "yes", False: "**no**", None: "—"}[r.get("met")]
        lines.append(f"| {ROWS.get(name, (name,))[0]} | " + " | ".join(cells) + f" | {ratio_s} | "
                     f"{ROWS.get(name, ('', '—'))[1]} | {met} |")
    return "\n".join(lines) + "\n"


def torch_blas():
    """The BLAS Debian's torch will load (it calls the system libblas.so.3 for matmul/linear)."""
    return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated workload names (default: every row)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--samples", type=int, default=0, help="training samples per epoch (0 = all 60000)")
    ap.add_argument("--forge-bench", default=os.path.join(ROOT, "build", "bench", "forge_bench"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--no-torch", action="store_true", help="Forge only")
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--markdown", help="write the Markdown table here")
    a = ap.parse_args()
    a.threads = [int(t) for t in a.threads.split(",")]
    names = a.only.split(",") if a.only else list(ROWS)
    blas = torch_blas()
    if not a.no_torch and "openblas" not in blas:
        print(f"warning: PyTorch would use {blas} (the netlib reference BLAS is ~30x slower than OpenBLAS here); "
              "run `bash scripts/setup.sh --bench` so PyTorch is measured at its best", file=sys.stderr)
    report = {}
    for name in names:
        raw = {"forge": {t: [] for t in a.threads}, "torch": {t: [] for t in a.threads}}
        for i in range(a.runs):
            for t in a.threads:
                for system in ("forge",) if a.no_torch else ("forge", "torch"):
                    r = measure(name, system, t, a)
                    raw[system][t].append(r)
                    print(f"{name:<20} {system:<6} {t}T run {i + 1}: {r['value']:.2f} {r['unit']}",
                          file=sys.stderr, flush=True)
        entry = {"forge": {str(t): median_result(v) for t, v in raw["forge"].items()}}
        tf, fb = best(entry["forge"])
        entry["forge_best"] = dict(fb, threads=tf)
        if not a.no_torch:
            entry["torch"] = {str(t): median_result(v) for t, v in raw["torch"].items()}
            tt, tb = best(entry["torch"])
            entry["torch_best"] = dict(tb, threads=tt)
            entry["ratio"] = fb["value"] / tb["value"]
        check = ROWS.get(name, (None, None, None))[2]
        special = special_check(name, fb)
        entry["met"] = special if special is not None else (
            check(entry["ratio"]) if check and "ratio" in entry else None)
        report[name] = entry
    md = markdown(report, a)
    print(md)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "runs": a.runs, "threads": a.threads, "samples": a.samples,
            "loadavg": os.getloadavg(), "torch_blas": blas}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": report}, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
