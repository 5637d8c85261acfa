// How `meshcheck preflight` prints its report: a checklist (status word, check, cluster, one line of
// evidence, the hint under anything that is not a pass) that fits the terminal, or JSON for machines.

import Foundation

package enum PreflightOutput {
    /// The checklist. `width` limits evidence lines (a terminal's columns); nil prints them whole.
    package static func checklist(_ report: PreflightReport, width: Int?) -> String {
        let counts = report.counts()
        var lines: [String] = []
        let verdict = report.exitCode == 0 ? "PASS" : report.exitCode == 1 ? "FAIL" : "ERROR"
        lines.append(
            "meshcheck preflight: \(verdict) — \(report.clusters.count) clusters, \(report.findings.count) checks: "
                + "\(counts.pass) pass, \(counts.warn) warn, \(counts.fail) fail")
        for cluster in report.clusters {
            if let failure = cluster.failure { lines.append("  \(failure.label): context \(cluster.context)") }
        }
        lines.append("")
        let checkWidth = report.findings.map(\.check.count).max() ?? 0
        let scopeWidth = report.findings.map { PreflightSummary.scope($0).count }.max() ?? 0
        for finding in report.findings {
            let status = finding.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)
            let head = "\(status)  \(pad(finding.check, checkWidth))  \(pad(PreflightSummary.scope(finding), scopeWidth))  "
            lines.append(head + fit(finding.evidence, width.map { $0 - head.count }))
            if finding.status != .pass, let hint = finding.hint {
                lines.append("      hint: " + fit(hint, width.map { $0 - 12 }))
            }
        }
        if report.layers.contains(where: { $0.firstBroken != nil }) {
            lines.append("")
            lines.append("Control plane layers per pair (pass, FAIL, n/v not visible, – not applicable):")
            lines += PairLayerMatrix.lines(report.layers).map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `-o json`: the report with its verdict and exit code.
    package static func json(_ report: PreflightReport) throws -> String {
        struct Document: Encodable {
            var schemaVersion = 1
            var verdict: String
            var exitCode: Int32
            var clusters: [PreflightReport.Cluster]
            var findings: [PreflightFinding]
            /// Each pair's control plane layers (remote secret, sync).
            var layers: [PairLayers]
        }
        let verdict = report.exitCode == 0 ? "pass" : report.exitCode == 1 ? "fail" : "error"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(
            Document(verdict: verdict, exitCode: report.exitCode, clusters: report.clusters, findings: report.findings, layers: report.layers))
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Cuts a line to `width` characters (at least 20), marking the cut with an ellipsis.
    static func fit(_ text: String, _ width: Int?) -> String {
        guard let width else { return text }
        let room = max(width, 20)
        return text.count <= room ? text : String(text.prefix(room - 1)) + "…"
    }
}
