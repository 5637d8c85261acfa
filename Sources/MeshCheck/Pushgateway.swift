// `meshcheck run --pushgateway URL`: pushes the run's metrics (metrics.prom, rendered by the caller) to
// a Prometheus Pushgateway, grouped by job `meshcheck`, scenario and run (PUT replaces exactly that
// group). The transfer is KubeClient's ``HTTPUpload``: libcurl, off the cooperative pool.

import Foundation
import KubeClient

package struct PushgatewayError: Error, CustomStringConvertible, Sendable {
    package var url: String
    package var reason: String
    package var description: String {
        "could not push metrics to the Pushgateway at \(url): \(reason) — check --pushgateway and that the Pushgateway is reachable"
    }
}

package enum Pushgateway {
    /// The job label of every push.
    package static let job = "meshcheck"

    /// `<base>/metrics/job/meshcheck/scenario/<name>/run/<run id>`; values that are not plain URL
    /// path characters use the Pushgateway's `label@base64/<base64url>` form.
    package static func groupURL(base: String, report: RunReport) -> String {
        var trimmed = base
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed + "/metrics/job/" + pathValue(job, label: nil)
            + "/" + pathValue(report.scenario.name, label: "scenario") + "/" + pathValue(report.runId, label: "run")
    }

    static func pathValue(_ value: String, label: String?) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-._~".unicodeScalars.contains($0)
            }
        let prefix = label.map { "\($0)/" } ?? ""
        if plain { return prefix + value }
        let encoded = Data(value.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return (label.map { "\($0)@base64/" } ?? "") + (encoded.isEmpty ? "=" : encoded)
    }

    /// PUTs `metrics` (the Prometheus text of `report`, without the `scenario` label, which the
    /// grouping key carries) into the report's group.
    package static func push(_ metrics: String, of report: RunReport, to base: String, timeoutSeconds: Int = 15) async throws {
        let url = groupURL(base: base, report: report)
        do {
            try await HTTPUpload.put(
                url: url, body: metrics, contentType: "text/plain; version=0.0.4; charset=utf-8",
                timeoutSeconds: timeoutSeconds)
        } catch {
            throw PushgatewayError(url: url, reason: error.reason)
        }
    }
}
