// `meshcheck run --pushgateway URL`: pushes metrics.prom to a Prometheus Pushgateway with libcurl,
// grouped by job `meshcheck`, scenario and run (PUT replaces exactly that group). The transfer blocks
// in libcurl, so it runs on a Dispatch thread, never on Swift's cooperative pool.

import CCurl
import Dispatch
import Foundation
import MeshCheck

public struct PushgatewayError: Error, CustomStringConvertible, Sendable {
    public var url: String
    public var reason: String
    public var description: String {
        "could not push metrics to the Pushgateway at \(url): \(reason) — check --pushgateway and that the Pushgateway is reachable"
    }
}

public enum Pushgateway {
    /// The job label of every push.
    public static let job = "meshcheck"

    /// `<base>/metrics/job/meshcheck/scenario/<name>/run/<run id>`; values that are not plain URL
    /// path characters use the Pushgateway's `label@base64/<base64url>` form.
    public static func groupURL(base: String, report: RunReport) -> String {
        var trimmed = base
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed + "/metrics/job/" + pathValue(job, label: nil)
            + "/" + pathValue(report.scenario.name, label: "scenario") + "/" + pathValue(report.runId, label: "run")
    }

    static func pathValue(_ value: String, label: String?) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-._~".unicodeScalars.contains($0)
        }
        let prefix = label.map { "\($0)/" } ?? ""
        if plain { return prefix + value }
        let encoded = Data(value.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return (label.map { "\($0)@base64/" } ?? "") + (encoded.isEmpty ? "=" : encoded)
    }

    /// PUTs the report's metrics (without the `scenario` label, which the grouping key carries).
    public static func push(_ report: RunReport, to base: String, timeoutSeconds: Int = 15) async throws {
        let url = groupURL(base: base, report: report)
        let body = PrometheusMetrics.render(report, scenarioLabel: false)
        let result: Result<Void, PushgatewayError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                do throws(PushgatewayError) {
                    try transfer(url: url, body: body, timeoutSeconds: timeoutSeconds)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try result.get()
    }

    private static func transfer(url: String, body: String, timeoutSeconds: Int) throws(PushgatewayError) {
        func fail(_ reason: String) -> PushgatewayError { PushgatewayError(url: url, reason: reason) }
        guard pushLibcurlInit == CURLE_OK, let handle = curl_easy_init() else { throw fail("libcurl could not start") }
        defer { curl_easy_cleanup(handle) }
        let headers = curl_slist_append(nil, "Content-Type: text/plain; version=0.0.4; charset=utf-8")
        defer { curl_slist_free_all(headers) }
        let response = ResponseBody()
        let unmanaged = Unmanaged.passRetained(response)
        defer { unmanaged.release() }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var codes = [
            mc_easy_setopt_string(handle, CURLOPT_URL, url),
            mc_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1),
            mc_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "PUT"),
            mc_easy_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.utf8.count),
            mc_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body),
            mc_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutSeconds * 1000),
            mc_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(timeoutSeconds, 5) * 1000),
            mc_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)),
            mc_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque()),
            mc_easy_setopt_write_callback(handle) { data, size, count, user in
                guard let data, let user else { return 0 }
                let bytes = size * count
                let box = Unmanaged<ResponseBody>.fromOpaque(user).takeUnretainedValue()
                if box.bytes.count < 2048 {
                    box.bytes += UnsafeRawBufferPointer(start: data, count: bytes).prefix(2048 - box.bytes.count)
                }
                return bytes
            },
        ]
        codes.append(mc_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headers))
        // Only http(s): a URL naming another scheme is a mistake, not something to follow.
        codes.append(mc_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        if let bad = codes.first(where: { $0 != CURLE_OK }) {
            throw fail(String(cString: curl_easy_strerror(bad)))
        }
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw fail(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        var status = 0
        _ = mc_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard (200..<300).contains(status) else {
            let text = String(decoding: response.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw fail("HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
        }
    }

    /// The start of the Pushgateway's answer, for error messages.
    private final class ResponseBody {
        var bytes: [UInt8] = []
    }
}

/// libcurl's global set-up, once per process (reference counted by libcurl, so other modules' own
/// call does not conflict).
private let pushLibcurlInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))
