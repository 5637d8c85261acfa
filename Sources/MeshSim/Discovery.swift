// Version, discovery and OpenAPI documents. kubectl 1.32 validates manifests by asking /openapi/v3 whether a
// kind's PATCH operation accepts `fieldValidation`; answering yes makes it rely on server-side validation
// (which this server performs) instead of downloading /openapi/v2 schemas, so `kubectl create/apply` work
// without `--validate=false`. /openapi/v2 answers 404 as on a server with it disabled.

enum Discovery {
    static let gitVersion = "v1.31.6-gke.1020000"

    static func document(segments: [String], serverAddress: String) -> APIResponse? {
        switch segments.count {
        case 0: return .json(200, ["paths": .array(rootPaths.map { .string($0) })])
        case 1:
            switch segments[0] {
            case "version": return .json(200, version)
            case "api":
                return .json(
                    200,
                    [
                        "kind": "APIVersions", "versions": ["v1"],
                        "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]],
                    ])
            case "apis": return .json(200, groupList)
            case "healthz", "livez", "readyz":
                return APIResponse(
                    status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")],
                    body: Array("ok".utf8))
            default: return nil
            }
        case 2:
            if segments == ["api", "v1"] { return .json(200, resourceList(group: "", version: "v1")) }
            if segments == ["openapi", "v3"] { return .json(200, openAPIIndex) }
            if segments == ["openapi", "v2"] { return .error(.notFoundPath()) }
            if segments[0] == "apis", let group = group(named: segments[1]) { return .json(200, group) }
            return nil
        case 3:
            if segments[0] == "apis", ResourceType.all.contains(where: { $0.group == segments[1] && $0.version == segments[2] }) {
                return .json(200, resourceList(group: segments[1], version: segments[2]))
            }
            return nil
        case 4:
            if segments[0] == "openapi", segments[1] == "v3", segments[2] == "api", segments[3] == "v1" {
                return .json(200, openAPISpec(group: "", version: "v1"))
            }
            return nil
        case 5:
            if segments[0] == "openapi", segments[1] == "v3", segments[2] == "apis",
                ResourceType.all.contains(where: { $0.group == segments[3] && $0.version == segments[4] })
            {
                return .json(200, openAPISpec(group: segments[3], version: segments[4]))
            }
            return nil
        default: return nil
        }
    }

    static var rootPaths: [String] {
        ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"]
            + ResourceType.groupVersions.map { "/apis/\($0.group)/\($0.version)" }
    }

    static let version: JSON = [
        "major": "1", "minor": "31+", "gitVersion": .string(gitVersion),
        "gitCommit": "8a1d5bb0e6bd1c3a1d18ac8d85c6e4a4c0a0b2f1", "gitTreeState": "clean",
        "buildDate": "2025-02-12T09:21:03Z", "goVersion": "go1.22.12 X:boringcrypto", "compiler": "gc",
        "platform": "linux/amd64",
    ]

    static func group(named name: String) -> JSON? {
        guard let version = ResourceType.groupVersions.first(where: { $0.group == name })?.version else { return nil }
        let entry: JSON = ["groupVersion": .string("\(name)/\(version)"), "version": .string(version)]
        return [
            "kind": "APIGroup", "apiVersion": "v1", "name": .string(name), "versions": [entry],
            "preferredVersion": entry,
        ]
    }

    static var groupList: JSON {
        let groups = ResourceType.groupVersions.compactMap { group(named: $0.group) }.map { group -> JSON in
            var entry = group
            entry["kind"] = .null
            entry["apiVersion"] = .null
            return entry
        }
        return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]
    }

    static func resourceList(group: String, version: String) -> JSON {
        var resources: [JSON] = []
        for resource in ResourceType.all where resource.group == group && resource.version == version {
            var entry: JSON = [
                "name": .string(resource.plural), "singularName": .string(resource.singular),
                "namespaced": .bool(resource.namespaced), "kind": .string(resource.kind),
                "verbs": .array(resource.verbs.map { .string($0) }),
            ]
            if !resource.shortNames.isEmpty { entry["shortNames"] = .array(resource.shortNames.map { .string($0) }) }
            if !resource.categories.isEmpty { entry["categories"] = .array(resource.categories.map { .string($0) }) }
            resources.append(entry)
            for subresource in resource.subresources {
                var sub: JSON = [
                    "name": .string("\(resource.plural)/\(subresource)"), "singularName": "",
                    "namespaced": .bool(resource.namespaced),
                ]
                switch subresource {
                case "exec":
                    sub["kind"] = "PodExecOptions"
                    sub["verbs"] = ["create", "get"]
                case "log":
                    sub["kind"] = "Pod"
                    sub["verbs"] = ["get"]
                case "proxy":
                    sub["kind"] = .string(resource == .services ? "ServiceProxyOptions" : "PodProxyOptions")
                    sub["verbs"] = ["create", "delete", "get", "patch", "update"]
                case "scale":
                    sub["kind"] = "Scale"
                    sub["group"] = "autoscaling"
                    sub["version"] = "v1"
                    sub["verbs"] = ["get", "patch", "update"]
                default:
                    sub["kind"] = .string(resource.kind)
                    sub["verbs"] = ["get", "patch", "update"]
                }
                resources.append(sub)
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources),
        ]
    }

    static var openAPIIndex: JSON {
        var paths: [String: JSON] = ["api/v1": ["serverRelativeURL": "/openapi/v3/api/v1?hash=meshsim1"]]
        for (group, version) in ResourceType.groupVersions {
            paths["apis/\(group)/\(version)"] = ["serverRelativeURL": .string("/openapi/v3/apis/\(group)/\(version)?hash=meshsim1")]
        }
        return ["paths": .object(paths)]
    }

    /// A minimal OpenAPI v3 document: per kind, the item path with a PATCH operation that declares its
    /// group-version-kind and the `fieldValidation` parameter.
    static func openAPISpec(group: String, version: String) -> JSON {
        var paths: [String: JSON] = [:]
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let fieldValidation: JSON = [
            "name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true],
            "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        ]
        for resource in ResourceType.all
        where resource.group == group && resource.version == version
            && resource.verbs.contains("patch")
        {
            let path =
                resource.namespaced
                ? "\(prefix)/namespaces/{namespace}/\(resource.plural)/{name}" : "\(prefix)/\(resource.plural)/{name}"
            let gvk: JSON = ["group": .string(group), "version": .string(version), "kind": .string(resource.kind)]
            let operation: JSON = [
                "operationId": .string("patch\(resource.kind)"), "parameters": [fieldValidation],
                "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                "responses": ["200": ["description": "OK"]],
            ]
            paths[path] = ["patch": operation]
            let collection =
                resource.namespaced
                ? "\(prefix)/namespaces/{namespace}/\(resource.plural)" : "\(prefix)/\(resource.plural)"
            paths[collection] = [
                "post": [
                    "operationId": .string("create\(resource.kind)"), "parameters": [fieldValidation],
                    "x-kubernetes-action": "post", "x-kubernetes-group-version-kind": gvk,
                    "responses": ["201": ["description": "Created"]],
                ]
            ]
        }
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes", "version": .string(gitVersion)],
            "paths": .object(paths), "components": ["schemas": .emptyObject],
        ]
    }
}
