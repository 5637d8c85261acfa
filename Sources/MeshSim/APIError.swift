// metav1.Status errors with the reasons and codes a real API server uses (docs/PROTOCOL-NOTES.md §C1), so
// clients that switch on `reason` (AlreadyExists vs Conflict, NamespaceTerminating) behave as they would
// against a cluster.

package struct StatusCause: Sendable, Equatable {
    package var reason: String
    package var message: String
    package var field: String?

    package init(reason: String, message: String, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }

    var json: JSON {
        var cause: JSON = ["reason": .string(reason), "message": .string(message)]
        if let field { cause["field"] = .string(field) }
        return cause
    }
}

package struct APIError: Error, Sendable, Equatable {
    package var code: Int
    package var reason: String
    package var message: String
    package var name: String?
    package var group: String?
    package var kind: String?
    package var causes: [StatusCause]
    package var retryAfterSeconds: Int?

    package init(
        code: Int, reason: String, message: String, name: String? = nil, group: String? = nil,
        kind: String? = nil, causes: [StatusCause] = [], retryAfterSeconds: Int? = nil
    ) {
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }

    package var status: JSON {
        var details = JSON.emptyObject
        if let name { details["name"] = .string(name) }
        if let group, !group.isEmpty { details["group"] = .string(group) }
        if let kind { details["kind"] = .string(kind) }
        if !causes.isEmpty { details["causes"] = .array(causes.map(\.json)) }
        if let retryAfterSeconds { details["retryAfterSeconds"] = .int(Int64(retryAfterSeconds)) }
        var status: JSON = [
            "kind": "Status", "apiVersion": "v1", "metadata": .emptyObject, "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if details != .emptyObject { status["details"] = details }
        return status
    }

    /// `pods "x"` / `deployments.apps "x"` as the server names objects in messages.
    static func qualified(_ resource: ResourceType, _ name: String) -> String {
        resource.group.isEmpty ? "\(resource.plural) \"\(name)\"" : "\(resource.plural).\(resource.group) \"\(name)\""
    }

    package static func notFound(_ resource: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(qualified(resource, name)) not found", name: name,
            group: resource.group, kind: resource.plural)
    }

    package static func alreadyExists(_ resource: ResourceType, _ name: String, beingDeleted: Bool = false) -> APIError {
        let prefix = beingDeleted ? "object is being deleted: " : ""
        return APIError(
            code: 409, reason: "AlreadyExists", message: "\(prefix)\(qualified(resource, name)) already exists",
            name: name, group: resource.group, kind: resource.plural)
    }

    package static func conflict(_ resource: ResourceType, _ name: String) -> APIError {
        let on = resource.group.isEmpty ? resource.plural : "\(resource.plural).\(resource.group)"
        return APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(on) \"\(name)\": the object has been modified; "
                + "please apply your changes to the latest version and try again",
            name: name, group: resource.group, kind: resource.plural)
    }

    package static func invalid(_ resource: ResourceType, _ name: String, causes: [StatusCause]) -> APIError {
        let kindName = resource.group.isEmpty ? resource.kind : "\(resource.kind).\(resource.group)"
        let summary = causes.map { cause in
            cause.field.map { "\($0): \(cause.message)" } ?? cause.message
        }
        let joined = summary.count == 1 ? summary[0] : "[" + summary.joined(separator: ", ") + "]"
        return APIError(
            code: 422, reason: "Invalid", message: "\(kindName) \"\(name)\" is invalid: \(joined)", name: name,
            group: resource.group, kind: resource.kind, causes: causes)
    }

    /// 422 for request options a real server refuses (apimachinery's `ValidatePatchOptions` and friends):
    /// `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`.
    package static func invalidOptions(_ kind: String, causes: [StatusCause]) -> APIError {
        let summary = causes.map { cause in cause.field.map { "\($0): \(cause.message)" } ?? cause.message }
        let joined = summary.count == 1 ? summary[0] : "[" + summary.joined(separator: ", ") + "]"
        return APIError(
            code: 422, reason: "Invalid", message: "\(kind).meta.k8s.io \"\" is invalid: \(joined)", group: "meta.k8s.io",
            kind: kind, causes: causes)
    }

    package static func namespaceTerminating(_ resource: ResourceType, _ name: String, namespace: String) -> APIError {
        APIError(
            code: 403, reason: "Forbidden",
            message: "\(qualified(resource, name)) is forbidden: unable to create new content in namespace "
                + "\(namespace) because it is being terminated",
            name: name, group: resource.group, kind: resource.plural,
            causes: [
                StatusCause(
                    reason: "NamespaceTerminating", message: "namespace \(namespace) is being terminated",
                    field: "metadata.namespace")
            ])
    }

    package static func forbidden(_ resource: ResourceType, _ name: String, _ why: String) -> APIError {
        APIError(
            code: 403, reason: "Forbidden", message: "\(qualified(resource, name)) is forbidden: \(why)", name: name,
            group: resource.group, kind: resource.plural)
    }

    package static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    package static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    package static func notFoundPath() -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    }

    package static func methodNotAllowed(_ method: String) -> APIError {
        APIError(
            code: 405, reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource (\(method))")
    }

    package static func unsupportedMediaType(_ contentType: String) -> APIError {
        APIError(
            code: 415, reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: "
                + "application/json-patch+json, application/merge-patch+json, "
                + "application/strategic-merge-patch+json (got \(contentType))")
    }

    package static func tooManyRequests(retryAfter: Int) -> APIError {
        APIError(
            code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
            retryAfterSeconds: retryAfter)
    }

    package static func internalError(_ message: String) -> APIError {
        APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)")
    }

    package static func serviceUnavailable(_ message: String) -> APIError {
        APIError(code: 503, reason: "ServiceUnavailable", message: message)
    }

    package static func gone(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }
}
