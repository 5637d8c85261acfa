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
            subsets: (spec["subsets"].array ?? []).map { SubsetRule(name: $0["name"].string ?? "", labels: $0["labels"].stringMap) },
            trafficPolicy: trafficPolicy(spec["trafficPolicy"]))
    }

    /// `trafficPolicy`: `loadBalancer.localityLbSetting` and `outlierDetection`; nil when neither is set.
    /// Subset-level `trafficPolicy` is not read.
    static func trafficPolicy(_ policy: JSON) -> TrafficPolicyRule? {
        let setting = policy["loadBalancer"]["localityLbSetting"]
        let locality: LocalityLbSettingRule? =
            setting.isNull
            ? nil
            : LocalityLbSettingRule(
                enabled: setting["enabled"].bool,
                distribute: (setting["distribute"].array ?? []).map { rule in
                    var to: [String: Int] = [:]
                    for (locality, weight) in rule["to"].object ?? [:] { to[locality] = Int(weight.int ?? 0) }
                    return LocalityDistributeRule(from: rule["from"].string ?? "", to: to)
                },
                failover: (setting["failover"].array ?? []).map {
                    LocalityFailoverRule(from: $0["from"].string ?? "", to: $0["to"].string ?? "")
                },
                failoverPriority: strings(setting["failoverPriority"]))
        let outlier = policy["outlierDetection"]
        let detection: OutlierDetectionRule? =
            outlier.isNull
            ? nil
            : OutlierDetectionRule(
                consecutive5xxErrors: Int(uint32Value(outlier["consecutive5xxErrors"]) ?? 5),
                consecutiveGatewayErrors: Int(uint32Value(outlier["consecutiveGatewayErrors"]) ?? 0),
                interval: outlier["interval"].string.flatMap(IstioDuration.parse) ?? .seconds(10),
                baseEjectionTime: outlier["baseEjectionTime"].string.flatMap(IstioDuration.parse) ?? .seconds(30),
                maxEjectionPercent: Int(outlier["maxEjectionPercent"].int ?? 10))
        guard locality != nil || detection != nil else { return nil }
        return TrafficPolicyRule(localityLbSetting: locality, outlierDetection: detection)
    }

    /// A protobuf UInt32Value in JSON: a number, or (as `kubectl apply` may leave it) a numeric string.
    static func uint32Value(_ value: JSON) -> Int64? {
        value.int ?? value.string.flatMap { Int64($0) }
    }

    /// `fault`: `abort` {httpStatus, percentage.value or the legacy integer `percent`} and `delay` {fixedDelay,
    /// percentage}; Istio applies a fault with no percentage to every request.
    static func fault(_ fault: JSON) -> HTTPFaultRule? {
        guard !fault.isNull else { return nil }
        func percentage(_ spec: JSON) -> FaultPercentage {
            if let value = spec["percentage"]["value"].double { return FaultPercentage(percent: value) }
            if let legacy = spec["percent"].int { return FaultPercentage(percent: Double(legacy)) }
            return FaultPercentage(percent: 100)
        }
        let abort = fault["abort"]
        let delay = fault["delay"]
        return HTTPFaultRule(
            abort: abort["httpStatus"].int.map { HTTPFaultRule.Abort(httpStatus: Int($0), percentage: percentage(abort)) },
            delay: delay["fixedDelay"].string.flatMap(IstioDuration.parse).map {
                HTTPFaultRule.Delay(fixedDelay: $0, percentage: percentage(delay))
            })
    }

    static func route(_ http: JSON) -> HTTPRouteRule {
        HTTPRouteRule(
            matches: (http["match"].array ?? []).map(match),
            destinations: (http["route"].array ?? []).map { entry in
                let destination = entry["destination"]
                return RouteDestinationRule(
                    host: destination["host"].string ?? "", subset: destination["subset"].string.flatMap { $0.isEmpty ? nil : $0 },
                    port: destination["port"]["number"].int.map(Int.init), weight: Int(entry["weight"].int ?? 0))
            }, fault: fault(http["fault"]))
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
