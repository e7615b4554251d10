#!/usr/bin/env python3
"""bench/report.py: turns bench/run.sh's raw results into the table, the
target checks and the gnuplot plots of docs/benchmarks.md.

Input: results.tsv (system, op, conns, run, "key=value ..." from kv.lua's
done()), failover.txt (one millisecond figure per trial) and memory.txt (one
"key=value ..." line). Every figure in the table is the median over runs.
With --doc, replaces the text between the bench markers of that file and
writes PNGs into --img; without it, prints the markdown.
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile

BEGIN = "<!-- bench:begin (written by bench/run.sh; edits here are overwritten) -->"
END = "<!-- bench:end -->"
OPS = {"put": "PUT", "get": "linearizable GET", "sget": "stale GET"}
ELECTION_TIMEOUT_MS = 1000  # raftkv-server's default: 10 ticks of 100 ms


def parse_kv(text):
    out = {}
    for part in text.split():
        k, _, v = part.partition("=")
        out[k] = v
    return out


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            sysname, op, conns, _run, rest = line.rstrip("\n").split("\t")
            kv = parse_kv(rest)
            rows.setdefault((sysname, op, int(conns)), []).append(
                {"rps": float(kv["rps"]), "p50": int(kv["p50_us"]), "p90": int(kv["p90_us"]),
                 "p99": int(kv["p99_us"]), "bad": int(kv["non2xx"]) + int(kv["errors"]),
                 "cpu": int(kv.get("cpu_us", "0"))})
    return {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p90", "p99", "bad", "cpu")} | {"n": len(v)}
            for k, v in rows.items()}


def ms(us):
    return f"{us / 1000:.2f}"


def fmt_rps(x):
    return f"{x:,.0f}"


def table(res, conns):
    lines = ["| load | conns | raftkv ops/s | p50 ms | p99 ms | CPU µs/op | etcd ops/s | p50 ms | p99 ms | CPU µs/op | raftkv ÷ etcd |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for op in ("put", "get", "sget"):
        for c in conns:
            r = res.get(("raftkv", op, c))
            e = res.get(("etcd", op, c))
            if not r and not e:
                continue
            cells = [OPS[op], str(c)]
            for x in (r, e):
                cells += [fmt_rps(x["rps"]), ms(x["p50"]), ms(x["p99"]), f"{x['cpu']:.0f}"] if x else ["–"] * 4
            cells.append(f"**{r['rps'] / e['rps']:.1f}×**" if r and e else "–")
            lines.append("| " + " | ".join(cells) + " |")
    floor = [(c, res[("floor", "sget", c)]) for c in conns if ("floor", "sget", c) in res]
    if floor:
        lines += ["", "| floor: nginx, 2-byte answer | conns | ops/s | p50 ms | p99 ms | CPU µs/op | raftkv stale GET ÷ nginx |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for c, f in floor:
            r = res.get(("raftkv", "sget", c))
            lines.append(f"| GET | {c} | {fmt_rps(f['rps'])} | {ms(f['p50'])} | {ms(f['p99'])} | {f['cpu']:.0f} | "
                         + (f"**{r['rps'] / f['rps']:.2f}**" if r else "–") + " |")
    bad = [(k, v["bad"]) for k, v in res.items() if v["bad"] > 0]
    if bad:
        lines += ["", "Non-2xx answers or socket errors (median per run): "
                  + ", ".join(f"{s} {o} c={c}: {b:.0f}" for (s, o, c), b in sorted(bad)) + "."]
    return lines


def targets(res, failover, memory):
    out = []

    def check(name, ok, detail):
        out.append(f"| {name} | {detail} | {'met' if ok else '**not met**'} |")

    def get(*k):
        return res.get(k)

    out += ["| target | measured | |", "|---|---|---|"]
    r, e = get("raftkv", "put", 64), get("etcd", "put", 64)
    if r and e:
        check("PUT at 64 connections ≥ 10× etcd", r["rps"] >= 10 * e["rps"], f"{r['rps'] / e['rps']:.1f}× ({fmt_rps(r['rps'])} vs {fmt_rps(e['rps'])} ops/s)")
    r, e = get("raftkv", "get", 64), get("etcd", "get", 64)
    if r and e:
        check("linearizable GET at 64 connections ≥ 15× etcd", r["rps"] >= 15 * e["rps"], f"{r['rps'] / e['rps']:.1f}× ({fmt_rps(r['rps'])} vs {fmt_rps(e['rps'])} ops/s)")
    r, f = get("raftkv", "sget", 64), get("floor", "sget", 64)
    if r and f:
        check("stale GET at 64 connections ≥ ½ nginx", r["rps"] >= 0.5 * f["rps"], f"{r['rps'] / f['rps']:.2f} of nginx ({fmt_rps(r['rps'])} vs {fmt_rps(f['rps'])} ops/s)")
    r, e = get("raftkv", "put", 1), get("etcd", "put", 1)
    if r:
        check("PUT on 1 connection: p50 ≤ 0.6 ms", r["p50"] <= 600, f"p50 {ms(r['p50'])} ms")
    if r and e:
        check("PUT on 1 connection: p99 ≤ etcd's", r["p99"] <= e["p99"], f"p99 {ms(r['p99'])} ms vs etcd {ms(e['p99'])} ms")
    if failover:
        med = statistics.median(failover)
        check(f"failover: median of {len(failover)} trials < 1.5 × election timeout ({int(1.5 * ELECTION_TIMEOUT_MS)} ms)",
              med < 1.5 * ELECTION_TIMEOUT_MS,
              f"median {med:.0f} ms (min {min(failover)}, max {max(failover)})")
    if memory:
        rss = int(memory["rss_kb"]) * 1024
        raw = int(memory["raw_bytes"])
        check(f"memory: {int(memory['keys']):,} keys, RSS ≤ 2.5× raw", rss <= 2.5 * raw,
              f"{rss / raw:.2f}× ({rss / 2**20:.0f} MiB RSS for {raw / 2**20:.0f} MiB of keys and values)")
        restarts = [int(x) for x in memory["restarts_ms"].split(",")]
        med = statistics.median(restarts)
        check("restart with that data ready in < 2 s", med < 2000,
              f"median {med:.0f} ms of {len(restarts)} ({', '.join(map(str, restarts))})")
    return out


def plots(res, conns, img):
    os.makedirs(img, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        series = []
        for sysname in ("raftkv", "etcd", "floor"):
            for op in ("put", "get", "sget"):
                pts = [(c, res[(sysname, op, c)]) for c in conns if (sysname, op, c) in res]
                if not pts:
                    continue
                name = f"{sysname}-{op}"
                with open(os.path.join(d, name + ".dat"), "w") as f:
                    for c, v in pts:
                        f.write(f"{c} {v['rps']} {v['p50'] / 1000} {v['p90'] / 1000} {v['p99'] / 1000}\n")
                label = "nginx floor" if sysname == "floor" else f"{sysname} {OPS[op]}"
                series.append((name, label, sysname))
        dash = {"raftkv": "lw 2", "etcd": "lw 2 dt 2", "floor": "lw 1 dt 3 lc rgb 'black'"}
        thr = ", ".join(f"'{d}/{n}.dat' using 1:2 with linespoints {dash[s]} title '{t}'" for n, t, s in series)
        lat = ", ".join(
            f"'{d}/{n}.dat' using 1:3 with linespoints {dash[s]} title '{t} p50', "
            f"'{d}/{n}.dat' using 1:5 with linespoints {dash[s]} title '{t} p99'"
            for n, t, s in series if s != "floor" and n.endswith("put"))
        script = f"""
set terminal pngcairo size 900,560 font 'sans,10'
set grid
set logscale xy
set xtics ({', '.join(str(c) for c in conns)})
set key outside right
set xlabel 'connections'
set output '{img}/bench-throughput.png'
set title 'Throughput (median of runs)'
set ylabel 'operations per second'
plot {thr}
set output '{img}/bench-latency.png'
set title 'PUT latency percentiles (median of runs)'
set ylabel 'milliseconds'
plot {lat}
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--failover")
    ap.add_argument("--memory")
    ap.add_argument("--machine", default="")
    ap.add_argument("--duration", default="")
    ap.add_argument("--runs", default="")
    ap.add_argument("--doc")
    ap.add_argument("--img")
    a = ap.parse_args()
    res = load(a.results)
    conns = sorted({c for (_, _, c) in res})
    failover = []
    if a.failover and os.path.exists(a.failover):
        failover = [int(x) for x in open(a.failover).read().split()]
    memory = None
    if a.memory and os.path.exists(a.memory) and open(a.memory).read().strip():
        memory = parse_kv(open(a.memory).read())
    text = [BEGIN, "",
            f"Run of {datetime.date.today().isoformat()} on {a.machine}; "
            f"each load {a.duration} s, {a.runs} runs; every figure is the median of its runs. Servers, wrk and "
            "nginx share the machine's cores. CPU µs/op: the CPU time (user + system, every "
            "thread) of the system's processes during the load, over the requests answered; wrk's own is not counted.", ""]
    text += table(res, conns) + [""]
    text += targets(res, failover, memory) + [""]
    if failover:
        text += [f"Failover trials (ms): {', '.join(map(str, failover))}.", ""]
    if memory:
        text += [f"Memory test: {int(memory['keys']):,} keys loaded in {memory['load_s']} s; data directory "
                 f"{int(memory['disk_kb']) // 1024} MiB; RSS after a restart {int(memory['rss_after_restart_kb']) // 1024} MiB"
                 + (f"; peak RSS during the load {int(memory['peak_rss_kb']) // 1024} MiB (a snapshot being taken)"
                    if 'peak_rss_kb' in memory else "") + ".", ""]
    if a.img:
        plots(res, conns, a.img)
        rel = os.path.relpath(a.img, os.path.dirname(os.path.abspath(a.doc)) if a.doc else ".")
        text += [f"![throughput]({rel}/bench-throughput.png)", "", f"![PUT latency]({rel}/bench-latency.png)", ""]
    text.append(END)
    block = "\n".join(text)
    if not a.doc:
        print(block)
        return
    doc = open(a.doc).read()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    open(a.doc, "w").write(doc)
    print(block)


if __name__ == "__main__":
    sys.exit(main())
