internal import CCurl
import Foundation

/// A libcurl call that failed, with curl's own explanation.
///
/// Every `CURLcode`/`CURLMcode` the module receives passes through ``curlCheck(_:_:)`` or
/// ``curlMultiCheck(_:_:)``, so no result is silently dropped.
package struct CurlError: Error, CustomStringConvertible, Sendable {
    /// The numeric libcurl code (CURLcode, or CURLMcode for multi calls).
    package let code: Int
    /// The libcurl function (or option) that failed.
    package let function: String
    /// `curl_easy_strerror` / `curl_multi_strerror` text, plus the error buffer when libcurl filled it.
    package let detail: String

    package var description: String { "\(function): \(detail) (curl code \(code))" }
}

/// libcurl's global state must be initialised once before any handle exists, and before threads
/// start using it (curl_global_init is not thread safe). A lazy global runs exactly once.
private let libcurlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

func ensureLibcurlInitialised() throws(CurlError) {
    try curlCheck(libcurlGlobalInit, "curl_global_init")
}

/// The single choke point for easy-interface results.
@inline(__always)
func curlCheck(_ code: CURLcode, _ function: @autoclosure () -> String) throws(CurlError) {
    guard code != CURLE_OK else { return }
    throw CurlError(code: Int(code.rawValue), function: function(), detail: String(cString: curl_easy_strerror(code)))
}

/// The single choke point for multi-interface results.
@inline(__always)
func curlMultiCheck(_ code: CURLMcode, _ function: @autoclosure () -> String) throws(CurlError) {
    guard code != CURLM_OK else { return }
    throw CurlError(code: Int(code.rawValue), function: function(), detail: String(cString: curl_multi_strerror(code)))
}

/// Owner of one libcurl easy handle and of everything the handle points into (header lists,
/// blobs, request body). Not thread safe: it lives on the I/O engine thread once submitted.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    private var slists: [UnsafeMutablePointer<curl_slist>] = []
    /// libcurl copies blobs flagged CURL_BLOB_COPY, but error text and strings set with
    /// CURLOPT_* string options are copied too; only the error buffer must outlive calls.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws(CurlError) {
        try ensureLibcurlInitialised()
        guard let raw = curl_easy_init() else {
            throw CurlError(code: -1, function: "curl_easy_init", detail: "out of memory")
        }
        handle = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        // Signals would interrupt other threads of the process; libcurl must never raise them.
        try set(CURLOPT_NOSIGNAL, 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        for list in slists { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    /// The last detailed error libcurl wrote for this handle, empty when none.
    var lastErrorText: String { String(cString: errorBuffer) }

    func check(_ code: CURLcode, _ function: @autoclosure () -> String) throws(CurlError) {
        guard code != CURLE_OK else { return }
        let extra = lastErrorText
        let base = String(cString: curl_easy_strerror(code))
        throw CurlError(code: Int(code.rawValue), function: function(), detail: extra.isEmpty ? base : "\(base): \(extra)")
    }

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(mc_easy_setopt_long(handle, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    func set(_ option: CURLoption, offset value: Int64) throws(CurlError) {
        try check(mc_easy_setopt_off_t(handle, option, curl_off_t(value)), "curl_easy_setopt(\(option.rawValue))")
    }

    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        try check(mc_easy_setopt_string(handle, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(CurlError) {
        try check(mc_easy_setopt_pointer(handle, option, value), "curl_easy_setopt(\(option.rawValue))")
    }

    /// Sets a header-style list; the list is freed with the handle.
    func set(_ option: CURLoption, list: [String]) throws(CurlError) {
        guard !list.isEmpty else { return }
        var head: UnsafeMutablePointer<curl_slist>?
        for item in list {
            guard let next = curl_slist_append(head, item) else {
                if let head { curl_slist_free_all(head) }
                throw CurlError(code: -1, function: "curl_slist_append", detail: "out of memory")
            }
            head = next
        }
        if let head {
            slists.append(head)
            try check(mc_easy_setopt_slist(handle, option, head), "curl_easy_setopt(\(option.rawValue))")
        }
    }

    /// Hands libcurl a copy of `bytes` (CURL_BLOB_COPY), used for CA, client cert and key blobs.
    func set(_ option: CURLoption, blob bytes: [UInt8]) throws(CurlError) {
        var copy = bytes
        let code = copy.withUnsafeMutableBytes { raw -> CURLcode in
            var blob = curl_blob(data: raw.baseAddress, len: raw.count, flags: UInt32(CURL_BLOB_COPY))
            return mc_easy_setopt_blob(handle, option, &blob)
        }
        try check(code, "curl_easy_setopt(\(option.rawValue))")
    }

    func info(long what: CURLINFO) -> Int {
        var value = 0
        _ = mc_easy_getinfo_long(handle, what, &value)
        return value
    }

    func info(double what: CURLINFO) -> Double {
        var value = 0.0
        _ = mc_easy_getinfo_double(handle, what, &value)
        return value
    }

    func activeSocket() throws(CurlError) -> Int32 {
        var socket: curl_socket_t = mc_socket_bad()
        try check(mc_easy_getinfo_socket(handle, CURLINFO_ACTIVESOCKET, &socket), "curl_easy_getinfo(ACTIVESOCKET)")
        return socket
    }
}

@available(*, unavailable)
extension CurlEasy: Sendable {}

/// The libcurl version string, for diagnostics.
package var libcurlVersion: String { String(cString: curl_version()) }
