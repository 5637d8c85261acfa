// What a simulated sidecar answers on Envoy's admin port (localhost:15000 from its own pod): `GET /clusters`
// in Envoy's text format and `GET /clusters?format=json` (envoy.admin.v3.Clusters), listing for every
// outbound cluster exactly the endpoints the sidecar's routing uses (MeshRouting.resolve): own-cluster pods
// by pod IP and target port, each peer cluster as its east-west gateway's address on 15443 weighted by the
// endpoints behind it, as istiod's split-horizon EDS does. Shapes and sources: docs/PROTOCOL-NOTES.md §F1.
// Pure: no I/O.

/// One upstream host of an Envoy cluster.
package struct EnvoyAdminHost: Equatable, Sendable {
    /// An IP address, or a pipe path for Envoy's own control-plane connection.
    package var address: String
    /// nil for a pipe.
    package var port: Int?
    package var weight: Int
    package var locality: Locality = Locality()
    /// The Envoy priority locality load balancing gave the host (0 without it).
    package var priority: Int = 0
    /// Ejected by outlier detection.
    package var failedOutlierCheck = false
}

/// One Envoy cluster as `/clusters` lists it.
package struct EnvoyAdminCluster: Equatable, Sendable {
    package var name: String
    /// EDS clusters (Istio's outbound clusters) are added over the API and name their EDS service.
    package var addedViaAPI: Bool
    package var hosts: [EnvoyAdminHost]
}

package enum EnvoyAdmin {
    package static let port = 15000
    /// The gateway port remote-network endpoints are listed with (Istio's default for the east-west gateway).
    package static let eastWestGatewayPort = 15443

    /// The clusters a sidecar of `source` holds: Istio's static ones, then `outbound|port||fqdn` for every
    /// Service port the source cluster knows and `outbound|port|subset|fqdn` for each subset of the
    /// DestinationRule that applies to it.
    /// `ejected` lists the hosts (`cluster/pod`) outlier detection has ejected, by Envoy cluster name.
    package static func clusters(source: ProxySource, in view: MeshView, ejected: [String: Set<String>] = [:]) -> [EnvoyAdminCluster] {
        var result = [
            EnvoyAdminCluster(name: "BlackHoleCluster", addedViaAPI: false, hosts: []),
            EnvoyAdminCluster(name: "PassthroughCluster", addedViaAPI: false, hosts: []),
            EnvoyAdminCluster(
                name: "xds-grpc", addedViaAPI: false,
                hosts: [EnvoyAdminHost(address: "./etc/istio/proxy/XDS", port: nil, weight: 1)]),
        ]
        guard let cluster = view.clusters[source.cluster] else { return result }
        for key in cluster.services.keys.sorted(by: { ($0.namespace, $0.name) < ($1.namespace, $1.name) }) {
            guard let service = cluster.services[key] else { continue }
            let rule = MeshRouting.destinationRule(for: key, in: cluster, sourceNamespace: source.namespace)
            for port in service.ports.sorted() {
                let resolution = MeshRouting.resolve(
                    host: key.fqdn, port: port, sourceCluster: source.cluster, sourceNamespace: source.namespace,
                    sourceHasSidecar: true, in: view)
                guard case .service(_, let endpoints) = resolution else { continue }
                let targetPort = service.targetPorts[port] ?? port
                let client = view.localityClient(cluster: source.cluster, namespace: source.namespace, pod: source.pod)
                var subsets: [(name: String, endpoints: [MeshEndpoint])] = [("", endpoints)]
                for subset in rule?.subsets ?? [] {
                    subsets.append((subset.name, endpoints.filter { endpoint in subset.labels.allSatisfy { endpoint.labels[$0.key] == $0.value } }))
                }
                for (subset, selected) in subsets {
                    let name = "outbound|\(port)|\(subset)|\(key.fqdn)"
                    let layout = LocalityBalancing.layout(
                        endpoints: selected.map(\.locality), labels: selected.map(view.topologyLabels(of:)), client: client,
                        policy: rule?.trafficPolicy)
                    var priorities = Array(repeating: 0, count: selected.count)
                    if case .priorities(let assigned) = layout { priorities = assigned }
                    let placed = zip(selected, priorities).map {
                        PlacedEndpoint(endpoint: $0, priority: $1, ejected: ejected[name]?.contains(LeastRequestBalancer.key($0)) ?? false)
                    }
                    result.append(
                        EnvoyAdminCluster(name: name, addedViaAPI: true, hosts: hosts(placed, source: source.cluster, targetPort: targetPort, in: view)))
                }
            }
        }
        return result
    }

    /// An endpoint with the priority it has for this sidecar and whether outlier detection ejected it.
    struct PlacedEndpoint {
        var endpoint: MeshEndpoint
        var priority: Int
        var ejected: Bool
    }

    /// Own-cluster endpoints one by one; each peer cluster's as one gateway host whose weight is their count,
    /// with their locality and priority, ejected when all of them are (a peer whose gateway has no address yet
    /// has no route for istiod to publish, so it is left out).
    static func hosts(_ endpoints: [PlacedEndpoint], source: String, targetPort: Int, in view: MeshView) -> [EnvoyAdminHost] {
        var local: [EnvoyAdminHost] = []
        var remote: [String: [PlacedEndpoint]] = [:]
        for placed in endpoints {
            let endpoint = placed.endpoint
            if endpoint.cluster == source {
                local.append(
                    EnvoyAdminHost(
                        address: endpoint.podIP ?? endpoint.host, port: endpoint.podIP == nil ? endpoint.port : targetPort, weight: 1,
                        locality: endpoint.locality, priority: placed.priority, failedOutlierCheck: placed.ejected))
            } else {
                remote[endpoint.cluster, default: []].append(placed)
            }
        }
        let gateways = remote.keys.sorted().compactMap { peer -> EnvoyAdminHost? in
            guard let address = view.clusters[peer]?.eastWestGatewayAddress, let behind = remote[peer], let first = behind.first else { return nil }
            return EnvoyAdminHost(
                address: address, port: eastWestGatewayPort, weight: behind.count, locality: first.endpoint.locality,
                priority: behind.map(\.priority).min() ?? 0, failedOutlierCheck: behind.allSatisfy(\.ejected))
        }
        return local.sorted { ($0.address, $0.port ?? 0) < ($1.address, $1.port ?? 0) } + gateways
    }

    // MARK: Rendering

    /// Istio's circuit-breaker defaults for outbound clusters (DEFAULT priority unlimited), Envoy's for HIGH.
    private static let defaultThresholds = (connections: 4_294_967_295, pending: 4_294_967_295, requests: 4_294_967_295, retries: 4_294_967_295)
    private static let highThresholds = (connections: 1024, pending: 1024, requests: 1024, retries: 3)
    /// Per-host stats Envoy keeps: counters, then gauges (the simulation does not count them: always 0).
    private static let counters = ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout", "rq_total"]
    private static let gauges = ["cx_active", "rq_active"]

    /// `/clusters?format=json`: protobuf JSON as Envoy prints it (proto field names, two-space indentation,
    /// fields in field-number order, default values omitted, uint64 as strings, enums by name).
    package static func json(_ clusters: [EnvoyAdminCluster]) -> String {
        let statuses: [AdminJSON] = clusters.map { cluster in
            var fields: [(String, AdminJSON)] = [("name", .string(cluster.name))]
            if cluster.addedViaAPI { fields.append(("added_via_api", .bool(true))) }
            if !cluster.hosts.isEmpty { fields.append(("host_statuses", .array(cluster.hosts.map(hostJSON)))) }
            fields.append(
                (
                    "circuit_breakers",
                    .object([
                        (
                            "thresholds",
                            .array([
                                thresholdsJSON(priority: nil, defaultThresholds), thresholdsJSON(priority: "HIGH", highThresholds),
                            ])
                        )
                    ])
                ))
            fields.append(("observability_name", .string(cluster.name)))
            if cluster.addedViaAPI { fields.append(("eds_service_name", .string(cluster.name))) }
            return .object(fields)
        }
        var text = ""
        AdminJSON.object([("cluster_statuses", .array(statuses))]).write(to: &text, indent: 0)
        return text + "\n"
    }

    private static func hostJSON(_ host: EnvoyAdminHost) -> AdminJSON {
        let address: AdminJSON =
            if let port = host.port {
                .object([("socket_address", .object([("address", .string(host.address)), ("port_value", .number(port))]))])
            } else {
                .object([("pipe", .object([("path", .string(host.address))]))])
            }
        let stats =
            counters.map { AdminJSON.object([("name", .string($0))]) }
            + gauges.map { AdminJSON.object([("type", .string("GAUGE")), ("name", .string($0))]) }
        // HostHealthStatus prints failed_outlier_check (field 2) before eds_health_status (3); HostStatus prints
        // priority (7) before locality (9), and omits a 0 priority and empty locality fields.
        var health: [(String, AdminJSON)] = []
        if host.failedOutlierCheck { health.append(("failed_outlier_check", .bool(true))) }
        health.append(("eds_health_status", .string("HEALTHY")))
        var fields: [(String, AdminJSON)] = [
            ("address", address), ("stats", .array(stats)), ("health_status", .object(health)), ("weight", .number(host.weight)),
        ]
        if host.priority != 0 { fields.append(("priority", .number(host.priority))) }
        var locality: [(String, AdminJSON)] = []
        if !host.locality.region.isEmpty { locality.append(("region", .string(host.locality.region))) }
        if !host.locality.zone.isEmpty { locality.append(("zone", .string(host.locality.zone))) }
        if !host.locality.subzone.isEmpty { locality.append(("sub_zone", .string(host.locality.subzone))) }
        fields.append(("locality", .object(locality)))
        return .object(fields)
    }

    private static func thresholdsJSON(priority: String?, _ values: (connections: Int, pending: Int, requests: Int, retries: Int)) -> AdminJSON {
        var fields: [(String, AdminJSON)] = []
        if let priority { fields.append(("priority", .string(priority))) }
        fields += [
            ("max_connections", .number(values.connections)), ("max_pending_requests", .number(values.pending)),
            ("max_requests", .number(values.requests)), ("max_retries", .number(values.retries)),
        ]
        return .object(fields)
    }

    /// `/clusters`: Envoy's text format, `<cluster>::<field>::<value>` and `<cluster>::<host:port>::<field>::<value>`.
    package static func text(_ clusters: [EnvoyAdminCluster]) -> String {
        var lines: [String] = []
        for cluster in clusters {
            let name = cluster.name
            lines.append("\(name)::observability_name::\(name)")
            for (label, values) in [("default", defaultThresholds), ("high", highThresholds)] {
                lines.append("\(name)::\(label)_priority::max_connections::\(values.connections)")
                lines.append("\(name)::\(label)_priority::max_pending_requests::\(values.pending)")
                lines.append("\(name)::\(label)_priority::max_requests::\(values.requests)")
                lines.append("\(name)::\(label)_priority::max_retries::\(values.retries)")
            }
            lines.append("\(name)::added_via_api::\(cluster.addedViaAPI)")
            if cluster.addedViaAPI { lines.append("\(name)::eds_service_name::\(name)") }
            for host in cluster.hosts {
                let prefix = "\(name)::" + (host.port.map { "\(host.address):\($0)" } ?? host.address)
                for stat in (counters + gauges).sorted() { lines.append("\(prefix)::\(stat)::0") }
                // Envoy's health flags text: `healthy`, or each set flag as `/name` (`/failed_outlier_check`).
                let flags = host.failedOutlierCheck ? "/failed_outlier_check" : "healthy"
                lines += [
                    "\(prefix)::hostname::", "\(prefix)::health_flags::\(flags)", "\(prefix)::weight::\(host.weight)",
                    "\(prefix)::region::\(host.locality.region)", "\(prefix)::zone::\(host.locality.zone)",
                    "\(prefix)::sub_zone::\(host.locality.subzone)", "\(prefix)::canary::false",
                    "\(prefix)::priority::\(host.priority)", "\(prefix)::success_rate::-1", "\(prefix)::local_origin_success_rate::-1",
                ]
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }
}

/// The little JSON the admin answers need, printed the way protobuf's JSON printer pretty-prints.
private indirect enum AdminJSON {
    case object([(String, AdminJSON)])
    case array([AdminJSON])
    case string(String)
    case number(Int)
    case bool(Bool)

    func write(to out: inout String, indent: Int) {
        let inner = String(repeating: " ", count: 2 * (indent + 1))
        let closing = String(repeating: " ", count: 2 * indent)
        switch self {
        case .object(let fields):
            guard !fields.isEmpty else {
                out += "{}"
                return
            }
            out += "{\n"
            for (index, (key, value)) in fields.enumerated() {
                out += inner + GoJSON.quote(key) + ": "
                value.write(to: &out, indent: indent + 1)
                out += index == fields.count - 1 ? "\n" : ",\n"
            }
            out += closing + "}"
        case .array(let items):
            guard !items.isEmpty else {
                out += "[]"
                return
            }
            out += "[\n"
            for (index, item) in items.enumerated() {
                out += inner
                item.write(to: &out, indent: indent + 1)
                out += index == items.count - 1 ? "\n" : ",\n"
            }
            out += closing + "]"
        case .string(let value): out += GoJSON.quote(value)
        case .number(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        }
    }
}
