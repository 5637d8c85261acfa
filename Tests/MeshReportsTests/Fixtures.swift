import MeshCheck

/// Two hand-written reports: the smoke scenario passing, and a three-cluster run where cluster-3 is
/// cut off from the mesh, with every kind of entry the renderers handle.
enum Fixtures {
    static func passingSmoke() throws -> RunReport {
        let scenario = try Scenario.guideCheck(contexts: ["gke_meshcheck-sim_us-central1-a_cluster-1", "gke_meshcheck-sim_us-central1-a_cluster-2"])
        func share(_ target: String, _ observed: Int, _ low: Double, _ high: Double) -> ShareDetail {
            ShareDetail(target: target, observed: observed, share: Double(observed) / 20, interval: WilsonInterval(low: low, high: high), expectedShare: 0.5)
        }
        return RunReport(
            runId: "20261123-112000-ab12cd", verdict: .pass, startedAt: "2026-11-23T11:20:00Z", durationSeconds: 14.25,
            namespace: "meshcheck-ab12cd", revision: "default",
            clusters: [
                ClusterEntry(name: "cluster-1", context: "gke_meshcheck-sim_us-central1-a_cluster-1", serves: "v1", clients: true, readyEndpoints: 1),
                ClusterEntry(name: "cluster-2", context: "gke_meshcheck-sim_us-central1-a_cluster-2", serves: "v2", clients: true, readyEndpoints: 1),
            ],
            checks: [
                // Preflight rows lead; the topology row names the mesh's detected shape.
                CheckResult(name: "topology", status: .pass, message: "all clusters: multi-primary (+2 more passing)"),
                CheckResult(name: "sidecar-injection", status: .pass, message: "all 4 workload pods run an istio-proxy sidecar"),
                CheckResult(
                    name: "reachability", source: "cluster-1", status: .pass,
                    message: "20 of 20 requests to helloworld.meshcheck-ab12cd:5000 were answered by HelloWorld"),
                CheckResult(name: "error-rate", source: "cluster-1", status: .pass, message: "0 of 20 requests failed (0 %, allowed 0 %)"),
                CheckResult(
                    name: "all-clusters-reached", source: "cluster-1", status: .pass,
                    message: "reached every expected cluster (cluster-1, cluster-2) in 20 answers"),
                CheckResult(
                    name: "balance", source: "cluster-1", status: .pass,
                    message: "split 55/45 over cluster-1/cluster-2 is consistent with the expected 50/50 (chi-square p = 0.65 ≥ α 0.001, n = 20)",
                    balance: BalanceDetails(
                        expectation: "proportional-to-endpoints", requests: 20, test: "chi-square", statistic: 0.2,
                        degreesOfFreedom: 1, pValue: 0.6547, significance: 0.001,
                        shares: [share("cluster-1", 11, 0.3421, 0.7418), share("cluster-2", 9, 0.2582, 0.6579)],
                        power: "with 20 requests, a 60/40 skew (expected 50/50) would be detected with power 0.01; 517 requests give power 0.9 at α 0.001")),
                CheckResult(
                    name: "balance-instances", source: "cluster-1", status: .skip,
                    message: "every serving cluster runs one HelloWorld pod, so there is no split within a cluster to judge (replicas.helloworld ≥ 2 makes one)"
                ),
                CheckResult(
                    name: "reachability", source: "cluster-2", status: .pass,
                    message: "20 of 20 requests to helloworld.meshcheck-ab12cd:5000 were answered by HelloWorld"),
                CheckResult(name: "error-rate", source: "cluster-2", status: .pass, message: "0 of 20 requests failed (0 %, allowed 0 %)"),
                CheckResult(
                    name: "all-clusters-reached", source: "cluster-2", status: .pass,
                    message: "reached every expected cluster (cluster-1, cluster-2) in 20 answers"),
                CheckResult(
                    name: "balance", source: "cluster-2", status: .pass,
                    message: "split 50/50 over cluster-1/cluster-2 is consistent with the expected 50/50 (chi-square p = 1.00 ≥ α 0.001, n = 20)"),
                CheckResult(
                    name: "balance-instances", source: "cluster-2", status: .skip,
                    message: "every serving cluster runs one HelloWorld pod, so there is no split within a cluster to judge (replicas.helloworld ≥ 2 makes one)"
                ),
            ],
            traffic: [
                TrafficRow(
                    source: "cluster-1", target: "cluster-1", requests: 11, errors: 0, share: 0.55, shareInterval: WilsonInterval(low: 0.3421, high: 0.7418),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 3.2, p90: 5.8, p99: 9.75, max: 10.1)),
                TrafficRow(
                    source: "cluster-1", target: "cluster-2", requests: 9, errors: 0, share: 0.45, shareInterval: WilsonInterval(low: 0.2582, high: 0.6579),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 25.4, p90: 31, p99: 48.25, max: 50)),
                TrafficRow(
                    source: "cluster-2", target: "cluster-1", requests: 10, errors: 0, share: 0.5, shareInterval: WilsonInterval(low: 0.2993, high: 0.7007),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 26, p90: 30.5, p99: 41, max: 41)),
                TrafficRow(
                    source: "cluster-2", target: "cluster-2", requests: 10, errors: 0, share: 0.5, shareInterval: WilsonInterval(low: 0.2993, high: 0.7007),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 2.9, p90: 4.1, p99: 6, max: 6)),
            ],
            sources: [
                SourceSummary(
                    source: "cluster-1", requests: 20, succeeded: 20, errors: 0, errorsByKind: [:], missingRecords: 0, malformedLines: 0, lateStarts: nil),
                SourceSummary(
                    source: "cluster-2", requests: 20, succeeded: 20, errors: 0, errorsByKind: [:], missingRecords: 0, malformedLines: 0, lateStarts: nil),
            ],
            phases: [
                PhaseTiming(name: "validate", seconds: 0.004), PhaseTiming(name: "connect", seconds: 0.31), PhaseTiming(name: "deploy", seconds: 6.5),
                PhaseTiming(name: "converge", seconds: 1.2), PhaseTiming(name: "bursts", seconds: 1.75), PhaseTiming(name: "cleanup", seconds: 4.49),
            ],
            convergeSeconds: 1.2, retries: [], exec: ExecStats(sessions: 2, failed: 0, roundTripMs: LatencySummary(p50: 420, p90: 510, p99: 515, max: 515)),
            cleanup: CleanupReport(status: .done, leftovers: []), scenario: ScenarioEcho(scenario),
            layers: [
                greenPair("cluster-1", "cluster-1", answers: 11), greenPair("cluster-1", "cluster-2", answers: 9),
                greenPair("cluster-2", "cluster-1", answers: 10), greenPair("cluster-2", "cluster-2", answers: 10),
            ],
            instances: [
                onePod("cluster-1", "cluster-1", "helloworld-v1-5c7b9-x2kq", "v1", 11), onePod("cluster-1", "cluster-2", "helloworld-v2-7d4f8-m9zt", "v2", 9),
                onePod("cluster-2", "cluster-1", "helloworld-v1-5c7b9-x2kq", "v1", 10), onePod("cluster-2", "cluster-2", "helloworld-v2-7d4f8-m9zt", "v2", 10),
            ])
    }

    /// A cluster's only pod answered all of its answers to the source: nothing to judge within the cluster.
    static func onePod(_ source: String, _ target: String, _ pod: String, _ version: String, _ answers: Int) -> InstanceSplit {
        InstanceSplit(
            source: source, target: target, requests: answers, status: .skip, test: "none",
            instances: [
                InstanceShare(instance: pod, version: version, observed: answers, share: 1, interval: WilsonInterval(low: 0.8389, high: 1), expectedShare: 1)
            ])
    }

    /// A pair whose every layer passed (a cluster needs no secret or sync for itself).
    static func greenPair(_ source: String, _ target: String, answers: Int) -> PairLayers {
        let own = source == target
        let controlPlane: [PairLayerResult] =
            own
            ? [
                PairLayerResult(layer: .secret, status: .notApplicable, evidence: "\(target) is the control plane's own cluster"),
                PairLayerResult(layer: .sync, status: .notApplicable, evidence: "\(target) is the control plane's own cluster"),
            ]
            : [
                PairLayerResult(layer: .secret, status: .pass, evidence: "\(source): istio-remote-secret-\(target) points at \(target)'s API server"),
                PairLayerResult(layer: .sync, status: .pass, evidence: "istiod-7d9c in \(source): \(target) synced"),
            ]
        return PairLayers(
            source: source, target: target,
            layers: controlPlane + [
                PairLayerResult(
                    layer: .endpoints, status: .pass,
                    evidence: "sleep-\(source)-x's sidecar holds 1 healthy endpoint(s) for \(target): \(own ? "10.1.0.7:5000" : "192.0.2.12:15443") (weight 1)"),
                PairLayerResult(layer: .traffic, status: .pass, evidence: "\(answers) of 20 answers from \(source) came from \(target)"),
            ], endpointCounts: PairEndpointCounts(healthy: 1, unhealthy: 0))
    }

    static func failingThreeClusters() throws -> RunReport {
        let scenario = try Scenario.guideCheck(contexts: ["ctx-east", "ctx-west", "ctx-edge"])
        let cut =
            "cluster-3's sidecars have no endpoints in the missing cluster(s): typically a missing remote secret, an east-west gateway without an address, a root CA that differs between clusters, or endpoints not yet propagated"
        return RunReport(
            runId: "20261123-113000-0f0f0f", verdict: .fail, startedAt: "2026-11-23T11:30:00Z", durationSeconds: 185.5,
            namespace: "meshcheck-0f0f0f", revision: "asm-managed",
            clusters: [
                ClusterEntry(name: "ctx-east", context: "ctx-east", serves: "v1", clients: true, readyEndpoints: 1),
                ClusterEntry(name: "ctx-west", context: "ctx-west", serves: "v2", clients: true, readyEndpoints: 2),
                ClusterEntry(name: "ctx-edge", context: "ctx-edge", serves: "v3", clients: true, readyEndpoints: 0),
            ],
            checks: [
                CheckResult(
                    name: "sidecar-injection", status: .fail, message: "1 of 6 workload pods have no istio-proxy sidecar: ctx-edge/helloworld-v3-5d8f",
                    cause: "sidecar injection did not happen in ctx-edge",
                    hint: "compare `kubectl get namespace meshcheck-0f0f0f --show-labels` with the revision"),
                CheckResult(name: "reachability", source: "ctx-east", status: .pass, message: "98 of 100 requests were answered"),
                CheckResult(
                    name: "error-rate", source: "ctx-east", status: .fail, message: "2 of 100 requests failed (2 %, allowed 0 %): curl-28 ×2",
                    cause: "requests timed out (curl exit 28)", hint: "raise load.requestTimeout if the backend is just slow"),
                CheckResult(name: "balance", source: "ctx-east", status: .warn, message: "split <50|50> & \"quoted\""),
                CheckResult(
                    name: "balance-instances", source: "ctx-east", status: .fail,
                    message:
                        "ctx-west's answers to ctx-east came from 1 of 2 pods (helloworld-v2-7c9-a: 100 %, chi-square p = 4.2e-12 < α 0.001, n = 48); ctx-east has one pod",
                    cause:
                        "helloworld-v2-7c9-b (ctx-west) answered none of ctx-east's requests: requests are pinned to a connection or a pod is not receiving traffic",
                    hint:
                        "check the sidecar's load-balancing policy (a DestinationRule with consistentHash, or connection pinning) and that every HelloWorld pod is Ready"
                ),
                CheckResult(
                    name: "latency-slo", source: "ctx-east", target: "ctx-west", status: .fail,
                    message: "cross-cluster ctx-east → ctx-west: p99 812.0 ms > 500 ms (n = 49)",
                    cause: "cross-cluster requests are slow", hint: "compare with the other pairs"),
                CheckResult(
                    name: "all-clusters-reached", source: "ctx-edge", status: .fail,
                    message: "ctx-east, ctx-west never answered ctx-edge's 0 successful requests",
                    cause: cut, hint: "run `meshcheck preflight`"),
                CheckResult(name: "balance", source: "ctx-edge", status: .skip, message: "no successful requests from ctx-edge to judge"),
                CheckResult(name: "balance-instances", source: "ctx-edge", status: .skip, message: "nothing to judge per pod: ctx-east gave no answers"),
            ],
            traffic: [
                TrafficRow(
                    source: "ctx-east", target: "ctx-east", requests: 50, errors: 1, share: 0.5052, shareInterval: WilsonInterval(low: 0.4074, high: 0.6025),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 3, p90: 4, p99: 7.5, max: 9)),
                TrafficRow(
                    source: "ctx-east", target: "ctx-west", requests: 49, errors: 1, share: 0.4948, shareInterval: WilsonInterval(low: 0.3975, high: 0.5926),
                    expectedShare: 0.5, latencyMs: LatencySummary(p50: 420, p90: 700, p99: 812, max: 930)),
                TrafficRow(
                    source: "ctx-edge", target: "ctx-east", requests: 0, errors: 0, share: 0, shareInterval: WilsonInterval(low: 0, high: 1),
                    expectedShare: nil, latencyMs: nil),
            ],
            sources: [
                SourceSummary(
                    source: "ctx-east", requests: 100, succeeded: 97, errors: 3, errorsByKind: ["curl-28": 2, "http-503": 1], missingRecords: 0,
                    malformedLines: 1, lateStarts: 4),
                SourceSummary(
                    source: "ctx-edge", requests: 20, succeeded: 0, errors: 20, errorsByKind: ["curl-7": 20], missingRecords: 5,
                    malformedLines: 0, lateStarts: nil),
            ],
            phases: [PhaseTiming(name: "deploy", seconds: 62), PhaseTiming(name: "converge", seconds: 120), PhaseTiming(name: "cleanup", seconds: 3.5)],
            convergeSeconds: nil, retries: [RetryCount(operation: "api-429", count: 3)], exec: ExecStats(sessions: 3, failed: 1, roundTripMs: nil),
            cleanup: CleanupReport(
                status: .failed,
                leftovers: [
                    Leftover(
                        cluster: "ctx-edge", kind: "Namespace", name: "meshcheck-0f0f0f", namespace: nil,
                        reason: "still Terminating after 5m (finalizer kubernetes)")
                ]),
            scenario: ScenarioEcho(scenario),
            layers: [
                greenPair("ctx-east", "ctx-east", answers: 49),
                PairLayers(
                    source: "ctx-east", target: "ctx-west",
                    layers: [
                        PairLayerResult(layer: .secret, status: .pass, evidence: "ctx-east: istio-remote-secret-ctx-west points at ctx-west's API server"),
                        PairLayerResult(layer: .sync, status: .notVisible, evidence: "ctx-east: forbidden: needs `get pods/proxy in istio-system`"),
                        PairLayerResult(
                            layer: .endpoints, status: .fail,
                            evidence: "sleep-x's sidecar holds 1 endpoint(s) for ctx-west, none healthy: 192.0.2.12:15443 (failed_outlier_check, weight 2)",
                            hint: "outlier detection ejected them: check ctx-west's east-west gateway reachability on port 15443"),
                        PairLayerResult(layer: .traffic, status: .pass, evidence: "48 of 97 answers from ctx-east came from ctx-west"),
                    ], endpointCounts: PairEndpointCounts(healthy: 0, unhealthy: 1)),
                PairLayers(
                    source: "ctx-edge", target: "ctx-east",
                    layers: [
                        PairLayerResult(
                            layer: .secret, status: .fail, evidence: "ctx-edge: no remote secret for ctx-east",
                            hint: "create it with istioctl create-remote-secret"),
                        PairLayerResult(layer: .sync, status: .fail, evidence: "istiod-1 in ctx-edge does not watch ctx-east (its clusterz lists ctx-edge)"),
                        PairLayerResult(layer: .endpoints, status: .notVisible, evidence: "sleep-y: exec failed"),
                        PairLayerResult(layer: .traffic, status: .fail, evidence: "none of 0 answers from ctx-edge came from ctx-east"),
                    ]),
            ],
            instances: [
                onePod("ctx-east", "ctx-east", "helloworld-v1-6b5-a", "v1", 49),
                InstanceSplit(
                    source: "ctx-east", target: "ctx-west", requests: 48, status: .fail, test: "chi-square", statistic: 48, degreesOfFreedom: 1,
                    pValue: 4.2e-12, significance: 0.001,
                    instances: [
                        InstanceShare(
                            instance: "helloworld-v2-7c9-a", version: "v2", observed: 48, share: 1, interval: WilsonInterval(low: 0.9259, high: 1),
                            expectedShare: 0.5),
                        InstanceShare(
                            instance: "helloworld-v2-7c9-b", version: "v2", observed: 0, share: 0, interval: WilsonInterval(low: 0, high: 0.0741),
                            expectedShare: 0.5),
                    ]),
                InstanceSplit(
                    source: "ctx-edge", target: "ctx-east", requests: 0, status: .skip, test: "none",
                    instances: [
                        InstanceShare(
                            instance: "helloworld-v1-6b5-a", version: "v1", observed: 0, share: 0, interval: WilsonInterval(low: 0, high: 1), expectedShare: 1)
                    ]),
            ])
    }
}
