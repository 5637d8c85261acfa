import Testing

@testable import MeshSimRuntime

@Suite struct MeshRoutingTests {
    enum SecretState: CaseIterable { case absent, wrongServer, valid }
    enum NetworkPair: CaseIterable { case distinct, equal, sourceUnlabelled, targetUnlabelled, emptyLabels }
    enum CAState: CaseIterable { case same, different, targetMissing }

    private func view(secret: SecretState, networks: NetworkPair, gatewayPods: Int, ca: CAState) -> MeshView {
        let (sourceNetwork, targetNetwork): (String?, String?) =
            switch networks {
            case .distinct: ("network1", "network2")
            case .equal: ("network1", "network1")
            case .sourceUnlabelled: (nil, "network2")
            case .targetUnlabelled: ("network1", nil)
            case .emptyLabels: ("", "")
            }
        let secrets: [String: RemoteSecretView] =
            switch secret {
            case .absent: [:]
            case .wrongServer: ["cluster-2": RemoteSecretView(serverMatchesPeer: false)]
            case .valid: ["cluster-2": RemoteSecretView()]
            }
        let targetCA: String? =
            switch ca {
            case .same: "sha256:aa"
            case .different: "sha256:bb"
            case .targetMissing: nil
            }
        return MeshView(clusters: [
            ClusterView(
                name: "cluster-1", network: sourceNetwork, rootCAFingerprint: "sha256:aa", remoteSecrets: secrets,
                eastWestGatewayReadyPods: 1, services: [:]),
            ClusterView(
                name: "cluster-2", network: targetNetwork, rootCAFingerprint: targetCA, remoteSecrets: [:],
                eastWestGatewayReadyPods: gatewayPods, services: [:]),
        ])
    }

    /// Every combination of the five conditions; the expected answer is derived independently: reachable
    /// only when all hold, otherwise the first failing condition in request order is the reason.
    @Test func decisionTableIsExhaustive() {
        var checked = 0
        for sidecar in [false, true] {
            for secret in SecretState.allCases {
                for networks in NetworkPair.allCases {
                    for gatewayPods in [0, 1, 3] {
                        for ca in CAState.allCases {
                            let expected: ClusterReachability
                            if !sidecar {
                                expected = .noSidecar
                            } else if secret == .absent {
                                expected = .noRemoteSecret
                            } else if secret == .wrongServer {
                                expected = .remoteSecretPointsElsewhere
                            } else if networks != .distinct {
                                expected = .networkNotDistinguished
                            } else if gatewayPods == 0 {
                                expected = .eastWestGatewayDown
                            } else if ca != .same {
                                expected = .rootCAMismatch
                            } else {
                                expected = .throughEastWestGateway
                            }
                            let actual = MeshRouting.reachability(
                                from: "cluster-1", to: "cluster-2", sourceHasSidecar: sidecar,
                                in: view(secret: secret, networks: networks, gatewayPods: gatewayPods, ca: ca))
                            #expect(actual == expected, "sidecar=\(sidecar) secret=\(secret) networks=\(networks) gw=\(gatewayPods) ca=\(ca)")
                            #expect(actual.isReachable == (expected == .throughEastWestGateway))
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == 2 * 3 * 5 * 3 * 3)
    }

    @Test func ownClusterIsAlwaysReachableEvenWithoutSidecar() {
        let broken = view(secret: .absent, networks: .equal, gatewayPods: 0, ca: .different)
        #expect(MeshRouting.reachability(from: "cluster-1", to: "cluster-1", sourceHasSidecar: false, in: broken) == .sameCluster)
        #expect(MeshRouting.reachability(from: "cluster-1", to: "cluster-9", sourceHasSidecar: true, in: broken) == .unknownCluster)
    }

    @Test func reachabilityIsDirectional() {
        let mesh = view(secret: .valid, networks: .distinct, gatewayPods: 1, ca: .same)
        #expect(MeshRouting.reachability(from: "cluster-1", to: "cluster-2", sourceHasSidecar: true, in: mesh).isReachable)
        // cluster-2 holds no secret for cluster-1.
        #expect(MeshRouting.reachability(from: "cluster-2", to: "cluster-1", sourceHasSidecar: true, in: mesh) == .noRemoteSecret)
    }

    @Test(arguments: [
        ("helloworld", "helloworld.sample"), ("helloworld.sample", "helloworld.sample"),
        ("helloworld.sample.svc", "helloworld.sample"), ("HelloWorld.Sample.svc.cluster.local.", "helloworld.sample"),
        ("helloworld.other", "helloworld.other"),
    ])
    func hostNamesResolveToServices(host: String, expected: String) {
        #expect(MeshRouting.serviceKey(forHost: host, sourceNamespace: "sample")?.description == expected)
    }

    @Test(arguments: ["example.com", "a.b.c.d", "helloworld.sample.svc.cluster", "helloworld..svc", "", "127.0.0.1"])
    func otherNamesAreNotServices(host: String) {
        #expect(
            MeshRouting.serviceKey(forHost: host, sourceNamespace: "sample") == nil
                || MeshRouting.resolve(
                    host: host, port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
                    sourceHasSidecar: true, in: twoClusterMesh()) == .notAService
        )
    }

    private func endpoint(_ pod: String, _ cluster: String, version: String, sidecar: Bool = true) -> MeshEndpoint {
        MeshEndpoint(pod: pod, cluster: cluster, host: "127.0.0.1", port: 40000, version: version, hasSidecar: sidecar)
    }

    private func twoClusterMesh(gateway2: Int = 1, secretFor2: Bool = true, serviceIn1: Bool = true) -> MeshView {
        let key = ServiceKey(namespace: "sample", name: "helloworld")
        return MeshView(clusters: [
            ClusterView(
                name: "cluster-1", network: "network1", rootCAFingerprint: "ca", remoteSecrets: secretFor2 ? ["cluster-2": .init()] : [:],
                eastWestGatewayReadyPods: 1,
                services: serviceIn1 ? [key: ServiceView(ports: [5000], endpoints: [endpoint("hw-v1-a", "cluster-1", version: "v1")])] : [:]),
            ClusterView(
                name: "cluster-2", network: "network2", rootCAFingerprint: "ca", remoteSecrets: ["cluster-1": .init()],
                eastWestGatewayReadyPods: gateway2,
                services: [
                    key: ServiceView(
                        ports: [5000],
                        endpoints: [
                            endpoint("hw-v2-a", "cluster-2", version: "v2"),
                            endpoint("hw-v2-plain", "cluster-2", version: "v2", sidecar: false),
                        ])
                ]),
        ])
    }

    @Test func resolutionCombinesReachableClusters() {
        let key = ServiceKey(namespace: "sample", name: "helloworld")
        let all = MeshRouting.resolve(
            host: "helloworld.sample", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
            sourceHasSidecar: true, in: twoClusterMesh())
        // The remote pod without a sidecar cannot accept mTLS through the gateway.
        #expect(all == .service(key, endpoints: [endpoint("hw-v1-a", "cluster-1", version: "v1"), endpoint("hw-v2-a", "cluster-2", version: "v2")]))
        let gatewayDown = MeshRouting.resolve(
            host: "helloworld.sample", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
            sourceHasSidecar: true, in: twoClusterMesh(gateway2: 0))
        #expect(gatewayDown == .service(key, endpoints: [endpoint("hw-v1-a", "cluster-1", version: "v1")]))
        let noSecret = MeshRouting.resolve(
            host: "helloworld", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
            sourceHasSidecar: true, in: twoClusterMesh(secretFor2: false))
        #expect(noSecret == .service(key, endpoints: [endpoint("hw-v1-a", "cluster-1", version: "v1")]))
        let plain = MeshRouting.resolve(
            host: "helloworld.sample", port: 5000, sourceCluster: "cluster-2", sourceNamespace: "sample",
            sourceHasSidecar: false, in: twoClusterMesh())
        #expect(
            plain
                == .service(
                    key,
                    endpoints: [
                        endpoint("hw-v2-a", "cluster-2", version: "v2"),
                        endpoint("hw-v2-plain", "cluster-2", version: "v2", sidecar: false),
                    ]))
    }

    @Test func serviceMustExistInTheSourceClusterAndOnThatPort() {
        #expect(
            MeshRouting.resolve(
                host: "helloworld.sample", port: 5000, sourceCluster: "cluster-1", sourceNamespace: "sample",
                sourceHasSidecar: true, in: twoClusterMesh(serviceIn1: false)) == .notAService)
        #expect(
            MeshRouting.resolve(
                host: "helloworld.sample", port: 5001, sourceCluster: "cluster-1", sourceNamespace: "sample",
                sourceHasSidecar: true, in: twoClusterMesh()) == .notAService)
    }
}
