// The validation a real API server applies to the kinds the simulator serves (docs/PROTOCOL-NOTES.md §C5, §C6), with
// causes shaped like apimachinery's field errors so clients print the same messages.

enum NameRules {
    static let dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
        + "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let dns1035LabelMessage =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
        + "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
        + "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"

    private static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        isLowerAlnum(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }

    static func isDNS1123Label(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 63, isLowerAlnum(bytes.first!), isLowerAlnum(bytes.last!) else {
            return false
        }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    static func isDNS1035Label(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return isDNS1123Label(name)
    }

    static func isDNS1123Subdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            let label = Array($0.utf8)
            guard !label.isEmpty, isLowerAlnum(label.first!), isLowerAlnum(label.last!) else { return false }
            return label.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// Problem with a label/annotation key (`[prefix/]name`), or nil when valid.
    static func labelKeyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else {
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                + "end with an alphanumeric character with an optional DNS subdomain prefix and '/'"
        }
        if parts.count == 2 {
            let prefix = String(parts[0])
            if !isDNS1123Subdomain(prefix) { return "prefix part \(dns1123SubdomainMessage)" }
        }
        let name = Array(parts.last!.utf8)
        guard !name.isEmpty else { return "name part must be non-empty" }
        guard name.count <= 63 else { return "name part must be no more than 63 characters" }
        guard isAlnum(name.first!), isAlnum(name.last!),
            name.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                + "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                + "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        }
        return nil
    }

    static func labelValueProblem(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        if bytes.isEmpty { return nil }
        guard bytes.count <= 63 else { return "must be no more than 63 characters" }
        guard isAlnum(bytes.first!), isAlnum(bytes.last!),
            bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else {
            return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                + "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                + "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        }
        return nil
    }
}

/// Collects field errors for one object.
struct FieldErrors {
    var causes: [StatusCause] = []

    mutating func required(_ field: String) {
        causes.append(StatusCause(reason: "FieldValueRequired", message: "Required value", field: field))
    }

    mutating func invalid(_ field: String, _ value: JSON, _ detail: String) {
        causes.append(
            StatusCause(
                reason: "FieldValueInvalid", message: "Invalid value: \(Self.render(value)): \(detail)", field: field))
    }

    mutating func unsupported(_ field: String, _ value: String, supported: [String]) {
        let list = supported.map { "\"\($0)\"" }.joined(separator: ", ")
        causes.append(
            StatusCause(
                reason: "FieldValueNotSupported", message: "Unsupported value: \"\(value)\": supported values: \(list)",
                field: field))
    }

    mutating func duplicate(_ field: String, _ value: String) {
        causes.append(
            StatusCause(reason: "FieldValueDuplicate", message: "Duplicate value: \"\(value)\"", field: field))
    }

    static func render(_ value: JSON) -> String {
        switch value {
        case .string(let text): return "\"\(text)\""
        case .int(let number): return String(number)
        case .object(let members):
            return "map[string]string{"
                + members.keys.sorted().map { "\"\($0)\":\(render(members[$0]!))" }
                .joined(separator: ", ") + "}"
        default: return value.serialized()
        }
    }
}

enum Validation {
    /// Validates an object about to be stored; throws 422 Invalid with every cause found.
    static func validate(_ object: JSON, resource: ResourceType, old: JSON?) throws(APIError) {
        var errors = FieldErrors()
        let name = object["metadata"]["name"].string ?? ""
        validateMetadata(object["metadata"], resource: resource, errors: &errors)
        switch resource {
        case .pods: validatePodSpec(object["spec"], path: "spec", errors: &errors)
        case .deployments, .replicaSets: validateWorkload(object, resource: resource, old: old, errors: &errors)
        case .services: validateService(object["spec"], errors: &errors)
        case .configMaps, .secrets: validateDataKeys(object, errors: &errors)
        case .jobs: BatchResources.validateJob(object, old: old, errors: &errors)
        case .cronJobs: BatchResources.validateCronJob(object, errors: &errors)
        case .roles, .clusterRoles: RBACValidation.validateRole(object, namespaced: resource.namespaced, errors: &errors)
        case .roleBindings, .clusterRoleBindings:
            RBACValidation.validateBinding(object, namespaced: resource.namespaced, old: old, errors: &errors)
        default: break
        }
        if !errors.causes.isEmpty { throw APIError.invalid(resource, name, causes: errors.causes) }
        // Validating admission webhooks run after the server's own validation.
        if resource == .virtualServices { try IstioWebhook.validateVirtualService(object) }
    }

    static func validateMetadata(_ metadata: JSON, resource: ResourceType, errors: inout FieldErrors) {
        let name = metadata["name"].string ?? ""
        if name.isEmpty {
            errors.causes.append(
                StatusCause(
                    reason: "FieldValueRequired", message: "name or generateName is required", field: "metadata.name"))
        } else {
            switch resource {
            case .namespaces:
                if !NameRules.isDNS1123Label(name) {
                    errors.invalid("metadata.name", .string(name), NameRules.dns1123LabelMessage)
                }
            case .services:
                if !NameRules.isDNS1035Label(name) {
                    errors.invalid("metadata.name", .string(name), NameRules.dns1035LabelMessage)
                }
            default:
                if !NameRules.isDNS1123Subdomain(name) {
                    errors.invalid("metadata.name", .string(name), NameRules.dns1123SubdomainMessage)
                }
            }
        }
        for (key, value) in metadata["labels"].stringMap.sorted(by: { $0.key < $1.key }) {
            if let problem = NameRules.labelKeyProblem(key) {
                errors.invalid("metadata.labels", .string(key), problem)
            }
            if let problem = NameRules.labelValueProblem(value) {
                errors.invalid("metadata.labels", .string(value), problem)
            }
        }
        for key in metadata["annotations"].stringMap.keys.sorted() {
            if let problem = NameRules.labelKeyProblem(key.lowercased()) {
                errors.invalid("metadata.annotations", .string(key), problem)
            }
        }
    }

    static func validatePodSpec(_ spec: JSON, path: String, errors: inout FieldErrors) {
        let containers = spec["containers"].array ?? []
        if containers.isEmpty { errors.required("\(path).containers") }
        var names: Set<String> = []
        for (kindPath, list) in [("containers", containers), ("initContainers", spec["initContainers"].array ?? [])] {
            for (index, container) in list.enumerated() {
                let field = "\(path).\(kindPath)[\(index)]"
                let name = container["name"].string ?? ""
                if name.isEmpty {
                    errors.required("\(field).name")
                } else if !NameRules.isDNS1123Label(name) {
                    errors.invalid("\(field).name", .string(name), NameRules.dns1123LabelMessage)
                } else if !names.insert(name).inserted {
                    errors.duplicate("\(field).name", name)
                }
                if (container["image"].string ?? "").isEmpty { errors.required("\(field).image") }
                for (portIndex, port) in (container["ports"].array ?? []).enumerated() {
                    if let number = port["containerPort"].int, !(1...65535).contains(number) {
                        errors.invalid(
                            "\(field).ports[\(portIndex)].containerPort", .int(number),
                            "must be between 1 and 65535, inclusive")
                    }
                }
            }
        }
        if let policy = spec["restartPolicy"].string, !["Always", "OnFailure", "Never"].contains(policy) {
            errors.unsupported("\(path).restartPolicy", policy, supported: ["Always", "OnFailure", "Never"])
        }
        if let grace = spec["terminationGracePeriodSeconds"].int, grace < 0 {
            errors.invalid(
                "\(path).terminationGracePeriodSeconds", .int(grace), "must be greater than or equal to 0")
        }
    }

    static func validateWorkload(_ object: JSON, resource: ResourceType, old: JSON?, errors: inout FieldErrors) {
        let spec = object["spec"]
        if let replicas = spec["replicas"].int, replicas < 0 {
            errors.invalid("spec.replicas", .int(replicas), "must be greater than or equal to 0")
        }
        let selectorJSON = spec["selector"]
        let templateLabels = spec["template"]["metadata"]["labels"].stringMap
        if selectorJSON.isNull || (selectorJSON["matchLabels"].isNull && selectorJSON["matchExpressions"].isNull) {
            errors.required("spec.selector")
            if selectorJSON.isNull == false {
                errors.invalid(
                    "spec.selector", selectorJSON, "empty selector is invalid for deployment")
            }
        } else {
            do {
                let selector = try LabelSelector.fromObject(selectorJSON)
                if !selector.matches(templateLabels) {
                    errors.invalid(
                        "spec.template.metadata.labels", JSON(stringMap: templateLabels),
                        "`selector` does not match template `labels`")
                }
            } catch {
                errors.invalid("spec.selector", selectorJSON, error.message)
            }
        }
        if let old, old["spec"]["selector"] != selectorJSON {
            errors.invalid("spec.selector", selectorJSON, "field is immutable")
        }
        let podSpec = spec["template"]["spec"]
        validatePodSpec(podSpec, path: "spec.template.spec", errors: &errors)
        let restartPolicy = podSpec["restartPolicy"].string ?? "Always"
        if restartPolicy != "Always" {
            errors.unsupported("spec.template.spec.restartPolicy", restartPolicy, supported: ["Always"])
        }
        if resource == .deployments, let strategy = spec["strategy"]["type"].string,
            !["Recreate", "RollingUpdate"].contains(strategy)
        {
            errors.unsupported("spec.strategy.type", strategy, supported: ["Recreate", "RollingUpdate"])
        }
    }

    static func validateService(_ spec: JSON, errors: inout FieldErrors) {
        let type = spec["type"].string ?? "ClusterIP"
        let types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
        if !types.contains(type) { errors.unsupported("spec.type", type, supported: types) }
        let ports = spec["ports"].array ?? []
        if ports.isEmpty && type != "ExternalName" && spec["clusterIP"].string != "None" {
            errors.required("spec.ports")
        }
        var portNames: Set<String> = []
        for (index, port) in ports.enumerated() {
            let field = "spec.ports[\(index)]"
            if let number = port["port"].int {
                if !(1...65535).contains(number) {
                    errors.invalid("\(field).port", .int(number), "must be between 1 and 65535, inclusive")
                }
            } else {
                errors.required("\(field).port")
            }
            if let name = port["name"].string {
                if !portNames.insert(name).inserted { errors.duplicate("\(field).name", name) }
            } else if ports.count > 1 {
                errors.required("\(field).name")
            }
            if let proto = port["protocol"].string, !["TCP", "UDP", "SCTP"].contains(proto) {
                errors.unsupported("\(field).protocol", proto, supported: ["SCTP", "TCP", "UDP"])
            }
        }
    }

    static func validateDataKeys(_ object: JSON, errors: inout FieldErrors) {
        for section in ["data", "binaryData", "stringData"] {
            for key in (object[section].object ?? [:]).keys.sorted() {
                let valid =
                    !key.isEmpty && key.utf8.count <= 253 && key != "." && key != ".."
                    && key.utf8.allSatisfy { byte in
                        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    }
                if !valid {
                    errors.invalid(
                        "\(section)[\(key)]", .string(key),
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                            + "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
                            + "'[-._a-zA-Z0-9]+')")
                }
            }
        }
    }
}
