// The report files rendered from a finished report, by name and format. Rendering only: the CLI
// writes them (Sources/meshcheck/ReportOutput.swift); records.jsonl is streamed by the run itself.

import Foundation
import MeshCheck

package enum ReportFiles {
    /// `report.json`: stable key order, so reports diff cleanly.
    package static func json(_ report: RunReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(report)
        data.append(0x0A)
        return data
    }

    /// The files rendered from a report, by the `--format` name of `meshcheck report`.
    package enum Format: String, CaseIterable, Sendable {
        case json, md, junit, html, prom

        package var fileName: String {
            switch self {
            case .json: return "report.json"
            case .md: return "summary.md"
            case .junit: return "junit.xml"
            case .html: return "report.html"
            case .prom: return "metrics.prom"
            }
        }

        package func render(_ report: RunReport) throws -> Data {
            switch self {
            case .json: return try ReportFiles.json(report)
            case .md: return Data(MarkdownSummary.render(report).utf8)
            case .junit: return Data(JUnitReport.render(report).utf8)
            case .html: return Data(HTMLReport.render(report).utf8)
            case .prom: return Data(PrometheusMetrics.render(report).utf8)
            }
        }
    }
}
