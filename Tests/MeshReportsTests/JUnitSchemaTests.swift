import Foundation
import MeshCheck
import MeshTestSupport
import Testing

@testable import MeshReports

/// junit.xml against Tests/scripts/report-junit.xsd with xmllint (Debian's libxml2-utils), for every kind of
/// report the renderer handles: passing, failing, errored and interrupted runs, and hostile names.
@Suite("junit.xml schema")
struct JUnitSchemaTests {
    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/report-junit.xsd").path

    /// xmllint's verdict and message for one document.
    static func validate(_ xml: String) throws -> (valid: Bool, output: String) {
        let directory = try TemporaryDirectory(prefix: "meshcheck-junit")
        defer { withExtendedLifetime(directory) {} }
        let file = try directory.write("junit.xml", xml)
        let result = try ChildProcess.run("/usr/bin/xmllint", ["--noout", "--schema", schema, file])
        return (result.status == 0, result.stdoutText + result.stderrText)
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
        return [
            ("pass", try Fixtures.passingSmoke()), ("fail", try Fixtures.failingThreeClusters()), ("error", errored),
            ("interrupted", interrupted), ("hostile", hostile),
        ]
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
        for broken in [
            valid.replacingOccurrences(of: "tests=\"5\"", with: "tests=\"five\""),
            valid.replacingOccurrences(of: "<testcase name=\"error-rate\"", with: "<testcase label=\"error-rate\""),
            valid.replacingOccurrences(of: "<properties>", with: "<properties><unexpected/>"),
        ] {
            #expect(broken != valid)
            #expect(!(try Self.validate(broken)).valid)
        }
    }
}
