// The summary printed at the end of `meshcheck run`: verdict line, traffic matrix, checks with causes
// and hints, phase timings, cleanup. Status words are always printed (colour is never the only signal);
// colour is added only when the caller asks (TTY and no NO_COLOR).

import MeshCheck

package struct TerminalSummaryOptions: Sendable, Equatable {
    /// ANSI colours; the CLI sets this from isatty(stdout) and the NO_COLOR environment variable.
    package var color: Bool

    package init(color: Bool) {
        self.color = color
    }

    /// Colour only on a terminal and only when NO_COLOR is unset or empty (no-color.org).
    package static func forOutput(isTerminal: Bool, noColorVariable: String?) -> TerminalSummaryOptions {
        TerminalSummaryOptions(color: isTerminal && (noColorVariable ?? "").isEmpty)
    }
}

package enum TerminalSummary {
    package static func render(_ report: RunReport, options: TerminalSummaryOptions) -> String {
        let paint = Painter(enabled: options.color)
        var lines: [String] = []
        let verdict = report.verdict.rawValue.uppercased()
        let verdictText = report.verdict == .pass ? paint.green(verdict) : paint.red(verdict)
        lines.append(
            "meshcheck \(report.scenario.name): \(verdictText) in \(humanSeconds(report.durationSeconds))"
                + " (run \(report.runId), namespace \(report.namespace)\(report.revision.map { ", revision \($0)" } ?? ""))")
        if let error = report.error { lines.append("  error: \(error)") }

        if !report.traffic.isEmpty {
            lines.append("")
            lines.append(paint.bold("Traffic") + " (share of each source's successful requests; latency = in-pod curl time_total)")
            let rows = report.traffic.map { TrafficCells($0).cells(source: $0.source, target: $0.target) }
            lines += layoutTable(header: TrafficCells.header, rows: rows, alignments: TrafficCells.alignments).map { "  " + $0 }
            let notes = sourceNotes(report)
            if !notes.isEmpty { lines += notes.map { "  " + $0 } }
        }

        let sparklines = TimelineSparkline.all(report)
        if let first = sparklines.first {
            lines.append("")
            lines.append(paint.bold("Timeline") + " (\(TimelineSparkline.legend(secondsPerColumn: first.secondsPerColumn)))")
            let width = sparklines.map { $0.source.count + $0.watched.count }.max() ?? 0
            for sparkline in sparklines {
                let label = "\(sparkline.source) [\(sparkline.watched)]"
                lines.append("  " + label + String(repeating: " ", count: width + 3 - label.count) + "  " + sparkline.line)
            }
        }

        let splits = InstanceRows.shown(report)
        if !splits.isEmpty {
            lines.append("")
            lines.append(paint.bold("Pods") + " (share of each source's answers from a cluster, per HelloWorld pod; clusters with 2+ pods)")
            lines += layoutTable(header: InstanceRows.header, rows: InstanceRows.rows(splits), alignments: InstanceRows.alignments).map { "  " + $0 }
        }

        if let layers = brokenLayers(report) {
            lines.append("")
            lines.append(paint.bold("Layers") + " (each pair's, \(layerLegend))")
            let header = PairLayerMatrix.header(layers)
            lines += layoutTable(header: header, rows: PairLayerMatrix.rows(layers), alignments: header.map { _ in .left }).map { "  " + $0 }
        }

        let failover = FailoverTable.rows(report)
        if !failover.isEmpty {
            lines.append("")
            lines.append(paint.bold("Failover") + " (\(FailoverTable.resolution(report)); before = the disrupted clusters' share)")
            lines += layoutTable(header: FailoverTable.header, rows: failover, alignments: FailoverTable.alignments).map { "  " + $0 }
        }

        if !report.checks.isEmpty {
            lines.append("")
            lines.append(paint.bold("Checks"))
            let width = report.checks.map { checkLabel($0).count }.max() ?? 0
            for check in report.checks {
                let label = checkLabel(check)
                let status = paint.status(check.status)
                lines.append("  \(status) \(label)\(String(repeating: " ", count: width - label.count))  \(check.message)")
                if check.status == .fail || check.status == .warn {
                    if let cause = check.cause { lines.append("         cause: \(cause)") }
                    if let hint = check.hint { lines.append("         hint:  \(hint)") }
                }
            }
        }

        if !report.phases.isEmpty {
            lines.append("")
            var timing = report.phases.map { "\($0.name) \(humanSeconds($0.seconds))" }.joined(separator: " · ")
            if let converge = report.convergeSeconds { timing += " (converged after \(humanSeconds(converge)))" }
            lines.append(paint.bold("Phases") + "  " + timing)
        }
        if report.exec.sessions > 0 {
            var exec = "\(report.exec.sessions) exec sessions, \(report.exec.failed) failed"
            if let roundTrip = report.exec.roundTripMs {
                exec += "; round trip p50 \(NumberFormat.milliseconds(roundTrip.p50)) ms, p99 \(NumberFormat.milliseconds(roundTrip.p99)) ms"
            }
            if let connections = report.exec.connections { exec += "; " + connections.summary }
            lines.append(paint.bold("Exec") + "    " + exec)
            if let first = report.exec.firstFailures?.first {
                lines.append("  first failure: \(first)")
            }
        }
        lines.append(paint.bold("Cleanup") + " " + cleanupLine(report.cleanup, paint: paint))
        for leftover in report.cleanup.leftovers {
            lines.append(
                "  left behind: \(leftover.cluster) \(leftover.kind)/\(leftover.name)\(leftover.namespace.map { " in \($0)" } ?? ""): \(leftover.reason)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func sourceNotes(_ report: RunReport) -> [String] {
        report.sources.compactMap { source in
            var parts: [String] = []
            if source.errors > 0 {
                let kinds = source.errorsByKind.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }
                var text = "\(plural(source.errors, "error")) (\(kinds.joined(separator: ", ")))"
                let unattributed = source.errors - report.traffic.filter { $0.source == source.source }.reduce(0) { $0 + $1.errors }
                if unattributed > 0 { text += ", \(unattributed) of them without an answering pod" }
                parts.append(text)
            }
            if source.missingRecords > 0 { parts.append("\(plural(source.missingRecords, "request")) never reported") }
            if source.malformedLines > 0 { parts.append(plural(source.malformedLines, "malformed output line")) }
            if let late = source.lateStarts, late > 0 { parts.append("\(plural(late, "late start")) (paced load fell behind)") }
            return parts.isEmpty ? nil : "\(source.source): " + parts.joined(separator: "; ")
        }
    }

    static func cleanupLine(_ cleanup: CleanupReport, paint: Painter) -> String {
        switch cleanup.status {
        case .done: return paint.green("done") + ", nothing left behind"
        case .skipped: return paint.yellow("skipped") + " (workloads kept by policy)"
        case .none: return "nothing created, nothing to clean up"
        case .failed: return paint.red("failed") + ", \(plural(cleanup.leftovers.count, "object")) left behind"
        }
    }
}

/// ANSI SGR sequences, or nothing when disabled.
struct Painter {
    let enabled: Bool

    func wrap(_ text: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func green(_ text: String) -> String { wrap(text, "32") }
    func red(_ text: String) -> String { wrap(text, "31") }
    func yellow(_ text: String) -> String { wrap(text, "33") }
    func dim(_ text: String) -> String { wrap(text, "2") }
    func bold(_ text: String) -> String { wrap(text, "1") }

    /// Fixed-width status word: `PASS`, `FAIL`, `WARN`, `SKIP`.
    func status(_ status: CheckStatus) -> String {
        let word = status.rawValue.uppercased()
        switch status {
        case .pass: return green(word)
        case .fail: return red(word)
        case .warn: return yellow(word)
        case .skip: return dim(word)
        }
    }
}
