#!/usr/bin/env python3
"""Independent checks of meshcheck's report files, used by Tests/scripts/report-*.sh.

  report_check.py prom METRICS.prom REPORT.json     parse with prometheus_client; buckets cumulative and
                                                    consistent with the report's counts
  report_check.py junit JUNIT.xml REPORT.json       failure/error/skip counts agree with the checks
  report_check.py html REPORT.html SCREENSHOT.png   load in headless Chromium over the DevTools pipe: no console
                                                    errors, no network requests, every chart present; screenshot
  report_check.py passed REPORT.json EXIT_CODE      the run passed, or failed only checks that measure this
                                                    machine's speed (TIMING_CHECKS)

Each subcommand exits 0 when every check holds and prints what failed otherwise.
"""

import base64
import json
import math
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

problems = []

# Checks whose outcome is the test machine's speed rather than meshcheck's behaviour: on the simulated mesh
# an in-pod request's latency is CPU time on a shared machine. Tests of the machinery judge runs without
# them (speed is measured in `make bench`); the fault matrix tests the latency check with injected delays.
TIMING_CHECKS = {"latency-slo"}


def failed_checks(report):
    return sorted({check["name"] for check in report["checks"] if check["status"] == "fail"})


def failed_only_timing_checks(report):
    """True when the report failed checks, all of them TIMING_CHECKS."""
    failed = failed_checks(report)
    return bool(failed) and set(failed) <= TIMING_CHECKS


def expect(condition, message):
    if not condition:
        problems.append(message)


def finish(name):
    if problems:
        for problem in problems:
            print(f"FAIL {name}: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"ok {name}")


# ---------------------------------------------------------------- metrics.prom

def check_prom(metrics_path, report_path):
    from prometheus_client.parser import text_string_to_metric_families

    report = json.loads(pathlib.Path(report_path).read_text())
    families = {family.name: family for family in text_string_to_metric_families(pathlib.Path(metrics_path).read_text())}

    def samples(family, suffix=None):
        found = families.get(family)
        expect(found is not None, f"family {family} missing")
        if found is None:
            return []
        return [s for s in found.samples if suffix is None or s.name == family + suffix]

    scenario = report["scenario"]["name"]
    for family in families.values():
        for sample in family.samples:
            expect(sample.labels.get("scenario") == scenario, f"{sample.name} lacks scenario=\"{scenario}\"")

    # Counters (the parser strips _total from the family name).
    requests = samples("meshcheck_requests", "_total")
    for source in report["sources"]:
        total = sum(s.value for s in requests if s.labels["source"] == source["source"])
        expect(total == source["requests"], f"requests from {source['source']}: metrics say {total}, report {source['requests']}")

    histogram = samples("meshcheck_request_duration_seconds")
    expect(families["meshcheck_request_duration_seconds"].type == "histogram", "request duration is not a histogram")
    for row in report["traffic"]:
        pair = {"source": row["source"], "target": row["target"]}
        mine = [s for s in histogram if all(s.labels.get(k) == v for k, v in pair.items())]
        buckets = [s for s in mine if s.name.endswith("_bucket")]
        successes = row["requests"] - row["errors"]
        expect(buckets, f"no buckets for {pair}")
        if not buckets:
            continue
        bounds = [float(s.labels["le"]) for s in buckets]
        expect(bounds == sorted(bounds) and math.isinf(bounds[-1]), f"le bounds of {pair} not increasing to +Inf: {bounds}")
        values = [s.value for s in buckets]
        expect(all(a <= b for a, b in zip(values, values[1:])), f"buckets of {pair} not cumulative: {values}")
        count = next(s.value for s in mine if s.name.endswith("_count"))
        total = next(s.value for s in mine if s.name.endswith("_sum"))
        expect(values[-1] == count == successes, f"{pair}: +Inf {values[-1]}, _count {count}, report successes {successes}")
        if row.get("latencyMs") and successes:
            # The report's max (ms) must lie within the buckets: the bucket at or above it holds everything.
            top = row["latencyMs"]["max"] / 1000
            first_full = next(b for b, v in zip(bounds, values) if v == successes)
            expect(first_full >= top * 0.999, f"{pair}: all {successes} requests counted at le={first_full} below the max {top}")
            expect(total > 0, f"{pair}: zero _sum with {successes} requests")
        success = [s for s in requests if s.labels["source"] == row["source"] and s.labels["target"] == row["target"]
                   and s.labels["outcome"] == "success"]
        expect(len(success) == 1 and success[0].value == successes, f"{pair}: success counter {success} vs {successes}")

    status = samples("meshcheck_check_status")
    for check in report["checks"]:
        mine = [s for s in status if s.labels["check"] == check["name"] and s.labels["source"] == check.get("source", "")
                and s.labels["target"] == check.get("target", "")]
        on = [s.labels["status"] for s in mine if s.value == 1]
        expect(on == [check["status"]], f"check {check['name']} {check.get('source', '')}: gauge says {on}, report {check['status']}")

    verdict = [s.labels["verdict"] for s in samples("meshcheck_run_verdict") if s.value == 1]
    expect(verdict == [report["verdict"]], f"verdict gauge {verdict} vs report {report['verdict']}")
    duration = samples("meshcheck_run_duration_seconds")
    expect(len(duration) == 1 and abs(duration[0].value - report["durationSeconds"]) < 1e-6, "run duration differs from the report")
    started = samples("meshcheck_run_start_timestamp_seconds")
    expect(len(started) == 1 and started[0].value > 1.5e9, "run start timestamp missing or not in seconds")
    finish(f"prom {metrics_path}")


# ---------------------------------------------------------------- junit.xml

def check_junit(junit_path, report_path):
    report = json.loads(pathlib.Path(report_path).read_text())
    root = ElementTree.parse(junit_path).getroot()
    expect(root.tag == "testsuites", f"root is {root.tag}")
    suites = root.findall("testsuite")
    failures = errors = tests = 0
    for suite in suites:
        cases = suite.findall("testcase")
        counted = {kind: sum(len(case.findall(kind)) for case in cases) for kind in ("failure", "error", "skipped")}
        name = suite.get("name")
        expect(int(suite.get("tests")) == len(cases), f"suite {name}: tests={suite.get('tests')} but {len(cases)} cases")
        expect(int(suite.get("failures")) == counted["failure"], f"suite {name}: failures={suite.get('failures')} but {counted['failure']}")
        expect(int(suite.get("errors")) == counted["error"], f"suite {name}: errors={suite.get('errors')} but {counted['error']}")
        expect(int(suite.get("skipped", "0")) == counted["skipped"], f"suite {name}: skipped={suite.get('skipped')} but {counted['skipped']}")
        failures += counted["failure"]
        errors += counted["error"]
        tests += len(cases)
    failed_checks = sum(1 for check in report["checks"] if check["status"] == "fail")
    expect(failures == failed_checks, f"{failures} <failure> elements for {failed_checks} failed checks")
    expect(int(root.get("failures")) == failures and int(root.get("errors")) == errors and int(root.get("tests")) == tests,
           "testsuites totals disagree with the suites")
    expected_errors = 1 if report["verdict"] in ("error", "interrupted") else 0
    expect(errors == expected_errors, f"{errors} <error> cases for verdict {report['verdict']}")
    sources = {check["source"] for check in report["checks"] if check.get("source")}
    expect([s.get("name") for s in suites][0] == "preflight", "first suite is not preflight")
    expect({s.get("name") for s in suites[1:]} == sources, f"suites {[s.get('name') for s in suites]} vs sources {sorted(sources)}")
    for case in root.iter("testcase"):
        for failure in case.findall("failure"):
            check = next((c for c in report["checks"] if c["message"] == failure.get("message")), None)
            expect(check is not None, f"failure {failure.get('message')!r} matches no check")
            if check and check.get("cause"):
                expect(check["cause"] in (failure.text or ""), f"failure of {check['name']} lacks its cause")
    finish(f"junit {junit_path} ({failures} failures)")


# ---------------------------------------------------------------- report.html in Chromium

class DevTools:
    """The Chrome DevTools protocol over --remote-debugging-pipe: NUL-terminated JSON on fds 3 (in) and 4 (out)."""

    def __init__(self, browser, html_dir):
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()
        profile = tempfile.mkdtemp(prefix="meshcheck-chromium-")
        self.profile = profile
        # The child gets the pipe ends as fds 3 and 4 (moved out of the way first, in case either already is 3
        # or 4); os.pipe's descriptors close on exec, the dup2'ed ones are inherited.
        def child_fds():
            reading, writing = os.dup(to_browser_read), os.dup(from_browser_write)
            os.dup2(reading, 3)
            os.dup2(writing, 4)
        self.process = subprocess.Popen(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio", "about:blank"],
            close_fds=False, preexec_fn=child_fds,
            stdout=subprocess.DEVNULL, stderr=open(os.environ.get('CHROMIUM_LOG', os.devnull), 'w'))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id, 30)

    def read_message(self, deadline):
        while b"\0" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.from_browser], [], [], remaining)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def wait(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        for index, event in enumerate(self.events):
            if predicate(event):
                return self.events.pop(index)
        while True:
            message = self.read_message(deadline)
            if predicate(message):
                if "error" in message:
                    raise RuntimeError(f"DevTools error: {message['error']}")
                return message
            self.events.append(message)

    def close(self):
        try:
            os.write(self.to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


CHART_IDS_SCRIPT = """(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => ({
    id: svg.id, role: svg.getAttribute('role'),
    title: svg.querySelector(':scope > title')?.textContent ?? '',
    desc: svg.querySelector(':scope > desc')?.textContent ?? '',
    width: svg.getBoundingClientRect().width, height: svg.getBoundingClientRect().height,
    marks: svg.querySelectorAll('rect, line, polyline, polygon, circle').length }));
  const timelines = [...document.querySelectorAll('svg.chart.timeline')].map(svg => {
    const plot = svg.querySelector('rect.plot-area');
    return { id: svg.id, plotX: Number(plot?.getAttribute('x')), plotWidth: Number(plot?.getAttribute('width')),
      bars: svg.querySelectorAll('rect[data-window]').length,
      markers: [...svg.querySelectorAll('line.disruption[data-disruption]')].map(line => ({
        name: line.dataset.disruption, action: line.dataset.action, x: Number(line.getAttribute('x1')),
        visible: line.getBoundingClientRect().height > 0 })) };
  });
  return JSON.stringify({ charts, timelines, tables: document.querySelectorAll('table').length,
    scrollWidth: document.documentElement.scrollWidth, verdict: document.querySelector('.verdict')?.textContent ?? '' });
})()"""


def check_html(html_path, screenshot_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    expect(browser is not None, "Chromium is not installed (apt-get install -y chromium)")
    if browser is None:
        finish("html")
    url = pathlib.Path(html_path).resolve().as_uri()
    tools = DevTools(browser, os.path.dirname(html_path))
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable", session=session)
        laptop = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        tools.send("Emulation.setDeviceMetricsOverride", laptop, session=session)
        tools.send("Page.navigate", {"url": url}, session=session)
        tools.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, 30)
        # Give late console messages or requests a moment to arrive.
        settle = time.monotonic() + 1.0
        while time.monotonic() < settle:
            try:
                tools.events.append(tools.read_message(settle))
            except TimeoutError:
                break
        evaluated = tools.send("Runtime.evaluate", {"expression": CHART_IDS_SCRIPT, "returnByValue": True}, session=session)
        page = json.loads(evaluated["result"]["result"]["value"])
        metrics = tools.send("Page.getLayoutMetrics", session=session)["result"]
        height = math.ceil(metrics["cssContentSize"]["height"])
        shot = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                     "clip": {"x": 0, "y": 0, "width": 1366, "height": height, "scale": 1}},
                          session=session)
        pathlib.Path(screenshot_path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(screenshot_path).write_bytes(base64.b64decode(shot["result"]["data"]))
        events = [m for m in tools.events if m.get("sessionId") == session]
    finally:
        tools.close()

    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            expect(False, f"console {params['type']}: {params.get('args')}")
        if method == "Runtime.exceptionThrown":
            expect(False, f"exception: {params.get('exceptionDetails', {}).get('text')}")
        if method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            expect(False, f"log {params['entry']['level']}: {params['entry'].get('text')} ({params['entry'].get('url', '')})")
        if method == "Network.requestWillBeSent":
            requested = params.get("request", {}).get("url", "")
            expect(requested == url, f"network request to {requested}")

    report = json.loads(pathlib.Path(html_path).with_name("report.json").read_text())
    sources = list(dict.fromkeys(row["source"] for row in report["traffic"]))
    wanted = [f"shares-{index}" for index in range(len(sources))] + ["latency-curves", "latency-matrix", "phase-timeline"]
    found = {chart["id"]: chart for chart in page["charts"]}
    for chart_id in wanted:
        chart = found.get(chart_id)
        expect(chart is not None, f"chart {chart_id} missing")
        if chart:
            expect(chart["role"] == "img" and chart["title"] and chart["desc"], f"chart {chart_id} lacks role/title/desc")
            expect(chart["width"] > 200 and chart["height"] > 50, f"chart {chart_id} renders {chart['width']}x{chart['height']}")
            expect(chart["marks"] > 3, f"chart {chart_id} draws nothing")
    expect(page["tables"] >= len(wanted), f"{page['tables']} tables for {len(wanted)} charts")
    expect(page["scrollWidth"] <= 1366, f"page is {page['scrollWidth']} px wide at laptop width")
    expect(report["verdict"].upper() in page["verdict"], f"verdict badge says {page['verdict']!r}")
    check_timelines(report, page["timelines"])
    finish(f"html {html_path}: {len(page['charts'])} charts, {len(page['timelines'])} timelines, screenshot {screenshot_path}")


def check_timelines(report, timelines):
    """One timeline chart per source of report.json's timeline, bars in it, and per disruption action that happened
    exactly one marker per chart, at the x the axis gives its time: the axis runs from 0 at the plot's left edge to
    the last window's end (or a later action) at its right edge."""
    timeline = report.get("timeline")
    if timeline is None:
        expect(not timelines, f"{len(timelines)} timeline charts without a timeline in report.json")
        return
    expect(len(timelines) == len(timeline["sources"]), f"{len(timelines)} timeline charts for {len(timeline['sources'])} sources")
    actions = [(d["name"], action, d[key] / 1000) for d in timeline["disruptions"]
               for action, key in (("applied", "appliedAtMs"), ("restored", "restoredAtMs")) if d.get(key) is not None]
    last = max((s["windows"][-1]["startSeconds"] for s in timeline["sources"] if s["windows"]), default=0)
    end = max([last + timeline["windowSeconds"]] + [seconds for _, _, seconds in actions] + [0.001])
    for chart in timelines:
        expect(chart["bars"] > 0, f"timeline {chart['id']} draws no bars")
        expect(len(chart["markers"]) == len(actions), f"timeline {chart['id']}: {len(chart['markers'])} markers for {len(actions)} actions")
        for name, action, seconds in actions:
            found = [m for m in chart["markers"] if m["name"] == name and m["action"] == action]
            expect(len(found) == 1, f"timeline {chart['id']}: {len(found)} markers for {name} {action}")
            if found:
                wanted = chart["plotX"] + seconds / end * chart["plotWidth"]
                expect(abs(found[0]["x"] - wanted) <= 0.1, f"timeline {chart['id']}: {name} {action} at x {found[0]['x']}, expected {wanted:.1f}")
                expect(found[0]["visible"], f"timeline {chart['id']}: {name} {action} marker not rendered")


def check_passed(report_path, exit_code):
    with open(report_path) as f:
        report = json.load(f)
    exit_code = int(exit_code)
    expect(exit_code == 0 or (exit_code == 1 and failed_only_timing_checks(report)),
           f"exit code {exit_code}, failed checks {failed_checks(report)}")
    expect((report["verdict"] == "pass") == (exit_code == 0), f"verdict {report['verdict']} with exit code {exit_code}")
    finish(f"passed {report_path}" + (" (apart from timing checks)" if exit_code == 1 else ""))


if __name__ == "__main__":
    commands = {"prom": check_prom, "junit": check_junit, "html": check_html, "passed": check_passed}
    if len(sys.argv) != 4 or sys.argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    commands[sys.argv[1]](sys.argv[2], sys.argv[3])
