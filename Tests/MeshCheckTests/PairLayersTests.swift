import Testing

@testable import MeshCheck

/// The pair × layer judge: each way a cross-cluster pair breaks names its first broken layer, with the evidence of
/// the layers before it green, and a layer meshcheck cannot see never counts as broken.
@Suite struct PairLayersTests {
    static let clusters = ["cluster-1", "cluster-2"]

    static func secretFindings(_ status: PreflightStatus = .pass) -> [PreflightFinding] {
        [
            PreflightFinding(
                check: PreflightCheckName.remoteSecret, cluster: "cluster-1", peer: "cluster-2", status: status,
                evidence: status == .pass ? "istio-remote-secret-cluster-2 points at cluster-2's API server" : "no remote secret for cluster-2",
                hint: status == .pass ? nil : "recreate it"),
            PreflightFinding(
                check: PreflightCheckName.remoteSecret, cluster: "cluster-2", peer: "cluster-1", status: .pass,
                evidence: "istio-remote-secret-cluster-1 points at cluster-1's API server"),
        ]
    }

    static func synced(_ peers: [String: Bool] = ["cluster-1": true, "cluster-2": true]) -> [String: ControlPlaneView] {
        var views: [String: ControlPlaneView] = [:]
        for cluster in clusters {
            let watched = peers.keys.sorted().map { peer in
                RemoteClusterStatus(
                    id: peer, secretName: peer == cluster ? "" : "istio-system/istio-remote-secret-\(peer)", syncStatus: peers[peer]! ? "synced" : "timeout")
            }
            views[cluster] = .clusters(pod: "istiod-7d9c", watched)
        }
        return views
    }

    static func endpoint(_ cluster: String?, healthy: Bool = true, gateway: Bool = false) -> SidecarEndpoint {
        let host = EnvoyHost(
            address: gateway ? "192.0.2.12" : "10.1.0.7", port: gateway ? 15443 : 5000, health: healthy ? .healthy : .unhealthy,
            healthReasons: healthy ? [] : ["failed_outlier_check"], weight: gateway ? 2 : 1, locality: EnvoyLocality(), priority: 0, hostname: nil)
        return SidecarEndpoint(host, origin: gateway ? .peer(cluster ?? "?") : (cluster == nil ? .unknown : .local))
    }

    static func reading(_ source: String, _ endpoints: [SidecarEndpoint]) -> [SidecarEndpointsReading] {
        [
            SidecarEndpointsReading(
                source: source, pod: "sleep-\(source)-x", phase: .afterBursts,
                envoyCluster: "outbound|5000||helloworld.meshcheck-abc.svc.cluster.local", visible: true, clusterPresent: true, endpoints: endpoints)
        ]
    }

    static func sidecars(_ toTarget: [SidecarEndpoint]) -> [String: [SidecarEndpointsReading]] {
        [
            "cluster-1": reading("cluster-1", [endpoint("cluster-1")] + toTarget),
            "cluster-2": reading("cluster-2", [endpoint("cluster-2"), endpoint("cluster-1", gateway: true)]),
        ]
    }

    static func input(
        findings: [PreflightFinding] = secretFindings(), sync: [String: ControlPlaneView] = synced(),
        sidecars: [String: [SidecarEndpointsReading]] = sidecars([endpoint("cluster-2", gateway: true)]),
        answers: [String: [String: Int]]? = ["cluster-1": ["cluster-1": 10, "cluster-2": 10]]
    ) -> PairLayerJudge.Input {
        PairLayerJudge.Input(
            findings: findings, sync: sync, sidecars: sidecars, answers: answers,
            mustReach: ["cluster-1": ["cluster-1", "cluster-2"], "cluster-2": ["cluster-1", "cluster-2"]], namespace: "meshcheck-abc")
    }

    static func crossPair(_ input: PairLayerJudge.Input) -> PairLayers {
        PairLayerJudge.pair(input, source: "cluster-1", target: "cluster-2")
    }

    static func statuses(_ pair: PairLayers) -> [PairLayerStatus] { pair.layers.map(\.status) }

    @Test func healthyPairIsGreenOnEveryLayer() {
        let pair = Self.crossPair(Self.input())
        #expect(Self.statuses(pair) == [.pass, .pass, .pass, .pass])
        #expect(pair.firstBroken == nil)
        #expect(pair.result(.endpoints)?.evidence == "sleep-cluster-1-x's sidecar holds 1 healthy endpoint(s) for cluster-2: 192.0.2.12:15443 (weight 2)")
        #expect(pair.result(.traffic)?.evidence == "10 of 20 answers from cluster-1 came from cluster-2")
        let local = PairLayerJudge.pair(Self.input(), source: "cluster-1", target: "cluster-1")
        #expect(Self.statuses(local) == [.notApplicable, .notApplicable, .pass, .pass])
    }

    @Test func missingSecretIsTheFirstBrokenLayer() {
        let pair = Self.crossPair(
            Self.input(
                findings: Self.secretFindings(.fail), sync: Self.synced(["cluster-1": true]), sidecars: Self.sidecars([]),
                answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(pair.firstBroken == .secret)
        #expect(pair.cause?.hint == "recreate it")
        #expect(Self.statuses(pair) == [.fail, .fail, .fail, .fail])
    }

    @Test func unreachablePeerBreaksSyncWithTheSecretGreen() {
        let pair = Self.crossPair(
            Self.input(sync: Self.synced(["cluster-1": true, "cluster-2": false]), sidecars: Self.sidecars([]), answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(pair.firstBroken == .sync)
        #expect(pair.result(.secret)?.status == .pass)
        #expect(pair.cause?.evidence == "istiod-7d9c in cluster-1: cluster-2 timeout from istio-system/istio-remote-secret-cluster-2, not synced")
        #expect(pair.cause?.hint?.contains("private-cluster authorized networks or firewalls") == true)
    }

    @Test func gatewayScaledToZeroBreaksEndpointsWithSyncGreen() {
        let pair = Self.crossPair(Self.input(sidecars: Self.sidecars([]), answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(pair.firstBroken == .endpoints)
        #expect(Self.statuses(pair) == [.pass, .pass, .fail, .fail])
        #expect(
            pair.cause?.evidence
                == "sleep-cluster-1-x's sidecar holds no endpoint for cluster-2 (1 endpoint(s) in outbound|5000||helloworld.meshcheck-abc.svc.cluster.local)")
        #expect(pair.cause?.hint?.contains("cluster-2's east-west gateway") == true)
    }

    @Test func unhealthyEndpointsAreNamedWithTheirHealth() {
        let pair = Self.crossPair(
            Self.input(sidecars: Self.sidecars([Self.endpoint("cluster-2", healthy: false, gateway: true)]), answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(pair.firstBroken == .endpoints)
        #expect(
            pair.cause?.evidence
                == "sleep-cluster-1-x's sidecar holds 1 endpoint(s) for cluster-2, none healthy: 192.0.2.12:15443 (failed_outlier_check, weight 2)")
        #expect(pair.cause?.hint?.contains("east-west gateway reachability on port 15443") == true)
    }

    @Test func healthyEndpointsThatNeverAnswerPointAtTheDataPath() {
        let pair = Self.crossPair(Self.input(answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(pair.firstBroken == .traffic)
        #expect(pair.cause?.evidence == "none of 20 answers from cluster-1 came from cluster-2")
        #expect(pair.cause?.hint?.contains("data path between the gateways") == true)
        #expect(pair.explainingCause?.layer == .traffic, "healthy endpoints that never answered point at the data path")
    }

    @Test func layersThatCannotBeSeenAreNotBroken() {
        let forbidden: [String: ControlPlaneView] = [
            "cluster-1": .notVisible("forbidden: get pods/proxy in istio-system"), "cluster-2": .notVisible("forbidden"),
        ]
        let pair = Self.crossPair(Self.input(sync: forbidden))
        #expect(Self.statuses(pair) == [.pass, .notVisible, .pass, .pass])
        #expect(pair.firstBroken == nil)
        #expect(pair.result(.sync)?.evidence == "cluster-1: forbidden: get pods/proxy in istio-system")

        let blind = Self.crossPair(Self.input(sync: [:], sidecars: [:], answers: ["cluster-1": ["cluster-1": 20]]))
        #expect(Self.statuses(blind) == [.pass, .notVisible, .notVisible, .fail])
        #expect(blind.cause?.hint?.contains("grant the reads marked not visible") == true)
        #expect(blind.explainingCause == nil, "missing answers with the layers before them unseen say nothing a check does not")
    }

    /// A remote's sidecars are configured by its primary: the primary's secret and sync decide, and the remote's own
    /// cluster needs them too.
    @Test func remoteSourceIsJudgedByItsPrimarysControlPlane() {
        var findings = Self.secretFindings()
        findings.append(
            PreflightFinding(check: PreflightCheckName.topology, cluster: "cluster-2", peer: "cluster-1", status: .pass, evidence: "remote of cluster-1"))
        let input = Self.input(
            findings: findings,
            sync: [
                "cluster-1": .clusters(
                    pod: "istiod-7d9c",
                    [
                        RemoteClusterStatus(id: "cluster-1", secretName: "", syncStatus: "synced"),
                        RemoteClusterStatus(id: "cluster-2", secretName: "istio-system/istio-remote-secret-cluster-2", syncStatus: "timeout"),
                    ])
            ])
        let remoteToItself = PairLayerJudge.pair(input, source: "cluster-2", target: "cluster-2")
        #expect(remoteToItself.result(.secret)?.evidence == "cluster-1: istio-remote-secret-cluster-2 points at cluster-2's API server")
        #expect(remoteToItself.firstBroken == .sync)
        let remoteToPrimary = PairLayerJudge.pair(input, source: "cluster-2", target: "cluster-1")
        #expect(remoteToPrimary.result(.secret)?.status == .notApplicable)
    }

    @Test func connectedDiscoveryNeedsNoSecretAndPreflightHasNoAnswersLayer() {
        let connected = [
            PreflightFinding(
                check: PreflightCheckName.remoteSecret, cluster: "cluster-1", status: .pass,
                evidence: "asm-options multicluster_mode=connected: no remote secrets needed")
        ]
        let pair = Self.crossPair(Self.input(findings: connected, answers: nil))
        #expect(pair.layers.map(\.layer) == [.secret, .sync], "preflight deploys nothing: no sidecar, no answers")
        #expect(pair.result(.secret)?.status == .pass)
        let cannotList = [
            PreflightFinding(check: PreflightCheckName.remoteSecret, cluster: "cluster-1", status: .fail, evidence: "cannot list remote secrets")
        ]
        #expect(Self.crossPair(Self.input(findings: cannotList)).result(.secret)?.status == .notVisible)
    }

    /// `meshcheck preflight` lists the control plane layers of every pair between different clusters, and its
    /// checklist adds the matrix only when one of them is broken.
    @Test func preflightShowsTheControlPlaneLayersPerPair() {
        let clusters = Self.clusters.map { PreflightReport.Cluster(name: $0, context: $0, server: "https://127.0.0.1:1", version: "v1.31") }
        let healthy = PreflightReport(clusters: clusters, findings: Self.secretFindings(), controlPlaneViews: Self.synced())
        #expect(healthy.layers.map { "\($0.source)→\($0.target)" } == ["cluster-1→cluster-2", "cluster-2→cluster-1"])
        #expect(healthy.layers.allSatisfy { $0.layers.map(\.status) == [.pass, .pass] })
        #expect(!PreflightOutput.checklist(healthy, width: nil).contains("Control plane layers"))

        let unsynced = PreflightReport(
            clusters: clusters, findings: Self.secretFindings(), controlPlaneViews: Self.synced(["cluster-1": true, "cluster-2": false]))
        #expect(unsynced.layers[0].firstBroken == .sync)
        let checklist = PreflightOutput.checklist(unsynced, width: nil)
        #expect(
            checklist.contains("  pair                   remote secret  control plane sync\n  cluster-1 → cluster-2  pass           FAIL\n"), "\(checklist)")
        #expect((try? PreflightOutput.json(unsynced))?.contains("\"firstBroken\" : \"sync\"") == true)
    }
}
