import Foundation

/// Identifies a collection or object of the API: group/version/resource, optional namespace,
/// name and subresource, plus list query options.
package struct ResourcePath: Sendable, Equatable, CustomStringConvertible {
    /// "" for the core group (`/api/v1`), e.g. "apps" for `/apis/apps/v1`.
    package var group: String
    package var version: String
    /// Plural lower-case resource, e.g. "pods".
    package var resource: String
    package var namespace: String?
    package var name: String?
    package var subresource: String?
    package var query: ListQuery

    package init(
        group: String = "", version: String = "v1", resource: String, namespace: String? = nil, name: String? = nil,
        subresource: String? = nil, query: ListQuery = ListQuery()
    ) {
        self.group = group
        self.version = version
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.query = query
    }

    package static func namespaces(_ name: String? = nil) -> ResourcePath { ResourcePath(resource: "namespaces", name: name) }
    package static func pods(in namespace: String, _ name: String? = nil) -> ResourcePath { ResourcePath(resource: "pods", namespace: namespace, name: name) }
    package static func services(in namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(resource: "services", namespace: namespace, name: name)
    }
    package static func secrets(in namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(resource: "secrets", namespace: namespace, name: name)
    }
    package static func configMaps(in namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(resource: "configmaps", namespace: namespace, name: name)
    }
    package static func deployments(in namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(group: "apps", resource: "deployments", namespace: namespace, name: name)
    }

    package static func replicaSets(in namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(group: "apps", resource: "replicasets", namespace: namespace, name: name)
    }
    /// Core v1 Events (what `kubectl describe` and `kubectl get events` show).
    package static func events(in namespace: String) -> ResourcePath { ResourcePath(resource: "events", namespace: namespace) }

    /// The same path with a label selector (e.g. `app=helloworld,version in (v1,v2)`).
    package func labelSelector(_ selector: String) -> ResourcePath {
        var copy = self
        copy.query.labelSelector = selector
        return copy
    }
    /// The same path with a field selector (e.g. `status.phase=Running`).
    package func fieldSelector(_ selector: String) -> ResourcePath {
        var copy = self
        copy.query.fieldSelector = selector
        return copy
    }

    /// The request path (without the server's path prefix), query included.
    package var requestPath: String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(resource)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        let items = query.items
        if !items.isEmpty { path += "?" + items.map { "\($0.0)=\(Self.escapeQuery($0.1))" }.joined(separator: "&") }
        return path
    }

    package var description: String { requestPath }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? segment
    }

    /// Query values: everything but unreserved characters is percent-encoded (so `+` becomes `%2B`
    /// and is not read as a space by Go's parser).
    static func escapeQuery(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? value
    }
}

/// List options sent as query parameters.
package struct ListQuery: Sendable, Equatable {
    package var labelSelector: String?
    package var fieldSelector: String?
    /// Page size for chunked lists.
    package var limit: Int?
    /// Continue token from the previous page.
    package var continueToken: String?
    package var extra: [(String, String)]

    package init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil, extra: [(String, String)] = []) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.extra = extra
    }

    var items: [(String, String)] {
        var items: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { items.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { items.append(("fieldSelector", fieldSelector)) }
        if let limit { items.append(("limit", String(limit))) }
        if let continueToken, !continueToken.isEmpty { items.append(("continue", continueToken)) }
        return items + extra
    }

    package static func == (lhs: ListQuery, rhs: ListQuery) -> Bool {
        lhs.labelSelector == rhs.labelSelector && lhs.fieldSelector == rhs.fieldSelector && lhs.limit == rhs.limit
            && lhs.continueToken == rhs.continueToken && lhs.extra.map { "\($0.0)=\($0.1)" } == rhs.extra.map { "\($0.0)=\($0.1)" }
    }
}
