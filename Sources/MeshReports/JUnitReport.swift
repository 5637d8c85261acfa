// junit.xml: one testsuite for the run-wide (preflight) checks and one per source cluster, one testcase
// per check; failures carry the message, cause and hint. Shaped for the Jenkins xunit JUnit schema
// (junit-10.xsd), which CI systems' JUnit readers accept: suites need name/tests/failures/errors, cases
// need a name, skips are a <skipped> child.

import MeshCheck

package enum JUnitReport {
    /// The suite that holds checks without a source cluster.
    package static let preflightSuite = "preflight"

    package static func render(_ report: RunReport) -> String {
        var suites: [(name: String, checks: [CheckResult])] = [(preflightSuite, report.checks.filter { $0.source == nil })]
        for source in sourcesInOrder(report) + report.checks.compactMap(\.source) where !suites.contains(where: { $0.name == source }) {
            suites.append((source, report.checks.filter { $0.source == source }))
        }

        let failures = report.checks.filter { $0.status == .fail }.count
        // A run that ended in error or interruption is reported as one <error> case, so CI shows it red
        // even when no check got to fail.
        let runError: String? =
            switch report.verdict {
            case .error: report.error ?? "the run stopped on an environment error"
            case .interrupted: "the run was interrupted before it finished"
            case .pass, .fail: nil
            }
        let errors = runError == nil ? 0 : 1

        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"\(escape("meshcheck " + report.scenario.name))\" tests=\"\(report.checks.count + errors)\""
        xml += " failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(time(report.durationSeconds))\">\n"
        for (index, suite) in suites.enumerated() {
            let isPreflight = index == 0
            let suiteErrors = isPreflight ? errors : 0
            let skipped = suite.checks.filter { $0.status == .skip }.count
            xml += "  <testsuite name=\"\(escape(suite.name))\" tests=\"\(suite.checks.count + suiteErrors)\""
            xml += " failures=\"\(suite.checks.filter { $0.status == .fail }.count)\" errors=\"\(suiteErrors)\" skipped=\"\(skipped)\""
            xml += " time=\"0\" timestamp=\"\(escape(report.startedAt))\" hostname=\"meshcheck\" id=\"\(index)\" package=\"meshcheck\">\n"
            if isPreflight {
                xml += "    <properties>\n"
                for (name, value) in properties(report) {
                    xml += "      <property name=\"\(escape(name))\" value=\"\(escape(value))\"/>\n"
                }
                xml += "    </properties>\n"
            }
            let className = "meshcheck.\(suite.name)"
            for check in suite.checks {
                let caseName = check.target.map { "\(check.name) → \($0)" } ?? check.name
                xml += "    <testcase name=\"\(escape(caseName))\" classname=\"\(escape(className))\" time=\"0\">\n"
                switch check.status {
                case .fail:
                    xml +=
                        "      <failure message=\"\(escape(check.message))\" type=\"\(escape(check.name))\">\(escape(details(check), inAttribute: false))</failure>\n"
                case .skip:
                    xml += "      <skipped message=\"\(escape(check.message))\"/>\n"
                case .warn:
                    xml += "      <system-out>\(escape("warning: " + details(check), inAttribute: false))</system-out>\n"
                case .pass:
                    xml += "      <system-out>\(escape(check.message, inAttribute: false))</system-out>\n"
                }
                xml += "    </testcase>\n"
            }
            if isPreflight, let runError {
                xml += "    <testcase name=\"run\" classname=\"\(escape(className))\" time=\"\(time(report.durationSeconds))\">\n"
                xml += "      <error message=\"\(escape(runError))\" type=\"\(report.verdict.rawValue)\">\(escape(runError, inAttribute: false))</error>\n"
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    static func properties(_ report: RunReport) -> [(String, String)] {
        var out = [("runId", report.runId), ("verdict", report.verdict.rawValue), ("namespace", report.namespace)]
        if let revision = report.revision { out.append(("revision", revision)) }
        for cluster in report.clusters { out.append(("cluster.\(cluster.name)", cluster.context)) }
        out.append(("cleanup", report.cleanup.status.rawValue))
        return out
    }

    static func details(_ check: CheckResult) -> String {
        var text = check.message
        if let cause = check.cause { text += "\nCause: \(cause)" }
        if let hint = check.hint { text += "\nHint: \(hint)" }
        if let power = check.balance?.power { text += "\nSample size: \(power)" }
        return text
    }

    static func time(_ seconds: Double) -> String { NumberFormat.fixed(max(0, seconds), 3) }

    /// XML escaping; control characters XML 1.0 cannot carry become U+FFFD. In attributes line breaks
    /// and tabs become character references (a parser would normalise them to spaces otherwise).
    static func escape(_ text: String, inAttribute: Bool = true) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += inAttribute ? "&#10;" : "\n"
            case "\t": out += inAttribute ? "&#9;" : "\t"
            case "\r": out += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
