internal import CCurl
import Foundation

/// The part of an answer a size limit applies to.
package enum ResponsePart: String, Sendable, Equatable {
    case headers
    case body
    /// The bodies of every answer being received at once, which share one budget.
    case answersInFlight
}

/// A request that never got a complete HTTP answer: no connection (TLS, refused, DNS, proxy, connect
/// timeout), connected but no answer, an answer too slow or too large, a broken connection.
package struct KubeTransportError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable, Equatable {
        /// The server certificate does not chain to the configured CA; `field` names where the CA came from.
        case unknownAuthority(field: String)
        /// The certificate is valid but not for this host name.
        case hostnameMismatch
        /// The server rejected our client certificate, or the certificate/key could not be used.
        case clientCertificateRejected
        case tlsHandshakeFailed
        case connectionRefused
        case hostNotFound
        case proxyFailed
        /// No connection within the connect timeout (or the request timeout, when shorter).
        case timedOut
        /// The resolver did not answer for the server's (or the proxy's) host within the connect timeout.
        case resolveTimedOut(timeout: Duration)
        /// The proxy did not open a tunnel to the server within the connect timeout.
        case proxyTimedOut(timeout: Duration)
        /// Connected, but no status line arrived within the request timeout.
        case noAnswer(timeout: Duration)
        /// The answer started but did not finish within the request timeout.
        case tooSlow(bytesReceived: Int, timeout: Duration)
        /// The answer passed its size limit; the transfer was stopped there.
        case tooLarge(part: ResponsePart, limit: Int)
        /// The connection broke mid-request (reset, empty reply).
        case connectionReset
        case other
    }

    package let code: Code
    package let context: String?
    package let server: String
    /// Method and path of the request (`GET /version`); nil for exec connects.
    package let request: String?
    /// libcurl's own report (never contains credentials).
    package let curl: CurlError

    /// The broad kind of failure, for callers that tell an unreachable server from one that answered badly.
    package enum Kind: Sendable, Equatable {
        /// No connection: refused, DNS, TLS, proxy, connect timeout, or broken before an answer.
        case noConnection
        /// Connected, but nothing answered.
        case noAnswer
        /// The answer came too slowly.
        case tooSlow
        /// The answer was too large.
        case tooLarge
    }

    package var kind: Kind {
        switch code {
        case .noAnswer: .noAnswer
        case .tooSlow: .tooSlow
        case .tooLarge: .tooLarge
        default: .noConnection
        }
    }

    package var description: String { (context.map { "context \($0): " } ?? "") + descriptionWithoutContext }

    var descriptionWithoutContext: String {
        switch code {
        case .unknownAuthority(let field):
            return "TLS: certificate signed by unknown authority — check \(field) for \(server) (\(curl.detail))"
        case .hostnameMismatch:
            return "TLS: the certificate of \(server) is not valid for that name — check server or tls-server-name (\(curl.detail))"
        case .clientCertificateRejected:
            return "TLS: the client certificate was rejected or unusable — check client-certificate-data/client-key-data (\(curl.detail))"
        case .tlsHandshakeFailed:
            return "TLS handshake with \(server) failed (\(curl.detail))"
        case .connectionRefused:
            return "cannot connect to \(server) (\(curl.detail)); is the cluster reachable?"
        case .hostNotFound:
            return "cannot resolve the host of \(server) (\(curl.detail))"
        case .proxyFailed:
            return "the proxy for \(server) failed (\(curl.detail)); check proxy-url / HTTPS_PROXY / NO_PROXY"
        case .timedOut:
            return "request to \(server) timed out (\(curl.detail))"
        case .resolveTimedOut(let timeout):
            return "cannot resolve the host of \(server) (or of its proxy): the DNS resolver gave no answer within the connect "
                + "timeout of \(Self.format(timeout)) — check the resolver (/etc/resolv.conf) and the server name in the kubeconfig"
        case .proxyTimedOut(let timeout):
            return "no connection to \(server) through the proxy within the connect timeout of \(Self.format(timeout)) "
                + "(\(curl.detail)) — the proxy accepts connections but does not open the tunnel: check proxy-url / HTTPS_PROXY / NO_PROXY"
        case .noAnswer(let timeout):
            return "\(requestName) connected to \(server) but got no answer within \(Self.format(timeout)) — "
                + "something accepts connections there and does not answer: check the API server's health and any proxy or load balancer in between"
        case .tooSlow(let received, let timeout):
            return "\(requestName) the answer from \(server) was too slow: \(Self.format(bytes: received)) received before the "
                + "request timeout of \(Self.format(timeout)) — the server or a proxy in between is trickling its answer: check the network path"
        case .tooLarge(.body, let limit):
            return "\(requestName) the answer from \(server) is too large: it passed the response limit of \(Self.format(bytes: limit)) "
                + "and was stopped there — raise --max-response-size (scenario api.maxResponseSize) if the answer is legitimate, "
                + "or check what answers at this address"
        case .tooLarge(.answersInFlight, let limit):
            return "\(requestName) the answer from \(server) is too large: with the answers received at the same time it passed "
                + "\(Self.format(bytes: limit)), the most meshcheck holds at once, and was stopped there — several servers are "
                + "sending large answers: check what answers at these addresses"
        case .tooLarge(.headers, let limit):
            return "\(requestName) the answer from \(server) is too large: its headers passed \(Self.format(bytes: limit)) and were "
                + "stopped there — no API server sends that many; check what answers at this address"
        case .connectionReset:
            return "connection to \(server) broke (\(curl.detail))"
        case .other:
            return "request to \(server) failed: \(curl.description)"
        }
    }

    private var requestName: String { request.map { "\($0):" } ?? "request:" }

    /// `64 MiB`, `1.5 KiB`, `17 bytes`.
    static func format(bytes: Int) -> String {
        let units: [(Int, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, unit) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            let text = value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
            return "\(text) \(unit)"
        }
        return bytes == 1 ? "1 byte" : "\(bytes) bytes"
    }

    /// `30s`, `1.5s`.
    static func format(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : String(format: "%.1fs", Double(milliseconds) / 1000)
    }

    /// Safe to repeat for idempotent requests.
    package var isRetryable: Bool { code == .connectionReset || code == .connectionRefused }

    /// Classifies a failed REST transfer from libcurl's code and what arrived before it ended.
    static func from(_ failure: TransferFailure, cluster: ClusterConnection, context: String?, request: String) -> KubeTransportError {
        let code: Code
        let progress = failure.progress ?? TransferProgress()
        let result = CURLcode(rawValue: UInt32(failure.curl.code))
        if let part = progress.exceeded, result == CURLE_WRITE_ERROR || result == CURLE_FILESIZE_EXCEEDED {
            code = .tooLarge(part: part, limit: progress.limit)
        } else if result == CURLE_OPERATION_TIMEDOUT && progress.answered {
            code = .tooSlow(bytesReceived: progress.bytesReceived, timeout: progress.timeout)
        } else if result == CURLE_OPERATION_TIMEDOUT && progress.connected {
            code = .noAnswer(timeout: progress.timeout)
        } else if result == CURLE_OPERATION_TIMEDOUT && !progress.resolved {
            code = .resolveTimedOut(timeout: progress.connectTimeout)
        } else if result == CURLE_OPERATION_TIMEDOUT, case .proxy = cluster.proxy {
            code = .proxyTimedOut(timeout: progress.connectTimeout)
        } else {
            return from(failure.curl, cluster: cluster, context: context, request: request)
        }
        return KubeTransportError(code: code, context: context, server: cluster.server.description, request: request, curl: failure.curl)
    }

    static func from(_ curl: CurlError, cluster: ClusterConnection, context: String?, request: String? = nil) -> KubeTransportError {
        let detail = curl.detail.lowercased()
        let code: Code
        switch CURLcode(rawValue: UInt32(curl.code)) {
        case CURLE_PEER_FAILED_VERIFICATION:
            code =
                detail.contains("subject name") || detail.contains("host name") || detail.contains("hostname")
                ? .hostnameMismatch
                : .unknownAuthority(field: cluster.certificateAuthoritySource ?? "certificate-authority-data (the system trust store was used)")
        case CURLE_SSL_CACERT_BADFILE:
            code = .unknownAuthority(field: cluster.certificateAuthoritySource ?? "certificate-authority-data")
        case CURLE_SSL_CERTPROBLEM:
            code = .clientCertificateRejected
        case CURLE_SSL_CONNECT_ERROR:
            code = detail.contains("certificate") || detail.contains("alert") ? .clientCertificateRejected : .tlsHandshakeFailed
        case CURLE_COULDNT_CONNECT: code = .connectionRefused
        case CURLE_COULDNT_RESOLVE_HOST: code = .hostNotFound
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_PROXY: code = .proxyFailed
        case CURLE_OPERATION_TIMEDOUT: code = .timedOut
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM: code = .connectionReset
        default: code = .other
        }
        return KubeTransportError(code: code, context: context, server: cluster.server.description, request: request, curl: curl)
    }
}
