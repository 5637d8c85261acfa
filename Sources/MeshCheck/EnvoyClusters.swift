// Envoy's admin `/clusters?format=json` (envoy.admin.v3.Clusters), read from a client pod's sidecar: every
// cluster's upstream hosts with address, health, weight, locality and priority, and which of them a
// multi-network mesh's client should see — its own cluster's pods, or a peer network's east-west gateway.
// Pure and bounded: the bytes come from a pod, so anything malformed is a typed error, never a crash.
// The shape (docs/PROTOCOL-NOTES.md §F1): api/envoy/admin/v3/clusters.proto, printed by
// source/server/admin/clusters_handler.cc with protobuf's JSON printer (proto field names, default values
// omitted, uint64 as strings, enums by name).

import Foundation

/// Why a `/clusters?format=json` answer could not be read.
package enum EnvoyClustersError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    /// Not JSON, or JSON of another shape; `path` is where (`cluster_statuses[2].host_statuses[0].weight`).
    case malformed(path: String, reason: String)
    case tooMany(path: String, count: Int, limit: Int)

    package var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "answer of \(bytes) bytes exceeds the \(limit)-byte limit"
        case .malformed(let path, let reason): "not Envoy's /clusters JSON" + (path.isEmpty ? "" : " at \(path)") + ": \(reason)"
        case .tooMany(let path, let count, let limit): "\(path) has \(count) entries, more than the limit of \(limit)"
        }
    }
}

/// `envoy.config.core.v3.Locality`; empty strings when unset.
package struct EnvoyLocality: Codable, Sendable, Equatable {
    package var region: String
    package var zone: String
    package var subZone: String

    package init(region: String = "", zone: String = "", subZone: String = "") {
        self.region = region
        self.zone = zone
        self.subZone = subZone
    }

    package var isEmpty: Bool { region.isEmpty && zone.isEmpty && subZone.isEmpty }
}

/// Whether Envoy routes to a host, from its `health_status`.
package enum EnvoyHostHealth: String, Codable, Sendable, Equatable {
    /// No failure flag and EDS `HEALTHY` (or unset, which Envoy treats alike).
    case healthy
    /// Used only when too few hosts are healthy (EDS `DEGRADED`, or a degraded active check).
    case degraded
    /// EDS `DRAINING`: no new requests.
    case draining
    /// Ejected (outlier detection), failing active health checks, or EDS `UNHEALTHY`/`TIMEOUT`.
    case unhealthy
}

/// One upstream host of a cluster.
package struct EnvoyHost: Sendable, Equatable {
    /// An IP address for `socket_address`; a pipe path or an internal listener's name otherwise.
    package var address: String
    /// `port_value`; nil for hosts that are not socket addresses.
    package var port: Int?
    package var health: EnvoyHostHealth
    /// The flags behind `health` (`failed_outlier_check`, `eds_health_status=UNHEALTHY`, ...); empty when healthy.
    package var healthReasons: [String]
    /// Load-balancing weight (Envoy prints 1 for an unweighted host).
    package var weight: Int
    package var locality: EnvoyLocality
    /// 0 is the highest priority (omitted in the JSON).
    package var priority: Int
    package var hostname: String?
}

package struct EnvoyCluster: Sendable, Equatable {
    package var name: String
    package var hosts: [EnvoyHost]
}

package struct EnvoyClusters: Sendable, Equatable {
    package static let maxBytes = 8 << 20
    package static let maxClusters = 20_000
    package static let maxHostsPerCluster = 10_000

    package var clusters: [EnvoyCluster]

    /// Istio's name for a Service port's outbound cluster (no subset).
    package static func outboundClusterName(service: String, namespace: String, port: Int) -> String {
        "outbound|\(port)||\(service).\(namespace).svc.cluster.local"
    }

    package func cluster(named name: String) -> EnvoyCluster? { clusters.first { $0.name == name } }

    package static func parse(_ bytes: [UInt8]) throws(EnvoyClustersError) -> EnvoyClusters {
        guard bytes.count <= maxBytes else { throw .tooLarge(bytes: bytes.count, limit: maxBytes) }
        let raw: RawClusters
        do {
            // Protobuf JSON keeps the proto's snake_case field names; the raw model spells them in Swift's case.
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            raw = try decoder.decode(RawClusters.self, from: Data(bytes))
        } catch let error as EnvoyClustersError {
            throw error
        } catch let DecodingError.dataCorrupted(context) {
            throw .malformed(
                path: path(context.codingPath), reason: context.underlyingError.map { "invalid JSON (\($0.localizedDescription))" } ?? context.debugDescription)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw .malformed(path: path(context.codingPath), reason: context.debugDescription)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .malformed(path: path(context.codingPath + [key]), reason: "missing")
        } catch {
            throw .malformed(path: "", reason: "\(error)")
        }
        return EnvoyClusters(
            clusters: raw.clusterStatuses.map { cluster in
                EnvoyCluster(name: cluster.name, hosts: cluster.hostStatuses.map(\.host))
            })
    }

    /// `cluster_statuses[2].host_statuses[0].weight`: the keys as the JSON spells them (snake_case).
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + snakeCase(key.stringValue)
            }
        }
        return text
    }

    private static func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

// MARK: Classification

/// What a listed endpoint stands for, from the client's cluster.
package struct EndpointOrigin: Codable, Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Codable, Sendable {
        /// A pod of the source cluster (its pod IP).
        case local
        /// A peer cluster's network, through that peer's east-west gateway (its address, port 15443).
        case peer
        /// Neither: not a known pod or gateway address (stale endpoint, flat network, other port).
        case unknown
    }

    package var kind: Kind
    /// The peer cluster, for `peer`.
    package var cluster: String?

    package static let local = EndpointOrigin(kind: .local, cluster: nil)
    package static let unknown = EndpointOrigin(kind: .unknown, cluster: nil)
    package static func peer(_ cluster: String) -> EndpointOrigin { EndpointOrigin(kind: .peer, cluster: cluster) }

    package var description: String { cluster.map { "\(kind.rawValue) \($0)" } ?? kind.rawValue }
}

/// Classifies a sidecar's endpoints by what the run knows: the source cluster's own HelloWorld pod IPs and
/// each peer's east-west gateway addresses (from preflight).
package struct EndpointClassifier: Sendable, Equatable {
    /// Istio's cross-network port on the east-west gateway (`tls` port of its Service, AUTO_PASSTHROUGH).
    package static let eastWestGatewayPort = 15443

    package var localPodIPs: Set<String>
    /// Gateway address → peer cluster (the first by name when several share an address).
    package var gatewayClusters: [String: String]

    /// `peerGateways`: peer cluster name → its east-west gateway addresses. The source cluster is not a peer.
    package init(localPodIPs: some Sequence<String>, peerGateways: [String: [String]]) {
        self.localPodIPs = Set(localPodIPs)
        var byAddress: [String: String] = [:]
        for cluster in peerGateways.keys.sorted() {
            for address in peerGateways[cluster] ?? [] where byAddress[address] == nil { byAddress[address] = cluster }
        }
        self.gatewayClusters = byAddress
    }

    package func origin(address: String, port: Int?) -> EndpointOrigin {
        if localPodIPs.contains(address) { return .local }
        if port == Self.eastWestGatewayPort, let cluster = gatewayClusters[address] { return .peer(cluster) }
        return .unknown
    }
}

// MARK: The wire shape

private struct RawClusters: Decodable {
    var clusterStatuses: [RawCluster]

    enum CodingKeys: CodingKey { case clusterStatuses }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clusterStatuses = try boundedArray(container, .clusterStatuses, limit: EnvoyClusters.maxClusters)
    }
}

private struct RawCluster: Decodable {
    var name: String
    var hostStatuses: [RawHost]

    enum CodingKeys: CodingKey { case name, hostStatuses }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        hostStatuses = try boundedArray(container, .hostStatuses, limit: EnvoyClusters.maxHostsPerCluster)
    }
}

/// A repeated field: absent means empty (protobuf JSON omits empty lists); longer than `limit` is refused
/// before any element is decoded.
private func boundedArray<Key: CodingKey, Element: Decodable>(
    _ container: KeyedDecodingContainer<Key>, _ key: Key, limit: Int
) throws -> [Element] {
    guard container.contains(key), try !container.decodeNil(forKey: key) else { return [] }
    var items = try container.nestedUnkeyedContainer(forKey: key)
    if let count = items.count, count > limit {
        throw EnvoyClustersError.tooMany(path: EnvoyClusters.path(items.codingPath), count: count, limit: limit)
    }
    var result: [Element] = []
    for _ in 0..<limit {
        guard !items.isAtEnd else { return result }
        result.append(try items.decode(Element.self))
    }
    guard items.isAtEnd else {
        throw EnvoyClustersError.tooMany(path: EnvoyClusters.path(items.codingPath), count: limit + 1, limit: limit)
    }
    return result
}

/// A protobuf JSON integer: a number, or a decimal string (how uint64 is printed; parsers accept both).
private struct ProtoUInt32: Decodable {
    var value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let parsed: UInt64?
        if let number = try? container.decode(UInt64.self) {
            parsed = number
        } else {
            parsed = UInt64(try container.decode(String.self))
        }
        guard let parsed, parsed <= UInt64(UInt32.max) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an unsigned 32-bit integer")
        }
        value = Int(parsed)
    }
}

private struct RawHost: Decodable {
    struct SocketAddress: Decodable {
        var address: String?
        var portValue: ProtoUInt32?

        enum CodingKeys: CodingKey { case address, portValue }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            address = try container.decodeIfPresent(String.self, forKey: .address)
            portValue = try container.decodeIfPresent(ProtoUInt32.self, forKey: .portValue)
            if let port = portValue?.value, port > 65_535 {
                throw DecodingError.dataCorruptedError(forKey: .portValue, in: container, debugDescription: "port \(port) is above 65535")
            }
        }
    }
    struct Pipe: Decodable { var path: String? }
    struct InternalAddress: Decodable { var serverListenerName: String? }
    struct Address: Decodable {
        var socketAddress: SocketAddress?
        var pipe: Pipe?
        var envoyInternalAddress: InternalAddress?
    }
    /// An enum by name, or by number (protobuf JSON parsers accept both).
    struct EnumValue: Decodable {
        var name: String

        static let healthStatuses = ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                name = Self.healthStatuses.indices.contains(number) ? Self.healthStatuses[number] : String(number)
            } else {
                name = try container.decode(String.self)
            }
        }
    }
    struct HealthStatus: Decodable {
        var failedActiveHealthCheck: Bool?
        var failedOutlierCheck: Bool?
        var failedActiveDegradedCheck: Bool?
        var pendingDynamicRemoval: Bool?
        var pendingActiveHc: Bool?
        var excludedViaImmediateHcFail: Bool?
        var activeHcTimeout: Bool?
        var edsHealthStatus: EnumValue?
    }
    struct Locality: Decodable {
        var region: String?
        var zone: String?
        var subZone: String?
    }

    var address: Address?
    var healthStatus: HealthStatus?
    var weight: ProtoUInt32?
    var hostname: String?
    var priority: ProtoUInt32?
    var locality: Locality?

    var host: EnvoyHost {
        let (health, reasons) = Self.health(healthStatus)
        let socket = address?.socketAddress
        let name = socket?.address ?? address?.pipe?.path ?? address?.envoyInternalAddress?.serverListenerName ?? ""
        return EnvoyHost(
            address: name, port: socket.map { $0.portValue?.value ?? 0 }, health: health, healthReasons: reasons,
            weight: weight?.value ?? 0, locality: EnvoyLocality(region: locality?.region ?? "", zone: locality?.zone ?? "", subZone: locality?.subZone ?? ""),
            priority: priority?.value ?? 0, hostname: hostname.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Envoy's routing view: a failure flag or an unhealthy EDS status excludes the host; degraded and draining
    /// hosts are used only in their own ways.
    static func health(_ status: HealthStatus?) -> (EnvoyHostHealth, [String]) {
        guard let status else { return (.healthy, []) }
        let flags: [(String, Bool?)] = [
            ("failed_active_health_check", status.failedActiveHealthCheck), ("failed_outlier_check", status.failedOutlierCheck),
            ("active_hc_timeout", status.activeHcTimeout), ("excluded_via_immediate_hc_fail", status.excludedViaImmediateHcFail),
            ("pending_active_hc", status.pendingActiveHc), ("failed_active_degraded_check", status.failedActiveDegradedCheck),
            ("pending_dynamic_removal", status.pendingDynamicRemoval),
        ]
        var reasons = flags.filter { $0.1 == true }.map(\.0)
        let eds = status.edsHealthStatus?.name ?? "UNKNOWN"
        if eds != "HEALTHY" && eds != "UNKNOWN" { reasons.append("eds_health_status=\(eds)") }
        let failing = ["failed_active_health_check", "failed_outlier_check", "active_hc_timeout", "excluded_via_immediate_hc_fail", "pending_active_hc"]
        if reasons.contains(where: { failing.contains($0) }) || eds == "UNHEALTHY" || eds == "TIMEOUT" { return (.unhealthy, reasons) }
        if eds == "DRAINING" { return (.draining, reasons) }
        if eds == "DEGRADED" || status.failedActiveDegradedCheck == true { return (.degraded, reasons) }
        // An unknown EDS status name (a newer Envoy) is reported, but does not by itself exclude the host.
        return (.healthy, reasons)
    }
}
