import Foundation

/// `metav1.Status`: the API server's error (and some success) body, also the exec channel-3 payload.
public struct Status: Codable, Sendable, Equatable {
    public var kind: String?
    public var apiVersion: String?
    /// "Success" or "Failure".
    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: StatusDetails?
    public var code: Int?

    public init(status: String? = nil, message: String? = nil, reason: String? = nil, details: StatusDetails? = nil, code: Int? = nil) {
        self.kind = "Status"
        self.apiVersion = "v1"
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

public struct StatusDetails: Codable, Sendable, Equatable {
    public var name: String?
    public var group: String?
    /// The resource (e.g. `namespaces`), not the Kind.
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int?

    public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [StatusCause]? = nil, retryAfterSeconds: Int? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// One cause; Go's `StatusCause.Type` is serialised under the key `reason`.
public struct StatusCause: Codable, Sendable, Equatable {
    public var reason: String?
    public var message: String?
    public var field: String?

    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}

/// A failed API call, typed by the Status `reason` (409 alone cannot tell AlreadyExists from Conflict).
public struct KubeAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `metav1.StatusReason` values; an open set, so unknown reasons are kept verbatim.
    public struct Reason: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let alreadyExists = Reason(rawValue: "AlreadyExists")
        public static let conflict = Reason(rawValue: "Conflict")
        public static let notFound = Reason(rawValue: "NotFound")
        public static let invalid = Reason(rawValue: "Invalid")
        public static let forbidden = Reason(rawValue: "Forbidden")
        public static let unauthorized = Reason(rawValue: "Unauthorized")
        public static let badRequest = Reason(rawValue: "BadRequest")
        public static let methodNotAllowed = Reason(rawValue: "MethodNotAllowed")
        public static let gone = Reason(rawValue: "Gone")
        public static let expired = Reason(rawValue: "Expired")
        public static let tooManyRequests = Reason(rawValue: "TooManyRequests")
        public static let internalError = Reason(rawValue: "InternalError")
        public static let serviceUnavailable = Reason(rawValue: "ServiceUnavailable")
        public static let timeout = Reason(rawValue: "Timeout")
        public static let serverTimeout = Reason(rawValue: "ServerTimeout")
        public static let requestEntityTooLarge = Reason(rawValue: "RequestEntityTooLarge")
        public static let unsupportedMediaType = Reason(rawValue: "UnsupportedMediaType")
        public static let unknown = Reason(rawValue: "Unknown")

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

    public let reason: Reason
    /// HTTP status of the response (or the Status `code` for exec channel-3 failures).
    public let httpStatus: Int
    public let message: String
    public let causes: [StatusCause]
    /// From `Retry-After` or `details.retryAfterSeconds`.
    public let retryAfter: Duration?
    /// The decoded Status body, when there was one.
    public let status: Status?
    /// The context the request went to.
    public let context: String?

    public init(httpStatus: Int, status: Status?, retryAfter: Duration? = nil, context: String? = nil, fallbackMessage: String = "") {
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
    public var isNamespaceTerminating: Bool { causes.contains { $0.reason == "NamespaceTerminating" } }
    /// AlreadyExists because the previous object of that name is still being deleted: retry later.
    public var isObjectBeingDeleted: Bool { reason == .alreadyExists && message.hasPrefix("object is being deleted:") }
    /// Worth retrying as is (the server asked us to slow down or was briefly unavailable).
    public var isRetryable: Bool { [.tooManyRequests, .serviceUnavailable, .timeout, .serverTimeout].contains(reason) || httpStatus == 503 || httpStatus == 504 || httpStatus == 429 }

    public var description: String {
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
