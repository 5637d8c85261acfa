internal import CCurl
import Foundation

/// One HTTP request as plain values (built on the caller's task, executed on the engine thread).
struct HTTPRequest: Sendable {
    var method: String
    var path: String
    var headers: [String]
    var body: [UInt8]?
    var timeout: Duration
    var connectTimeout: Duration
    var limits: ResponseLimits
}

/// The most a REST answer may hold; passing either ends the transfer at once.
struct ResponseLimits: Sendable {
    /// Body bytes after decompression, so a small compressed answer cannot expand without bound.
    var body: Int
    /// All header bytes of the answer, status lines included.
    var headers: Int
}

/// Body bytes held by every REST transfer in flight, against one budget for the process, so that many
/// contexts answered by the same endless body cannot add up to their limits times their number. Engine
/// thread only.
final class BodyBudget {
    /// 128 MiB: two answers at the default per-answer limit.
    static let defaultLimit = 128 << 20

    let limit: Int
    private(set) var held = 0

    init(limit: Int = BodyBudget.defaultLimit) {
        self.limit = limit
    }

    /// Takes `count` bytes for a transfer whose own limit is `own`; false when the answers in flight
    /// would pass the budget — or `own` when that is larger, so an answer the user allowed is never
    /// refused for the budget alone.
    func take(_ count: Int, own: Int) -> Bool {
        guard held + count <= max(limit, own) else { return false }
        held += count
        return true
    }

    func release(_ count: Int) { held -= count }
}

@available(*, unavailable)
extension BodyBudget: Sendable {}

/// What a REST transfer got before it failed: it tells "no connection" from "connected but no
/// answer", "answer too slow" and "answer too large".
struct TransferProgress: Sendable, Equatable {
    /// The host name (the proxy's, when there is one) was resolved.
    var resolved = false
    /// TLS (or TCP for plain HTTP) was established.
    var connected = false
    /// A status line arrived.
    var answered = false
    /// Header and body bytes received.
    var bytesReceived = 0
    /// The bound that ended the transfer, if one did.
    var exceeded: ResponsePart?
    /// The limit of that bound.
    var limit = 0
    /// The whole-request timeout the transfer ran under.
    var timeout: Duration = .zero
    /// The connect timeout (name resolution, TCP, proxy tunnel and TLS) it ran under.
    var connectTimeout: Duration = .zero
}

/// A REST transfer that ended without a complete answer.
struct TransferFailure: Error {
    var curl: CurlError
    var progress: TransferProgress?
}

/// A complete HTTP response.
struct HTTPResponse: Sendable {
    var status: Int
    /// Lower-cased names; for repeated headers the last value wins.
    var headers: [String: String]
    /// The texts of every `Warning` header, in order (``ServerWarning/text(ofHeader:)``).
    var warnings: [String] = []
    var body: [UInt8]
    /// Negotiated version; nil if libcurl reports none.
    var httpVersion: HTTPVersion? = nil
    /// Connections libcurl opened for this transfer (0 when it reused or multiplexed).
    var newConnections = 0
}

/// Options shared by REST and exec handles: TLS material, proxy, timeouts.
enum ConnectionSettings {
    static func apply(
        to easy: CurlEasy, cluster: ClusterConnection, clientCertificate: ClientCertificate?,
        path: String, connectTimeout: Duration, forceHTTP1: Bool
    ) throws(CurlError) {
        let server = cluster.server
        if let tlsName = cluster.tlsServerName, server.scheme == "https" {
            // Verify and send SNI for tls-server-name while connecting to the real host.
            let urlHost = tlsName.contains(":") ? "[\(tlsName)]" : tlsName
            try easy.set(CURLOPT_URL, "\(server.scheme)://\(urlHost):\(server.port)\(server.pathPrefix)\(path)")
            try easy.set(CURLOPT_CONNECT_TO, list: ["\(urlHost):\(server.port):\(server.hostForURL):\(server.port)"])
        } else {
            try easy.set(CURLOPT_URL, server.url(path: path))
        }
        if cluster.insecureSkipTLSVerify {
            try easy.set(CURLOPT_SSL_VERIFYPEER, 0)
            try easy.set(CURLOPT_SSL_VERIFYHOST, 0)
        } else {
            try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
            try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
            if let ca = cluster.certificateAuthorityPEM { try easy.set(CURLOPT_CAINFO_BLOB, blob: ca) }
        }
        if let clientCertificate {
            try easy.set(CURLOPT_SSLCERTTYPE, "PEM")
            try easy.set(CURLOPT_SSLCERT_BLOB, blob: clientCertificate.certificatePEM)
            try easy.set(CURLOPT_SSLKEYTYPE, "PEM")
            try easy.set(CURLOPT_SSLKEY_BLOB, blob: clientCertificate.keyPEM)
        }
        switch cluster.proxy {
        case .direct: try easy.set(CURLOPT_PROXY, "") // "" also stops libcurl reading proxy env vars itself
        case .proxy(let url): try easy.set(CURLOPT_PROXY, url)
        }
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout.milliseconds))
        // A timed-out transfer whose resolver thread still waits on DNS would otherwise be joined when the handle
        // is cleaned up, blocking the engine thread (and every other transfer) until the resolver gives up; with
        // quick exit the thread is left to finish on its own.
        try easy.set(CURLOPT_QUICK_EXIT, 1)
        try easy.set(CURLOPT_TCP_KEEPALIVE, 1)
        try easy.set(CURLOPT_HTTP_VERSION, forceHTTP1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS)
    }
}

extension HTTPVersion {
    /// From CURLINFO_HTTP_VERSION.
    init?(curl value: Int) {
        switch value {
        case CURL_HTTP_VERSION_1_0: self = .http1_0
        case CURL_HTTP_VERSION_1_1: self = .http1_1
        case CURL_HTTP_VERSION_2_0: self = .http2
        case CURL_HTTP_VERSION_3: self = .http3
        default: return nil
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// One REST transfer on the engine thread: owns its easy handle and collects the response.
final class RestTransfer {
    let easy: CurlEasy
    /// The body so far, in chunks that are never reallocated: a growing array would copy itself and leave
    /// its earlier buffers to the allocator, holding up to twice the body while it grows.
    private var chunks: [[UInt8]] = []
    private var bodyCount = 0
    private var headerBytes = 0
    private var headers: [String: String] = [:]
    private var warnings: [String] = []
    private let limits: ResponseLimits
    private var progress: TransferProgress
    /// The engine's budget for all answers in flight; set when the transfer starts.
    var budget: BodyBudget?
    private let completion: @Sendable (Result<HTTPResponse, TransferFailure>) -> Void

    init(
        request: HTTPRequest, cluster: ClusterConnection, clientCertificate: ClientCertificate?,
        completion: @escaping @Sendable (Result<HTTPResponse, TransferFailure>) -> Void
    ) throws(CurlError) {
        self.completion = completion
        limits = request.limits
        progress = TransferProgress(timeout: request.timeout, connectTimeout: min(request.connectTimeout, request.timeout))
        easy = try CurlEasy()
        try ConnectionSettings.apply(
            to: easy, cluster: cluster, clientCertificate: clientCertificate, path: request.path,
            connectTimeout: request.connectTimeout, forceHTTP1: false
        )
        try easy.set(CURLOPT_PIPEWAIT, 1) // wait for an HTTP/2 connection to multiplex on rather than open another
        try easy.set(CURLOPT_TIMEOUT_MS, Int(request.timeout.milliseconds))
        // A Content-Length over the limit fails before the first body byte (CURLE_FILESIZE_EXCEEDED);
        // bodies without one are stopped by the write callback.
        try easy.set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(request.limits.body))
        if !cluster.disableCompression { try easy.set(CURLOPT_ACCEPT_ENCODING, "") }
        switch request.method {
        case "GET": try easy.set(CURLOPT_HTTPGET, 1)
        case "POST": try easy.set(CURLOPT_POST, 1)
        default: try easy.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let payload = request.body {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(payload.count))
            var copy = payload
            let code = copy.withUnsafeMutableBytes { raw in mc_easy_setopt_pointer(easy.handle, CURLOPT_COPYPOSTFIELDS, raw.baseAddress) }
            try easy.check(code, "curl_easy_setopt(COPYPOSTFIELDS)")
        }
        // "Expect: 100-continue" costs a round trip on large bodies; the API server does not need it.
        try easy.set(CURLOPT_HTTPHEADER, list: request.headers + ["Expect:"])
        let me = Unmanaged.passUnretained(self).toOpaque()
        try easy.check(mc_easy_setopt_write_callback(easy.handle, restTransferWrite), "curl_easy_setopt(WRITEFUNCTION)")
        try easy.set(CURLOPT_WRITEDATA, pointer: me)
        try easy.check(mc_easy_setopt_header_callback(easy.handle, restTransferHeader), "curl_easy_setopt(HEADERFUNCTION)")
        try easy.set(CURLOPT_HEADERDATA, pointer: me)
    }

    /// False once the body would pass its limit: the callback's short count makes libcurl stop
    /// the transfer (CURLE_WRITE_ERROR) before anything more is read.
    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        progress.bytesReceived += bytes.count
        guard bodyCount + bytes.count <= limits.body else { return exceed(.body, limit: limits.body) }
        if let budget, !budget.take(bytes.count, own: limits.body) { return exceed(.answersInFlight, limit: budget.limit) }
        bodyCount += bytes.count
        var offset = 0
        while offset < bytes.count {
            // Only numbers out of the last chunk: a binding to it would make the append below copy it.
            let room = chunks.last.map { $0.capacity - $0.count } ?? 0
            if room > 0 {
                let count = min(bytes.count - offset, room)
                // A raw buffer (not a slice of one) keeps append a memcpy.
                chunks[chunks.count - 1].append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
                offset += count
            } else {
                // 16 KiB first (most answers are small), doubling to 1 MiB.
                var chunk: [UInt8] = []
                chunk.reserveCapacity(min(max(16 << 10, 2 * (chunks.last.map { $0.capacity } ?? 0)), 1 << 20))
                chunks.append(chunk)
            }
        }
        return true
    }

    /// The body in one piece (a copy only when it took more than one chunk).
    private var body: [UInt8] {
        if chunks.count == 1 { return chunks[0] }
        var whole: [UInt8] = []
        whole.reserveCapacity(bodyCount)
        for chunk in chunks { whole.append(contentsOf: chunk) }
        return whole
    }

    /// Counts the header bytes against their limit, as for the body.
    fileprivate func acceptHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        progress.bytesReceived += bytes.count
        headerBytes += bytes.count
        guard headerBytes <= limits.headers else { return exceed(.headers, limit: limits.headers) }
        appendHeader(String(decoding: bytes, as: UTF8.self))
        return true
    }

    private func exceed(_ part: ResponsePart, limit: Int) -> Bool {
        progress.exceeded = part
        progress.limit = limit
        return false
    }

    private func appendHeader(_ line: String) {
        if line.hasPrefix("HTTP/") {
            progress.answered = true
            headers.removeAll() // a new response (after 100 Continue or a redirect) starts
            warnings.removeAll()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        headers[name] = value
        if name == "warning" { warnings.append(ServerWarning.text(ofHeader: value)) }
    }

    func response() -> HTTPResponse {
        HTTPResponse(
            status: easy.info(long: CURLINFO_RESPONSE_CODE), headers: headers, warnings: warnings, body: body,
            httpVersion: HTTPVersion(curl: easy.info(long: CURLINFO_HTTP_VERSION)),
            newConnections: easy.info(long: CURLINFO_NUM_CONNECTS))
    }

    func complete(_ result: Result<HTTPResponse, CurlError>) {
        budget?.release(bodyCount)
        budget = nil
        chunks.removeAll()
        completion(
            result.mapError { curl in
                var progress = progress
                // PRETRANSFER_TIME is set once the request is about to be sent: the connection (TLS
                // included, new or reused) was there. It stays 0 when connecting failed.
                progress.connected = easy.info(double: CURLINFO_PRETRANSFER_TIME) > 0 || progress.answered
                // NAMELOOKUP_TIME stays 0 while the resolver has not answered (an IP address takes microseconds).
                progress.resolved = easy.info(double: CURLINFO_NAMELOOKUP_TIME) > 0 || progress.connected
                if progress.exceeded == nil && CURLcode(rawValue: UInt32(curl.code)) == CURLE_FILESIZE_EXCEEDED {
                    progress.exceeded = .body
                    progress.limit = limits.body
                }
                return TransferFailure(curl: curl, progress: progress)
            })
    }
}

@available(*, unavailable)
extension RestTransfer: Sendable {}

private func restTransferWrite(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<RestTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.appendBody(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
}

private func restTransferHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<RestTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.acceptHeader(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
}
