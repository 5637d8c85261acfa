#!/usr/bin/env python3
"""Soak: canary runs (workloads reused) against ONE long-lived `meshcheck sim`, with API faults on some runs.

Driven by Tests/scripts/soak.sh (short form in `make test`, `make soak` for the 10-minute form). Per run it
records meshcheck's peak RSS (wait4's ru_maxrss) and peak open descriptors (sampled from /proc), then, with
the faults switched off again, checks that nothing was left behind and samples the simulator's RSS,
descriptors, threads and child processes. At the end it prints the curve and judges it: memory flat (the
last quarter's median within a margin of the first quarter's, after warm-up), no descriptor growth.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_check import failed_only_timing_checks  # noqa: E402

# Fault schedule, by run number modulo its length. Throttling alone must still pass (429s are retried);
# with 500s (never retried, like client-go) a run may fail its checks (1) or stop with an environment
# error (3), but must not crash, hang or leave anything behind. A run whose only failed checks measure the
# machine's speed (report_check.TIMING_CHECKS: the canary's latency SLO) counts as passed and is marked
# "(slow)": the soak is about memory, descriptors and leftovers, not speed.
SCHEDULE = [
    ("none", {}, {0}),
    ("429 15%", {"throttleFraction": 0.15, "retryAfterSeconds": 1}, {0}),
    ("none", {}, {0}),
    ("429 10% + 500 10%", {"throttleFraction": 0.10, "serverErrorFraction": 0.10, "serverErrorCode": 500}, {0, 1, 3}),
]
RUN_TIMEOUT = 240  # a run that takes longer is a hang
SAMPLE_INTERVAL = 0.05


def proc_status(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def children(pid):
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def processes_mentioning(text):
    """PIDs whose command line contains `text` (in-pod burst commands name the target host)."""
    needle = text.encode()
    hits = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    hits.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return hits


def put_faults(control, api):
    body = json.dumps({"api": {"*": api}}).encode()
    request = urllib.request.Request(control + "/v1/faults", data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        document = json.load(response)
    for cluster, faults in document["api"].items():
        for key, value in api.items():
            if faults.get(key) != value:
                raise SystemExit(f"FAIL: the simulator did not take fault {key}={value} for {cluster}: {faults}")


class Sampler(threading.Thread):
    """Peak open descriptors of a running process."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_fds, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            count = fd_count(self.pid)
            if count is None:
                return
            self.peak_fds = max(self.peak_fds, count)
            self.done.wait(SAMPLE_INTERVAL)


def run_meshcheck(args, number, fault_name):
    out_dir = os.path.join(args.work, f"run{number}")
    log = open(os.path.join(args.work, f"run{number}.log"), "w")
    started = time.monotonic()
    process = subprocess.Popen([args.meshcheck, "run", args.scenario, "--kubeconfig", args.kubeconfig,
                                "--output-dir", out_dir], stdout=log, stderr=subprocess.STDOUT,
                               env=dict(os.environ, NO_COLOR="1"))
    sampler = Sampler(process.pid)
    sampler.start()
    deadline = started + RUN_TIMEOUT
    status = rusage = None
    while status is None:
        pid, raw, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            status, rusage = raw, usage
            break
        if time.monotonic() > deadline:
            process.send_signal(signal.SIGKILL)
            raise SystemExit(f"FAIL: run {number} ({fault_name}) did not finish within {RUN_TIMEOUT} s (see {log.name})")
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.done.set()
    sampler.join()
    log.close()
    return {
        "exit": process.returncode, "seconds": time.monotonic() - started,
        "rssMB": rusage.ru_maxrss / 1024, "fds": sampler.peak_fds,
        "cpu": rusage.ru_utime + rusage.ru_stime, "log": log.name, "report": os.path.join(out_dir, "report.json"),
    }


def kubectl(args, context, *arguments):
    result = subprocess.run(["kubectl", "--kubeconfig", args.kubeconfig, "--context", context, *arguments],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SystemExit(f"FAIL: kubectl {' '.join(arguments)} in {context}: {result.stderr.strip()}")
    return result.stdout


def inventory(args, context):
    """What the canary namespace holds in one cluster, and every namespace meshcheck manages there."""
    managed = kubectl(args, context, "get", "namespaces", "-l", "app.kubernetes.io/managed-by=meshcheck", "-o", "name").split()
    objects = kubectl(args, context, "get", "deployments,replicasets,services,serviceaccounts,configmaps,secrets,pods",
                      "-n", args.namespace, "-o",
                      "jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.deletionTimestamp}{\"\\n\"}{end}")
    return sorted(managed), sorted(line.strip() for line in objects.splitlines() if line.strip())


def check_leftovers(args, number, baseline):
    problems = []
    for context in args.contexts:
        managed, objects = inventory(args, context)
        if managed != [f"namespace/{args.namespace}"]:
            problems.append(f"{context}: meshcheck-managed namespaces {managed}, expected only {args.namespace}")
        terminating = [o for o in objects if len(o.split()) > 1]
        if terminating:
            problems.append(f"{context}: objects being deleted in a reused namespace: {terminating}")
        if context in baseline and objects != baseline[context]:
            gone = sorted(set(baseline[context]) - set(objects))
            extra = sorted(set(objects) - set(baseline[context]))
            problems.append(f"{context}: the reused workloads changed: new {extra}, gone {gone}")
        baseline.setdefault(context, objects)
    # In-pod processes end with their exec sessions; give the simulator a moment to reap them.
    for _ in range(50):
        stray = children(args.sim_pid) + processes_mentioning(f"helloworld.{args.namespace}:")
        if not stray:
            break
        time.sleep(0.1)
    if stray:
        problems.append(f"in-pod processes still running after the run: {sorted(set(stray))}")
    if problems:
        raise SystemExit(f"FAIL: leftovers after run {number}:\n  " + "\n  ".join(problems))


def median(values):
    return statistics.median(values) if values else 0


def judge(rows, warmup):
    """Memory flat and descriptors not growing, comparing the first and last quarter after warm-up."""
    measured = rows[warmup:]
    if len(measured) < 2:
        return [f"only {len(rows)} runs: too few to judge the curve (need at least {warmup + 2})"]
    quarter = max(1, len(measured) // 4)
    first, last = measured[:quarter], measured[-quarter:]
    problems = []
    for key, label in (("simRssMB", "simulator RSS"), ("rssMB", "meshcheck peak RSS")):
        before, after = median([r[key] for r in first]), median([r[key] for r in last])
        allowed = before * 1.10 + 4
        verdict = "flat" if after <= allowed else "GROWING"
        print(f"{label}: first-quarter median {before:.1f} MB, last-quarter median {after:.1f} MB "
              f"(allowed ≤ {allowed:.1f}): {verdict}")
        if after > allowed:
            problems.append(f"{label} grew from {before:.1f} MB to {after:.1f} MB")
    for key, label, slack in (("simFds", "simulator open descriptors (idle)", 2),
                              ("simThreads", "simulator threads", 4),
                              ("fds", "meshcheck peak open descriptors", 8)):
        before, after = max(r[key] for r in first), max(r[key] for r in last)
        verdict = "stable" if after <= before + slack else "GROWING"
        print(f"{label}: first quarter max {before}, last quarter max {after} (slack {slack}): {verdict}")
        if after > before + slack:
            problems.append(f"{label} grew from {before} to {after}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshcheck", required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--control", required=True, help="the simulator's fault endpoint, http://127.0.0.1:PORT")
    parser.add_argument("--sim-pid", type=int, required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--namespace", default="meshcheck-canary")
    parser.add_argument("--context", dest="contexts", action="append", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--max-runs", type=int, default=1000)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()

    rows, baseline = [], {}
    started = time.monotonic()
    header = (f"{'run':>4} {'t s':>6} {'faults':<24} {'exit':>4} {'run s':>6} {'mc RSS MB':>9} {'mc fds':>6} "
              f"{'mc CPU s':>8} {'sim RSS MB':>10} {'sim fds':>7} {'sim thr':>7}")
    print(header)
    number = 0
    while time.monotonic() - started < args.seconds and number < args.max_runs:
        number += 1
        fault_name, api, allowed = SCHEDULE[(number - 1) % len(SCHEDULE)]
        put_faults(args.control, api)
        try:
            result = run_meshcheck(args, number, fault_name)
        finally:
            put_faults(args.control, {})
        slow_only = False
        if result["exit"] in (0, 1):
            with open(result["report"]) as f:
                report = json.load(f)
            # Reuse keeps the workloads: nothing is deleted ("skipped").
            if report["cleanup"]["status"] != "skipped" or report["cleanup"]["leftovers"]:
                raise SystemExit(f"FAIL: run {number}: a reusing canary run must keep its workloads: {report['cleanup']}")
            slow_only = result["exit"] == 1 and failed_only_timing_checks(report)
        if result["exit"] not in allowed and not slow_only:
            with open(result["log"]) as f:
                tail = f.read()[-3000:]
            raise SystemExit(f"FAIL: run {number} ({fault_name}) exited {result['exit']}, expected {sorted(allowed)}:\n{tail}")
        if slow_only:
            fault_name += " (slow)"
        check_leftovers(args, number, baseline)
        row = dict(result, run=number, t=time.monotonic() - started, faults=fault_name,
                   simRssMB=proc_status(args.sim_pid, "VmRSS") / 1024, simFds=fd_count(args.sim_pid),
                   simThreads=proc_status(args.sim_pid, "Threads"))
        rows.append(row)
        print(f"{number:>4} {row['t']:>6.0f} {fault_name:<24} {row['exit']:>4} {row['seconds']:>6.1f} {row['rssMB']:>9.1f} "
              f"{row['fds']:>6} {row['cpu']:>8.2f} {row['simRssMB']:>10.1f} {row['simFds']:>7} {row['simThreads']:>7}",
              flush=True)

    passed = sum(1 for r in rows if r["exit"] == 0)
    slow = sum(1 for r in rows if r["faults"].endswith("(slow)"))
    print(f"{len(rows)} runs in {time.monotonic() - started:.0f} s, {passed} passed, {slow} failed only their latency SLO, "
          f"{len(rows) - passed - slow} failed as faults allow; no leftovers after any run")
    warmup = max(2, len(rows) // 10)
    problems = judge(rows, warmup)
    if problems:
        raise SystemExit("FAIL: " + "; ".join(problems))
    print("soak: memory flat, no descriptor growth, no leftovers")


if __name__ == "__main__":
    main()
