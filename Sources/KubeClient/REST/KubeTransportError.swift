internal import CCurl

/// A request that never got an HTTP answer: TLS, connection, proxy, timeout.
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
        case timedOut
        /// The connection broke mid-request (reset, empty reply).
        case connectionReset
        case other
    }

    package let code: Code
    package let context: String?
    package let server: String
    /// libcurl's own report (never contains credentials).
    package let curl: CurlError

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
        case .connectionReset:
            return "connection to \(server) broke (\(curl.detail))"
        case .other:
            return "request to \(server) failed: \(curl.description)"
        }
    }

    /// Safe to repeat for idempotent requests.
    package var isRetryable: Bool { code == .connectionReset || code == .connectionRefused }

    static func from(_ curl: CurlError, cluster: ClusterConnection, context: String?) -> KubeTransportError {
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
        return KubeTransportError(code: code, context: context, server: cluster.server.description, curl: curl)
    }
}
