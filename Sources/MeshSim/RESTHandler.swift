// The REST surface of a simulated API server: paths, verbs and the generic registry semantics (create, get,
// list, update, patch, delete, collections, subresources) with the errors a real server returns.

package struct APIRequest: Sendable {
    package var method: String
    package var path: String
    package var query: [String: [String]]
    /// Header names lower-cased.
    package var headers: [String: String]
    package var body: [UInt8]
    package var user: String

    package init(
        method: String, path: String, query: [String: [String]] = [:], headers: [String: String] = [:],
        body: [UInt8] = [], user: String = "admin"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user
    }

    /// Splits `path?query` into a request (query values percent-decoded, `+` as space).
    package init(method: String, uri: String, headers: [String: String], body: [UInt8], user: String) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: [String]] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = URLDecoding.decode(String(keyValue[0]))
                let value = keyValue.count > 1 ? URLDecoding.decode(String(keyValue[1])) : ""
                query[key, default: []].append(value)
            }
        }
        self.init(
            method: method, path: URLDecoding.decode(String(parts[0]), plusIsSpace: false), query: query,
            headers: headers, body: body, user: user)
    }

    func parameter(_ name: String) -> String? { query[name]?.first }

    func flag(_ name: String) -> Bool {
        guard let value = parameter(name) else { return false }
        let lowered = value.lowercased()
        return lowered != "0" && lowered != "false"
    }
}

enum URLDecoding {
    /// Percent-decoding over the UTF-8 bytes, without intermediate strings: an exec request carries the whole
    /// in-pod script in its query, and a thousand concurrent bursts decode a thousand of them at once. A `%` not
    /// followed by two hex digits stays as it is (Go's decoder would reject the request; we are lenient).
    static func decode(_ text: String, plusIsSpace: Bool = true) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") && plusIsSpace ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

package struct APIResponse: Sendable {
    package var status: Int
    package var headers: [(String, String)]
    package var body: [UInt8]

    package static func json(_ status: Int, _ value: JSON) -> APIResponse {
        APIResponse(status: status, headers: [("Content-Type", "application/json")], body: value.serializedBytes())
    }

    package static func error(_ error: APIError) -> APIResponse {
        var response = json(error.code, error.status)
        if let retry = error.retryAfterSeconds { response.headers.append(("Retry-After", String(retry))) }
        return response
    }

    package var json: JSON? { try? JSON.parse(body) }
}

/// A validated watch, streamed by the server layer.
package struct WatchRequest: Sendable {
    package var resource: ResourceType
    package var namespace: String?
    package var labelSelector: LabelSelector
    package var fieldSelector: FieldSelector
    package var resourceVersion: String?
    package var timeoutSeconds: Int?
    /// Events carry one-row Tables instead of objects (`kubectl get -w`).
    package var table: Bool = false
    package var includeObject: String?
}

/// A validated exec target; the server layer checks the upgrade and hands the connection to the runtime.
package struct ExecTarget: Sendable, Equatable {
    package var namespace: String
    package var pod: String
    package var podUID: String
    package var container: String
    package var command: [String]
    package var stdin: Bool
    package var stdout: Bool
    package var stderr: Bool
    package var tty: Bool
    package var containerEnvironment: [ContainerVariable]
    package var injected: Bool
}

package enum APIOutcome: Sendable {
    case response(APIResponse)
    case watch(WatchRequest)
    case exec(ExecTarget)
    /// A `pods/<name>/proxy` request, answered with the whole mesh in view (IstiodDebug).
    case proxy(ProxyTarget)
}

/// Where a request path points.
struct ResourcePath: Equatable {
    var resource: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?
    /// For the `proxy` subresource: the path after it, starting with `/`.
    var proxyPath: String?

    static func parse(_ segments: [String]) -> ResourcePath? {
        let group: String
        let version: String
        var rest: ArraySlice<String>
        if segments.first == "api", segments.count >= 3 {
            group = ""
            version = segments[1]
            rest = segments[2...]
        } else if segments.first == "apis", segments.count >= 4 {
            group = segments[1]
            version = segments[2]
            rest = segments[3...]
        } else {
            return nil
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3,
            let candidate = ResourceType.find(group: group, version: version, plural: rest[rest.startIndex + 2]),
            candidate.namespaced
        {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first, let resource = ResourceType.find(group: group, version: version, plural: plural)
        else { return nil }
        rest = rest.dropFirst()
        if rest.count > 2 || rest.dropFirst().first == "proxy" {
            // Only the proxy subresource carries a path of its own after it.
            guard rest.dropFirst().first == "proxy" else { return nil }
            return ResourcePath(
                resource: resource, namespace: namespace, name: rest.first, subresource: "proxy",
                proxyPath: "/" + rest.dropFirst(2).joined(separator: "/"))
        }
        return ResourcePath(resource: resource, namespace: namespace, name: rest.first, subresource: rest.dropFirst().first)
    }
}

extension ClusterState {
    package mutating func handle(_ request: APIRequest, now: Double, serverAddress: String) -> APIOutcome {
        do {
            return try route(request, now: now, serverAddress: serverAddress)
        } catch {
            return .response(.error(error))
        }
    }

    mutating func route(_ request: APIRequest, now: Double, serverAddress: String) throws(APIError) -> APIOutcome {
        let segments = request.path.split(separator: "/").map(String.init)
        if let document = Discovery.document(segments: segments, serverAddress: serverAddress) {
            guard request.method == "GET" || request.method == "HEAD" else {
                throw APIError.methodNotAllowed(request.method)
            }
            return .response(document)
        }
        guard let target = ResourcePath.parse(segments) else { throw APIError.notFoundPath() }
        let resource = target.resource
        if resource.namespaced == false && target.namespace != nil { throw APIError.notFoundPath() }
        try authorize(request, target: target)
        if let subresource = target.subresource {
            return try handleSubresource(request, target: target, subresource: subresource, now: now)
        }
        var request = request
        let warnings = try screenUnknownFields(&request, resource: resource)
        let outcome = try routeToResource(request, target: target, now: now)
        guard !warnings.isEmpty, case .response(var response) = outcome else { return outcome }
        response.headers += warnings.map { ("Warning", "299 - \(JSON.string("unknown field \"\($0)\"").serialized())") }
        return .response(response)
    }

    mutating func routeToResource(_ request: APIRequest, target: ResourcePath, now: Double) throws(APIError) -> APIOutcome {
        let resource = target.resource
        let table = Tables.wantsTable(request.headers["accept"])
        switch (request.method, target.name) {
        case ("GET", nil):
            if request.flag("watch") {
                var watch = try watchRequest(request, target: target)
                watch.table = table
                watch.includeObject = request.parameter("includeObject")
                return .watch(watch)
            }
            return .response(try list(request, target: target, table: table, now: now))
        case ("GET", let name?):
            let object = try get(resource, namespace: target.namespace ?? "", name: name)
            if table {
                return .response(
                    .json(
                        200,
                        Tables.table(
                            for: resource, objects: [object], listMeta: .null, now: now,
                            includeObject: request.parameter("includeObject"))))
            }
            return .response(.json(200, object))
        case ("POST", nil):
            return .response(try create(request, target: target, now: now))
        case ("PUT", let name?):
            let body = try parseBody(request)
            let (object, created) = try update(
                resource, namespace: target.namespace ?? "", name: name, with: body,
                dryRun: request.parameter("dryRun") != nil, now: now)
            return .response(.json(created ? 201 : 200, object))
        case ("PATCH", let name?):
            return .response(
                try patch(
                    request, resource: resource, namespace: target.namespace ?? "", name: name,
                    now: now))
        case ("DELETE", let name?):
            return .response(
                try delete(
                    request, resource: resource, namespace: target.namespace ?? "", name: name,
                    now: now))
        case ("DELETE", nil):
            return .response(try deleteCollection(request, target: target, now: now))
        default:
            throw APIError.methodNotAllowed(request.method)
        }
    }

    /// Fields a write's body declares that its kind does not (for a patch, the patch document's, whose
    /// fields are the object's own), handled as the request's `fieldValidation` asks: `Strict` refuses
    /// the request; `Warn` (the default) and `Ignore` drop the fields, and `Warn` returns them for
    /// `Warning` headers. A JSON patch is a list of operations and is not screened.
    func screenUnknownFields(_ request: inout APIRequest, resource: ResourceType) throws(APIError) -> [String] {
        let body: JSON
        switch request.method {
        case "POST", "PUT": body = try parseBody(request)
        case "PATCH":
            guard let document = try? JSON.parse(request.body), document.object != nil else { return [] }
            body = document
        default: return []
        }
        let schema = FieldSchemas.schema(for: resource)
        let unknown = schema.unknownFields(in: body)
        if unknown.isEmpty { return [] }
        let mode = request.parameter("fieldValidation")
        if mode == "Strict" { throw FieldSchemas.strictDecodingError(unknown, resource: resource) }
        request.body = schema.pruned(body).serializedBytes()
        return mode == "Ignore" ? [] : unknown
    }

    // MARK: Reading

    func parseBody(_ request: APIRequest) throws(APIError) -> JSON {
        let contentType = request.headers["content-type"] ?? "application/json"
        if contentType.contains("protobuf") || contentType.contains("yaml") && !contentType.contains("apply-patch") {
            throw APIError.unsupportedMediaType(contentType)
        }
        do {
            return try JSON.parse(request.body)
        } catch {
            throw APIError.badRequest("error decoding request body: \(error.description)")
        }
    }

    func get(_ resource: ResourceType, namespace: String, name: String) throws(APIError) -> JSON {
        guard let object = store.get(resource, namespace: namespace, name: name) else {
            throw APIError.notFound(resource, name)
        }
        return object
    }

    func selectors(_ request: APIRequest, resource: ResourceType) throws(APIError) -> (LabelSelector, FieldSelector) {
        let labels = try LabelSelector.parse(request.parameter("labelSelector") ?? "")
        let fields = try FieldSelector.parse(request.parameter("fieldSelector") ?? "", for: resource)
        return (labels, fields)
    }

    func list(_ request: APIRequest, target: ResourcePath, table: Bool, now: Double) throws(APIError) -> APIResponse {
        let (labels, fields) = try selectors(request, resource: target.resource)
        var items = store.list(target.resource, namespace: target.namespace).filter {
            labels.matches($0["metadata"]["labels"].stringMap) && fields.matches($0)
        }
        var listMeta: JSON = ["resourceVersion": .string(String(store.resourceVersion))]
        if let limitText = request.parameter("limit"), let limit = Int(limitText), limit > 0 {
            var start = 0
            if let token = request.parameter("continue"), !token.isEmpty {
                guard let offset = Int(token) else {
                    throw APIError.badRequest("continue key is not valid: \(token)")
                }
                start = offset
            }
            let end = min(items.count, start + limit)
            if end < items.count {
                listMeta["continue"] = .string(String(end))
                listMeta["remainingItemCount"] = .int(Int64(items.count - end))
            }
            items = start < items.count ? Array(items[start..<end]) : []
        }
        if table {
            return .json(
                200,
                Tables.table(
                    for: target.resource, objects: items, listMeta: listMeta, now: now,
                    includeObject: request.parameter("includeObject")))
        }
        return .json(
            200,
            [
                "kind": .string(target.resource.kind + "List"), "apiVersion": .string(target.resource.apiVersion),
                "metadata": listMeta, "items": .array(items),
            ])
    }

    func watchRequest(_ request: APIRequest, target: ResourcePath) throws(APIError) -> WatchRequest {
        let (labels, fields) = try selectors(request, resource: target.resource)
        return WatchRequest(
            resource: target.resource, namespace: target.namespace, labelSelector: labels, fieldSelector: fields,
            resourceVersion: request.parameter("resourceVersion"),
            timeoutSeconds: request.parameter("timeoutSeconds").flatMap { Int($0) })
    }

    // MARK: Creating

    mutating func create(_ request: APIRequest, target: ResourcePath, now: Double) throws(APIError) -> APIResponse {
        let resource = target.resource
        var object = try parseBody(request)
        guard object.object != nil else { throw APIError.badRequest("the body of the request must be an object") }
        if resource == .selfSubjectAccessReviews {
            let asked = object["spec"]["resourceAttributes"]
            let subresource = asked["subresource"].string ?? ""
            let named = (asked["resource"].string ?? "") + (subresource.isEmpty ? "" : "/\(subresource)")
            // RBAC's answer to a request it has no rule for: not allowed, and no reason.
            object["status"] =
                Self.denies(deniedResources, named, namespace: asked["namespace"].string)
                ? ["allowed": false] : ["allowed": true, "reason": "the simulated cluster grants every authenticated user"]
            object["kind"] = "SelfSubjectAccessReview"
            object["apiVersion"] = "authorization.k8s.io/v1"
            return .json(201, object)
        }
        if resource == .selfSubjectReviews {
            object["status"] = [
                "userInfo": [
                    "username": .string(request.user), "groups": ["system:masters", "system:authenticated"],
                ]
            ]
            object["kind"] = "SelfSubjectReview"
            object["apiVersion"] = "authentication.k8s.io/v1"
            return .json(201, object)
        }
        try checkKind(object, resource: resource)
        if resource.namespaced {
            let namespace = target.namespace ?? ""
            if let declared = object["metadata"]["namespace"].string, !declared.isEmpty, declared != namespace {
                throw APIError.badRequest(
                    "the namespace of the provided object does not match the namespace sent on the request")
            }
            object["metadata"]["namespace"] = .string(namespace)
        }
        if resource == .pods, let reason = podFaults.denyPods {
            // Admission runs before the name is generated, so it names the pod by its generateName.
            let name = object["metadata"]["name"].string ?? ""
            throw APIError.forbidden(.pods, name.isEmpty ? object["metadata"]["generateName"].string ?? "" : name, reason)
        }
        if (object["metadata"]["name"].string ?? "").isEmpty, let prefix = object["metadata"]["generateName"].string {
            object["metadata"]["name"] = .string(prefix + randomSuffix(5))
        }
        let name = object["metadata"]["name"].string ?? ""
        if resource.namespaced { try admitNamespace(resource, name: name, namespace: target.namespace ?? "") }
        if let version = object["metadata"]["resourceVersion"].string, !version.isEmpty {
            throw APIError.badRequest("resourceVersion should not be set on objects to be created")
        }
        for key in ["uid", "creationTimestamp", "deletionTimestamp", "generation"] {
            object["metadata"][key] = .null
        }
        if resource == .pods {
            admitNewPod(&object, now: now)
        } else {
            applyDefaults(&object, resource: resource)
            stampNewObject(&object, resource: resource, now: now)
        }
        try Validation.validate(object, resource: resource, old: nil)
        if let existing = store.get(resource, namespace: target.namespace ?? "", name: name) {
            throw APIError.alreadyExists(
                resource, name,
                beingDeleted: !existing["metadata"]["deletionTimestamp"].isNull)
        }
        if request.parameter("dryRun") != nil { return .json(201, object) }
        if resource == .pods { return .json(201, storeNewPod(object, now: now)) }
        return .json(201, put(resource, object))
    }

    func checkKind(_ object: JSON, resource: ResourceType) throws(APIError) {
        if let kind = object["kind"].string, !kind.isEmpty, kind != resource.kind {
            throw APIError.badRequest(
                "the API version in the data (\(object["apiVersion"].string ?? "")) does not match the expected API "
                    + "version (\(resource.apiVersion)) or kind \(kind) does not match \(resource.kind)")
        }
        if let apiVersion = object["apiVersion"].string, !apiVersion.isEmpty, apiVersion != resource.apiVersion {
            throw APIError.badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version "
                    + "(\(resource.apiVersion))")
        }
    }

    // MARK: Updating

    /// PUT semantics: optimistic concurrency on metadata.resourceVersion, server-owned metadata kept, status kept
    /// (it has its own subresource), generation bumped when the spec changes.
    mutating func update(
        _ resource: ResourceType, namespace: String, name: String, with body: JSON, dryRun: Bool, now: Double,
        statusOnly: Bool = false
    ) throws(APIError) -> (JSON, Bool) {
        try checkKind(body, resource: resource)
        guard let old = store.get(resource, namespace: namespace, name: name) else {
            throw APIError.notFound(resource, name)
        }
        if let bodyName = body["metadata"]["name"].string, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let version = body["metadata"]["resourceVersion"].string, !version.isEmpty,
            version != old["metadata"]["resourceVersion"].string
        {
            throw APIError.conflict(resource, name)
        }
        var object: JSON
        if statusOnly {
            object = old
            object["status"] = body["status"]
        } else {
            object = body
            object["kind"] = .string(resource.kind)
            object["apiVersion"] = .string(resource.apiVersion)
            for key in [
                "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                "namespace", "name",
            ] {
                object["metadata"][key] = old["metadata"][key]
            }
            if object["metadata"]["ownerReferences"].isNull {
                object["metadata"]["ownerReferences"] = old["metadata"]["ownerReferences"]
            }
            let hasStatusSubresource = resource.subresources.contains("status")
            if hasStatusSubresource { object["status"] = old["status"] }
            switch resource {
            case .namespaces:
                object["metadata"]["labels"]["kubernetes.io/metadata.name"] = .string(name)
                object["spec"] = old["spec"]
            case .services:
                for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"]
                where object["spec"][key].isNull {
                    object["spec"][key] = old["spec"][key]
                }
                defaultServicePorts(&object)
            case .pods:
                object["spec"] = Self.mergedMutablePodSpec(old: old["spec"], new: object["spec"])
            default:
                applyDefaults(&object, resource: resource)
            }
            if Self.tracksGeneration(resource), object["spec"] != old["spec"] {
                object["metadata"]["generation"] = .int((old["metadata"]["generation"].int ?? 1) + 1)
            }
        }
        try Validation.validate(object, resource: resource, old: old)
        if dryRun { return (object, false) }
        if object == old { return (old, false) }
        return (put(resource, object), false)
    }

    /// Pods allow only image, activeDeadlineSeconds and tolerations to change; anything else keeps the old value.
    static func mergedMutablePodSpec(old: JSON, new: JSON) -> JSON {
        var spec = old
        if var containers = spec["containers"].array, let newContainers = new["containers"].array {
            for index in containers.indices where index < newContainers.count {
                containers[index]["image"] = newContainers[index]["image"]
            }
            spec["containers"] = .array(containers)
        }
        return spec
    }

    mutating func defaultServicePorts(_ object: inout JSON) {
        if var ports = object["spec"]["ports"].array {
            for index in ports.indices {
                if ports[index]["protocol"].isNull { ports[index]["protocol"] = "TCP" }
                if ports[index]["targetPort"].isNull { ports[index]["targetPort"] = ports[index]["port"] }
            }
            object["spec"]["ports"] = .array(ports)
        }
    }

    mutating func patch(_ request: APIRequest, resource: ResourceType, namespace: String, name: String, now: Double)
        throws(APIError) -> APIResponse
    {
        let contentType = request.headers["content-type"] ?? ""
        guard let type = PatchType(contentType: contentType) else { throw APIError.unsupportedMediaType(contentType) }
        // The options are validated before the body is read, as the real server does: an apply patch must
        // name its field manager (kubectl sends `kubectl`; controllers and client libraries must set one),
        // and `force` belongs to apply patches only.
        if type == .apply, (request.parameter("fieldManager") ?? "").isEmpty {
            throw APIError.invalidOptions(
                "PatchOptions",
                causes: [StatusCause(reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager")])
        }
        if type != .apply, request.parameter("force") != nil {
            throw APIError.invalidOptions(
                "PatchOptions",
                causes: [StatusCause(reason: "FieldValueForbidden", message: "Forbidden: may not be specified for non-apply patch", field: "force")])
        }
        let patchDocument: JSON
        do {
            patchDocument = try JSON.parse(request.body)
        } catch {
            throw APIError.badRequest("error decoding patch: \(error.description)")
        }
        guard let old = store.get(resource, namespace: namespace, name: name) else {
            if type == .apply {
                var createRequest = request
                createRequest.headers["content-type"] = "application/json"
                return try create(
                    createRequest,
                    target: ResourcePath(
                        resource: resource,
                        namespace: resource.namespaced ? namespace : nil), now: now)
            }
            throw APIError.notFound(resource, name)
        }
        var patched = try Patching.apply(type, patch: patchDocument, to: old)
        if patchDocument["metadata"]["resourceVersion"].isNull {
            patched["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        }
        let (object, _) = try update(
            resource, namespace: namespace, name: name, with: patched,
            dryRun: request.parameter("dryRun") != nil, now: now)
        return .json(200, object)
    }

    // MARK: Deleting

    mutating func delete(_ request: APIRequest, resource: ResourceType, namespace: String, name: String, now: Double)
        throws(APIError) -> APIResponse
    {
        let object = try get(resource, namespace: namespace, name: name)
        let options = (try? JSON.parse(request.body)) ?? .emptyObject
        if let precondition = options["preconditions"]["uid"].string, precondition != object["metadata"]["uid"].string {
            throw APIError.conflict(resource, name)
        }
        let dryRun = request.parameter("dryRun") != nil || options["dryRun"].array?.isEmpty == false
        switch resource {
        case .namespaces:
            if Self.immortalNamespaces.contains(name) {
                throw APIError.forbidden(resource, name, "this namespace may not be deleted")
            }
            if dryRun { return .json(200, object) }
            if !object["metadata"]["deletionTimestamp"].isNull { return .json(200, object) }
            var terminating = object
            terminating["metadata"]["deletionTimestamp"] = .string(TimeFormat.rfc3339(now))
            terminating["metadata"]["deletionGracePeriodSeconds"] = 0
            terminating["status"]["phase"] = "Terminating"
            namespaceFinalizeAt[name] = now + timings.namespaceFinalizeDelay
            return .json(200, put(.namespaces, terminating))
        case .pods:
            if dryRun { return .json(200, object) }
            let grace = request.parameter("gracePeriodSeconds").flatMap { Int64($0) } ?? options["gracePeriodSeconds"].int
            let terminating = beginPodDeletion(object, gracePeriod: grace, now: now)
            if let uid = terminating["metadata"]["uid"].string, podRemoveAt[uid].map({ $0 <= now }) == true {
                finishPodDeletion(terminating)
            }
            return .json(200, terminating)
        default:
            if dryRun { return .json(200, object) }
            let policy = request.parameter("propagationPolicy") ?? options["propagationPolicy"].string
            if policy == "Orphan" { orphanDependents(of: object, resource: resource) }
            removeObject(resource, namespace: namespace, name: name)
            return .json(
                200,
                [
                    "kind": "Status", "apiVersion": "v1", "metadata": .emptyObject, "status": "Success",
                    "details": [
                        "name": .string(name), "group": resource.group.isEmpty ? .null : .string(resource.group),
                        "kind": .string(resource.plural), "uid": object["metadata"]["uid"],
                    ],
                ])
        }
    }

    mutating func orphanDependents(of owner: JSON, resource: ResourceType) {
        let dependents: [ResourceType] = resource == .deployments ? [.replicaSets] : resource == .replicaSets ? [.pods] : []
        for dependentType in dependents {
            for var dependent in owned(dependentType, by: owner) {
                dependent["metadata"]["ownerReferences"] = .array(
                    (dependent["metadata"]["ownerReferences"].array ?? []).filter {
                        $0["uid"] != owner["metadata"]["uid"]
                    })
                put(dependentType, dependent)
            }
        }
    }

    mutating func deleteCollection(_ request: APIRequest, target: ResourcePath, now: Double) throws(APIError)
        -> APIResponse
    {
        guard target.resource.verbs.contains("deletecollection") else {
            throw APIError.methodNotAllowed(request.method)
        }
        let (labels, fields) = try selectors(request, resource: target.resource)
        let matching = store.list(target.resource, namespace: target.namespace).filter {
            labels.matches($0["metadata"]["labels"].stringMap) && fields.matches($0)
        }
        var deleted: [JSON] = []
        for object in matching {
            let response = try delete(
                request, resource: target.resource,
                namespace: object["metadata"]["namespace"].string ?? "", name: object["metadata"]["name"].string ?? "",
                now: now)
            deleted.append(response.json ?? .null)
        }
        return .json(
            200,
            [
                "kind": .string(target.resource.kind + "List"), "apiVersion": .string(target.resource.apiVersion),
                "metadata": ["resourceVersion": .string(String(store.resourceVersion))], "items": .array(matching),
            ])
    }

    // MARK: Subresources

    mutating func handleSubresource(_ request: APIRequest, target: ResourcePath, subresource: String, now: Double)
        throws(APIError) -> APIOutcome
    {
        let resource = target.resource
        guard let name = target.name, resource.subresources.contains(subresource) else { throw APIError.notFoundPath() }
        let namespace = target.namespace ?? ""
        switch subresource {
        case "exec":
            guard request.method == "GET" || request.method == "POST" else {
                throw APIError.methodNotAllowed(request.method)
            }
            return .exec(try execTarget(request, namespace: namespace, name: name))
        case "log":
            let pod = try get(.pods, namespace: namespace, name: name)
            let container = try containerName(pod, requested: request.parameter("container"), verb: "logs")
            // A sidecar held unready says why, as pilot-agent logs it when istiod cannot be reached.
            let log =
                container == Self.sidecarName && sidecarProbeFails(podUID: pod["metadata"]["uid"].string ?? "")
                ? PodFaultWording.sidecarUnreachableLog(revision: identity.revision) : ""
            return .response(APIResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(log.utf8)))
        case "proxy":
            guard request.method == "GET" || request.method == "HEAD" else { throw APIError.methodNotAllowed(request.method) }
            let path = target.proxyPath ?? "/"
            if resource == .services {
                return .proxy(try serviceProxyTarget(namespace: namespace, name: name, path: path))
            }
            guard let (pod, port) = IstiodDebug.parseName(name) else {
                throw APIError.badRequest("invalid pod proxy name \"\(name)\"")
            }
            _ = try get(.pods, namespace: namespace, name: pod)
            return .proxy(ProxyTarget(namespace: namespace, pod: pod, port: port, path: path))
        case "scale":
            return .response(try scale(request, resource: resource, namespace: namespace, name: name, now: now))
        case "status":
            switch request.method {
            case "GET": return .response(.json(200, try get(resource, namespace: namespace, name: name)))
            case "PUT":
                let (object, _) = try update(
                    resource, namespace: namespace, name: name, with: try parseBody(request),
                    dryRun: false, now: now, statusOnly: true)
                return .response(.json(200, object))
            case "PATCH":
                let old = try get(resource, namespace: namespace, name: name)
                guard let type = PatchType(contentType: request.headers["content-type"] ?? "") else {
                    throw APIError.unsupportedMediaType(request.headers["content-type"] ?? "")
                }
                let document = try parseBody(APIRequest(method: "PATCH", path: "", body: request.body))
                let patched = try Patching.apply(type, patch: document, to: old)
                let (object, _) = try update(
                    resource, namespace: namespace, name: name, with: patched, dryRun: false,
                    now: now, statusOnly: true)
                return .response(.json(200, object))
            default: throw APIError.methodNotAllowed(request.method)
            }
        default:
            throw APIError.notFoundPath()
        }
    }

    /// `services/<svc>[:<port name or number>]/proxy/<path>`: a ready pod behind the Service, at the port's
    /// target port (the first port when none is named), as the API server picks an endpoint.
    func serviceProxyTarget(namespace: String, name: String, path: String) throws(APIError) -> ProxyTarget {
        var parts = name.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3, parts[0] == "http" || parts[0] == "https" { parts.removeFirst() }
        guard (1...2).contains(parts.count), !parts[0].isEmpty else {
            throw APIError.badRequest("invalid service proxy name \"\(name)\"")
        }
        let service = try get(.services, namespace: namespace, name: parts[0])
        let ports = service["spec"]["ports"].array ?? []
        let wanted = parts.count == 2 ? parts[1] : nil
        guard
            let port = wanted.map({ wanted in ports.first { $0["name"].string == wanted || $0["port"].int.map(String.init) == wanted } })
                ?? ports.first,
            let number = port["targetPort"].int ?? port["port"].int
        else {
            throw APIError(
                code: 503, reason: "ServiceUnavailable", message: "no endpoints available for service \"\(parts[0])\"")
        }
        let selector = service["spec"]["selector"].stringMap
        let ready = store.list(.pods, namespace: namespace).first { pod in
            let labels = pod["metadata"]["labels"].stringMap
            return !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value } && Self.isReady(pod)
        }
        guard let pod = ready?["metadata"]["name"].string else {
            throw APIError(
                code: 503, reason: "ServiceUnavailable", message: "no endpoints available for service \"\(parts[0])\"")
        }
        return ProxyTarget(namespace: namespace, pod: pod, port: Int(number), path: path)
    }

    /// A denied entry is `resource[/subresource]` (everywhere) or `resource[/subresource]@namespace` (in one namespace).
    static func denies(_ denied: Set<String>, _ named: String, namespace: String?) -> Bool {
        denied.contains(named) || namespace.map { denied.contains("\(named)@\($0)") } ?? false
    }

    /// RBAC as far as the simulator enforces it: the resources a fault denies are refused for every verb,
    /// with the authorizer's message.
    func authorize(_ request: APIRequest, target: ResourcePath) throws(APIError) {
        let named = target.resource.plural + (target.subresource.map { "/\($0)" } ?? "")
        guard Self.denies(deniedResources, named, namespace: target.namespace) else { return }
        let verb: String
        switch (request.method, target.name) {
        // A WebSocket exec, attach or port-forward is a GET that Kubernetes 1.31 (this server's version) authorizes
        // as `create`, like the SPDY POST (AuthorizePodWebsocketUpgradeCreatePermission).
        case ("GET", _) where ["exec", "attach", "portforward"].contains(target.subresource ?? ""): verb = "create"
        case ("GET", nil), ("HEAD", nil): verb = request.flag("watch") ? "watch" : "list"
        case ("GET", _), ("HEAD", _): verb = "get"
        case ("POST", _): verb = "create"
        case ("PUT", _): verb = "update"
        case ("PATCH", _): verb = "patch"
        case ("DELETE", nil): verb = "deletecollection"
        default: verb = request.method.lowercased()
        }
        let scope = target.namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        let why = "User \"\(request.user)\" cannot \(verb) resource \"\(named)\" in API group \"\(target.resource.group)\"\(scope)"
        guard let name = target.name else {
            throw APIError(code: 403, reason: "Forbidden", message: "\(named) is forbidden: \(why)", group: target.resource.group, kind: target.resource.plural)
        }
        throw APIError.forbidden(target.resource, name, why)
    }

    func scaleObject(_ object: JSON, resource: ResourceType) -> JSON {
        let selector =
            (try? LabelSelector.fromObject(object["spec"]["selector"]))?.requirements.map { requirement in
                requirement.op == .equals ? "\(requirement.key)=\(requirement.values.first ?? "")" : requirement.key
            }.joined(separator: ",") ?? ""
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": [
                "name": object["metadata"]["name"], "namespace": object["metadata"]["namespace"],
                "uid": object["metadata"]["uid"], "resourceVersion": object["metadata"]["resourceVersion"],
                "creationTimestamp": object["metadata"]["creationTimestamp"],
            ],
            "spec": ["replicas": .int(object["spec"]["replicas"].int ?? 0)],
            "status": ["replicas": .int(object["status"]["replicas"].int ?? 0), "selector": .string(selector)],
        ]
    }

    mutating func scale(_ request: APIRequest, resource: ResourceType, namespace: String, name: String, now: Double)
        throws(APIError) -> APIResponse
    {
        let object = try get(resource, namespace: namespace, name: name)
        let current = scaleObject(object, resource: resource)
        let desired: JSON
        switch request.method {
        case "GET": return .json(200, current)
        case "PUT":
            desired = try parseBody(request)
            if let version = desired["metadata"]["resourceVersion"].string, !version.isEmpty,
                version != object["metadata"]["resourceVersion"].string
            {
                throw APIError.conflict(resource, name)
            }
        case "PATCH":
            guard let type = PatchType(contentType: request.headers["content-type"] ?? "") else {
                throw APIError.unsupportedMediaType(request.headers["content-type"] ?? "")
            }
            let document = try parseBody(APIRequest(method: "PATCH", path: "", body: request.body))
            desired = try Patching.apply(type, patch: document, to: current)
        default: throw APIError.methodNotAllowed(request.method)
        }
        guard let replicas = desired["spec"]["replicas"].int else {
            throw APIError.invalid(
                resource, name,
                causes: [
                    StatusCause(reason: "FieldValueRequired", message: "Required value", field: "spec.replicas")
                ])
        }
        if replicas < 0 {
            throw APIError(
                code: 422, reason: "Invalid",
                message: "Scale.autoscaling \"\(name)\" is invalid: spec.replicas: Invalid value: \(replicas): "
                    + "must be greater than or equal to 0", name: name, group: "autoscaling", kind: "Scale",
                causes: [
                    StatusCause(
                        reason: "FieldValueInvalid",
                        message: "Invalid value: \(replicas): must be "
                            + "greater than or equal to 0", field: "spec.replicas")
                ])
        }
        var updated = object
        updated["spec"]["replicas"] = .int(replicas)
        let (stored, _) = try update(resource, namespace: namespace, name: name, with: updated, dryRun: false, now: now)
        return .json(200, scaleObject(stored, resource: resource))
    }

    // MARK: Exec validation (docs/PROTOCOL-NOTES.md §A1, §A8)

    func containerName(_ pod: JSON, requested: String?, verb: String) throws(APIError) -> String {
        let podName = pod["metadata"]["name"].string ?? ""
        let containers = (pod["spec"]["containers"].array ?? []).compactMap { $0["name"].string }
        let initContainers = (pod["spec"]["initContainers"].array ?? []).compactMap { $0["name"].string }
        guard let requested, !requested.isEmpty else {
            if containers.count == 1 { return containers[0] }
            var message =
                "a container name must be specified for pod \(podName), choose one of: "
                + "[\(containers.joined(separator: " "))]"
            if !initContainers.isEmpty { message += " or one of the init containers: [\(initContainers.joined(separator: " "))]" }
            throw APIError.badRequest(message)
        }
        guard containers.contains(requested) || initContainers.contains(requested) else {
            throw APIError.badRequest("container \(requested) is not valid for pod \(podName)")
        }
        return requested
    }

    func execTarget(_ request: APIRequest, namespace: String, name: String) throws(APIError) -> ExecTarget {
        let pod = try get(.pods, namespace: namespace, name: name)
        let container = try containerName(pod, requested: request.parameter("container"), verb: "exec")
        if pod["spec"]["nodeName"].isNull { throw APIError.badRequest("pod \(name) does not have a host assigned") }
        let command = request.query["command"] ?? []
        if command.isEmpty { throw APIError.badRequest("you must specify at least one command for the container") }
        let stdin = request.flag("stdin")
        let stdout = request.flag("stdout")
        let stderr = request.flag("stderr")
        if !stdin && !stdout && !stderr {
            throw APIError.badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
        let spec = (pod["spec"]["containers"].array ?? []).first { $0["name"].string == container }
        let environment = spec.map(ContainerVariable.list) ?? []
        return ExecTarget(
            namespace: namespace, pod: name, podUID: pod["metadata"]["uid"].string ?? "", container: container,
            command: command, stdin: stdin, stdout: stdout, stderr: stderr, tty: request.flag("tty"),
            containerEnvironment: environment, injected: Self.isInjected(pod))
    }
}
