#!/usr/bin/env python3
"""Scaling figures for `meshcheck run --simulate=N` over full meshes of N = 2, 4, 8, 16 clusters.

Every cluster serves HelloWorld and runs a Sleep client, and every (source, target) pair gets the same number of
requests (15 by default), so a run's work is proportional to the N² pairs. For each N it measures wall time,
meshcheck's peak RSS (the in-process simulated mesh included; wait4's ru_maxrss), the CPU seconds of the
meshcheck process itself (harness + simulator, from /proc until it exits) and of the whole run (with the in-pod
shells and curls, wait4's rusage), then prints a table and the cost per pair, the marginal cost of each added
pair and the growth exponent between the two largest meshes (1 = linear in pairs, 2 = quadratic).

    make scale-table                      # or: python3 scripts/scale-table.py --meshcheck .build/debug/meshcheck
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def scenario(clusters, per_pair):
    lines = [f"name: scale-{clusters}", "clusters:"]
    for index in range(1, clusters + 1):
        lines += [f"  - context: gke_meshcheck-sim_us-central1-a_cluster-{index}", f"    serves: v{(index - 1) % 4 + 1}"]
    lines += ["load:", f"  requestsPerBurst: {per_pair * clusters}", "  mode: parallel-in-pod",
              f"  parallelism: {min(8, per_pair * clusters)}", "timeouts:", "  converge: 3m", "  bursts: 15m",
              "expectations:", "  balance: proportional-to-endpoints", "  significance: 0.0001", "  maxErrorRate: 0"]
    return "\n".join(lines) + "\n"


def own_cpu_seconds(pid):
    """utime + stime of the process (all its threads), not of its children."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def measure(meshcheck, clusters, per_pair, work):
    path = os.path.join(work, f"scale-{clusters}.yaml")
    with open(path, "w") as f:
        f.write(scenario(clusters, per_pair))
    out = os.path.join(work, f"run-{clusters}")
    log = open(os.path.join(work, f"run-{clusters}.log"), "w")
    started = time.monotonic()
    process = subprocess.Popen([meshcheck, "run", path, f"--simulate={clusters}", "--output-dir", out],
                               stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, NO_COLOR="1"))
    own = 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        own = own_cpu_seconds(process.pid) or own
        time.sleep(0.1)
    wall = time.monotonic() - started
    log.close()
    code = os.waitstatus_to_exitcode(status)
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    if code != 0:
        sys.exit(f"N={clusters}: meshcheck exited {code} ({report.get('verdict')}); see {log.name}")
    phases = {p["name"]: p["seconds"] for p in report["phases"]}
    pairs = sum(1 for row in report["traffic"] if row["requests"] > 0)
    return {
        "N": clusters, "pairs": pairs, "requests": sum(row["requests"] for row in report["traffic"]),
        "wall": wall, "converge": phases.get("converge", 0), "bursts": phases.get("bursts", 0),
        "rssMB": usage.ru_maxrss / 1024, "ownCPU": own, "totalCPU": usage.ru_utime + usage.ru_stime,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meshcheck", required=True)
    parser.add_argument("--clusters", default="2,4,8,16")
    parser.add_argument("--per-pair", type=int, default=15, help="requests per (source, target) pair")
    args = parser.parse_args()
    sizes = [int(n) for n in args.clusters.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshcheck-scale-") as work:
        for clusters in sizes:
            rows.append(measure(args.meshcheck, clusters, args.per_pair, work))
            row = rows[-1]
            print(f"N={clusters}: {row['wall']:.1f} s, {row['rssMB']:.0f} MB, {row['totalCPU']:.1f} CPU s", file=sys.stderr)

    print(f"full mesh, {args.per_pair} requests per (source, target) pair, meshcheck run --simulate=N (debug build)")
    print(f"{'N':>3} {'pairs':>5} {'requests':>8} {'wall s':>7} {'converge s':>10} {'bursts s':>8} {'peak RSS MB':>11} "
          f"{'meshcheck CPU s':>15} {'run CPU s':>9} {'run CPU ms/pair':>15} {'RSS MB/pair':>11}")
    for r in rows:
        print(f"{r['N']:>3} {r['pairs']:>5} {r['requests']:>8} {r['wall']:>7.1f} {r['converge']:>10.1f} {r['bursts']:>8.1f} "
              f"{r['rssMB']:>11.0f} {r['ownCPU']:>15.1f} {r['totalCPU']:>9.1f} {1000 * r['totalCPU'] / r['pairs']:>15.0f} "
              f"{r['rssMB'] / r['pairs']:>11.2f}")
    print("marginal cost of each added pair (from the previous N):")
    for before, after in zip(rows, rows[1:]):
        added = after["pairs"] - before["pairs"]
        print(f"  N {before['N']:>2} → {after['N']:>2}: +{added:>3} pairs: "
              f"wall {1000 * (after['wall'] - before['wall']) / added:6.0f} ms, "
              f"run CPU {1000 * (after['totalCPU'] - before['totalCPU']) / added:6.0f} ms, "
              f"meshcheck CPU {1000 * (after['ownCPU'] - before['ownCPU']) / added:6.0f} ms, "
              f"RSS {1024 * (after['rssMB'] - before['rssMB']) / added:6.0f} KB")
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        ratio = math.log(b["pairs"] / a["pairs"])
        for key, label in (("wall", "wall"), ("totalCPU", "run CPU"), ("ownCPU", "meshcheck CPU"), ("rssMB", "peak RSS")):
            print(f"growth exponent in pairs, N {a['N']} → {b['N']}, {label}: {math.log(b[key] / a[key]) / ratio:.2f}")


if __name__ == "__main__":
    main()
