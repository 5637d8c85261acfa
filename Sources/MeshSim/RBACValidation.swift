// rbac.authorization.k8s.io/v1 validation as a real API server applies it (apis/rbac/validation): rules need
// verbs and, for resources, API groups and resources; bindings reference a Role or ClusterRole of the RBAC
// group and name valid subjects; a binding's roleRef cannot change. RBAC itself is not enforced: every
// simulated user may do everything.

enum RBACValidation {
    static let group = "rbac.authorization.k8s.io"

    static func validateRole(_ object: JSON, namespaced: Bool, errors: inout FieldErrors) {
        for (index, rule) in (object["rules"].array ?? []).enumerated() {
            let path = "rules[\(index)]"
            if (rule["verbs"].array ?? []).isEmpty { required("\(path).verbs", "verbs must contain at least one value", &errors) }
            let urls = rule["nonResourceURLs"].array ?? []
            if !urls.isEmpty {
                if namespaced {
                    errors.invalid("\(path).nonResourceURLs", rule["nonResourceURLs"], "namespaced rules cannot apply to non-resource URLs")
                }
                if !(rule["apiGroups"].array ?? []).isEmpty || !(rule["resources"].array ?? []).isEmpty
                    || !(rule["resourceNames"].array ?? []).isEmpty
                {
                    errors.invalid(
                        "\(path).nonResourceURLs", rule["nonResourceURLs"],
                        "rules cannot apply to both regular resources and non-resource URLs")
                }
                continue
            }
            if (rule["apiGroups"].array ?? []).isEmpty {
                required("\(path).apiGroups", "resource rules must supply at least one api group", &errors)
            }
            if (rule["resources"].array ?? []).isEmpty {
                required("\(path).resources", "resource rules must supply at least one resource", &errors)
            }
        }
    }

    static func validateBinding(_ object: JSON, namespaced: Bool, old: JSON?, errors: inout FieldErrors) {
        let roleRef = object["roleRef"]
        let apiGroup = roleRef["apiGroup"].string ?? ""
        if apiGroup != group { errors.unsupported("roleRef.apiGroup", apiGroup, supported: [group]) }
        let kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"]
        let kind = roleRef["kind"].string ?? ""
        if !kinds.contains(kind) { errors.unsupported("roleRef.kind", kind, supported: kinds) }
        if let name = roleRef["name"].string, !name.isEmpty {
            if name == "." || name == ".." || name.contains("/") || name.contains("%") {
                errors.invalid("roleRef.name", .string(name), "may not be '.' or '..' and may not contain '/' or '%'")
            }
        } else {
            errors.required("roleRef.name")
        }
        for (index, subject) in (object["subjects"].array ?? []).enumerated() {
            validateSubject(subject, path: "subjects[\(index)]", namespaced: namespaced, errors: &errors)
        }
        if let old, old["roleRef"] != roleRef {
            errors.invalid("roleRef", roleRef, "cannot change roleRef")
        }
    }

    static func validateSubject(_ subject: JSON, path: String, namespaced: Bool, errors: inout FieldErrors) {
        let name = subject["name"].string ?? ""
        if name.isEmpty { errors.required("\(path).name") }
        let apiGroup = subject["apiGroup"].string ?? ""
        switch subject["kind"].string ?? "" {
        case "ServiceAccount":
            if !name.isEmpty, !NameRules.isDNS1123Subdomain(name) {
                errors.invalid("\(path).name", .string(name), NameRules.dns1123SubdomainMessage)
            }
            if !apiGroup.isEmpty { errors.unsupported("\(path).apiGroup", apiGroup, supported: [""]) }
            if !namespaced, (subject["namespace"].string ?? "").isEmpty { errors.required("\(path).namespace") }
        case "User", "Group":
            if apiGroup != group { errors.unsupported("\(path).apiGroup", apiGroup, supported: [group]) }
        case let kind:
            errors.unsupported("\(path).kind", kind, supported: ["ServiceAccount", "User", "Group"])
        }
    }

    private static func required(_ field: String, _ detail: String, _ errors: inout FieldErrors) {
        errors.causes.append(StatusCause(reason: "FieldValueRequired", message: "Required value: \(detail)", field: field))
    }
}

/// The checks istiod's validating webhook (`validation.istio.io`) makes on a VirtualService's routes that the
/// simulated data plane depends on. A denial is a 400 whose message names the webhook, as the API server
/// reports any webhook's refusal.
enum IstioWebhook {
    static func validateVirtualService(_ object: JSON) throws(APIError) {
        var problems: [String] = []
        let spec = object["spec"]
        if (spec["hosts"].array ?? []).isEmpty { problems.append("virtual service must have at least one host") }
        for http in spec["http"].array ?? [] {
            let routes = http["route"].array ?? []
            var total: Int64 = 0
            for route in routes {
                let destination = route["destination"]
                if destination.isNull {
                    problems.append("destination is required")
                } else if (destination["host"].string ?? "").isEmpty {
                    problems.append("destination host is required")
                }
                if let subset = destination["subset"].string, !NameRules.isDNS1123Label(subset) {
                    problems.append(subset.isEmpty ? "subset name cannot be empty" : "subset name is invalid: \(subset)")
                }
                if let port = destination["port"]["number"].int, !(1...65535).contains(port) {
                    problems.append("port number \(port) must be in the range 1..65535")
                }
                let weight = route["weight"].int ?? 0
                if weight < 0 { problems.append("weight \(weight) < 0") }
                total += weight
            }
            if routes.count > 1 && total == 0 { problems.append("total destination weight = 0") }
        }
        guard !problems.isEmpty else { return }
        throw APIError(
            code: 400, reason: "",
            message: "admission webhook \"validation.istio.io\" denied the request: "
                + "configuration is invalid: " + problems.joined(separator: ", "))
    }
}
