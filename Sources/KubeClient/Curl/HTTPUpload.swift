// One blocking HTTP PUT of a text body, for meshcheck's only non-Kubernetes upload (the Pushgateway
// push). It goes through ``CurlEasy`` like every other transfer, so each libcurl call is checked at the
// one choke point, and runs on a Dispatch thread, never on Swift's cooperative pool.

internal import CCurl
import Foundation

/// Why an upload failed, in words for the user.
package struct HTTPUploadError: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}

package enum HTTPUpload {
    /// PUTs `body` to `url` (http or https only) and succeeds on any 2xx answer; anything else fails
    /// with the status and the start of the answer.
    package static func put(url: String, body: String, contentType: String, timeoutSeconds: Int) async throws(HTTPUploadError) {
        let result: Result<Void, HTTPUploadError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                do throws(CurlError) {
                    let status = try transfer(url: url, body: body, contentType: contentType, timeoutSeconds: timeoutSeconds)
                    continuation.resume(returning: status)
                } catch {
                    continuation.resume(returning: .failure(HTTPUploadError(reason: error.detail)))
                }
            }
        }
        try result.get()
    }

    private static func transfer(
        url: String, body: String, contentType: String,
        timeoutSeconds: Int
    ) throws(CurlError) -> Result<Void, HTTPUploadError> {
        let easy = try CurlEasy()
        let response = ResponseStart()
        let unmanaged = Unmanaged.passRetained(response)
        defer { unmanaged.release() }
        try easy.set(CURLOPT_URL, url)
        // Only http(s): a URL naming another scheme is a mistake, not something to follow.
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_CUSTOMREQUEST, "PUT")
        try easy.set(CURLOPT_POSTFIELDSIZE, body.utf8.count)
        try easy.set(CURLOPT_COPYPOSTFIELDS, body)
        try easy.set(CURLOPT_TIMEOUT_MS, timeoutSeconds * 1000)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, min(timeoutSeconds, 5) * 1000)
        try easy.set(CURLOPT_HTTPHEADER, list: ["Content-Type: \(contentType)"])
        try easy.check(
            mc_easy_setopt_write_callback(easy.handle) { data, size, count, user in
                guard let data, let user else { return 0 }
                let bytes = size * count
                let box = Unmanaged<ResponseStart>.fromOpaque(user).takeUnretainedValue()
                if box.bytes.count < ResponseStart.limit {
                    box.bytes += UnsafeRawBufferPointer(start: data, count: bytes).prefix(ResponseStart.limit - box.bytes.count)
                }
                return bytes
            }, "curl_easy_setopt(WRITEFUNCTION)")
        try easy.set(CURLOPT_WRITEDATA, pointer: unmanaged.toOpaque())
        try easy.check(curl_easy_perform(easy.handle), "curl_easy_perform")
        let status = easy.info(long: CURLINFO_RESPONSE_CODE)
        guard (200..<300).contains(status) else {
            let text = String(decoding: response.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(HTTPUploadError(reason: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")))
        }
        return .success(())
    }

    /// The start of the server's answer, for error messages; the rest is discarded.
    private final class ResponseStart {
        static let limit = 2048
        var bytes: [UInt8] = []
    }
}
