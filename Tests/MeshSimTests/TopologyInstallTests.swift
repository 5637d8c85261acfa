import MeshSimRuntime
import Testing

@testable import MeshSim

/// The objects each control-plane arrangement leaves in istio-system, and the control plane's view the
/// data plane routes by, derived from those objects as an operator changes them.
@Suite struct TopologyInstallTests {
    static let injector = "istio-sidecar-injector-asm-1-23"

    @Test func aPrimaryRunsIstiodAndItsInjectorCallsTheInClusterService() {
        let primary = ClusterHarness()
        #expect(primary.object(.deployments, "istio-system", "istiod-asm-1-23") != nil)
        let webhook = primary.object(.mutatingWebhookConfigurations, "", Self.injector)
        #expect(webhook?["metadata"]["labels"]["istio.io/rev"].string == "asm-1-23")
        #expect(webhook?["webhooks"].array?.first?["clientConfig"]["service"]["name"].string == "istiod-asm-1-23")
        #expect(webhook?["webhooks"].array?.first?["clientConfig"]["url"].isNull == true)
        let view = ClusterMeshView.clusterView(primary.state, peerServers: [:]) { _ in nil }
        #expect(view.configuredBy == nil)
    }

    @Test func aRemoteRunsNoIstiodNamesItsPrimaryAndInjectsThroughTheGateway() {
        var remote = ClusterHarness(name: "cluster-2") { $0.primaryCluster = "cluster-1" }
        #expect(remote.state.store.list(.deployments, namespace: "istio-system").compactMap { $0["metadata"]["name"].string } == ["istio-eastwestgateway"])
        #expect(remote.pods("istio-system").allSatisfy { $0["metadata"]["labels"]["app"].string != "istiod" })
        let namespace = remote.object(.namespaces, "", "istio-system")
        #expect(namespace?["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"].string == "cluster-1")
        #expect(!remote.state.identity.holdsRemoteSecrets)

        remote.state.installRemoteInjectorWebhook(discoveryAddress: "192.0.2.12", now: remote.now)
        let webhook = remote.object(.mutatingWebhookConfigurations, "", Self.injector)
        #expect(webhook?["webhooks"].array?.first?["clientConfig"]["url"].string == "https://192.0.2.12:15017/inject/cluster/cluster-2/net/network-2")
        let view = ClusterMeshView.clusterView(remote.state, peerServers: [:]) { _ in nil }
        #expect(view.configuredBy == "cluster-1")
        let table = remote.call(
            "GET", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
            accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(table.status == 200)
        #expect(String(decoding: table.body, as: UTF8.self).contains("\"Webhooks\""))
    }

    /// Connected discovery comes from asm-options as it is now: an operator's patch to manual turns it off.
    @Test func managedDiscoveryFollowsAsmOptions() {
        var connected = ClusterHarness(managed: true)
        #expect(connected.object(.configMaps, "istio-system", "asm-options")?["data"]["multicluster_mode"].string == "connected")
        #expect(!connected.state.identity.holdsRemoteSecrets)
        #expect(ClusterMeshView.clusterView(connected.state, peerServers: [:]) { _ in nil }.discoversFleet)
        let patched = connected.call(
            "PATCH", "/api/v1/namespaces/istio-system/configmaps/asm-options", ["data": ["multicluster_mode": "manual"]],
            contentType: "application/merge-patch+json")
        #expect(patched.status == 200)
        #expect(!ClusterMeshView.clusterView(connected.state, peerServers: [:]) { _ in nil }.discoversFleet)

        let manual = ClusterHarness(managed: true) { $0.managedDiscovery = "manual" }
        #expect(manual.object(.configMaps, "istio-system", "asm-options")?["data"]["multicluster_mode"].string == "manual")
        #expect(manual.state.identity.holdsRemoteSecrets)
    }

    /// Istio's plug-in CA: istiod reads `cacerts` when it starts, so the new root is published only after
    /// `kubectl rollout restart` (a pod-template annotation) rolls a new istiod pod.
    @Test func istiodPublishesThePluggedInRootOnlyAfterARestart() throws {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let pluggedIn = try CertificateAuthority.make(commonName: "Plug-in Root CA", organization: "example.com").certificatePEM
        let created = cluster.call(
            "POST", "/api/v1/namespaces/istio-system/secrets",
            [
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "cacerts"],
                "stringData": [
                    "ca-cert.pem": .string(pluggedIn), "ca-key.pem": "KEY", "root-cert.pem": .string(pluggedIn),
                    "cert-chain.pem": .string(pluggedIn),
                ],
            ])
        #expect(created.status == 201)
        cluster.advance(1)
        #expect(cluster.object(.configMaps, "sample", "istio-ca-root-cert")?["data"]["root-cert.pem"].string == "ROOT-PEM")

        let restart = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/istio-system/deployments/istiod-asm-1-23",
            ["spec": ["template": ["metadata": ["annotations": ["kubectl.kubernetes.io/restartedAt": "2026-12-02T09:30:00Z"]]]]],
            contentType: "application/strategic-merge-patch+json")
        #expect(restart.status == 200)
        for _ in 0..<4 { cluster.advance(1) }
        let istiod = cluster.pods("istio-system").filter { $0["metadata"]["labels"]["app"].string == "istiod" && $0["metadata"]["deletionTimestamp"].isNull }
        #expect(istiod.count == 1)
        #expect(istiod.first?["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].string == "2026-12-02T09:30:00Z")
        #expect(cluster.state.meshRootCertificatePEM == pluggedIn)
        #expect(cluster.object(.configMaps, "sample", "istio-ca-root-cert")?["data"]["root-cert.pem"].string == pluggedIn)
        #expect(cluster.object(.configMaps, "istio-system", "istio-ca-root-cert")?["data"]["root-cert.pem"].string == pluggedIn)
    }

    /// A remote's sidecars know what its primary discovers: the primary itself and the clusters it holds
    /// remote secrets for.
    @Test func aRemoteReachesWhatItsPrimaryDiscovers() {
        func cluster(_ name: String, secrets: [String], configuredBy: String? = nil, fleet: Bool = false) -> ClusterView {
            ClusterView(
                name: name, network: "net-\(name)", rootCAFingerprint: "root",
                remoteSecrets: Dictionary(uniqueKeysWithValues: secrets.map { ($0, RemoteSecretView()) }),
                eastWestGatewayReadyPods: 1, services: [:], configuredBy: configuredBy, discoversFleet: fleet)
        }
        var view = MeshView(clusters: [
            cluster("c1", secrets: ["c2", "c3"]), cluster("c2", secrets: [], configuredBy: "c1"),
            cluster("c3", secrets: [], configuredBy: "c1"),
        ])
        #expect(MeshRouting.reachability(from: "c2", to: "c1", sourceHasSidecar: true, in: view) == .throughEastWestGateway)
        #expect(MeshRouting.reachability(from: "c2", to: "c3", sourceHasSidecar: true, in: view) == .throughEastWestGateway)
        #expect(MeshRouting.reachability(from: "c1", to: "c3", sourceHasSidecar: true, in: view) == .throughEastWestGateway)
        #expect(MeshRouting.reachability(from: "c2", to: "c2", sourceHasSidecar: true, in: view) == .sameCluster)
        view.clusters["c1"]?.remoteSecrets["c3"] = nil
        #expect(MeshRouting.reachability(from: "c2", to: "c3", sourceHasSidecar: true, in: view) == .noRemoteSecret)
        // Without the primary's secret for c2, c2's sidecars do not know even c2's endpoints.
        view.clusters["c1"]?.remoteSecrets["c2"] = nil
        #expect(MeshRouting.reachability(from: "c2", to: "c2", sourceHasSidecar: true, in: view) == .noRemoteSecret)
        #expect(MeshRouting.reachability(from: "c2", to: "c2", sourceHasSidecar: false, in: view) == .sameCluster)
        #expect(MeshRouting.reachability(from: "c2", to: "c1", sourceHasSidecar: true, in: view) == .throughEastWestGateway)

        let fleet = MeshView(clusters: [cluster("m1", secrets: [], fleet: true), cluster("m2", secrets: [], fleet: false)])
        #expect(MeshRouting.reachability(from: "m1", to: "m2", sourceHasSidecar: true, in: fleet) == .throughEastWestGateway)
        #expect(MeshRouting.reachability(from: "m2", to: "m1", sourceHasSidecar: true, in: fleet) == .noRemoteSecret)
    }
}
