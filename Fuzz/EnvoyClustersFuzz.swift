// libFuzzer target for the Envoy admin `/clusters?format=json` parser and the endpoint classifier
// (Sources/MeshCheck/EnvoyClusters.swift, see EnvoyClustersFuzz.sources and `make fuzz`). Every input is used
// two ways:
//  1. as a sidecar's answer: parsing never crashes; what parses stays within the bounds (cluster and host
//     counts, ports ≤ 65535, weights and priorities ≤ 2^32−1), a healthy host carries no failing flag, and
//     classification is local exactly for the local pod IPs and peer only on port 15443;
//  2. as the recipe for a well-formed answer in Envoy's shape (clusters, hosts, health flags, weights,
//     localities, priorities picked by the bytes): it always parses, to exactly the values written.

import Foundation

let classifier = EndpointClassifier(localPodIPs: ["10.0.0.1", "10.0.0.2"], peerGateways: ["cluster-2": ["192.0.2.1"], "cluster-3": ["192.0.2.2"]])

func checkArbitraryAnswer(_ bytes: [UInt8]) {
    guard let parsed = try? EnvoyClusters.parse(bytes) else { return }
    fuzzCheck(parsed.clusters.count <= EnvoyClusters.maxClusters, "more clusters than the limit")
    for cluster in parsed.clusters {
        fuzzCheck(cluster.hosts.count <= EnvoyClusters.maxHostsPerCluster, "more hosts than the limit")
        for host in cluster.hosts {
            fuzzCheck((0...65_535).contains(host.port ?? 0), "port out of range: \(host.port ?? -1)")
            fuzzCheck((0...Int(UInt32.max)).contains(host.weight), "weight out of range")
            fuzzCheck((0...Int(UInt32.max)).contains(host.priority), "priority out of range")
            let failing = ["failed_active_health_check", "failed_outlier_check", "active_hc_timeout", "excluded_via_immediate_hc_fail"]
            if host.health == .healthy {
                fuzzCheck(!host.healthReasons.contains(where: failing.contains), "a healthy host with a failing flag")
            }
            let origin = classifier.origin(address: host.address, port: host.port)
            fuzzCheck((origin.kind == .local) == classifier.localPodIPs.contains(host.address), "local classification")
            if origin.kind == .peer { fuzzCheck(host.port == 15443 && origin.cluster != nil, "peer off port 15443") }
        }
    }
}

func quoted(_ text: String) -> String {
    guard let data = try? JSONEncoder().encode(text) else { fuzzFailure("a string does not encode") }
    return String(decoding: data, as: UTF8.self)
}

func checkGeneratedAnswer(_ reader: inout ByteReader) {
    let statuses = ["HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"]
    var expected: [(name: String, hosts: [(address: String, port: Int, weight: Int, priority: Int, outlier: Bool, eds: String?, region: String)])] = []
    var clusterTexts: [String] = []
    for index in 0..<Int(reader.byte() % 4) {
        let name = "outbound|\(index)||" + reader.text()
        var hosts: [(address: String, port: Int, weight: Int, priority: Int, outlier: Bool, eds: String?, region: String)] = []
        var hostTexts: [String] = []
        for _ in 0..<Int(reader.byte() % 5) {
            let address = reader.byte() % 2 == 0 ? "10.0.0.\(reader.byte() % 4)" : "192.0.2.\(reader.byte() % 4)"
            let port = reader.byte() % 2 == 0 ? 15443 : Int(reader.uint32() % 65_536)
            let weight = Int(reader.uint32())
            let priority = Int(reader.byte() % 3)
            let outlier = reader.byte() % 3 == 0
            let statusByte = Int(reader.byte())
            let eds = statusByte < statuses.count ? statuses[statusByte] : nil
            let region = reader.text()
            hosts.append((address, port, weight, priority, outlier, eds, region))
            var health: [String] = []
            if outlier { health.append(#""failed_outlier_check": true"#) }
            if let eds { health.append(#""eds_health_status": "\#(eds)""#) }
            var fields = [
                #""address": {"socket_address": {"address": "\#(address)", "port_value": \#(port)}}"#,
                #""stats": [{"value": "3", "name": "rq_total"}, {"type": "GAUGE", "name": "cx_active"}]"#,
                #""health_status": {\#(health.joined(separator: ", "))}"#, #""weight": \#(weight)"#,
                #""locality": {"region": \#(quoted(region))}"#,
            ]
            if priority > 0 { fields.append(#""priority": \#(priority)"#) }
            hostTexts.append("{" + fields.joined(separator: ", ") + "}")
        }
        expected.append((name, hosts))
        clusterTexts.append(#"{"name": \#(quoted(name)), "added_via_api": true, "host_statuses": [\#(hostTexts.joined(separator: ", "))]}"#)
    }
    let text = #"{"cluster_statuses": [\#(clusterTexts.joined(separator: ", "))]}"#
    let parsed: EnvoyClusters
    do {
        parsed = try EnvoyClusters.parse(Array(text.utf8))
    } catch {
        fuzzFailure("a well-formed answer does not parse: \(error)")
    }
    fuzzCheck(parsed.clusters.count == expected.count, "cluster count changed")
    for (cluster, want) in zip(parsed.clusters, expected) {
        fuzzCheck(cluster.name == want.name && cluster.hosts.count == want.hosts.count, "cluster \(want.name) changed")
        for (host, want) in zip(cluster.hosts, want.hosts) {
            fuzzCheck(host.address == want.address && host.port == want.port, "address changed")
            fuzzCheck(host.weight == want.weight && host.priority == want.priority, "weight or priority changed")
            fuzzCheck(host.locality.region == want.region, "locality changed")
            let unhealthy = want.outlier || want.eds == "UNHEALTHY" || want.eds == "TIMEOUT"
            fuzzCheck((host.health == .unhealthy) == unhealthy, "health \(host.health) for outlier \(want.outlier) eds \(want.eds ?? "-")")
            fuzzCheck(host.healthReasons.contains("failed_outlier_check") == want.outlier, "outlier flag lost")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func envoyClustersFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkArbitraryAnswer(bytes)
    var reader = ByteReader(bytes: bytes)
    checkGeneratedAnswer(&reader)
    return 0
}
