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
    private var body: [UInt8] = []
    private var headers: [String: String] = [:]
    private var warnings: [String] = []
    private let completion: @Sendable (Result<HTTPResponse, CurlError>) -> Void

    init(
        request: HTTPRequest, cluster: ClusterConnection, clientCertificate: ClientCertificate?,
        completion: @escaping @Sendable (Result<HTTPResponse, CurlError>) -> Void
    ) throws(CurlError) {
        self.completion = completion
        easy = try CurlEasy()
        try ConnectionSettings.apply(
            to: easy, cluster: cluster, clientCertificate: clientCertificate, path: request.path,
            connectTimeout: request.connectTimeout, forceHTTP1: false
        )
        try easy.set(CURLOPT_PIPEWAIT, 1) // wait for an HTTP/2 connection to multiplex on rather than open another
        try easy.set(CURLOPT_TIMEOUT_MS, Int(request.timeout.milliseconds))
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

    fileprivate func appendBody(_ bytes: UnsafeRawBufferPointer) { body.append(contentsOf: bytes) }

    fileprivate func appendHeader(_ line: String) {
        if line.hasPrefix("HTTP/") {
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

    func complete(_ result: Result<HTTPResponse, CurlError>) { completion(result) }
}

@available(*, unavailable)
extension RestTransfer: Sendable {}

private func restTransferWrite(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<RestTransfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.appendBody(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private func restTransferHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<RestTransfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.appendHeader(String(decoding: UnsafeRawBufferPointer(start: data, count: size * count), as: UTF8.self))
    return size * count
}
