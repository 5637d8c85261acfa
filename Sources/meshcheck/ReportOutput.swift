// Writing the rendered report files: the file system is the CLI's edge, MeshReports only renders.

import Foundation
import MeshCheck
import MeshReports

extension ReportFiles {
    /// Writes report.json, summary.md, junit.xml, report.html and metrics.prom (or only `formats`) into
    /// `directory` (which exists). Everything is rendered before the first file is written.
    static func write(_ report: RunReport, to directory: String, formats: [Format] = Format.allCases) throws {
        let files: [(String, Data)] = try formats.map { ($0.fileName, try $0.render(report)) }
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

struct ReportWriteError: Error, CustomStringConvertible {
    var path: String
    var reason: String
    var description: String { "cannot write \(path): \(reason) — check --output-dir" }
}
