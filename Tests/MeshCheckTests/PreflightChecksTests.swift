import Foundation
import KubeClient
import XCTest

@testable import MeshCheck

/// Facts of a healthy multi-network mesh, changed one at a time per test.
enum HealthyMesh {
    static let now = TestCertificates.meshRootNotAfter - 365 * 86_400

    static func cluster(_ index: Int, clusters: Int = 2) -> ClusterFacts {
        let name = "cluster-\(index)"
        var facts = ClusterFacts(name: name, context: "gke_p_l_\(name)", server: server(index), version: "v1.31.2")
        for question in AccessQuestion.runNeeds { facts.access[question] = .allowed }
        facts.istiodPods = .value([IstiodPodFact(name: "istiod-asm-1-23-abc", revision: "asm-1-23", ready: true)])
        facts.remoteSecrets = .value(
            (1...clusters).filter { $0 != index }.map { peer in
                RemoteSecretEntry(
                    secretName: "istio-remote-secret-cluster-\(peer)", key: "cluster-\(peer)", clusterName: "cluster-\(peer)", server: server(peer))
            })
        facts.eastWestDeployment = .value(GatewayDeploymentFact(replicas: 1, availableReplicas: 1, networkLabel: "network\(index)"))
        facts.eastWestService = .value(GatewayServiceFact(type: "LoadBalancer", addresses: ["192.0.2.\(index)"]))
        facts.crossNetworkGateways = .value([CrossNetworkGatewayFact(name: "cross-network-gateway", passthrough15443: true)])
        facts.networkLabel = .value("network\(index)")
        facts.rootCertificatePEM = .value(TestCertificates.meshRoot)
        facts.controlPlaneView = clusterz(name, peers: (1...clusters).filter { $0 != index }.map { ("cluster-\($0)", "synced") })
        return facts
    }

    /// istiod's `/debug/clusterz` in `cluster`: its own cluster synced, then each peer's remote secret with its state.
    static func clusterz(_ cluster: String, pod: String = "istiod-asm-1-23-abc", peers: [(String, String)]) -> ControlPlaneView {
        .clusters(
            pod: pod,
            [RemoteClusterStatus(id: cluster, secretName: "", syncStatus: "synced")]
                + peers.map { peer, status in
                    RemoteClusterStatus(id: peer, secretName: "istio-system/istio-remote-secret-\(peer)", syncStatus: status)
                })
    }

    static func server(_ index: Int) -> String { "https://127.0.0.1:\(40_000 + index)" }

    static func clusters(_ count: Int = 2) -> [ClusterFacts] { (1...count).map { cluster($0, clusters: count) } }

    static func evaluate(_ clusters: [ClusterFacts], revision: String? = nil) -> [PreflightFinding] {
        PreflightChecks.evaluate(clusters, PreflightExpectations(revision: revision, namespace: "meshcheck-abc123", now: now))
    }
}

final class PreflightChecksTests: XCTestCase {
    private func only(_ findings: [PreflightFinding], _ check: String, cluster: String? = nil, peer: String? = nil) -> [PreflightFinding] {
        findings.filter { $0.check == check && (cluster == nil || $0.cluster == cluster) && (peer == nil || $0.peer == peer) }
    }

    private func notPassing(_ findings: [PreflightFinding]) -> [PreflightFinding] { findings.filter { $0.status != .pass } }

    func testHealthyMeshPassesEveryCheck() {
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(3))
        XCTAssertEqual(notPassing(findings), [])
        XCTAssertEqual(Set(findings.map(\.check)), Set(PreflightCheckName.all))
        XCTAssertEqual(only(findings, PreflightCheckName.remoteSecret).count, 6, "one per ordered pair of clusters")
        XCTAssertEqual(only(findings, PreflightCheckName.rootCA, cluster: nil).filter { $0.cluster == nil }.count, 1)
        XCTAssertEqual(
            findings.map(\.check),
            findings.map(\.check).sorted {
                PreflightCheckName.all.firstIndex(of: $0)! < PreflightCheckName.all.firstIndex(of: $1)!
            }, "findings come in report order")
    }

    func testUnreachableClusterGetsOnlyItsAPIFailureAndPeersStillJudgeSecretsForIt() {
        var clusters = HealthyMesh.clusters()
        clusters[1] = ClusterFacts(name: "cluster-2", context: "ctx-2", server: HealthyMesh.server(2), version: nil, unreachable: "connection refused")
        let findings = HealthyMesh.evaluate(clusters)
        XCTAssertEqual(findings.filter { $0.cluster == "cluster-2" }.map(\.check), [PreflightCheckName.api])
        let api = only(findings, PreflightCheckName.api, cluster: "cluster-2")[0]
        XCTAssertEqual(api.status, .fail)
        XCTAssertTrue(api.evidence.contains("ctx-2") && api.evidence.contains("connection refused"), api.evidence)
        XCTAssertEqual(only(findings, PreflightCheckName.remoteSecret, cluster: "cluster-1", peer: "cluster-2")[0].status, .pass)
    }

    /// A `/version` failure is split as the run splits it: kubeconfig and plugin errors are the
    /// user's to fix (exit 2), a refusal and no answer are the environment's (exit 3); the text
    /// loses its `context …:` prefix because the finding names the context itself.
    func testVersionFailuresAreClassifiedAndTheirHintsDiffer() {
        struct Refused: Error, CustomStringConvertible { var description: String { "context ctx-2: connection refused" } }
        let plugin = KubeconfigError(.execPluginFailed(command: "gke-gcloud-auth-plugin", status: 1), context: "ctx-2")
        let (credentials, pluginText) = Preflight.classify(plugin, context: "ctx-2")
        XCTAssertEqual(credentials, .credentials)
        XCTAssertFalse(pluginText.hasPrefix("context "), pluginText)
        XCTAssertTrue(pluginText.contains("gke-gcloud-auth-plugin"), pluginText)
        let (rejected, rejectedText) = Preflight.classify(KubeAPIError(httpStatus: 401, status: nil, context: "ctx-2"), context: "ctx-2")
        XCTAssertEqual(rejected, .rejected)
        XCTAssertTrue(rejectedText.hasPrefix("API server refused the request: "), rejectedText)
        XCTAssertEqual(Preflight.classify(Refused(), context: "ctx-2").0, .unreachable)
        XCTAssertEqual(Preflight.classify(Refused(), context: "ctx-2").1, "API server unreachable: connection refused")

        var hints: [ClusterFailure: String] = [:]
        for failure in [ClusterFailure.credentials, .rejected, .unreachable] {
            var clusters = HealthyMesh.clusters()
            clusters[1] = ClusterFacts(
                name: "cluster-2", context: "ctx-2", server: HealthyMesh.server(2), version: nil,
                unreachable: "why", failure: failure)
            hints[failure] = only(HealthyMesh.evaluate(clusters), PreflightCheckName.api, cluster: "cluster-2")[0].hint
        }
        XCTAssertEqual(Set(hints.values).count, 3, "each kind of failure gets its own advice: \(hints)")
        XCTAssertTrue(hints[.credentials]?.contains("credential plugin") == true)
    }

    func testRBACDeniedFailsAndUnknownWarns() {
        var clusters = HealthyMesh.clusters()
        clusters[0].access[AccessQuestion(verb: "create", resource: "pods", subresource: "exec")] = .denied("no RBAC policy matched")
        clusters[1].access[AccessQuestion(verb: "delete", resource: "namespaces")] = .unknown("timeout")
        let findings = HealthyMesh.evaluate(clusters)
        let denied = only(findings, PreflightCheckName.rbac, cluster: "cluster-1")[0]
        XCTAssertEqual(denied.status, .fail)
        XCTAssertTrue(denied.evidence.contains("create pods/exec (no RBAC policy matched)"), denied.evidence)
        XCTAssertEqual(only(findings, PreflightCheckName.rbac, cluster: "cluster-2")[0].status, .warn)
        XCTAssertEqual(AccessQuestion(verb: "create", group: "apps", resource: "deployments").description, "create deployments.apps")
    }

    func testManagedControlPlaneNeedsNoIstiod() {
        var clusters = HealthyMesh.clusters()
        for index in clusters.indices {
            clusters[index].istiodPods = .value([])
            clusters[index].controlPlaneRevisions = .value([ControlPlaneRevisionFact(name: "asm-managed", reconciled: true)])
        }
        let findings = HealthyMesh.evaluate(clusters)
        XCTAssertEqual(notPassing(findings), [])
        XCTAssertTrue(only(findings, PreflightCheckName.controlPlane)[0].evidence.contains("asm-managed is Reconciled"))
        XCTAssertTrue(only(findings, PreflightCheckName.revision)[0].evidence.contains("istio.io/rev=asm-managed"))
    }

    func testControlPlaneFailures() {
        var clusters = HealthyMesh.clusters(3)
        clusters[0].istiodPods = .value([IstiodPodFact(name: "istiod-x", revision: "asm-1-23", ready: false)])
        clusters[1].istiodPods = .value([])
        clusters[1].controlPlaneRevisions = .value([ControlPlaneRevisionFact(name: "asm-managed", reconciled: false, message: "provisioning")])
        clusters[2].istiodPods = .value([])
        let findings = HealthyMesh.evaluate(clusters, revision: "asm-1-23")
        let control = only(findings, PreflightCheckName.controlPlane)
        XCTAssertEqual(control.map(\.status), [.fail, .fail, .fail])
        XCTAssertTrue(control[0].evidence.contains("none of 1 istiod pods is ready"), control[0].evidence)
        XCTAssertTrue(control[1].evidence.contains("asm-managed is not Reconciled: provisioning"), control[1].evidence)
        XCTAssertTrue(control[2].evidence.contains("no istiod pod"), control[2].evidence)
    }

    func testRevisionThatIsNotInstalledFailsNamingTheInstalledOnes() {
        let findings = HealthyMesh.evaluate(HealthyMesh.clusters(), revision: "asm-0-0")
        let revision = only(findings, PreflightCheckName.revision)
        XCTAssertEqual(revision.map(\.status), [.fail, .fail])
        XCTAssertTrue(revision[0].evidence.contains("revision asm-0-0 is not installed (installed revisions: asm-1-23)"), revision[0].evidence)
        XCTAssertEqual(only(HealthyMesh.evaluate(HealthyMesh.clusters()), PreflightCheckName.revision)[0].status, .pass, "auto detects asm-1-23")
    }

    func testMissingRemoteSecretFailsForThatPairOnly() {
        var clusters = HealthyMesh.clusters(3)
        clusters[0].remoteSecrets = .value(clusters[0].remoteSecrets.value!.filter { $0.key != "cluster-2" })
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret)
        let failed = notPassing(findings)
        XCTAssertEqual(failed.count, 1)
        XCTAssertEqual(failed[0].cluster, "cluster-1")
        XCTAssertEqual(failed[0].peer, "cluster-2")
        XCTAssertTrue(failed[0].evidence.hasPrefix("no remote secret for cluster-2 (remote secrets here: istio-remote-secret-cluster-3)"), failed[0].evidence)
        XCTAssertTrue(failed[0].hint!.contains("istioctl create-remote-secret --context gke_p_l_cluster-2 --name cluster-2"), failed[0].hint!)
    }

    func testRemoteSecretFoundByServerWhateverItsName() {
        var clusters = HealthyMesh.clusters()
        clusters[0].remoteSecrets = .value([
            RemoteSecretEntry(
                secretName: "istio-remote-secret-projects-1-locations-x-memberships-m2",
                key: "m2", clusterName: "m2", server: HealthyMesh.server(2))
        ])
        XCTAssertEqual(notPassing(only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret)), [])
    }

    func testRemoteSecretPointingElsewhereOrUnreadableFails() {
        var clusters = HealthyMesh.clusters(3)
        clusters[0].remoteSecrets = .value([
            RemoteSecretEntry(secretName: "istio-remote-secret-cluster-2", key: "cluster-2", clusterName: "cluster-2", server: "https://10.0.0.9:443"),
            RemoteSecretEntry(secretName: "istio-remote-secret-cluster-3", key: "cluster-3", clusterName: nil, server: nil, problem: "not valid YAML"),
        ])
        let failed = notPassing(only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret, cluster: "cluster-1"))
        XCTAssertEqual(failed.map(\.peer), ["cluster-2", "cluster-3"])
        XCTAssertTrue(failed[0].evidence.contains("points at https://10.0.0.9:443, not at cluster-2's API server https://127.0.0.1:40002"), failed[0].evidence)
        XCTAssertTrue(failed[1].evidence.contains("cannot be read: not valid YAML"), failed[1].evidence)
    }

    /// Each cluster its own CA (cluster-n gets the n-th test certificate), as on GKE.
    private func clustersWithOwnCAs(_ count: Int) -> [ClusterFacts] {
        let roots = [TestCertificates.meshRoot, TestCertificates.otherRoot, TestCertificates.farFuture]
        var clusters = HealthyMesh.clusters(count)
        for index in clusters.indices { clusters[index].certificateAuthority = APIServerIdentity(pem: Array(roots[index].utf8)) }
        return clusters
    }

    /// The install guide's private-cluster procedure: the secret names the peer's private endpoint, which the
    /// user's kubeconfig does not use; the peer's CA says it is the same cluster.
    func testRemoteSecretToAnotherEndpointOfThePeerPasses() {
        var clusters = clustersWithOwnCAs(2)
        clusters[0].remoteSecrets = .value([
            RemoteSecretEntry(
                secretName: "istio-remote-secret-cluster-2", key: "cluster-2", clusterName: "cluster-2", server: "https://192.0.2.12:443",
                certificateAuthority: clusters[1].certificateAuthority)
        ])
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret, cluster: "cluster-1")
        XCTAssertEqual(findings.map(\.status), [.pass])
        XCTAssertTrue(
            findings[0].evidence.contains("points at https://192.0.2.12:443 with cluster-2's certificate authority: another endpoint of cluster-2"),
            findings[0].evidence)
    }

    func testRemoteSecretCarryingAnotherClustersCAFails() {
        var clusters = clustersWithOwnCAs(3)
        clusters[0].remoteSecrets = .value([
            // Named for cluster-2, but made from cluster-3's kubeconfig.
            RemoteSecretEntry(
                secretName: "istio-remote-secret-cluster-2", key: "cluster-2", clusterName: "cluster-2", server: "https://192.0.2.13:443",
                certificateAuthority: clusters[2].certificateAuthority),
            // Named for cluster-3, an unknown endpoint with a CA nobody has.
            RemoteSecretEntry(
                secretName: "istio-remote-secret-cluster-3", key: "cluster-3", clusterName: "cluster-3", server: "https://192.0.2.19:443",
                certificateAuthority: APIServerIdentity(certificates: [[1, 2, 3]])),
        ])
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret, cluster: "cluster-1")
        XCTAssertEqual(findings.map(\.status), [.fail, .fail])
        XCTAssertTrue(
            findings[0].evidence.contains("points at another cluster: https://192.0.2.13:443 presents cluster-3's certificate authority, not cluster-2's"),
            findings[0].evidence)
        XCTAssertTrue(
            findings[1].evidence.contains("not at cluster-3's API server https://127.0.0.1:40003, and its certificate authority is not cluster-3's"),
            findings[1].evidence)
        XCTAssertTrue(findings[0].hint!.contains("istioctl create-remote-secret --context gke_p_l_cluster-2 --name cluster-2"), findings[0].hint!)
    }

    /// Clusters that share a CA cannot be told apart by it: another endpoint is then not trusted to be the peer.
    func testSharedCADoesNotIdentifyThePeer() {
        var clusters = clustersWithOwnCAs(2)
        clusters[1].certificateAuthority = clusters[0].certificateAuthority
        clusters[0].remoteSecrets = .value([
            RemoteSecretEntry(
                secretName: "istio-remote-secret-cluster-2", key: "cluster-2", clusterName: "cluster-2", server: "https://192.0.2.12:443",
                certificateAuthority: clusters[1].certificateAuthority)
        ])
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.remoteSecret, cluster: "cluster-1")
        XCTAssertEqual(findings.map(\.status), [.fail])
        XCTAssertTrue(
            findings[0].evidence.hasSuffix("points at https://192.0.2.12:443, not at cluster-2's API server https://127.0.0.1:40002"), findings[0].evidence)
    }

    func testEastWestGatewayStates() {
        var clusters = HealthyMesh.clusters(4)
        clusters[0].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 0, availableReplicas: 0, networkLabel: "network1"))
        clusters[1].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 2, availableReplicas: 0, networkLabel: "network2"))
        clusters[2].eastWestService = .value(GatewayServiceFact(type: "LoadBalancer", addresses: []))
        clusters[3].eastWestDeployment = .value(nil)
        let gateway = only(HealthyMesh.evaluate(clusters), PreflightCheckName.eastWestGateway)
        XCTAssertEqual(gateway.map(\.status), [.fail, .fail, .fail, .fail])
        XCTAssertTrue(gateway[0].evidence.contains("scaled to 0 replicas"), gateway[0].evidence)
        XCTAssertTrue(gateway[1].evidence.contains("0 of 2 replicas available"), gateway[1].evidence)
        XCTAssertTrue(gateway[2].evidence.contains("no external address"), gateway[2].evidence)
        XCTAssertTrue(gateway[3].evidence.contains("no istio-eastwestgateway Deployment"), gateway[3].evidence)
    }

    func testSingleNetworkMakesGatewaysOptionalButWarnsAboutTheSharedNetwork() {
        var clusters = HealthyMesh.clusters()
        for index in clusters.indices {
            clusters[index].networkLabel = .value("network1")
            clusters[index].eastWestDeployment = .value(nil)
            clusters[index].crossNetworkGateways = .value([])
        }
        let findings = HealthyMesh.evaluate(clusters)
        XCTAssertEqual(Set(notPassing(findings).map(\.status)), [.warn])
        let shared = findings.first { $0.check == PreflightCheckName.networkLabel && $0.cluster == nil }!
        XCTAssertTrue(shared.evidence.contains("cluster-1, cluster-2 share network network1"), shared.evidence)
    }

    func testNetworkLabelMissingOrInconsistentWithTheGateway() {
        var clusters = HealthyMesh.clusters(3)
        clusters[0].networkLabel = .value(nil)
        clusters[1].eastWestDeployment = .value(GatewayDeploymentFact(replicas: 1, availableReplicas: 1, networkLabel: "network9"))
        let labels = only(HealthyMesh.evaluate(clusters), PreflightCheckName.networkLabel).filter { $0.cluster != nil }
        XCTAssertEqual(labels.map(\.status), [.fail, .fail, .pass])
        XCTAssertTrue(labels[1].evidence.contains("network2 but istio-eastwestgateway says network9"), labels[1].evidence)
    }

    func testCrossNetworkGatewayMustPassThrough15443() {
        var clusters = HealthyMesh.clusters()
        clusters[1].crossNetworkGateways = .value([CrossNetworkGatewayFact(name: "cross-network-gateway", passthrough15443: false)])
        clusters[0].crossNetworkGateways = .failed("networking.istio.io/v1 Gateways are not served (Istio CRDs missing)")
        let gateways = only(HealthyMesh.evaluate(clusters), PreflightCheckName.crossNetworkGateway)
        XCTAssertEqual(gateways.map(\.status), [.fail, .fail])
        XCTAssertTrue(gateways[1].evidence.contains("no port 15443 server"), gateways[1].evidence)
    }

    func testRootCAMismatchFailsAcrossClustersNamingBothFingerprints() {
        var clusters = HealthyMesh.clusters()
        clusters[1].rootCertificatePEM = .value(TestCertificates.otherRoot)
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.rootCA)
        XCTAssertEqual(findings.filter { $0.cluster != nil }.map(\.status), [.pass, .pass])
        let mesh = findings.first { $0.cluster == nil }!
        XCTAssertEqual(mesh.status, .fail)
        XCTAssertTrue(mesh.evidence.contains("cluster-1: \(TestCertificates.meshRootSHA256.prefix(16))"), mesh.evidence)
        XCTAssertTrue(mesh.evidence.contains("cluster-2: \(TestCertificates.otherRootSHA256.prefix(16))"), mesh.evidence)
    }

    func testRootCAOverlapDuringRotationOnlyWarns() {
        var clusters = HealthyMesh.clusters()
        clusters[1].rootCertificatePEM = .value(TestCertificates.meshRoot + "\n" + TestCertificates.otherRoot)
        let mesh = only(HealthyMesh.evaluate(clusters), PreflightCheckName.rootCA).first { $0.cluster == nil }!
        XCTAssertEqual(mesh.status, .warn)
    }

    func testRootCAExpiryAndAbsence() {
        var clusters = HealthyMesh.clusters(3)
        clusters[2].rootCertificatePEM = .value(nil)
        let soon = PreflightChecks.evaluate(clusters, PreflightExpectations(now: TestCertificates.meshRootNotAfter - 10 * 86_400))
        let perCluster = only(soon, PreflightCheckName.rootCA).filter { $0.cluster != nil }
        XCTAssertEqual(perCluster.map(\.status), [.warn, .warn, .fail])
        XCTAssertTrue(perCluster[0].evidence.contains("expires in 10 days"), perCluster[0].evidence)
        XCTAssertTrue(perCluster[0].evidence.contains("expires 2036-11-20"), perCluster[0].evidence)
        XCTAssertTrue(perCluster[2].evidence.contains("istio-ca-root-cert with root-cert.pem is missing"), perCluster[2].evidence)
        let expired = PreflightChecks.evaluate(clusters, PreflightExpectations(now: TestCertificates.meshRootNotAfter + 1))
        XCTAssertEqual(only(expired, PreflightCheckName.rootCA, cluster: "cluster-1")[0].status, .fail)
    }

    func testDestinationRulesThatChangeTheSplitWarn() {
        var clusters = HealthyMesh.clusters()
        clusters[0].destinationRules = .value([
            DestinationRuleFact(namespace: "meshcheck-abc123", name: "helloworld", host: "helloworld", splitChanges: ["localityLbSetting"]),
            DestinationRuleFact(namespace: "istio-system", name: "mtls", host: "*.local", splitChanges: []),
        ])
        let findings = only(HealthyMesh.evaluate(clusters), PreflightCheckName.destinationRules)
        XCTAssertEqual(findings.map(\.status), [.warn, .pass])
        XCTAssertTrue(findings[0].evidence.contains("meshcheck-abc123/helloworld (host helloworld: localityLbSetting)"), findings[0].evidence)
    }

    func testDestinationRuleHostMatching() {
        let match = { (host: String, ruleNamespace: String) in
            PreflightChecks.hostMatches(host, service: "helloworld", ruleNamespace: ruleNamespace, namespace: "ns")
        }
        XCTAssertTrue(match("helloworld", "ns"))
        XCTAssertFalse(match("helloworld", "other"), "a short host means the rule's own namespace")
        XCTAssertTrue(match("helloworld.ns.svc.cluster.local", "istio-system"))
        XCTAssertTrue(match("helloworld.ns", "istio-system"))
        XCTAssertTrue(match("*.ns.svc.cluster.local", "istio-system"))
        XCTAssertTrue(match("*.local", "istio-system"))
        XCTAssertFalse(match("helloworld.other.svc.cluster.local", "ns"))
        XCTAssertFalse(match("reviews", "ns"))
    }

    func testDestinationRuleSettingsThatChangeTheSplit() {
        XCTAssertEqual(DestinationRuleReader.splitChanges(.null), [])
        XCTAssertEqual(
            DestinationRuleReader.splitChanges(
                .object([
                    "trafficPolicy": .object(["loadBalancer": .object(["localityLbSetting": .object(["enabled": .bool(true)])])]),
                    "subsets": .array([.object(["name": .string("v1")])]),
                ])), ["localityLbSetting", "1 subsets"])
        XCTAssertEqual(
            DestinationRuleReader.splitChanges(
                .object([
                    "trafficPolicy": .object(["outlierDetection": .object([:]), "loadBalancer": .object(["consistentHash": .object([:])])])
                ])), ["outlierDetection (locality failover becomes active)", "consistentHash"])
    }

    func testNativeSidecarsAreCountedAsSidecars() {
        var clusters = HealthyMesh.clusters()
        clusters[0].sidecars = .value(SidecarCount(classic: 3, native: 2))
        let finding = only(HealthyMesh.evaluate(clusters), PreflightCheckName.sidecars, cluster: "cluster-1")[0]
        XCTAssertEqual(finding.status, .pass)
        XCTAssertTrue(finding.evidence.hasPrefix("5 injected pods: 3 with an istio-proxy container, 2 with a native sidecar"), finding.evidence)
    }

    func testRemoteSecretReaderDecodesTheKubeconfigAndNeverLeaksTheToken() {
        let kubeconfig = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: cluster-2
              cluster:
                server: https://127.0.0.1:40002
                certificate-authority-data: \(Data(TestCertificates.meshRoot.utf8).base64EncodedString())
            contexts:
            - name: cluster-2
              context: {cluster: cluster-2, user: cluster-2}
            current-context: cluster-2
            users:
            - name: cluster-2
              user: {token: s3cr3t-token}
            """
        let entry = RemoteSecretReader.entry(secretName: "istio-remote-secret-cluster-2", key: "cluster-2", value: Array(kubeconfig.utf8))
        XCTAssertEqual(entry.clusterName, "cluster-2")
        XCTAssertEqual(entry.server, "https://127.0.0.1:40002")
        XCTAssertEqual(entry.certificateAuthority, APIServerIdentity(pem: Array(TestCertificates.meshRoot.utf8)))
        XCTAssertTrue(entry.certificateAuthority.isKnown)
        XCTAssertNil(entry.problem)
        let broken = RemoteSecretReader.entry(secretName: "s", key: "k", value: Array("clusters: [token: s3cr3t-token".utf8))
        XCTAssertNotNil(broken.problem)
        XCTAssertFalse(broken.problem!.contains("s3cr3t"), broken.problem!)
    }

    func testExitCodesAndChecklist() throws {
        var clusters = HealthyMesh.clusters()
        let healthy = PreflightReport(clusters: [], findings: HealthyMesh.evaluate(clusters))
        XCTAssertEqual(healthy.exitCode, 0)
        clusters[0].remoteSecrets = .value([])
        let failing = PreflightReport(clusters: [], findings: HealthyMesh.evaluate(clusters))
        XCTAssertEqual(failing.exitCode, 1)
        let unreachable = PreflightReport(clusters: [.init(name: "c", context: "ctx", server: "https://x", version: nil)], findings: [])
        XCTAssertEqual(unreachable.exitCode, 3)
        XCTAssertEqual(unreachable.unreachableContexts, ["ctx"])
        let noCredentials = PreflightReport(
            clusters: unreachable.clusters + [
                .init(
                    name: "d", context: "ctx-d", server: "https://y", version: nil,
                    failure: .credentials)
            ], findings: [])
        XCTAssertEqual(noCredentials.exitCode, 2, "a kubeconfig problem is bad input and outranks an unreachable cluster")
        XCTAssertTrue(PreflightOutput.checklist(noCredentials, width: nil).contains("  no credentials: context ctx-d\n"))

        let text = PreflightOutput.checklist(failing, width: 80)
        XCTAssertTrue(text.hasPrefix("meshcheck preflight: FAIL"), text)
        for line in text.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 80, String(line)) }
        XCTAssertTrue(text.contains("FAIL  remote-secret"), text)
        XCTAssertTrue(text.contains("cluster-1 → cluster-2"), text)
        XCTAssertTrue(text.contains("      hint: `istioctl create-remote-secret"), text)

        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try PreflightOutput.json(failing).utf8)) as? [String: Any])
        XCTAssertEqual(json["verdict"] as? String, "fail")
        XCTAssertEqual(json["exitCode"] as? Int, 1)
        XCTAssertEqual((json["findings"] as? [Any])?.count, failing.findings.count)
    }
}
