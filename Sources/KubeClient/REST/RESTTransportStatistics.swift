/// The HTTP version a response travelled over, as libcurl negotiated it (ALPN for HTTPS).
package enum HTTPVersion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The version numbers are the names; `http10` would read as "HTTP ten".
    case http1_0 = "HTTP/1.0"
    // swift-format-ignore: AlwaysUseLowerCamelCase
    case http1_1 = "HTTP/1.1"
    case http2 = "HTTP/2"
    case http3 = "HTTP/3"

    package var description: String { rawValue }
}

/// How one client's REST calls travelled: which HTTP version the server's answers came over and how
/// many connections that took. Against an API server that offers HTTP/2, concurrent calls should
/// share one connection; against an HTTP/1.1-only one, each call in flight needs its own.
package struct RESTTransportStatistics: Sendable, Equatable, CustomStringConvertible {
    /// HTTP responses received (any status, retries included), by negotiated version.
    package var responses: [HTTPVersion: Int] = [:]
    /// TCP (+TLS) connections opened for the calls that got a response; a call that reused or
    /// multiplexed onto an open connection adds nothing.
    package var connectionsOpened = 0

    package init() {}

    /// e.g. `REST: 50 responses (HTTP/2: 50), 1 connection opened`.
    package var description: String {
        let total = responses.values.reduce(0, +)
        let byVersion = HTTPVersion.allCases.compactMap { version in responses[version].map { "\(version): \($0)" } }
        let split = byVersion.isEmpty ? "" : " (\(byVersion.joined(separator: ", ")))"
        return "REST: \(total) response\(total == 1 ? "" : "s")\(split), "
            + "\(connectionsOpened) connection\(connectionsOpened == 1 ? "" : "s") opened"
    }

    mutating func record(_ version: HTTPVersion?, newConnections: Int) {
        if let version { responses[version, default: 0] += 1 }
        connectionsOpened += newConnections
    }
}
