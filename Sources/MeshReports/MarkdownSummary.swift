// summary.md: the run for pull-request comments and chat (GitHub-flavoured Markdown tables).

import MeshCheck

package enum MarkdownSummary {
    package static func render(_ report: RunReport) -> String {
        var out: [String] = []
        let icon = report.verdict == .pass ? "✅" : "❌"
        out.append("## \(icon) meshcheck `\(report.scenario.name)`: \(report.verdict.rawValue)")
        out.append("")
        var facts = ["run `\(report.runId)`", "namespace `\(report.namespace)`"]
        if let revision = report.revision { facts.append("revision `\(revision)`") }
        facts.append("\(report.clusters.count) clusters")
        facts.append(humanSeconds(report.durationSeconds))
        out.append(facts.joined(separator: " · "))
        if let error = report.error {
            out.append("")
            out.append("**Error:** \(cell(error))")
        }

        let failures = report.checks.filter { $0.status == .fail || $0.status == .warn }
        if !failures.isEmpty {
            out.append("")
            out.append("### What failed")
            out.append("")
            for check in failures {
                out.append("- **\(cell(checkLabel(check)))** (\(check.status.rawValue)): \(cell(check.message))")
                if let cause = check.cause { out.append("  - Cause: \(cell(cause))") }
                if let hint = check.hint { out.append("  - Hint: \(cell(hint))") }
            }
        }

        if !report.traffic.isEmpty {
            out.append("")
            out.append("### Traffic")
            out.append("")
            out.append("Share of each source's successful requests (95 % Wilson interval); latency is curl's `time_total` measured in the client pod.")
            out.append("")
            out.append("| Source | Served by | Requests | Share (95 % CI) | Expected | p50 ms | p90 ms | p99 ms | Errors |")
            out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|")
            for row in report.traffic {
                let cells = TrafficCells(row).cells(source: row.source, target: row.target).map(cell)
                out.append("| " + cells.joined(separator: " | ") + " |")
            }
            let notes = TerminalSummary.sourceNotes(report)
            if !notes.isEmpty {
                out.append("")
                out += notes.map { "- \(cell($0))" }
            }
        }

        let sparklines = TimelineSparkline.all(report)
        if let first = sparklines.first {
            out.append("")
            out.append("### Timeline")
            out.append("")
            out.append("Per source, the \(TimelineSparkline.legend(secondsPerColumn: first.secondsPerColumn)).")
            out.append("")
            // The line holds only blocks and the marks `!·|`, safe in a code span outside a table.
            out += sparklines.map { "- \(cell($0.source)) [\(cell($0.watched))]: `\($0.line)`" }
        }

        let splits = InstanceRows.shown(report)
        if !splits.isEmpty {
            out.append("")
            out.append("### Pods")
            out.append("")
            out.append("Share of each source's answers from a cluster, per HelloWorld pod (clusters with two or more pods; 95 % Wilson interval).")
            out.append("")
            out.append("| Source | Served by | Pod | Answers | Share (95 % CI) | Expected | Result |")
            out.append("|---|---|---|--:|--:|--:|---|")
            for row in InstanceRows.rows(splits) { out.append("| " + row.map(cell).joined(separator: " | ") + " |") }
        }

        if let layers = brokenLayers(report) {
            out.append("")
            out.append("### Layers")
            out.append("")
            out.append("Each pair's layers, \(layerLegend); the causes are under What failed.")
            out.append("")
            let header = PairLayerMatrix.header(layers)
            out.append("| " + header.map(cell).joined(separator: " | ") + " |")
            out.append("|" + String(repeating: "---|", count: header.count))
            for row in PairLayerMatrix.rows(layers) { out.append("| " + row.map(cell).joined(separator: " | ") + " |") }
        }

        if !report.checks.isEmpty {
            out.append("")
            out.append("### Checks")
            out.append("")
            out.append("| Result | Check | Scope | Details |")
            out.append("|---|---|---|---|")
            for check in report.checks {
                let scope = [check.source, check.target].compactMap { $0 }.joined(separator: " → ")
                out.append("| \(statusText(check.status)) | \(check.name) | \(cell(scope.isEmpty ? "run" : scope)) | \(cell(check.message)) |")
            }
            let power = report.checks.compactMap { check in check.balance?.power.map { "- \(check.source ?? "run"): \(cell($0))" } }
            if !power.isEmpty {
                out.append("")
                out.append("Sample size:")
                out.append("")
                out += power
            }
        }

        let failover = FailoverTable.rows(report)
        if !failover.isEmpty {
            out.append("")
            out.append("### Failover")
            out.append("")
            out.append(
                "\(FailoverTable.resolution(report).prefix(1).uppercased())\(FailoverTable.resolution(report).dropFirst()); before = the disrupted clusters' share."
            )
            out.append("")
            out.append("| " + FailoverTable.header.joined(separator: " | ") + " |")
            out.append("|" + FailoverTable.alignments.map { $0 == .right ? "--:|" : "---|" }.joined())
            for row in failover { out.append("| " + row.map(cell).joined(separator: " | ") + " |") }
        }

        if !report.phases.isEmpty {
            out.append("")
            out.append("### Phases")
            out.append("")
            out.append("| Phase | Time |")
            out.append("|---|--:|")
            for phase in report.phases { out.append("| \(cell(phase.name)) | \(humanSeconds(phase.seconds)) |") }
            if let converge = report.convergeSeconds {
                out.append("")
                out.append("Endpoints converged \(humanSeconds(converge)) after the workloads were ready (not counted in the verdict).")
            }
            if let connections = report.exec.connections {
                out.append("")
                out.append("In-pod \(connections.summary).")
            }
        }

        out.append("")
        switch report.cleanup.status {
        case .done: out.append("Cleanup: done, nothing left behind.")
        case .skipped: out.append("Cleanup: skipped (workloads kept by policy).")
        case .none: out.append("Cleanup: nothing created, nothing to clean up.")
        case .failed:
            out.append("Cleanup: **failed**, left behind:")
            out.append("")
            for leftover in report.cleanup.leftovers {
                out.append(
                    "- \(cell(leftover.cluster)): `\(leftover.kind)/\(leftover.name)`\(leftover.namespace.map { " in `\($0)`" } ?? ""): \(cell(leftover.reason))"
                )
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func statusText(_ status: CheckStatus) -> String {
        switch status {
        case .pass: return "✅ pass"
        case .fail: return "❌ fail"
        case .warn: return "⚠️ warn"
        case .skip: return "⏭️ skip"
        }
    }

    /// Text safe inside a table cell or list item: pipes escaped, line breaks flattened, HTML's `<` and `&`
    /// escaped so that names cannot inject markup.
    static func cell(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "|": out += "\\|"
            case "\n", "\r": out += " "
            case "<": out += "&lt;"
            case "&": out += "&amp;"
            default: out.append(character)
            }
        }
        return out
    }
}
