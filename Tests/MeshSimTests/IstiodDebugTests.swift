import Foundation
import MeshSimRuntime
import Testing

@testable import MeshSim

/// istiod's `/debug/clusterz` through `pilot-discovery request` in its pod and behind the pod proxy subresource
/// (refused with 401 unless opened, as a real istiod does), the fault that cuts istiod off from a peer's API
/// server (clusterz and routing agree), and the RBAC fault that refuses a resource.
@Suite struct IstiodDebugTests {
    static let peerServer = "https://127.0.0.1:40002"

    /// A primary holding a remote secret for cluster-2 that points at `server`.
    static func primary(secretServer: String = peerServer) -> ClusterHarness {
        var primary = ClusterHarness()
        let kubeconfig = KubeconfigWriter.remoteSecretKubeconfig(
            clusterName: "cluster-2", server: secretServer, certificateAuthorityPEM: "CA", token: "t")
        primary.state.installRemoteSecret(peer: "cluster-2", kubeconfig: kubeconfig, now: primary.now)
        return primary
    }

    static func istiod(_ harness: ClusterHarness) -> String {
        harness.pods("istio-system").first { ClusterState.isIstiod($0) }?["metadata"]["name"].string ?? ""
    }

    static func proxy(_ harness: inout ClusterHarness, _ path: String) -> APIOutcome {
        let request = APIRequest(method: "GET", uri: path, headers: [:], body: [], user: "admin")
        return harness.state.handle(request, now: harness.now, serverAddress: "127.0.0.1:1")
    }

    @Test func clusterzListsTheOwnClusterThenEverySecretsClusterAsIstiodDoes() throws {
        var primary = Self.primary()
        primary.state.istiodDebugRequiresAuthentication = false
        let pod = Self.istiod(primary)
        let outcome = Self.proxy(&primary, "/api/v1/namespaces/istio-system/pods/\(pod):15014/proxy/debug/clusterz")
        guard case .proxy(let target) = outcome else {
            Issue.record("the pod proxy path did not reach the proxy: \(outcome)")
            return
        }
        #expect(target == ProxyTarget(namespace: "istio-system", pod: pod, port: 15014, path: "/debug/clusterz"))
        let answer = IstiodDebug.answer(target, state: primary.state, peerServers: ["cluster-2": Self.peerServer])
        #expect(answer.status == 200)
        #expect(answer.headers.contains { $0 == ("Content-Type", "application/json") })
        #expect(
            String(decoding: answer.body, as: UTF8.self)
                == #"[{"id":"cluster-1","secretName":"","syncStatus":"synced"},{"id":"cluster-2","secretName":"istio-system/istio-remote-secret-cluster-2","syncStatus":"synced"}]"#
        )
    }

    /// `kubectl exec <istiod> -c discovery -- pilot-discovery request GET /debug/clusterz`: the body and a newline
    /// from localhost, which istiod answers; a 404 is printed too (exit 0), as the command does.
    @Test func pilotDiscoveryRequestInTheIstiodPodAnswersClusterz() throws {
        let primary = Self.primary()
        let pod = Self.istiod(primary)
        func target(_ command: [String], container: String = "discovery", pod name: String = pod) -> ExecTarget {
            ExecTarget(
                namespace: "istio-system", pod: name, podUID: "u", container: container, command: command, stdin: false, stdout: true,
                stderr: true, tty: false, containerEnvironment: [], injected: false)
        }
        let request = target(["pilot-discovery", "request", "GET", "/debug/clusterz"])
        #expect(IstiodDebug.isRequestCommand(request))
        let answer = IstiodDebug.answerRequestCommand(request, state: primary.state, peerServers: ["cluster-2": Self.peerServer])
        #expect(answer.exitCode == 0 && answer.stderr.isEmpty)
        #expect(
            String(decoding: answer.stdout, as: UTF8.self)
                == #"[{"id":"cluster-1","secretName":"","syncStatus":"synced"},{"id":"cluster-2","secretName":"istio-system/istio-remote-secret-cluster-2","syncStatus":"synced"}]"#
                + "\n")
        let withoutSlash = IstiodDebug.answerRequestCommand(
            target(["pilot-discovery", "request", "GET", "debug/clusterz"]), state: primary.state, peerServers: [:])
        #expect(withoutSlash.stdout.first == UInt8(ascii: "["), "the command trims the leading slash itself")
        let other = IstiodDebug.answerRequestCommand(target(["pilot-discovery", "request", "GET", "/debug/nope"]), state: primary.state, peerServers: [:])
        #expect(String(decoding: other.stdout, as: UTF8.self) == "404 page not found\n\n" && other.exitCode == 0)
        #expect(!IstiodDebug.isRequestCommand(target(["pilot-discovery", "request", "GET", "/x"], container: "istio-proxy")))
        #expect(!IstiodDebug.isRequestCommand(target(["pilot-discovery", "discovery"])))
        let notIstiod = IstiodDebug.answerRequestCommand(
            target(["pilot-discovery", "request", "GET", "/debug/clusterz"], pod: "no-such-pod"), state: primary.state, peerServers: [:])
        #expect(notIstiod.exitCode == 255 && !notIstiod.stderr.isEmpty)
    }

    @Test func aPeerIstiodCannotReachTimesOutAndLeavesRouting() throws {
        var primary = Self.primary()
        primary.state.istiodUnreachablePeers = ["cluster-2"]
        let clusterz = IstiodDebug.clusterz(primary.state, peerServers: ["cluster-2": Self.peerServer])
        #expect(clusterz.array?.map { $0["syncStatus"] } == ["synced", "timeout"])

        let view = ClusterMeshView.clusterView(primary.state, peerServers: ["cluster-2": Self.peerServer]) { _ in nil }
        #expect(view.unreachablePeers == ["cluster-2"])
        #expect(view.remoteSecrets["cluster-2"]?.serverMatchesPeer == true, "the secret itself is fine")
        var peer = view
        peer.name = "cluster-2"
        peer.network = "network-2"
        peer.unreachablePeers = []
        let mesh = MeshView(clusters: [view, peer])
        #expect(MeshRouting.reachability(from: "cluster-1", to: "cluster-2", sourceHasSidecar: true, in: mesh) == .peerAPIServerUnreachable)
        #expect(MeshRouting.reachability(from: "cluster-1", to: "cluster-1", sourceHasSidecar: true, in: mesh) == .sameCluster)
    }

    @Test func aSecretNamingAnotherServerNeverSyncs() {
        let primary = Self.primary(secretServer: "https://127.0.0.1:1")
        let clusterz = IstiodDebug.clusterz(primary.state, peerServers: ["cluster-2": Self.peerServer])
        #expect(clusterz.array?.last?["syncStatus"] == "timeout")
    }

    @Test func otherPodsPortsAndPathsAnswerAsARealServerWould() {
        var primary = Self.primary()
        let pod = Self.istiod(primary)
        let servers = ["cluster-2": Self.peerServer]
        for (path, status) in [
            ("/api/v1/namespaces/istio-system/pods/\(pod):15014/proxy/debug/unknown", 404),
            ("/api/v1/namespaces/istio-system/pods/\(pod):8080/proxy/debug/clusterz", 503),
            ("/api/v1/namespaces/istio-system/pods/\(pod)/proxy/debug/clusterz", 503),
        ] {
            guard case .proxy(let target) = Self.proxy(&primary, path) else {
                Issue.record("\(path) did not reach the proxy")
                continue
            }
            #expect(IstiodDebug.answer(target, state: primary.state, peerServers: servers).status == status, "\(path)")
        }
        #expect(primary.call("GET", "/api/v1/namespaces/istio-system/pods/nope:15014/proxy/debug/clusterz").status == 404)
        #expect(primary.call("GET", "/api/v1/namespaces/istio-system/pods/\(pod):notaport/proxy/x").status == 400)
        #expect(primary.call("POST", "/api/v1/namespaces/istio-system/pods/\(pod):15014/proxy/debug/clusterz", [:]).status == 405)
        #expect(IstiodDebug.parseName("https:\(pod):15014")?.port == 15014)
        #expect(IstiodDebug.parseName("ftp:\(pod):15014") == nil)
    }

    /// The istiod Service's proxy reaches a ready istiod pod at the named port's target port.
    @Test func theServiceProxyResolvesToAReadyIstiodPod() {
        var primary = Self.primary()
        let pod = Self.istiod(primary)
        let base = "/api/v1/namespaces/istio-system/services"
        for name in ["istiod-asm-1-23:http-monitoring", "istiod-asm-1-23:15014", "http:istiod-asm-1-23:15014"] {
            guard case .proxy(let target) = Self.proxy(&primary, "\(base)/\(name)/proxy/debug/clusterz") else {
                Issue.record("\(name) did not reach the proxy")
                continue
            }
            #expect(target == ProxyTarget(namespace: "istio-system", pod: pod, port: 15014, path: "/debug/clusterz"), "\(name)")
        }
        #expect(primary.call("GET", "\(base)/nope:15014/proxy/debug/clusterz").status == 404)
        #expect(primary.call("GET", "\(base)/istiod-asm-1-23:9999/proxy/debug/clusterz").status == 503)
    }

    @Test func deniedPodsProxyIsForbiddenAndSelfSubjectAccessReviewSaysNo() throws {
        var primary = Self.primary()
        primary.state.deniedResources = ["pods/proxy"]
        let pod = Self.istiod(primary)
        let refused = primary.call("GET", "/api/v1/namespaces/istio-system/pods/\(pod):15014/proxy/debug/clusterz")
        #expect(refused.status == 403)
        let status = try #require(refused.json)
        #expect(status["kind"] == "Status")
        #expect(status["reason"] == "Forbidden")
        #expect(
            status["message"].string
                == "pods \"\(pod):15014\" is forbidden: User \"admin\" cannot get resource \"pods/proxy\" in API group \"\" in the namespace \"istio-system\""
        )
        #expect(status["details"]["kind"] == "pods")
        #expect(primary.call("GET", "/api/v1/namespaces/istio-system/pods").status == 200, "pods themselves stay readable")

        func review(_ subresource: String?) -> JSON {
            var attributes: JSON = ["verb": "get", "resource": "pods", "namespace": "istio-system"]
            if let subresource { attributes["subresource"] = .string(subresource) }
            let body: JSON = [
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": ["resourceAttributes": attributes],
            ]
            return primary.call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body).json?["status"] ?? .null
        }
        #expect(review("proxy")["allowed"] == false)
        #expect(review(nil)["allowed"] == true)
    }

    /// Through a running mesh's HTTPS API server, with curl and istiod's debug port opened (the exec path is
    /// judged by kubectl in Tests/scripts/clusterz.sh): the secret istiod holds syncs, the fault turns it into a
    /// timeout, and healing it brings it back; the fault document shows the faults.
    @Test func aRunningMeshAnswersClusterzThroughItsAPIServer() async throws {
        var options = SimulatedMeshOptions()
        options.startDelay = .milliseconds(50)
        options.istiodDebugOpen = ["cluster-1"]
        let mesh = try await SimulatedMesh.start(options)
        let curl = try Curl()
        do {
            let first = mesh.clusters[0]
            let ca = try curl.file("ca.pem", first.credentials.authority.certificatePEM)
            let pod = first.read { state in
                state.store.list(.pods, namespace: "istio-system").first { ClusterState.isIstiod($0) }?["metadata"]["name"].string ?? ""
            }
            let url = first.serverURL + "/api/v1/namespaces/istio-system/pods/\(pod):15014/proxy/debug/clusterz"
            let token = ["--cacert", ca, "-H", "Authorization: Bearer \(first.credentials.bearerToken)", url]
            func statuses() throws -> [String] {
                let answer = try curl.run(token)
                #expect(answer.status == 200)
                return try JSON.parse(Array(answer.body.utf8)).array?.map { $0["syncStatus"].string ?? "" } ?? []
            }
            #expect(try statuses() == ["synced", "synced"])
            try mesh.faults.setIstiodUnreachablePeers(["cluster-2"], cluster: "cluster-1")
            #expect(try statuses() == ["synced", "timeout"])
            let document = FaultDocument.render(mesh.faults)
            #expect(document["controlPlane"]["cluster-1"]["unreachablePeers"] == ["cluster-2"])
            #expect(throws: SimulatedMeshError.self) { try mesh.faults.setIstiodUnreachablePeers(["cluster-1"], cluster: "cluster-1") }
            try mesh.faults.setIstiodUnreachablePeers([], cluster: "cluster-1")
            #expect(try statuses() == ["synced", "synced"])
            try mesh.faults.setDeniedResources(["pods/proxy"], cluster: "cluster-1")
            #expect(try curl.run(token).status == 403)
            #expect(FaultDocument.render(mesh.faults)["rbac"]["cluster-1"]["deny"] == ["pods/proxy"])
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }

    @Test func theFaultDocumentChecksItsFields() throws {
        #expect(throws: SimulatedMeshError.self) {
            try FaultDocument.fields(["unreachable": []], ["unreachablePeers", "debugAuthentication"], field: "controlPlane.cluster-1")
        }
        let entry = try FaultDocument.fields(["debugAuthentication": true], ["unreachablePeers", "debugAuthentication"], field: "c")
        #expect(entry["unreachablePeers"] == nil, "absent fields stay as they are")
        #expect(try FaultDocument.list(["pods/proxy"], "rbac.c.deny") == ["pods/proxy"])
        #expect(try FaultDocument.list([], "rbac.c.deny") == [])
        #expect(throws: SimulatedMeshError.self) { try FaultDocument.list([""], "rbac.c.deny") }
    }

    /// A real istiod refuses debug callers that are not on loopback and carry no Istio credential; the
    /// proxied request is one. Unknown paths still get the mux's 404 first.
    @Test func istiodThatAuthenticatesDebugCallersRefusesTheProxiedRequest() {
        let primary = Self.primary()
        #expect(primary.state.istiodDebugRequiresAuthentication, "as a real istiod, by default")
        let pod = Self.istiod(primary)
        let target = ProxyTarget(namespace: "istio-system", pod: pod, port: 15014, path: "/debug/clusterz")
        let refused = IstiodDebug.answer(target, state: primary.state, peerServers: [:])
        #expect(refused.status == 401)
        #expect(refused.body.isEmpty)
        var unknown = target
        unknown.path = "/nope"
        #expect(IstiodDebug.answer(unknown, state: primary.state, peerServers: [:]).status == 404)
    }
}
