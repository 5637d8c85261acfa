// Writes a run's report files into its output directory. Records (records.jsonl) are streamed by
// the run itself while it happens; everything here is rendered from the finished report.

import Foundation
import MeshCheck

public enum ReportFiles {
    /// `report.json`: stable key order, so reports diff cleanly.
    public static func json(_ report: RunReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(report)
        data.append(0x0A)
        return data
    }

    /// Writes report.json, summary.md and junit.xml into `directory` (which exists).
    public static func write(_ report: RunReport, to directory: String) throws {
        let files: [(String, Data)] = [
            ("report.json", try json(report)),
            ("summary.md", Data(MarkdownSummary.render(report).utf8)),
            ("junit.xml", Data(JUnitReport.render(report).utf8)),
        ]
        for (name, data) in files {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
            do {
                try data.write(to: url, options: .atomic)
            } catch {
                throw ReportWriteError(path: url.path, reason: error.localizedDescription)
            }
        }
    }
}

public struct ReportWriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason) — check --output-dir" }
}
