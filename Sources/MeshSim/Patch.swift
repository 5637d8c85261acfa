// The three PATCH flavours kubectl sends: JSON merge patch (RFC 7386, `kubectl label`, `kubectl scale`),
// strategic merge patch (`kubectl apply`, `kubectl patch` default) and JSON patch (RFC 6902).

enum PatchType: Sendable {
    case merge, strategic, json, apply

    init?(contentType: String) {
        let mediaType = contentType.split(separator: ";").first.map { String($0).trimmingSpaces.lowercased() } ?? ""
        switch mediaType {
        case "application/merge-patch+json": self = .merge
        case "application/strategic-merge-patch+json": self = .strategic
        case "application/json-patch+json": self = .json
        case "application/apply-patch+yaml", "application/apply-patch+json": self = .apply
        default: return nil
        }
    }
}

enum Patching {
    static func apply(_ type: PatchType, patch: JSON, to original: JSON) throws(APIError) -> JSON {
        switch type {
        case .merge: return mergePatch(original, patch)
        case .strategic, .apply: return strategicMerge(original, patch)
        case .json: return try jsonPatch(original, patch)
        }
    }

    // MARK: RFC 7386

    static func mergePatch(_ target: JSON, _ patch: JSON) -> JSON {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = target.object ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                result.removeValue(forKey: key)
            } else {
                result[key] = mergePatch(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: Strategic merge patch

    /// Merge keys of the list fields of the built-in kinds the simulator serves; lists not named here are
    /// replaced wholesale, as their Go types declare no merge strategy.
    static func mergeKey(field: String, items: [JSON]) -> String? {
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets":
            return "name"
        case "ports":
            let hasContainerPort = items.contains { !$0["containerPort"].isNull }
            return hasContainerPort ? "containerPort" : "port"
        case "volumeMounts": return "mountPath"
        case "conditions": return "type"
        case "ownerReferences": return "uid"
        default: return nil
        }
    }

    static let primitiveMergeLists: Set<String> = ["finalizers"]

    static func strategicMerge(_ original: JSON, _ patch: JSON) -> JSON {
        guard case .object(var patchMembers) = patch else { return patch }
        if patchMembers["$patch"]?.string == "replace" {
            patchMembers.removeValue(forKey: "$patch")
            return .object(patchMembers.filter { !$0.key.hasPrefix("$") })
        }
        if patchMembers["$patch"]?.string == "delete" { return .null }
        var result = original.object ?? [:]
        var retainKeys: [String]?
        if let retain = patchMembers["$retainKeys"]?.array {
            retainKeys = retain.compactMap(\.string)
        }
        for (key, value) in patchMembers {
            if key.hasPrefix("$setElementOrder/") || key == "$retainKeys" || key == "$patch" { continue }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = Set(value.array ?? [])
                if let existing = result[field]?.array {
                    result[field] = .array(existing.filter { !remove.contains($0) })
                }
                continue
            }
            if value == .null {
                result.removeValue(forKey: key)
                continue
            }
            switch value {
            case .object:
                let merged = strategicMerge(result[key] ?? .null, value)
                if merged == .null { result.removeValue(forKey: key) } else { result[key] = merged }
            case .array(let patchItems):
                let existing = result[key]?.array ?? []
                result[key] = .array(mergeList(field: key, existing: existing, patch: patchItems))
            default:
                result[key] = value
            }
        }
        if let retainKeys {
            result = result.filter { retainKeys.contains($0.key) }
        }
        return .object(result)
    }

    static func mergeList(field: String, existing: [JSON], patch: [JSON]) -> [JSON] {
        if primitiveMergeLists.contains(field) {
            var merged = existing
            for item in patch where !merged.contains(item) { merged.append(item) }
            return merged
        }
        guard let key = mergeKey(field: field, items: existing + patch),
            patch.allSatisfy({ $0.object != nil })
        else {
            return patch.filter { $0["$patch"].isNull }
        }
        if patch.contains(where: { $0["$patch"].string == "replace" }) {
            return patch.filter { $0["$patch"].isNull }
        }
        var merged = existing
        for item in patch {
            let id = item[key]
            if item["$patch"].string == "delete" {
                merged.removeAll { $0[key] == id }
                continue
            }
            if let index = merged.firstIndex(where: { $0[key] == id }) {
                merged[index] = strategicMerge(merged[index], item)
            } else {
                merged.append(strategicMerge(.emptyObject, item))
            }
        }
        return merged
    }

    // MARK: RFC 6902

    static func jsonPatch(_ document: JSON, _ patch: JSON) throws(APIError) -> JSON {
        guard let operations = patch.array else {
            throw APIError.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var current = document
        for operation in operations {
            let op = operation["op"].string ?? ""
            let path = try pointer(operation["path"].string, op: op)
            switch op {
            case "add": current = try place(current, path, operation["value"], insert: true)
            case "remove": current = try remove(current, path)
            case "replace":
                _ = try get(current, path)
                current = try place(current, path, operation["value"], insert: false)
            case "move":
                let from = try pointer(operation["from"].string, op: op)
                let value = try get(current, from)
                current = try place(try remove(current, from), path, value, insert: true)
            case "copy":
                let from = try pointer(operation["from"].string, op: op)
                current = try place(current, path, try get(current, from), insert: true)
            case "test":
                if try get(current, path) != operation["value"] {
                    throw APIError(
                        code: 422, reason: "Invalid",
                        message: "the server rejected our request due to an error in our "
                            + "request: testing value \(path.joined(separator: "/")) failed")
                }
            default:
                throw APIError.badRequest("Unexpected kind: \(op)")
            }
        }
        return current
    }

    private static func pointer(_ text: String?, op: String) throws(APIError) -> [String] {
        guard let text else { throw APIError.badRequest("doc is missing path: \"\(op)\"") }
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw APIError.badRequest("invalid JSON pointer \"\(text)\"") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
    }

    private static func missing(_ path: [String]) -> APIError {
        APIError(
            code: 422, reason: "Invalid",
            message: "the server rejected our request due to an error in our request: "
                + "doc is missing path: \"/\(path.joined(separator: "/"))\": missing value")
    }

    private static func get(_ document: JSON, _ path: [String]) throws(APIError) -> JSON {
        var current = document
        for (depth, token) in path.enumerated() {
            switch current {
            case .object(let members):
                guard let next = members[token] else { throw missing(Array(path[...depth])) }
                current = next
            case .array(let items):
                guard let index = Int(token), items.indices.contains(index) else { throw missing(Array(path[...depth])) }
                current = items[index]
            default: throw missing(Array(path[...depth]))
            }
        }
        return current
    }

    /// Writes `value` at `path`: `insert` adds into arrays (RFC 6902 "add", `-` appends), otherwise an
    /// existing array element is replaced ("replace"); object members are set either way.
    private static func place(_ document: JSON, _ path: [String], _ value: JSON, insert: Bool) throws(APIError) -> JSON {
        guard let token = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            if rest.isEmpty {
                members[token] = value
            } else {
                guard let child = members[token] else { throw missing(path) }
                members[token] = try place(child, rest, value, insert: insert)
            }
            return .object(members)
        case .array(var items):
            if rest.isEmpty && insert {
                if token == "-" {
                    items.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= items.count else { throw missing(path) }
                    items.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw missing(path) }
                items[index] = rest.isEmpty ? value : try place(items[index], rest, value, insert: insert)
            }
            return .array(items)
        default: throw missing(path)
        }
    }

    private static func remove(_ document: JSON, _ path: [String]) throws(APIError) -> JSON {
        guard let token = path.first else { return .null }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var members):
            guard let child = members[token] else { throw missing(path) }
            if rest.isEmpty { members.removeValue(forKey: token) } else { members[token] = try remove(child, rest) }
            return .object(members)
        case .array(var items):
            guard let index = Int(token), items.indices.contains(index) else { throw missing(path) }
            if rest.isEmpty { items.remove(at: index) } else { items[index] = try remove(items[index], rest) }
            return .array(items)
        default: throw missing(path)
        }
    }
}
