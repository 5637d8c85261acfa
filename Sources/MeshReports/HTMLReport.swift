// report.html: the run for people who would rather look than read. One self-contained file: inline CSS
// and SVG, no scripts, no fonts, no images, and a Content-Security-Policy that forbids fetching anything,
// so it opens the same from a CI artifact, a mail attachment or an air-gapped laptop. Every chart has a
// text equivalent (its <desc> and a table next to it); the print style sheet keeps charts whole.

import Foundation
import MeshCheck

package enum HTMLReport {
    package static func render(_ report: RunReport) -> String {
        let sources = sourcesInOrder(report)
        var targets: [String] = []
        for row in report.traffic where !targets.contains(row.target) { targets.append(row.target) }

        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>meshcheck \(escape(report.scenario.name)): \(report.verdict.rawValue) — \(escape(report.runId))</title>
            <style>\(styleSheet)</style>
            </head>
            <body>

            """
        html += header(report)
        html += """
            <nav aria-label="Sections"><a href="#checks">Checks</a> · <a href="#layers">Layers</a> · <a href="#shares">Shares</a> · \
            \(report.timeline == nil ? "" : "<a href=\"#timeline\">Timeline</a> · ")<a href="#pods">Pods</a> · <a href="#latency">Latency</a> · \
            <a href="#matrix">Matrix</a> · <a href="#phases">Phases</a> · <a href="#scenario">Scenario</a></nav>
            <main>

            """
        html += checksSection(report)
        html += failoverSection(report)
        html += layersSection(report)
        html += sharesSection(report, sources: sources)
        html += timelineSection(report)
        html += podsSection(report, sources: sources)
        html += latencySection(report)
        html += matrixSection(report, sources: sources, targets: targets)
        html += phasesSection(report)
        html += scenarioSection(report)
        html += "</main>\n<footer>meshcheck report schema \(report.schemaVersion) · run \(escape(report.runId))</footer>\n</body>\n</html>\n"
        return html
    }

    // MARK: Sections

    static func header(_ report: RunReport) -> String {
        var facts: [(String, String)] = [
            ("Run", report.runId), ("Started", report.startedAt), ("Duration", humanSeconds(report.durationSeconds)),
            ("Namespace", report.namespace),
        ]
        if let revision = report.revision { facts.append(("Revision", revision)) }
        facts.append(("Clusters", report.clusters.map { "\($0.name) (\($0.context)\($0.serves.map { ", serves \($0)" } ?? ""))" }.joined(separator: "; ")))
        facts.append(("Cleanup", cleanupText(report.cleanup)))
        var out =
            "<header>\n<h1><span class=\"verdict \(report.verdict.rawValue)\">\(verdictSymbol(report.verdict)) \(report.verdict.rawValue.uppercased())</span> "
        out += "meshcheck <code>\(escape(report.scenario.name))</code></h1>\n<dl class=\"facts\">\n"
        for (name, value) in facts { out += "<div><dt>\(name)</dt><dd>\(escape(value))</dd></div>\n" }
        out += "</dl>\n"
        if let error = report.error { out += "<p class=\"run-error\"><strong>Error:</strong> \(inline(error))</p>\n" }
        if !report.cleanup.leftovers.isEmpty {
            out += "<ul class=\"leftovers\">\n"
            for item in report.cleanup.leftovers {
                out += "<li>left behind in \(escape(item.cluster)): <code>\(escape(item.kind))/\(escape(item.name))</code>"
                out += "\(item.namespace.map { " in <code>\(escape($0))</code>" } ?? ""): \(escape(item.reason))</li>\n"
            }
            out += "</ul>\n"
        }
        return out + "</header>\n"
    }

    static func checksSection(_ report: RunReport) -> String {
        var out = "<section id=\"checks\">\n<h2>Checks</h2>\n"
        guard !report.checks.isEmpty else { return out + "<p>No checks ran.</p>\n</section>\n" }
        let failed = report.checks.filter { $0.status == .fail }.count
        let warned = report.checks.filter { $0.status == .warn }.count
        out += "<p>\(report.checks.count) checks: \(failed) failed, \(warned) warned.</p>\n"
        out += "<table class=\"checks\">\n<caption>Every check with its result; failed and warned checks give the likely cause and what to do.</caption>\n"
        out +=
            "<thead><tr><th scope=\"col\">Result</th><th scope=\"col\">Check</th><th scope=\"col\">Scope</th><th scope=\"col\">Details</th></tr></thead>\n<tbody>\n"
        for check in report.checks {
            let scope = [check.source, check.target].compactMap { $0 }.joined(separator: " → ")
            out +=
                "<tr class=\"\(check.status.rawValue)\"><td><span class=\"status \(check.status.rawValue)\">\(statusSymbol(check.status)) \(check.status.rawValue)</span></td>"
            out += "<th scope=\"row\">\(escape(check.name))</th><td>\(escape(scope.isEmpty ? "run" : scope))</td><td>\(inline(check.message))"
            if let cause = check.cause { out += "<p class=\"cause\"><strong>Cause:</strong> \(inline(cause))</p>" }
            if let hint = check.hint { out += "<p class=\"hint\"><strong>Hint:</strong> \(inline(hint))</p>" }
            if let power = check.balance?.power { out += "<p class=\"power\"><strong>Sample size:</strong> \(inline(power))</p>" }
            out += "</td></tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    /// The failover figures beside the checks that judge them; nothing when the run applied no disruption.
    static func failoverSection(_ report: RunReport) -> String {
        let rows = FailoverTable.rows(report)
        guard !rows.isEmpty else { return "" }
        var out = "<section id=\"failover\">\n<h2>Failover</h2>\n"
        out +=
            "<table class=\"numbers\">\n<caption>Per disruption and source: \(escape(FailoverTable.resolution(report))); before = the disrupted clusters' share</caption>\n"
        out += "<thead><tr>" + FailoverTable.header.map { "<th scope=\"col\">\(escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr><th scope=\"row\">\(escape(row[0]))</th>" + row.dropFirst().map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    /// Every pair × layer, green or not: the status word, what the layer showed, and the hint where it broke.
    static func layersSection(_ report: RunReport) -> String {
        var out = "<section id=\"layers\">\n<h2>Layers per pair</h2>\n"
        guard let layers = report.layers, !layers.isEmpty else {
            return out + "<p>No pair layers in this report (traffic was not judged, or it predates schema 2).</p>\n</section>\n"
        }
        let broken = layers.filter { $0.firstBroken != nil }.count
        out += "<p>What each request from a source to a serving cluster depends on, in order: the remote secret its control plane holds, "
        out += "that control plane's sync with the target, the endpoints the source's sidecars hold for it, and the answers it gave. "
        out += "\(broken == 0 ? "No pair has a broken layer." : "\(plural(broken, "pair")) with a broken layer; the first one is the cause.")</p>\n"
        let columns = PairLayerMatrix.columns(layers)
        out +=
            "<table class=\"layers\">\n<caption>Each pair's layers: pass, fail, not visible (meshcheck could not read it, and why) or not applicable.</caption>\n"
        out += "<thead><tr><th scope=\"col\">Pair</th>" + columns.map { "<th scope=\"col\">\(escape($0.title))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for pair in layers {
            out += "<tr\(pair.firstBroken == nil ? "" : " class=\"fail\"")><th scope=\"row\">\(escape(pair.source)) → \(escape(pair.target))</th>"
            for layer in columns {
                guard let result = pair.result(layer) else {
                    out += "<td>–</td>"
                    continue
                }
                let (css, symbol, word) = layerStatus(result.status)
                out += "<td class=\"layer\"><span class=\"status \(css)\">\(symbol) \(word)</span>"
                out += "<p class=\"evidence\">\(inline(result.evidence))</p>"
                if let hint = result.hint { out += "<p class=\"hint\"><strong>Hint:</strong> \(inline(hint))</p>" }
                out += "</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</section>\n"
    }

    /// The status class, symbol and word of a layer cell (not visible looks like a skipped check).
    static func layerStatus(_ status: PairLayerStatus) -> (css: String, symbol: String, word: String) {
        switch status {
        case .pass: ("pass", statusSymbol(.pass), "pass")
        case .fail: ("fail", statusSymbol(.fail), "fail")
        case .notVisible: ("warn", "?", "not visible")
        case .notApplicable: ("skip", statusSymbol(.skip), "not applicable")
        }
    }

    static func sharesSection(_ report: RunReport, sources: [String]) -> String {
        var out = "<section id=\"shares\">\n<h2>Who answered: share per serving cluster</h2>\n"
        out += "<p>For each client cluster, the share of its successful requests each cluster served, with the 95 % Wilson interval; "
        out += "the diamond marks the share the balance expectation predicts.</p>\n"
        guard !report.traffic.isEmpty else { return out + "<p>No traffic was recorded.</p>\n</section>\n" }
        for (index, source) in sources.enumerated() {
            let rows = report.traffic.filter { $0.source == source }
            out += "<figure>\n<figcaption>From <strong>\(escape(source))</strong>\(sourceNote(report, source: source))</figcaption>\n"
            out += SVGCharts.shares(source: source, rows: rows, id: "shares-\(index)") + "\n"
            out += "<table class=\"numbers\">\n<caption>Shares from \(escape(source)) as numbers</caption>\n"
            out += "<thead><tr><th scope=\"col\">Served by</th><th scope=\"col\">Requests</th><th scope=\"col\">Errors</th>"
            out += "<th scope=\"col\">Share</th><th scope=\"col\">95 % interval</th><th scope=\"col\">Expected</th></tr></thead>\n<tbody>\n"
            for row in rows {
                out += "<tr><th scope=\"row\">\(escape(row.target))</th><td>\(row.requests)</td><td>\(row.errors)</td><td>\(percent1(row.share))</td>"
                out +=
                    "<td>\(percent1(row.shareInterval.low)) – \(percent1(row.shareInterval.high))</td><td>\(row.expectedShare.map(percent1) ?? "–")</td></tr>\n"
            }
            out += "</tbody>\n</table>\n</figure>\n"
        }
        return out + "</section>\n"
    }

    /// Per source, a small table of the answers each HelloWorld pod gave in clusters with two or more pods, with
    /// `balance-instances`' result per cluster.
    static func podsSection(_ report: RunReport, sources: [String]) -> String {
        var out = "<section id=\"pods\">\n<h2>Who answered: share per pod</h2>\n"
        out += "<p>Within each serving cluster, the share of a source's answers each HelloWorld pod gave, with the 95 % Wilson interval "
        out += "and the expected share (even over the Ready pods, or by routing weight); a client pinned to one pod shows as one pod with "
        out += "everything. Clusters with one pod are left out.</p>\n"
        let splits = InstanceRows.shown(report)
        guard !splits.isEmpty else { return out + "<p>No cluster had two or more HelloWorld pods answering in this report.</p>\n</section>\n" }
        for source in sources {
            let own = splits.filter { $0.source == source }
            guard !own.isEmpty else { continue }
            out += "<table class=\"numbers pods\">\n<caption>Answers per pod from \(escape(source))</caption>\n"
            out += "<thead><tr><th scope=\"col\">Served by</th><th scope=\"col\">Pod</th><th scope=\"col\">Answers</th><th scope=\"col\">Share</th>"
            out += "<th scope=\"col\">95 % interval</th><th scope=\"col\">Expected</th><th scope=\"col\">Result</th></tr></thead>\n<tbody>\n"
            for split in own {
                for (index, pod) in split.instances.enumerated() {
                    out += "<tr\(split.status == .fail ? " class=\"fail\"" : "")>"
                    if index == 0 { out += "<th scope=\"rowgroup\" rowspan=\"\(split.instances.count)\">\(escape(split.target))</th>" }
                    out += "<td>\(escape(pod.instance))</td><td>\(pod.observed)</td><td>\(percent1(pod.share))</td>"
                    out += "<td>\(percent1(pod.interval.low)) – \(percent1(pod.interval.high))</td><td>\(percent1(pod.expectedShare))</td>"
                    if index == 0 {
                        out += "<td rowspan=\"\(split.instances.count)\"><span class=\"status \(split.status.rawValue)\">\(statusSymbol(split.status)) "
                        out += "\(escape(InstanceRows.result(split)))</span></td>"
                    }
                    out += "</tr>\n"
                }
            }
            out += "</tbody>\n</table>\n"
        }
        return out + "</section>\n"
    }

    static func latencySection(_ report: RunReport) -> String {
        var out = "<section id=\"latency\">\n<h2>Latency percentiles</h2>\n"
        out += "<p>curl's <code>time_total</code> measured inside the client pod, for successful requests; exec round trips are not included.</p>\n"
        let series = report.traffic.compactMap(SVGCharts.curve)
        out += "<figure>\n" + SVGCharts.percentileCurves(series, id: "latency-curves") + "\n"
        out += "<table class=\"numbers\">\n<caption>Latency percentiles in milliseconds</caption>\n<thead><tr><th scope=\"col\">Source → served by</th>"
        out +=
            "<th scope=\"col\">n</th><th scope=\"col\">p50</th><th scope=\"col\">p90</th><th scope=\"col\">p99</th><th scope=\"col\">max</th></tr></thead>\n<tbody>\n"
        for row in report.traffic {
            let cells = row.latencyMs.map { [$0.p50, $0.p90, $0.p99, $0.max].map(NumberFormat.milliseconds) } ?? ["–", "–", "–", "–"]
            out += "<tr><th scope=\"row\">\(escape(row.source)) → \(escape(row.target))</th><td>\(row.requests - row.errors)</td>"
            out += cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        out += "</tbody>\n</table>\n</figure>\n"
        if let roundTrip = report.exec.roundTripMs {
            out += "<p>Exec sessions: \(report.exec.sessions) (\(report.exec.failed) failed); round trip p50 \(NumberFormat.milliseconds(roundTrip.p50)) ms, "
            out += "p99 \(NumberFormat.milliseconds(roundTrip.p99)) ms, max \(NumberFormat.milliseconds(roundTrip.max)) ms.</p>\n"
        }
        if let connections = report.exec.connections { out += "<p>In-pod \(escape(connections.summary)).</p>\n" }
        return out + "</section>\n"
    }

    static func matrixSection(_ report: RunReport, sources: [String], targets: [String]) -> String {
        var out = "<section id=\"matrix\">\n<h2>Cluster matrix</h2>\n"
        guard !sources.isEmpty, !targets.isEmpty else { return out + "<p>No traffic was recorded.</p>\n</section>\n" }
        out += "<figure>\n" + SVGCharts.heatMap(sources: sources, targets: targets, traffic: report.traffic, id: "latency-matrix") + "\n"
        out +=
            "<table class=\"numbers\">\n<caption>Median latency in ms (requests) per source and serving cluster</caption>\n<thead><tr><th scope=\"col\">Source</th>"
        out += targets.map { "<th scope=\"col\">\(escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for source in sources {
            out += "<tr><th scope=\"row\">\(escape(source))</th>"
            for target in targets {
                let row = report.traffic.first { $0.source == source && $0.target == target }
                let text = row.flatMap { row in row.latencyMs.map { "\(NumberFormat.milliseconds($0.p50)) (\(row.requests - row.errors))" } } ?? "–"
                out += "<td>\(text)</td>"
            }
            out += "</tr>\n"
        }
        return out + "</tbody>\n</table>\n</figure>\n</section>\n"
    }

    static func phasesSection(_ report: RunReport) -> String {
        var out = "<section id=\"phases\">\n<h2>Phases</h2>\n"
        guard !report.phases.isEmpty else { return out + "<p>No phase ran.</p>\n</section>\n" }
        out += "<figure>\n" + SVGCharts.timeline(report.phases, id: "phase-timeline") + "\n"
        out +=
            "<table class=\"numbers\">\n<caption>Phase durations</caption>\n<thead><tr><th scope=\"col\">Phase</th><th scope=\"col\">Time</th></tr></thead>\n<tbody>\n"
        for phase in report.phases { out += "<tr><th scope=\"row\">\(escape(phase.name))</th><td>\(humanSeconds(phase.seconds))</td></tr>\n" }
        out += "</tbody>\n</table>\n</figure>\n"
        if let converge = report.convergeSeconds {
            out += "<p>Endpoints converged \(humanSeconds(converge)) after the workloads were ready (not counted in the verdict).</p>\n"
        }
        let retried = report.retries.filter { $0.count > 0 }
        if !retried.isEmpty {
            out += "<p>Retries: " + retried.map { "\(escape($0.operation)) ×\($0.count)" }.joined(separator: ", ") + ".</p>\n"
        }
        return out + "</section>\n"
    }

    static func scenarioSection(_ report: RunReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(report.scenario)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "<section id=\"scenario\">\n<h2>Scenario</h2>\n<p>The scenario as run, with defaults applied (field names as in the YAML).</p>\n"
            + "<pre class=\"scenario\">\(escape(json))</pre>\n</section>\n"
    }

    // MARK: Text

    static func sourceNote(_ report: RunReport, source: String) -> String {
        guard let summary = report.sources.first(where: { $0.source == source }) else { return "" }
        var text = ": \(summary.succeeded) of \(summary.requests) requests succeeded"
        if let note = TerminalSummary.sourceNotes(report).first(where: { $0.hasPrefix(source + ": ") }) {
            text += " — " + note.dropFirst(source.count + 2)
        }
        return escape(text)
    }

    static func cleanupText(_ cleanup: CleanupReport) -> String {
        switch cleanup.status {
        case .done: return "done, nothing left behind"
        case .skipped: return "skipped (workloads kept by policy)"
        case .none: return "nothing created, nothing to clean up"
        case .failed: return "failed, \(plural(cleanup.leftovers.count, "object")) left behind"
        }
    }

    static func verdictSymbol(_ verdict: RunVerdict) -> String {
        switch verdict {
        case .pass: return "✔"
        case .fail: return "✘"
        case .error: return "⚠"
        case .interrupted: return "■"
        }
    }

    static func statusSymbol(_ status: CheckStatus) -> String {
        switch status {
        case .pass: return "✔"
        case .fail: return "✘"
        case .warn: return "!"
        case .skip: return "–"
        }
    }

    /// Escaped text in which `backticked` spans become <code> (messages and hints quote commands that way).
    static func inline(_ text: String) -> String {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().map { index, part in
            index % 2 == 1 ? "<code>\(escape(String(part)))</code>" : escape(String(part))
        }.joined()
    }

    /// XML text escaping (`&`, `<`, `>`, quotes; characters XML cannot carry become U+FFFD) is what HTML
    /// text and attribute values need too.
    static func escape(_ text: String) -> String { JUnitReport.escape(text, inAttribute: false) }

    // MARK: Style

    /// Okabe–Ito colours for series (distinguishable with common colour-vision deficiencies), a
    /// light-to-dark sequential ramp for the heat map, and a print sheet that drops navigation and keeps
    /// each figure on one page.
    static let styleSheet = """

        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --skip: #57606a; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1120px; padding: 16px 24px 40px; color: var(--ink); background: #fff;
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
        h1 { font-size: 1.6rem; margin: 0.4rem 0 0.6rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 2rem; }
        code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
        code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; }
        .verdict { display: inline-block; padding: 2px 10px; border-radius: 6px; color: #fff; }
        .verdict.pass { background: var(--pass); } .verdict.fail, .verdict.error { background: var(--fail); } .verdict.interrupted { background: var(--warn); }
        .facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 4px 20px; margin: 0; }
        .facts div { display: flex; gap: 8px; } .facts dt { color: var(--muted); min-width: 76px; } .facts dd { margin: 0; overflow-wrap: anywhere; }
        .run-error { border-left: 4px solid var(--fail); padding: 4px 10px; background: #fff5f5; }
        nav { margin: 12px 0; padding: 6px 0; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
        nav a { color: #0550ae; }
        table { border-collapse: collapse; margin: 8px 0 4px; width: 100%; }
        caption { text-align: left; color: var(--muted); font-size: 0.9em; padding-bottom: 4px; }
        th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
        table.numbers { width: auto; min-width: 50%; } table.numbers td { text-align: right; font-variant-numeric: tabular-nums; }
        .status { font-weight: 600; white-space: nowrap; } .status.pass { color: var(--pass); } .status.fail { color: var(--fail); }
        .status.warn { color: var(--warn); } .status.skip { color: var(--skip); }
        tr.fail { background: #fff5f5; } tr.warn { background: #fff8e5; }
        .cause, .hint, .power { margin: 4px 0 0; font-size: 0.92em; }
        table.layers td.layer { overflow-wrap: anywhere; } .evidence { margin: 2px 0 0; font-size: 0.88em; color: var(--muted); }
        figure { margin: 12px 0 24px; break-inside: avoid; page-break-inside: avoid; }
        figcaption { margin-bottom: 4px; }
        svg.chart { display: block; max-width: 100%; height: auto; font-size: 12px; }
        svg .grid { stroke: #e5e7eb; stroke-width: 1; } svg .grid.minor { stroke-dasharray: 2 3; }
        svg .tick, svg .legend, svg .axis { fill: var(--muted); } svg .label, svg .value { fill: var(--ink); } svg .label { font-weight: 600; }
        svg .whisker { stroke: var(--ink); stroke-width: 1.6; }
        svg .expected { stroke: var(--ink); stroke-width: 1.2; stroke-dasharray: 4 3; } svg .expected-marker { fill: #fff; stroke: var(--ink); stroke-width: 1.6; }
        svg .bar, svg .phase { fill-opacity: 0.8; }
        svg .plot-area { fill: none; stroke: var(--line); } svg .hatch-ground { fill: var(--fail); } svg .errors { stroke: var(--fail); stroke-width: 0.5; } svg .hatch { stroke: #fff; stroke-width: 2; }
        svg .disruption { stroke: var(--ink); stroke-width: 1.6; } svg .disruption.restored { stroke-dasharray: 5 3; }
        details summary { cursor: pointer; color: var(--muted); font-size: 0.9em; }
        svg .curve { fill: none; stroke-width: 2; } svg .d1 { stroke-dasharray: 7 3; } svg .d2 { stroke-dasharray: 2 2; } svg .d3 { stroke-dasharray: 9 3 2 3; }
        svg .s0 { fill: #0072b2; stroke: #0072b2; } svg .s1 { fill: #e69f00; stroke: #e69f00; } svg .s2 { fill: #009e73; stroke: #009e73; }
        svg .s3 { fill: #cc79a7; stroke: #cc79a7; } svg .s4 { fill: #56b4e9; stroke: #56b4e9; } svg .s5 { fill: #d55e00; stroke: #d55e00; }
        svg .s6 { fill: #000000; stroke: #000000; } svg .s7 { fill: #999999; stroke: #999999; }
        svg polyline.curve { fill: none; }
        svg .h0 { fill: #f7fbff; } svg .h1 { fill: #c6dbef; } svg .h2 { fill: #9ecae1; } svg .h3 { fill: #4292c6; } svg .h4 { fill: #2171b5; } svg .h5 { fill: #08306b; }
        svg .heat { stroke: #fff; stroke-width: 1; } svg .heat.h0 { stroke: #c8d0da; } svg .heat.empty { fill: #f0f0f0; stroke: #bbb; stroke-dasharray: 3 3; }
        svg .cell-text { fill: var(--ink); } svg .cell-text.dark { fill: #fff; } svg .strong { font-weight: 700; font-size: 13px; }
        pre.scenario { background: #f6f8fa; border: 1px solid var(--line); padding: 10px; overflow-x: auto; max-height: 32rem; }
        footer { margin-top: 2rem; color: var(--muted); font-size: 0.85em; }
        @media print {
          body { max-width: none; padding: 0; font-size: 11pt; }
          nav { display: none; }
          section { break-inside: auto; } h2 { break-after: avoid; }
          pre.scenario { max-height: none; overflow: visible; white-space: pre-wrap; }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          a { color: inherit; text-decoration: none; }
        }

        """
}
