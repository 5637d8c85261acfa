import Foundation
import MeshCheck
@testable import MeshReports
import Testing

/// junit.xml against Tests/scripts/report-junit.xsd with xmllint (Debian's libxml2-utils), for every kind of
/// report the renderer handles: passing, failing, errored and interrupted runs, and hostile names.
@Suite("junit.xml schema")
struct JUnitSchemaTests {
    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/report-junit.xsd").path

    /// xmllint's verdict and message for one document.
    static func validate(_ xml: String) throws -> (valid: Bool, output: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("meshcheck-junit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("junit.xml")
        try xml.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        process.arguments = ["--noout", "--schema", schema, file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, text)
    }

    static func reports() throws -> [(String, RunReport)] {
        var errored = try Fixtures.passingSmoke()
        errored.verdict = .error
        errored.error = "cluster-2 unreachable: connection refused <&>"
        var interrupted = try Fixtures.failingThreeClusters()
        interrupted.verdict = .interrupted
        var hostile = try Fixtures.failingThreeClusters()
        hostile.checks[2].message = "bad \u{1}control \u{FFFE} and ]]> and \"quotes\"\nnew line"
        hostile.checks[2].cause = "cause with <tags> & \u{7}bell"
        return [("pass", try Fixtures.passingSmoke()), ("fail", try Fixtures.failingThreeClusters()), ("error", errored),
                ("interrupted", interrupted), ("hostile", hostile)]
    }

    @Test func everyKindOfRunValidates() throws {
        #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/xmllint"), "xmllint is required: apt-get install -y libxml2-utils")
        for (name, report) in try Self.reports() {
            let result = try Self.validate(JUnitReport.render(report))
            #expect(result.valid, "\(name): \(result.output)")
        }
    }

    @Test func theSchemaRejectsWhatCIReadersReject() throws {
        let valid = JUnitReport.render(try Fixtures.failingThreeClusters())
        for broken in [valid.replacingOccurrences(of: "tests=\"4\"", with: "tests=\"four\""),
                       valid.replacingOccurrences(of: "<testcase name=\"error-rate\"", with: "<testcase label=\"error-rate\""),
                       valid.replacingOccurrences(of: "<properties>", with: "<properties><unexpected/>")] {
            #expect(broken != valid)
            #expect(!(try Self.validate(broken)).valid)
        }
    }
}
