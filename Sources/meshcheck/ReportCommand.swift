import ArgumentParser
import Foundation
import MeshCheck
import MeshReports

/// `meshcheck report`: re-render a saved report.json, or recompute one from saved records.jsonl files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render a saved report, or recompute one from saved records (merging several runs).",
        discussion: """
            meshcheck report reports/RUN/report.json --format html,prom --output-dir out
            meshcheck report --from-records run1/records.jsonl run2/records.jsonl [--report run1/report.json] --output-dir merged

            Formats: json (report.json), md (summary.md), junit (junit.xml), html (report.html), prom (metrics.prom).
            Re-rendering writes every format but json by default, next to the report unless --output-dir says otherwise;
            --from-records writes all five. With --report, the scenario and run facts come from that report and the
            traffic, its checks and the verdict are recomputed from the records.

            Exit codes: 0 written, 2 bad input (unreadable or invalid file, unknown format).
            """)

    @Argument(help: "A report.json to re-render; with --from-records, records.jsonl files to recompute from.")
    var files: [String] = []

    @Flag(name: .customLong("from-records"), help: "Treat the files as records.jsonl and recompute the report from them.")
    var fromRecords = false

    @Option(name: .customLong("report"), help: "With --from-records: the report.json of the run the records came from.")
    var baseReport: String?

    @Option(help: "Comma-separated formats: json, md, junit, html, prom.")
    var format: String?

    @Option(name: .customLong("output-dir"), help: "Where to write (default: the report's directory; required with --from-records).")
    var outputDirectory: String?

    func run() throws {
        do {
            let formats = try parseFormats()
            let report: RunReport
            let directory: String
            if fromRecords {
                guard !files.isEmpty else { throw ReportInputError("give at least one records.jsonl file after --from-records") }
                guard let outputDirectory else { throw ReportInputError("--from-records needs --output-dir") }
                var records: [StoredRecord] = []
                for path in files {
                    let stored = RecordsReplay.read(try Self.readText(path))
                    if !stored.unreadableLines.isEmpty {
                        let lines = stored.unreadableLines.prefix(5).map(String.init).joined(separator: ", ")
                        FileHandle.standardError.write(
                            Data(
                                "meshcheck: \(path): skipped \(stored.unreadableLines.count) unreadable lines (\(lines)\(stored.unreadableLines.count > 5 ? ", ..." : ""))\n"
                                    .utf8))
                    }
                    records += stored.records
                }
                let base = try baseReport.map(Self.loadReport)
                report = try RecordsReplay.report(records: records, base: base)
                directory = outputDirectory
            } else {
                guard files.count == 1 else { throw ReportInputError("give exactly one report.json (or --from-records with records files)") }
                guard baseReport == nil else { throw ReportInputError("--report only goes with --from-records") }
                report = try Self.loadReport(files[0])
                directory = outputDirectory ?? URL(fileURLWithPath: files[0]).deletingLastPathComponent().path
            }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let chosen = formats ?? (fromRecords ? ReportFiles.Format.allCases : ReportFiles.Format.allCases.filter { $0 != .json })
            try ReportFiles.write(report, to: directory, formats: chosen)
            print("wrote \(chosen.map(\.fileName).joined(separator: ", ")) to \(directory) (verdict \(report.verdict.rawValue))")
            if chosen.contains(.html) {
                print("open \(directory.hasSuffix("/") ? directory : directory + "/")report.html")
            }
        } catch let problem as ReportInputError {
            FileHandle.standardError.write(Data("meshcheck: \(problem.message)\n".utf8))
            throw ExitCode(2)
        } catch let problem as ScenarioError {
            FileHandle.standardError.write(Data("meshcheck: \(problem)\n".utf8))
            throw ExitCode(2)
        } catch let problem as ReportWriteError {
            FileHandle.standardError.write(Data("meshcheck: \(problem)\n".utf8))
            throw ExitCode(2)
        }
    }

    private func parseFormats() throws -> [ReportFiles.Format]? {
        guard let format else { return nil }
        return try format.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let known = ReportFiles.Format(rawValue: trimmed) else {
                throw ReportInputError("unknown format \"\(trimmed)\"; choose from \(ReportFiles.Format.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return known
        }
    }

    private static func readText(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ReportInputError("cannot read \(path): \(error.localizedDescription)")
        }
    }

    private static func loadReport(_ path: String) throws -> RunReport {
        let text = try readText(path)
        do {
            return try JSONDecoder().decode(RunReport.self, from: Data(text.utf8))
        } catch {
            throw ReportInputError("\(path) is not a meshcheck report.json (schema \(RunReport.currentSchemaVersion)): \(error)")
        }
    }
}

struct ReportInputError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
