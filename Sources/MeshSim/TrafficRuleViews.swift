// A cluster's stored VirtualServices and DestinationRules as the data plane's rule values (MeshSimRuntime's
// MeshTrafficRules), read the way istiod reads the objects: unknown fields ignored, absent fields at their
// protobuf defaults.

import MeshSimRuntime

enum TrafficRuleViews {
    static func virtualService(_ object: JSON) -> VirtualServiceView {
        let spec = object["spec"]
        return VirtualServiceView(
            namespace: object["metadata"]["namespace"].string ?? "", name: object["metadata"]["name"].string ?? "",
            creationTimestamp: object["metadata"]["creationTimestamp"].string ?? "", hosts: strings(spec["hosts"]),
            gateways: strings(spec["gateways"]), exportTo: strings(spec["exportTo"]),
            http: (spec["http"].array ?? []).map(route))
    }

    static func destinationRule(_ object: JSON) -> DestinationRuleView {
        let spec = object["spec"]
        return DestinationRuleView(
            namespace: object["metadata"]["namespace"].string ?? "", name: object["metadata"]["name"].string ?? "",
            creationTimestamp: object["metadata"]["creationTimestamp"].string ?? "", host: spec["host"].string ?? "",
            exportTo: strings(spec["exportTo"]),
            subsets: (spec["subsets"].array ?? []).map { SubsetRule(name: $0["name"].string ?? "", labels: $0["labels"].stringMap) })
    }

    static func route(_ http: JSON) -> HTTPRouteRule {
        HTTPRouteRule(
            matches: (http["match"].array ?? []).map(match),
            destinations: (http["route"].array ?? []).map { entry in
                let destination = entry["destination"]
                return RouteDestinationRule(
                    host: destination["host"].string ?? "", subset: destination["subset"].string.flatMap { $0.isEmpty ? nil : $0 },
                    port: destination["port"]["number"].int.map(Int.init), weight: Int(entry["weight"].int ?? 0))
            })
    }

    /// Fields of an HTTPMatchRequest the simulation evaluates; any other field present is recorded as unmodelled.
    static let evaluatedMatchFields: Set<String> = ["uri", "ignoreUriCase", "method", "headers", "port", "sourceNamespace", "name"]

    static func match(_ match: JSON) -> HTTPMatchRule {
        var headers: [String: StringMatchRule?] = [:]
        for (name, rule) in match["headers"].object ?? [:] { headers[name.lowercased()] = stringMatch(rule) }
        return HTTPMatchRule(
            uri: stringMatch(match["uri"]), ignoreURICase: match["ignoreUriCase"].bool ?? false, method: stringMatch(match["method"]),
            headers: headers, port: match["port"].int.map(Int.init), sourceNamespace: match["sourceNamespace"].string,
            unmodelledConditions: (match.object ?? [:]).keys.filter { !evaluatedMatchFields.contains($0) }.sorted())
    }

    /// Istio's StringMatch (`exact`, `prefix` or `regex`); nil when none is set.
    static func stringMatch(_ value: JSON) -> StringMatchRule? {
        if let exact = value["exact"].string { return .exact(exact) }
        if let prefix = value["prefix"].string { return .prefix(prefix) }
        if let regex = value["regex"].string { return .regex(regex) }
        return nil
    }

    static func strings(_ value: JSON) -> [String] { (value.array ?? []).compactMap(\.string) }
}
