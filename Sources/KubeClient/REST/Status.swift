import Foundation

/// `metav1.Status`: the API server's error (and some success) body, also the exec channel-3 payload.
package struct Status: Codable, Sendable, Equatable {
    package var kind: String?
    package var apiVersion: String?
    /// "Success" or "Failure".
    package var status: String?
    package var message: String?
    package var reason: String?
    package var details: StatusDetails?
    package var code: Int?

    package init(status: String? = nil, message: String? = nil, reason: String? = nil, details: StatusDetails? = nil, code: Int? = nil) {
        self.kind = "Status"
        self.apiVersion = "v1"
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

package struct StatusDetails: Codable, Sendable, Equatable {
    package var name: String?
    package var group: String?
    /// The resource (e.g. `namespaces`), not the Kind.
    package var kind: String?
    package var uid: String?
    package var causes: [StatusCause]?
    package var retryAfterSeconds: Int?

    package init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [StatusCause]? = nil, retryAfterSeconds: Int? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// One cause; Go's `StatusCause.Type` is serialised under the key `reason`.
package struct StatusCause: Codable, Sendable, Equatable {
    package var reason: String?
    package var message: String?
    package var field: String?

    package init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}

/// A failed API call, typed by the Status `reason` (409 alone cannot tell AlreadyExists from Conflict).
package struct KubeAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `metav1.StatusReason` values; an open set, so unknown reasons are kept verbatim.
    package struct Reason: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        package static let alreadyExists = Reason(rawValue: "AlreadyExists")
        package static let conflict = Reason(rawValue: "Conflict")
        package static let notFound = Reason(rawValue: "NotFound")
        package static let invalid = Reason(rawValue: "Invalid")
        package static let forbidden = Reason(rawValue: "Forbidden")
        package static let unauthorized = Reason(rawValue: "Unauthorized")
        package static let badRequest = Reason(rawValue: "BadRequest")
        package static let methodNotAllowed = Reason(rawValue: "MethodNotAllowed")
        package static let gone = Reason(rawValue: "Gone")
        package static let expired = Reason(rawValue: "Expired")
        package static let tooManyRequests = Reason(rawValue: "TooManyRequests")
        package static let internalError = Reason(rawValue: "InternalError")
        package static let serviceUnavailable = Reason(rawValue: "ServiceUnavailable")
        package static let timeout = Reason(rawValue: "Timeout")
        package static let serverTimeout = Reason(rawValue: "ServerTimeout")
        package static let requestEntityTooLarge = Reason(rawValue: "RequestEntityTooLarge")
        package static let unsupportedMediaType = Reason(rawValue: "UnsupportedMediaType")
        package static let unknown = Reason(rawValue: "Unknown")

        /// The reason implied by an HTTP status when the body is not a Status.
        static func forHTTPStatus(_ code: Int) -> Reason {
            switch code {
            case 400: .badRequest
            case 401: .unauthorized
            case 403: .forbidden
            case 404: .notFound
            case 405: .methodNotAllowed
            case 409: .conflict
            case 410: .gone
            case 413: .requestEntityTooLarge
            case 415: .unsupportedMediaType
            case 422: .invalid
            case 429: .tooManyRequests
            case 500: .internalError
            case 503: .serviceUnavailable
            case 504: .timeout
            default: .unknown
            }
        }
    }

    package let reason: Reason
    /// HTTP status of the response (or the Status `code` for exec channel-3 failures).
    package let httpStatus: Int
    package let message: String
    package let causes: [StatusCause]
    /// From `Retry-After` or `details.retryAfterSeconds`.
    package let retryAfter: Duration?
    /// The decoded Status body, when there was one.
    package let status: Status?
    /// The context the request went to.
    package let context: String?

    package init(httpStatus: Int, status: Status?, retryAfter: Duration? = nil, context: String? = nil, fallbackMessage: String = "") {
        self.httpStatus = httpStatus
        self.status = status
        self.context = context
        if let reasonText = status?.reason, !reasonText.isEmpty {
            reason = Reason(rawValue: reasonText)
        } else {
            reason = .forHTTPStatus(status?.code ?? httpStatus)
        }
        let text = status?.message ?? ""
        message = text.isEmpty ? (fallbackMessage.isEmpty ? "HTTP \(httpStatus)" : fallbackMessage) : text
        causes = status?.details?.causes ?? []
        self.retryAfter = retryAfter ?? status?.details?.retryAfterSeconds.map { .seconds($0) }
    }

    /// Decodes an error response body; non-Status bodies keep a short, printable excerpt.
    static func fromResponse(httpStatus: Int, body: [UInt8], retryAfter: Duration?, context: String?) -> KubeAPIError {
        let status = try? JSONDecoder().decode(Status.self, from: Data(body))
        let usable = status.flatMap { $0.kind == "Status" || $0.reason != nil || $0.message != nil ? $0 : nil }
        let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
            .filter { !$0.isNewline }.trimmingCharacters(in: .whitespaces)
        return KubeAPIError(httpStatus: httpStatus, status: usable, retryAfter: retryAfter, context: context, fallbackMessage: excerpt)
    }

    /// Creation was refused because the namespace is being deleted (403 + cause NamespaceTerminating).
    package var isNamespaceTerminating: Bool { causes.contains { $0.reason == "NamespaceTerminating" } }
    /// AlreadyExists because the previous object of that name is still being deleted: retry later.
    package var isObjectBeingDeleted: Bool { reason == .alreadyExists && message.hasPrefix("object is being deleted:") }
    /// Worth retrying as is (the server asked us to slow down or was briefly unavailable).
    package var isRetryable: Bool {
        [.tooManyRequests, .serviceUnavailable, .timeout, .serverTimeout].contains(reason) || httpStatus == 503 || httpStatus == 504 || httpStatus == 429
    }

    package var description: String {
        var text = (context.map { "context \($0): " } ?? "") + "\(reason) (HTTP \(httpStatus)): \(message)"
        let causeText = causes.compactMap { cause -> String? in
            guard let message = cause.message else { return nil }
            return cause.field.map { "\($0): \(message)" } ?? message
        }
        if !causeText.isEmpty, !causeText.allSatisfy({ message.contains($0) }) { text += " [" + causeText.joined(separator: "; ") + "]" }
        switch reason {
        case .unauthorized: text += " — the credentials were rejected; refresh them (e.g. rerun get-credentials)"
        case .forbidden where isNamespaceTerminating: text += " — the namespace is being deleted; wait for it to disappear"
        case .forbidden: text += " — check RBAC for this user"
        case .tooManyRequests: text += " — the API server is throttling; retry later"
        default: break
        }
        return text
    }
}
