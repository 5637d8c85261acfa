import Foundation
import Testing

@testable import MeshCheck

/// Envoy admin `/clusters?format=json` samples, written from Envoy's documented format: the message is
/// envoy.admin.v3.Clusters (api/envoy/admin/v3/clusters.proto), filled by ClustersHandler::writeClustersAsJson
/// (source/server/admin/clusters_handler.cc) and printed by MessageUtil::getJsonStringFromMessageOrError with
/// pretty printing (source/common/protobuf/utility.cc: proto field names kept, default values omitted, so
/// priority 0 and false flags do not appear; uint64 stat values are strings; enums by name). The endpoints are
/// what Istio's split-horizon EDS gives a sidecar in a multi-network mesh (pilot/pkg/xds/endpoints/ep_filters.go:
/// remote-network endpoints replaced by the peer's east-west gateway address and port, weighted by their count).
enum EnvoySamples {
    /// A cluster-1 Sleep pod's sidecar: two local HelloWorld pods, cluster-2's gateway standing for two pods,
    /// cluster-3's gateway for one, plus Istio's static clusters and a DestinationRule subset cluster.
    static let multiNetwork = #"""
        {
         "cluster_statuses": [
          {
           "name": "BlackHoleCluster",
           "circuit_breakers": {
            "thresholds": [
             {
              "max_connections": 1024,
              "max_pending_requests": 1024,
              "max_requests": 1024,
              "max_retries": 3
             },
             {
              "priority": "HIGH",
              "max_connections": 1024,
              "max_pending_requests": 1024,
              "max_requests": 1024,
              "max_retries": 3
             }
            ]
           },
           "observability_name": "BlackHoleCluster"
          },
          {
           "name": "xds-grpc",
           "host_statuses": [
            {
             "address": {
              "pipe": {
               "path": "./etc/istio/proxy/XDS"
              }
             },
             "stats": [
              {
               "value": "1",
               "name": "cx_total"
              },
              {
               "type": "GAUGE",
               "value": "1",
               "name": "cx_active"
              }
             ],
             "health_status": {
              "eds_health_status": "HEALTHY"
             },
             "weight": 1,
             "locality": {}
            }
           ],
           "observability_name": "xds-grpc"
          },
          {
           "name": "outbound|5000||helloworld.sample.svc.cluster.local",
           "added_via_api": true,
           "host_statuses": [
            {
             "address": {
              "socket_address": {
               "address": "10.0.0.12",
               "port_value": 5000
              }
             },
             "stats": [
              {
               "value": "41",
               "name": "cx_total"
              },
              {
               "value": "41",
               "name": "rq_success"
              },
              {
               "value": "41",
               "name": "rq_total"
              },
              {
               "type": "GAUGE",
               "name": "cx_active"
              }
             ],
             "health_status": {
              "eds_health_status": "HEALTHY"
             },
             "weight": 1,
             "locality": {
              "region": "us-central1",
              "zone": "us-central1-a"
             }
            },
            {
             "address": {
              "socket_address": {
               "address": "10.0.1.7",
               "port_value": 5000
              }
             },
             "health_status": {
              "eds_health_status": "HEALTHY"
             },
             "weight": 1,
             "locality": {
              "region": "us-central1",
              "zone": "us-central1-b"
             }
            },
            {
             "address": {
              "socket_address": {
               "address": "34.118.20.5",
               "port_value": 15443
              }
             },
             "health_status": {
              "eds_health_status": "HEALTHY"
             },
             "weight": 2,
             "locality": {
              "region": "europe-west1",
              "zone": "europe-west1-b"
             }
            },
            {
             "address": {
              "socket_address": {
               "address": "35.200.1.9",
               "port_value": 15443
              }
             },
             "health_status": {
              "eds_health_status": "HEALTHY"
             },
             "weight": 1,
             "locality": {
              "region": "asia-east1"
             },
             "priority": 1
            }
           ],
           "circuit_breakers": {
            "thresholds": [
             {
              "max_connections": 4294967295,
              "max_pending_requests": 4294967295,
              "max_requests": 4294967295,
              "max_retries": 4294967295
             },
             {
              "priority": "HIGH",
              "max_connections": 1024,
              "max_pending_requests": 1024,
              "max_requests": 1024,
              "max_retries": 3
             }
            ]
           },
           "observability_name": "outbound|5000||helloworld.sample.svc.cluster.local",
           "eds_service_name": "outbound|5000||helloworld.sample.svc.cluster.local"
          },
          {
           "name": "outbound|5000|v2|helloworld.sample.svc.cluster.local",
           "added_via_api": true,
           "observability_name": "outbound|5000|v2|helloworld.sample.svc.cluster.local",
           "eds_service_name": "outbound|5000|v2|helloworld.sample.svc.cluster.local"
          }
         ]
        }
        """#

    /// Outlier detection ejected a gateway endpoint (the DestinationRule's outlierDetection): Envoy keeps the
    /// host, sets `failed_outlier_check` and reports success rates; a draining local pod and an EDS-unhealthy one.
    static let outlierEjected = #"""
        {
         "cluster_statuses": [
          {
           "name": "outbound|5000||helloworld.sample.svc.cluster.local",
           "added_via_api": true,
           "success_rate_ejection_threshold": {
            "value": 51.2
           },
           "host_statuses": [
            {
             "address": {
              "socket_address": {
               "address": "34.118.20.5",
               "port_value": 15443
              }
             },
             "health_status": {
              "failed_outlier_check": true,
              "eds_health_status": "HEALTHY"
             },
             "success_rate": {
              "value": 12.5
             },
             "weight": 3,
             "locality": {}
            },
            {
             "address": {
              "socket_address": {
               "address": "10.0.0.12",
               "port_value": 5000
              }
             },
             "health_status": {
              "eds_health_status": "DRAINING"
             },
             "weight": 1,
             "locality": {}
            },
            {
             "address": {
              "socket_address": {
               "address": "10.0.0.13",
               "port_value": 5000
              }
             },
             "health_status": {
              "eds_health_status": "UNHEALTHY"
             },
             "weight": 1,
             "locality": {}
            }
           ],
           "observability_name": "outbound|5000||helloworld.sample.svc.cluster.local"
          }
         ]
        }
        """#
}

@Suite struct EnvoyClustersTests {
    let helloworld = EnvoyClusters.outboundClusterName(service: "helloworld", namespace: "sample", port: 5000)
    let classifier = EndpointClassifier(
        localPodIPs: ["10.0.0.12", "10.0.1.7"], peerGateways: ["cluster-2": ["34.118.20.5"], "cluster-3": ["35.200.1.9"]])

    private func parse(_ text: String) throws -> EnvoyClusters {
        try EnvoyClusters.parse(Array(text.utf8))
    }

    @Test func outboundClusterNameIsIstios() {
        #expect(helloworld == "outbound|5000||helloworld.sample.svc.cluster.local")
    }

    @Test func multiNetworkSampleListsEveryEndpoint() throws {
        let clusters = try parse(EnvoySamples.multiNetwork)
        #expect(clusters.clusters.map(\.name) == ["BlackHoleCluster", "xds-grpc", helloworld, "outbound|5000|v2|helloworld.sample.svc.cluster.local"])
        let hosts = try #require(clusters.cluster(named: helloworld)).hosts
        #expect(hosts.map(\.address) == ["10.0.0.12", "10.0.1.7", "34.118.20.5", "35.200.1.9"])
        #expect(hosts.map(\.port) == [5000, 5000, 15443, 15443])
        #expect(hosts.map(\.weight) == [1, 1, 2, 1])
        #expect(hosts.map(\.priority) == [0, 0, 0, 1])
        #expect(hosts.allSatisfy { $0.health == .healthy && $0.healthReasons.isEmpty })
        #expect(hosts[0].locality == EnvoyLocality(region: "us-central1", zone: "us-central1-a"))
        #expect(hosts[3].locality == EnvoyLocality(region: "asia-east1"))
        // A pipe host has a path and no port; a cluster without hosts omits host_statuses.
        #expect(clusters.cluster(named: "xds-grpc")?.hosts.first?.address == "./etc/istio/proxy/XDS")
        #expect(clusters.cluster(named: "xds-grpc")?.hosts.first?.port == nil)
        #expect(clusters.cluster(named: "BlackHoleCluster")?.hosts == [])
    }

    @Test func endpointsAreClassifiedAsLocalPodsOrPeerGateways() throws {
        let hosts = try #require(try parse(EnvoySamples.multiNetwork).cluster(named: helloworld)).hosts
        #expect(hosts.map { classifier.origin(address: $0.address, port: $0.port) } == [.local, .local, .peer("cluster-2"), .peer("cluster-3")])
        // A gateway address on another port, or an unknown address, is not a peer network.
        #expect(classifier.origin(address: "34.118.20.5", port: 443) == .unknown)
        #expect(classifier.origin(address: "10.9.9.9", port: 5000) == .unknown)
        #expect(classifier.origin(address: "./etc/istio/proxy/XDS", port: nil) == .unknown)
    }

    @Test func healthFlagsDecideWhetherEnvoyRoutesToAHost() throws {
        let hosts = try #require(try parse(EnvoySamples.outlierEjected).cluster(named: helloworld)).hosts
        #expect(hosts.map(\.health) == [.unhealthy, .draining, .unhealthy])
        #expect(hosts[0].healthReasons == ["failed_outlier_check"])
        #expect(hosts[1].healthReasons == ["eds_health_status=DRAINING"])
        #expect(hosts[2].healthReasons == ["eds_health_status=UNHEALTHY"])
        #expect(hosts[0].weight == 3)
    }

    /// Protobuf JSON parsers accept integers as strings and enums as numbers; so does this one.
    @Test func protobufJSONAlternativeSpellingsAreAccepted() throws {
        let text = #"""
            {"cluster_statuses":[{"name":"c","host_statuses":[{"address":{"socket_address":{"address":"10.0.0.1","port_value":"5000"}},
            "health_status":{"eds_health_status":5},"weight":"7","priority":"2"}]}]}
            """#
        let host = try #require(try parse(text).clusters.first?.hosts.first)
        #expect(host.port == 5000)
        #expect(host.weight == 7)
        #expect(host.priority == 2)
        #expect(host.health == .degraded)
    }

    @Test func emptyAndMinimalAnswersParse() throws {
        #expect(try parse("{}").clusters.isEmpty)
        #expect(try parse(#"{"cluster_statuses":[]}"#).clusters.isEmpty)
        #expect(try parse(#"{"cluster_statuses":[{"name":"a","host_statuses":[{}]}]}"#).clusters.first?.hosts.first?.address == "")
    }

    @Test(arguments: [
        ("", ""),
        ("upstream connect error", ""),
        ("[]", ""),
        (#"{"cluster_statuses":{}}"#, "cluster_statuses"),
        (#"{"cluster_statuses":[{"host_statuses":[]}]}"#, "cluster_statuses[0].name"),
        (#"{"cluster_statuses":[{"name":7}]}"#, "cluster_statuses[0].name"),
        (#"{"cluster_statuses":[{"name":"a","host_statuses":[{"weight":-1}]}]}"#, "cluster_statuses[0].host_statuses[0].weight"),
        (#"{"cluster_statuses":[{"name":"a","host_statuses":[{"weight":4294967296}]}]}"#, "cluster_statuses[0].host_statuses[0].weight"),
        (
            #"{"cluster_statuses":[{"name":"a","host_statuses":[{"address":{"socket_address":{"port_value":"x"}}}]}]}"#,
            "cluster_statuses[0].host_statuses[0].address.socket_address.port_value"
        ),
        (
            #"{"cluster_statuses":[{"name":"a","host_statuses":[{"health_status":{"failed_outlier_check":"yes"}}]}]}"#,
            "cluster_statuses[0].host_statuses[0].health_status.failed_outlier_check"
        ),
    ])
    func malformedAnswersAreTypedErrorsWithTheirPlace(text: String, path: String) {
        let error = #expect(throws: EnvoyClustersError.self) { try EnvoyClusters.parse(Array(text.utf8)) }
        guard case .malformed(let found, _) = error else {
            Issue.record("not malformed: \(String(describing: error))")
            return
        }
        #expect(found == path)
    }

    @Test func portValuesBeyondSixteenBitsAreRefused() {
        let text = #"{"cluster_statuses":[{"name":"a","host_statuses":[{"address":{"socket_address":{"address":"x","port_value":70000}}}]}]}"#
        #expect(throws: EnvoyClustersError.self) { try EnvoyClusters.parse(Array(text.utf8)) }
    }

    @Test func sizeAndCountsAreBounded() {
        let huge = [UInt8](repeating: UInt8(ascii: " "), count: EnvoyClusters.maxBytes + 1)
        #expect(throws: EnvoyClustersError.tooLarge(bytes: EnvoyClusters.maxBytes + 1, limit: EnvoyClusters.maxBytes)) {
            try EnvoyClusters.parse(huge)
        }
        let hosts = Array(repeating: "{}", count: EnvoyClusters.maxHostsPerCluster + 1).joined(separator: ",")
        let many = #"{"cluster_statuses":[{"name":"a","host_statuses":["# + hosts + "]}]}"
        let error = #expect(throws: EnvoyClustersError.self) { try EnvoyClusters.parse(Array(many.utf8)) }
        guard case .tooMany(let path, _, let limit) = error else {
            Issue.record("not tooMany: \(String(describing: error))")
            return
        }
        #expect(path == "cluster_statuses[0].host_statuses" && limit == EnvoyClusters.maxHostsPerCluster)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let depth = 100_000
        let text = #"{"cluster_statuses":[{"name":"a","x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}]}"
        #expect(throws: EnvoyClustersError.self) { try EnvoyClusters.parse(Array(text.utf8)) }
    }

    @Test func aReadingClassifiesTheHelloWorldCluster() {
        let reading = SidecarEndpointsReading.from(
            answer: Array(EnvoySamples.multiNetwork.utf8), source: "cluster-1", pod: "sleep-1", phase: .afterBursts,
            envoyCluster: helloworld, classifier: classifier)
        #expect(reading.visible && reading.clusterPresent)
        #expect(reading.endpoints.map(\.origin) == [.local, .local, .peer, .peer])
        #expect(reading.endpoints.map(\.peer) == [nil, nil, "cluster-2", "cluster-3"])
        #expect(reading.endpoints.map(\.weight) == [1, 1, 2, 1])
        #expect(reading.summary == "visible")
    }

    @Test func aSidecarWithoutTheClusterIsVisibleAndEmpty() {
        let reading = SidecarEndpointsReading.from(
            answer: Array(#"{"cluster_statuses":[{"name":"BlackHoleCluster"}]}"#.utf8), source: "cluster-1", pod: "sleep-1",
            phase: .afterConverge, envoyCluster: helloworld, classifier: classifier)
        #expect(reading.visible && !reading.clusterPresent && reading.endpoints.isEmpty)
    }

    @Test func anUnreadableAnswerIsNotVisibleWithItsReason() {
        let reading = SidecarEndpointsReading.from(
            answer: Array("no healthy upstream".utf8), source: "cluster-1", pod: "sleep-1", phase: .afterConverge,
            envoyCluster: helloworld, classifier: classifier)
        #expect(!reading.visible)
        #expect(reading.summary.hasPrefix("not visible: not Envoy's /clusters JSON"))
    }

    @Test func curlFailuresAreNamed() {
        #expect(SidecarView.failure(exitCode: 7, stderr: "curl: (7) Failed to connect\n").hasPrefix("nothing answers on localhost:15000"))
        #expect(SidecarView.failure(exitCode: 28, stderr: "").contains("did not answer"))
        #expect(SidecarView.failure(exitCode: 3, stderr: "") == "curl exited with 3")
    }

    /// The in-pod command is a constant: no shell, and the admin URL is the only network argument.
    @Test func theExecArgvIsAConstantWithoutAShell() {
        #expect(SidecarView.command.first == "curl")
        #expect(!SidecarView.command.contains("sh") && !SidecarView.command.contains("-c"))
        #expect(!SidecarView.command.contains { $0.contains("noproxy") })
        #expect(SidecarView.command.last == "http://localhost:15000/clusters?format=json")
    }

    @Test func readingsRoundTripThroughJSON() throws {
        let reading = SidecarEndpointsReading.from(
            answer: Array(EnvoySamples.outlierEjected.utf8), source: "cluster-1", pod: "sleep-1", phase: .afterBursts,
            envoyCluster: helloworld, classifier: classifier)
        let data = try JSONEncoder().encode(reading)
        #expect(try JSONDecoder().decode(SidecarEndpointsReading.self, from: data) == reading)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""phase":"afterBursts""#) && text.contains(#""origin":"peer""#))
    }
}
