#!/usr/bin/python3
"""Issue 7 item 7: `forge serve` next to llama.cpp's `llama-server`, plus the server's own overhead.

    scripts/build_llamacpp.sh                     # once: build-ref/llama.cpp/bin/llama-server
    ninja -C build forge bench_http
    /usr/bin/python3 bench/serve_compare.py                         # every row
    /usr/bin/python3 bench/serve_compare.py --only streams --rounds 3 --max-tokens 64 --json r.json

Rows:
  streams   4 concurrent streaming POST /v1/chat/completions (temperature 0, fixed max_tokens, a
            different prompt per stream and round so no prompt cache helps) against `forge serve
            --slots 4` and `llama-server -np 4` (same GGUF, same compute threads, same context per
            slot, both with an API key). Per round: aggregate completion tokens / wall time from the
            first request to the last [DONE]; time to first token = request sent -> first chunk
            with content. Medians over --rounds (after one warm-up round).
  overhead  added latency of HTTP + auth + metering per request: POST /v1/embeddings to the
            built-in no-op model (`--model noop=noop:`; returns one zero, no compute) with a key
            (SQLite key store, rate limiter, usage-ledger row per request), median over keep-alive
            requests from bench_http (a C++ raw-socket client). Also shown: the same request with
            --no-keys (no auth, no ledger) and GET /health (HTTP alone); "added by auth +
            metering" is the difference of the first two.
  health    requests/s on GET /health with one HTTP thread (`--http-threads 1`), loopback, one
            keep-alive connection (requests back to back; with one server thread a second
            connection would only wait for the first).

Compute threads: `forge serve` runs its engine at 1 thread (Forge's default and its best on this
machine); llama-server gets -t/-tb of --llama-threads (default 1, the same).
"""
import argparse, http.client, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMOL = "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
TOPICS = ["the history of the printing press", "how bridges are built", "a voyage across the Pacific",
          "the life cycle of stars", "why cities grow", "the invention of the telescope", "how bread is baked",
          "the migration of birds"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, what, timeout=180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see its log")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} did not become ready on port {port}")


class Proc:
    """A server process with its log in the work dir; stopped with SIGTERM on exit."""

    def __init__(self, cmd, log_path, env=None):
        self.log = open(log_path, "w")
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def create_key(a, db):
    out = subprocess.run([a.forge, "keys", "create", "--name", "bench", "--scopes", "inference", "--db", db],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def start_forge(a, work, port, *models, keys=True, extra=()):
    cmd = [a.forge, "serve", "--port", str(port)]
    for m in models:
        cmd += ["--model", m]
    key = None
    if keys:
        db = os.path.join(work, f"keys-{port}.db")
        key = create_key(a, db)
        cmd += ["--keys", db]
    else:
        cmd += ["--no-keys"]
    cmd += list(extra) + list(a.serve_arg)
    p = Proc(cmd, os.path.join(work, f"forge-{port}.log"), dict(os.environ))
    wait_ready(port, p.p, "forge serve")
    return p, key


def stream_one(port, key, model, prompt, max_tokens, out, idx):
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                       "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    c.request("POST", "/v1/chat/completions", body, headers)
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"status {r.status}: {r.read()[:500]!r}")
    ttft, chunks, usage = None, 0, None
    while True:
        line = r.readline()
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            break
        j = json.loads(data)
        if j.get("usage"):
            usage = j["usage"]
        for ch in j.get("choices", []):
            if ch.get("delta", {}).get("content"):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - t0
    t1 = time.perf_counter()
    c.close()
    tokens = usage["completion_tokens"] if usage and usage.get("completion_tokens") else chunks
    out[idx] = {"ttft": ttft if ttft is not None else t1 - t0, "tokens": tokens, "end": t1, "start": t0}


def run_round(port, key, model, streams, max_tokens, rnd):
    out = [None] * streams
    threads = [threading.Thread(target=stream_one, args=(port, key, model,
               f"Request {rnd}.{i}: write a long, detailed essay about {TOPICS[(rnd + i) % len(TOPICS)]}.",
               max_tokens, out, i)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(o is None for o in out):
        raise RuntimeError("a stream failed (see the traceback above)")
    wall = max(o["end"] for o in out) - min(o["start"] for o in out)
    tokens = sum(o["tokens"] for o in out)
    return {"tokens_per_s": tokens / wall, "tokens": tokens, "ttft_median_s": statistics.median(o["ttft"] for o in out)}


def bench_streams(port, key, model, a, label):
    run_round(port, key, model, a.streams, min(a.max_tokens, 16), 0)  # warm-up
    rounds = []
    for rnd in range(1, a.rounds + 1):
        r = run_round(port, key, model, a.streams, a.max_tokens, rnd)
        log(f"streams   {label:<10} round {rnd}: {r['tokens_per_s']:.1f} tokens/s ({r['tokens']} tokens), "
            f"TTFT median {1000 * r['ttft_median_s']:.0f} ms")
        rounds.append(r)
    return {"tokens_per_s": statistics.median(r["tokens_per_s"] for r in rounds),
            "ttft_ms": 1000 * statistics.median(r["ttft_median_s"] for r in rounds), "rounds": rounds}


def row_streams(a, work):
    """One server at a time (the other would take CPU from it): Forge first, then llama.cpp."""
    model_path = os.path.join(a.models, SMOL)
    forge_port, llama_port = free_port(), free_port()
    result = {}
    fp, fkey = start_forge(a, work, forge_port, f"smol={model_path}", extra=["--slots", str(a.streams)])
    try:
        # Tokens per slot (prompt + completion): the model's context unless limited.
        ctx = int(json.loads(http_get(forge_port, "/v1/models", fkey))["data"][0]["context_length"])
        result["forge"] = bench_streams(forge_port, fkey, "smol", a, "forge")
    finally:
        fp.stop()
    llama_key = "bench-key"
    lcmd = [os.path.join(a.llama_bin, "llama-server"), "-m", model_path, "--host", "127.0.0.1", "--port",
            str(llama_port), "-np", str(a.streams), "-c", str(ctx * a.streams), "-t", str(a.llama_threads), "-tb",
            str(a.llama_threads), "--api-key", llama_key, "--no-webui"]
    lp = Proc(lcmd, os.path.join(work, "llama-server.log"))
    try:
        wait_ready(llama_port, lp.p, "llama-server")
        result["llama.cpp"] = bench_streams(llama_port, llama_key, "smol", a, "llama.cpp")
    finally:
        lp.stop()
    result["context_per_slot"] = ctx
    result["llama_cmd"] = " ".join(lcmd)
    return result


def http_get(port, path, key=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers={"Authorization": f"Bearer {key}"} if key else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"GET {path}: {r.status} {body[:300]!r}")
    return body


def bench_http(a, port, *args):
    out = subprocess.run([a.bench_http, "--port", str(port), "--json", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench_http failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def row_overhead(a, work):
    body = json.dumps({"model": "noop", "input": "hello"})
    res = {"keyed": [], "open": [], "health": []}
    for rnd in range(a.rounds):
        for mode in ("keyed", "open"):
            port = free_port()
            p, key = start_forge(a, work, port, "noop=noop:", keys=(mode == "keyed"))
            try:
                hdr = ["--header", f"Authorization: Bearer {key}"] if key else []
                r = bench_http(a, port, "--method", "POST", "--path", "/v1/embeddings", "--body", body,
                               "--requests", str(a.requests), *hdr)
                res[mode].append(r)
                log(f"overhead  {mode:<6} run {rnd + 1}: median {r['median_us']:.1f} us")
                if mode == "open":
                    h = bench_http(a, port, "--path", "/health", "--requests", str(a.requests))
                    res["health"].append(h)
                    log(f"overhead  health run {rnd + 1}: median {h['median_us']:.1f} us")
            finally:
                p.stop()
    med = {k: statistics.median(r["median_us"] for r in v) for k, v in res.items()}
    return {"median_us": med, "auth_metering_us": med["keyed"] - med["open"], "runs": res}


def row_health(a, work):
    runs = []
    for rnd in range(a.rounds):
        port = free_port()
        p, _ = start_forge(a, work, port, "noop=noop:", keys=False, extra=["--http-threads", "1"])
        try:
            r = bench_http(a, port, "--path", "/health", "--requests", str(max(a.requests, 20000)))
            runs.append(r)
            log(f"health    run {rnd + 1}: {r['rps']:.0f} requests/s (median {r['median_us']:.1f} us)")
        finally:
            p.stop()
    return {"rps": statistics.median(r["rps"] for r in runs), "runs": runs}


def markdown(rep, a):
    lines = ["| workload | Forge | llama.cpp server | Forge / llama.cpp | target | met |", "|---|---|---|---|---|---|"]
    if "streams" in rep:
        s = rep["streams"]
        f, l = s["forge"], s["llama.cpp"]
        r = f["tokens_per_s"] / l["tokens_per_s"]
        lines.append(f"| {a.streams} concurrent streams on SmolLM2-135M, aggregate tokens/s (max_tokens {a.max_tokens}) | "
                     f"{f['tokens_per_s']:.1f} | {l['tokens_per_s']:.1f} | {r:.2f}x | >= 1.0x | {'yes' if r >= 1 else '**no**'} |")
        r = f["ttft_ms"] / l["ttft_ms"]
        lines.append(f"| same, median time to first token (ms) | {f['ttft_ms']:.0f} | {l['ttft_ms']:.0f} | {r:.2f}x | "
                     f"<= 1.0x | {'yes' if r <= 1 else '**no**'} |")
    if "overhead" in rep:
        o = rep["overhead"]
        m = o["median_us"]
        lines.append(f"| added latency of HTTP + auth + metering per request (no-op model), median (us) | "
                     f"{m['keyed']:.1f} (no keys: {m['open']:.1f}; auth + metering alone: {o['auth_metering_us']:.1f};"
                     f" GET /health: {m['health']:.1f}) | — | — | <= 100 us | {'yes' if m['keyed'] <= 100 else '**no**'} |")
    if "health" in rep:
        h = rep["health"]["rps"]
        lines.append(f"| requests/s on /health, 1 HTTP thread, loopback, keep-alive | {h:,.0f} | — | — | >= 20k | "
                     f"{'yes' if h >= 20000 else '**no**'} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated rows: streams,overhead,health")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--requests", type=int, default=5000, help="keep-alive requests per overhead/health run")
    ap.add_argument("--llama-threads", type=int, default=1)
    ap.add_argument("--models", default=os.environ.get("FORGE_MODELS_DIR", os.path.join(ROOT, "models")))
    ap.add_argument("--forge", default=os.path.join(ROOT, "build", "forge"))
    ap.add_argument("--bench-http", default=os.path.join(ROOT, "build", "bench", "bench_http"))
    ap.add_argument("--llama-bin", default=os.path.join(ROOT, "build-ref", "llama.cpp", "bin"))
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="extra `forge serve` argument (repeatable), e.g. --serve-arg=--ledger-commit-ms=2")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    names = a.only.split(",") if a.only else ["streams", "overhead", "health"]
    for n in names:
        if n not in ("streams", "overhead", "health"):
            sys.exit(f"error: unknown row '{n}' (streams, overhead, health)")
    for path, what in ((a.forge, "ninja -C build forge"), (a.bench_http, "ninja -C build bench_http")):
        if not os.path.exists(path):
            sys.exit(f"error: {path} is missing: {what}")
    if "streams" in names and not os.path.exists(os.path.join(a.llama_bin, "llama-server")):
        sys.exit(f"error: {a.llama_bin}/llama-server is missing: run scripts/build_llamacpp.sh")
    work = tempfile.mkdtemp(prefix="forge-serve-bench-")
    rep = {}
    try:
        if "streams" in names:
            rep["streams"] = row_streams(a, work)
        if "overhead" in names:
            rep["overhead"] = row_overhead(a, work)
        if "health" in names:
            rep["health"] = row_health(a, work)
    except Exception:
        log(f"server logs kept in {work}")
        raise
    shutil.rmtree(work, ignore_errors=True)
    md = markdown(rep, a)
    print(md)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "rounds": a.rounds, "streams": a.streams,
            "max_tokens": a.max_tokens, "requests": a.requests, "llama_threads": a.llama_threads,
            "loadavg": os.getloadavg()}
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rep}, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
