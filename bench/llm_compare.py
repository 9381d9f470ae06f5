#!/usr/bin/python3
"""Issue 6 item 8: Forge's pretrained-model rows side by side with llama.cpp and PyTorch.

    scripts/build_llamacpp.sh                                   # once: build-ref/llama.cpp/bin
    /usr/bin/python3 bench/llm_compare.py                       # every row, 5 runs, threads 1 and 2
    /usr/bin/python3 bench/llm_compare.py --runs 3 --only decode,prefill --json r.json --markdown r.md

Rows (SmolLM2-135M-Instruct Q4_1 GGUF and all-MiniLM-L6-v2 from models/):
  decode     Forge `forge_bench llm_decode` vs `llama-bench -p 0 -n 128` (tg128: 128 single-token
             steps from an empty context), tokens/s, batch 1
  prefill    Forge `forge_bench llm_prefill_512` vs `llama-bench -p 512 -n 0` (pp512), tokens/s
  bandwidth  decode as a share of the memory-bandwidth limit: weight bytes per token x tokens/s
             / GB/s of `forge_bench mem_bandwidth` (a 512 MiB streaming read measured in the same
             run, best thread count). Forge's is the target; llama.cpp's with the same weight
             bytes is shown for reference.
  minilm     Forge `forge_bench minilm_embed` vs bench/reference/torch_minilm.py, embeddings/s,
             batch 32 x 128 tokens
  rss        peak resident memory (VmHWM, from wait4's ru_maxrss) of `forge generate MODEL -n 128
             -t 0` vs `llama-simple -m MODEL -n 128` on the same prompt; both size the KV cache
             to prompt + 128 tokens and map the weights. One thread count (the first of --threads).

Each run is a fresh process; the systems alternate so machine noise hits both alike. Medians per
(system, threads); the ratio compares each system at its best thread count. Forge processes get
OMP_NUM_THREADS=N (and their own bounded-spin wait policy), llama.cpp gets -t N, PyTorch torch.set_num_threads(N).
"""
import argparse, json, os, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from compare import best, fmt, median_result  # noqa: E402  (same table conventions as compare.py)

SMOL = "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = "The history of the printing press begins"
GEN_TOKENS = 128

# row -> (label, reference name, target text, check(ratio))
ROWS = {
    "decode": ("SmolLM2-135M Q4_1 decode tokens/s, batch 1 (tg128)", "llama.cpp", ">= 1.2x", lambda r: r >= 1.2),
    "prefill": ("same, prompt processing of 512 tokens, tokens/s (pp512)", "llama.cpp", ">= 1.0x",
                lambda r: r >= 1.0),
    "bandwidth": ("decode as share of the memory-bandwidth limit", "llama.cpp (info)", ">= 70%", None),
    "minilm": ("MiniLM embeddings/s, batch 32, 128 tokens", "PyTorch", ">= 2x", lambda r: r >= 2.0),
    "rss": ("peak resident memory while generating 128 tokens (MiB)", "llama.cpp", "<= 1.0x", lambda r: r <= 1.0),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def forge_env(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("OMP_WAIT_POLICY", None)  # forge and forge_bench apply their own bounded spin
    env.pop("GOMP_SPINCOUNT", None)
    return env


def run_json_line(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout


def forge_workload(a, name, threads):
    out = run_json_line([a.forge_bench, name, "--threads", str(threads), "--json"], forge_env(threads))
    return json.loads(out.strip().splitlines()[-1])


def llama_bench(a, threads, p, n):
    cmd = [os.path.join(a.llama_bin, "llama-bench"), "-m", a.model, "-p", str(p), "-n", str(n), "-t", str(threads),
           "-r", "5", "-o", "json"]
    rows = json.loads(run_json_line(cmd))
    ts = rows[0]["avg_ts"]
    return {"value": ts, "unit": "tokens/s", "higher_is_better": True, "extra": {}}


def torch_minilm(a, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), FORGE_MODELS_DIR=a.models)
    out = run_json_line([a.python, os.path.join(HERE, "reference", "torch_minilm.py"), "minilm_embed", "--threads",
                         str(threads), "--json"], env)
    return json.loads(out.strip().splitlines()[-1])


def peak_rss_mib(cmd, env=None):
    """Runs cmd to completion; its VmHWM (ru_maxrss of wait4) in MiB."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-3000:]}")
    return {"value": usage.ru_maxrss / 1024.0, "unit": "MiB", "higher_is_better": False, "extra": {}}


def forge_rss(a, threads):
    return peak_rss_mib([a.forge, "generate", a.model, "--prompt", PROMPT, "-n", str(GEN_TOKENS), "-t", "0"],
                        forge_env(threads))


def llama_rss(a, threads):
    # llama-simple sizes its context to prompt + n_predict like `forge generate` does; -t is not a
    # flag of llama-simple (it uses llama.cpp's default thread count; RSS barely depends on it).
    del threads
    return peak_rss_mib([os.path.join(a.llama_bin, "llama-simple"), "-m", a.model, "-n", str(GEN_TOKENS), PROMPT])


def measure_pair(a, name, forge_fn, ref_fn, threads_list):
    raw = {"forge": {t: [] for t in threads_list}, "ref": {t: [] for t in threads_list}}
    for i in range(a.runs):
        for t in threads_list:
            for system, fn in (("forge", forge_fn), ("ref", ref_fn)):
                if fn is None:
                    continue
                r = fn(t)
                raw[system][t].append(r)
                log(f"{name:<10} {system:<6} {t}T run {i + 1}: {r['value']:.2f} {r['unit']}")
    entry = {}
    for system in ("forge", "ref"):
        if all(raw[system][t] for t in threads_list):
            entry[system] = {str(t): median_result(v) for t, v in raw[system].items()}
            tb, b = best(entry[system])
            entry[system + "_best"] = dict(b, threads=tb)
    if "forge_best" in entry and "ref_best" in entry:
        entry["ratio"] = entry["forge_best"]["value"] / entry["ref_best"]["value"]
    return entry


def markdown(report, a):
    th = a.threads
    lines = [f"Medians of {a.runs} runs per cell (each a fresh process), threads {', '.join(map(str, th))}; "
             f"ratio = Forge / reference, each at its best thread count.", "",
             "| workload | Forge " + " | Forge ".join(f"{t}T" for t in th) + " | reference | ref " +
             " | ref ".join(f"{t}T" for t in th) + " | Forge / reference | target | met |",
             "|---|" + "---|" * (2 * len(th) + 4)]
    for name, r in report.items():
        label, ref_name, target, _ = ROWS[name]
        if name == "bandwidth":
            cells = [f"{100 * r['forge_share'][str(t)]:.0f}%" for t in th]
            refc = [f"{100 * r['ref_share'][str(t)]:.0f}%" if r.get("ref_share") else "—" for t in th]
            ratio_s = f"{100 * r['forge_best_share']:.0f}% of {r['gbps']:.1f} GB/s ({r['weight_mb']:.1f} MB/token)"
        else:
            cells = [fmt(r["forge"][str(t)]["value"]) if str(t) in r.get("forge", {}) else "—" for t in th]
            refc = [fmt(r["ref"][str(t)]["value"]) if str(t) in r.get("ref", {}) else "—" for t in th]
            ratio_s = f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[r.get("met")]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ref_name} | " + " | ".join(refc) +
                     f" | {ratio_s} | {target} | {met} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated rows: " + ",".join(ROWS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default=os.environ.get("FORGE_MODELS_DIR", os.path.join(ROOT, "models")))
    ap.add_argument("--forge-bench", default=os.path.join(ROOT, "build", "bench", "forge_bench"))
    ap.add_argument("--forge", default=os.path.join(ROOT, "build", "forge"))
    ap.add_argument("--llama-bin", default=os.path.join(ROOT, "build-ref", "llama.cpp", "bin"),
                    help="llama.cpp binaries (scripts/build_llamacpp.sh)")
    ap.add_argument("--python", default="/usr/bin/python3", help="Python with torch for the MiniLM reference")
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--markdown", help="write the Markdown table here")
    a = ap.parse_args()
    a.threads = [int(t) for t in a.threads.split(",")]
    a.model = os.path.join(a.models, SMOL)
    os.environ["FORGE_MODELS_DIR"] = a.models
    names = a.only.split(",") if a.only else list(ROWS)
    for n in names:
        if n not in ROWS:
            sys.exit(f"error: unknown row '{n}' (rows: {', '.join(ROWS)})")
    for path, what in ((a.model, "the SmolLM2 GGUF (scripts/fetch_models.sh)"),
                       (a.forge_bench, "forge_bench (ninja -C build forge_bench)")):
        if not os.path.exists(path):
            sys.exit(f"error: {path} is missing: {what}")
    needs_llama = any(n in ("decode", "prefill", "rss", "bandwidth") for n in names)
    if needs_llama and not os.path.exists(os.path.join(a.llama_bin, "llama-bench")):
        sys.exit(f"error: {a.llama_bin}/llama-bench is missing: run scripts/build_llamacpp.sh")
    env = dict(FORGE_MODELS_DIR=a.models)
    os.environ.update(env)

    report = {}
    if "decode" in names or "bandwidth" in names:
        report["decode"] = measure_pair(a, "decode", lambda t: forge_workload(a, "llm_decode", t),
                                        lambda t: llama_bench(a, t, 0, GEN_TOKENS), a.threads)
    if "prefill" in names:
        report["prefill"] = measure_pair(a, "prefill", lambda t: forge_workload(a, "llm_prefill_512", t),
                                         lambda t: llama_bench(a, t, 512, 0), a.threads)
    if "bandwidth" in names:
        bw = measure_pair(a, "bandwidth", lambda t: forge_workload(a, "mem_bandwidth", t), None, a.threads)
        dec = report["decode"]
        gbps = bw["forge_best"]["value"]
        weight_gb = dec["forge_best"]["extra"]["weight_MB"] / 1e3
        share = {str(t): weight_gb * dec["forge"][str(t)]["value"] / gbps for t in a.threads}
        ref_share = {str(t): weight_gb * dec["ref"][str(t)]["value"] / gbps for t in a.threads}
        best_share = max(share.values())
        report["bandwidth"] = {"gbps": gbps, "gbps_by_threads": {k: v["value"] for k, v in bw["forge"].items()},
                               "weight_mb": weight_gb * 1e3, "forge_share": share, "ref_share": ref_share,
                               "forge_best_share": best_share, "met": best_share >= 0.70}
        if "decode" not in names:
            del report["decode"]
    if "minilm" in names:
        report["minilm"] = measure_pair(a, "minilm", lambda t: forge_workload(a, "minilm_embed", t),
                                        lambda t: torch_minilm(a, t), a.threads)
    if "rss" in names:
        report["rss"] = measure_pair(a, "rss", lambda t: forge_rss(a, t), lambda t: llama_rss(a, t), a.threads[:1])
    for name, r in report.items():
        check = ROWS[name][3]
        if name != "bandwidth":
            r["met"] = check(r["ratio"]) if check and r.get("ratio") is not None else None
    # Present rows in ROWS order.
    report = {n: report[n] for n in ROWS if n in report}
    a_md = argparse.Namespace(**vars(a))
    md = markdown(report, a_md)
    if "rss" in report and len(a.threads) > 1:
        md += f"\nPeak memory measured at {a.threads[0]} thread(s) only.\n"
    print(md)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "runs": a.runs, "threads": a.threads,
            "loadavg": os.getloadavg(), "model": a.model, "prompt": PROMPT, "gen_tokens": GEN_TOKENS}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": report}, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
