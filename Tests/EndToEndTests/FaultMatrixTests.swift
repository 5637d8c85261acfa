// The fault matrix of issues 6 and 14: each test breaks the simulated mesh the way the real world breaks
// (through the Kubernetes API where that is how it happens, through the simulator's fault control for
// what the API cannot express), runs the built CLI against it and checks the failing check, the named
// cause and the exit code. The deploy faults (pods that cannot start) also check that the run ends long
// before its deploy timeout and still cleans up.

import Foundation
import KubeClient
import MeshSim
import MeshSimRuntime
import XCTest

final class FaultMatrixTests: XCTestCase {
    /// A started mesh, its clients (one per context) and a scratch directory.
    struct Bed {
        var mesh: SimulatedMesh
        var clients: [KubeClient]
        var directory: String

        static func start(_ label: String, _ configure: (inout SimulatedMeshOptions) -> Void = { _ in }) async throws -> Bed {
            var options = SimulatedMeshOptions()
            configure(&options)
            let mesh = try await SimulatedMesh.start(options)
            let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath))
            let clients = try mesh.contexts.map { try KubeClient(kubeconfig: kubeconfig, context: $0) }
            return Bed(mesh: mesh, clients: clients, directory: try CLI.temporaryDirectory("fault-\(label)"))
        }

        /// A two-cluster scenario on this mesh's contexts with short deadlines; `extra` is appended YAML,
        /// `graces` more `timeouts` (`imagePullGrace: 5s`).
        func scenario(
            _ extra: String = "", requests: Int = 20, deployTimeout: String = "60s", convergeTimeout: String = "4s",
            cleanupTimeout: String = "30s", graces: [String: String] = [:]
        ) throws -> String {
            let path = directory + "/scenario.yaml"
            let graceLines = graces.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)" }.joined(separator: "\n")
            try """
            name: fault
            clusters:
              - context: \(mesh.contexts[0])
                serves: v1
              - context: \(mesh.contexts[1])
                serves: v2
            load:
              requestsPerBurst: \(requests)
            timeouts:
              deploy: \(deployTimeout)
              converge: \(convergeTimeout)
              cleanup: \(cleanupTimeout)
            \(graceLines)
            \(extra)
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func run(_ scenario: String, timeout: TimeInterval = 180, arguments: [String] = []) throws -> (CLIResult, [String: Any]?) {
            let output = directory + "/out"
            let result = try CLI.run(["run", scenario, "--kubeconfig", mesh.kubeconfigPath, "--output-dir", output] + arguments, timeout: timeout)
            return (result, try? CLI.report(in: output))
        }

        func records() throws -> [[String: Any]] {
            let text = (try? String(contentsOfFile: directory + "/out/records.jsonl", encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        }

        /// Namespaces meshcheck left in the given clusters (default: all).
        func managedNamespaces(in indexes: [Int]? = nil) async throws -> [String] {
            var names: [String] = []
            for client in (indexes ?? Array(clients.indices)).map({ clients[$0] }) {
                let namespaces: [Namespace] = try await client.list(ResourcePath.namespaces().labelSelector("app.kubernetes.io/managed-by=meshcheck"))
                names += namespaces.compactMap { $0.metadata.name.map { "\(client.name)/\($0)" } }
            }
            return names
        }
    }

    /// How a test's mesh differs from the default one.
    struct Options {
        var configure: (inout SimulatedMeshOptions) -> Void = { _ in }
    }

    /// Starts a mesh, runs `body`, and stops the mesh whether `body` succeeded or not.
    func withBed(_ label: String, options: Options = Options(), _ body: (Bed) async throws -> Void) async throws {
        try await Self.withBed(label, options: options, body)
    }

    static func withBed(_ label: String, options: Options = Options(), _ body: (Bed) async throws -> Void) async throws {
        let bed = try await Bed.start(label, options.configure)
        do {
            try await body(bed)
        } catch {
            await bed.mesh.stop()
            throw error
        }
        await bed.mesh.stop()
    }

    static func checks(_ report: [String: Any]?, _ name: String, source: String? = nil) -> [[String: Any]] {
        (report ?? [:]).array("checks").filter { $0.string("name") == name && (source == nil || $0.string("source") == source) }
    }

    /// report.json's layers of the pair `source` → `target`, and each layer's status by name.
    static func layers(_ report: [String: Any]?, _ source: String, _ target: String) throws -> (pair: [String: Any], status: [String: String]) {
        let pair = try XCTUnwrap(
            (report ?? [:]).array("layers").first { $0.string("source") == source && $0.string("target") == target },
            "no layers for \(source) → \(target)")
        var status: [String: String] = [:]
        for layer in pair.array("layers") { status[layer.string("layer") ?? "?"] = layer.string("status") }
        return (pair, status)
    }

    /// The pair's first broken layer is `layer`, and the failing check's cause leads with it and carries its hint.
    static func assertLayerNamed(
        _ report: [String: Any]?, check: String = "all-clusters-reached", source: String, target: String, layer: String, title: String,
        hint: String
    ) throws {
        let (pair, _) = try layers(report, source, target)
        XCTAssertEqual(pair.string("firstBroken"), layer, "\(pair)")
        let row = try XCTUnwrap(Self.checks(report, check, source: source).first)
        XCTAssertEqual(row.string("status"), "fail")
        let cause = row.string("cause") ?? ""
        XCTAssertTrue(cause.hasPrefix("layer \(title): "), cause)
        let broken = try XCTUnwrap(pair.array("layers").first { $0.string("layer") == layer })
        XCTAssertTrue(cause.contains(broken.string("evidence") ?? "?"), cause)
        XCTAssertTrue((row.string("hint") ?? "").contains(hint), row.string("hint") ?? "")
        XCTAssertEqual(row.string("hint"), broken.string("hint"), "the layer's hint")
    }

    static func failing(_ report: [String: Any]?) -> [String] {
        (report ?? [:]).array("checks").filter { $0.string("status") == "fail" }.map { "\($0.string("name") ?? "?")@\($0.string("source") ?? "-")" }
    }

    /// Pod faults for one cluster (simulator options, applied once the mesh is up).
    static func podFaults(_ cluster: String, _ change: @escaping (inout PodFaults) -> Void) -> Options {
        Options { options in
            var faults = PodFaults()
            change(&faults)
            options.podFaults[cluster] = faults
        }
    }

    /// Runs a scenario whose deploy timeout is 10 minutes against a mesh where cluster-2's pods cannot
    /// become ready. The run must end within the CLI's bounded wait, far below those 10 minutes, because
    /// the failure is certain: exit 3 (as the deploy timeout), the error says waiting will not help, every
    /// failed row is a `deploy` row of cluster-2 with a hint, and cleanup removed the namespaces. Returns
    /// the `deploy` rows for the fault's own assertions.
    func runDeployFault(_ bed: Bed, graces: [String: String] = [:]) async throws -> [[String: Any]] {
        let (result, report) = try bed.run(try bed.scenario(deployTimeout: "10m", graces: graces), timeout: 180)
        XCTAssertEqual(result.exitCode, 3, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        XCTAssertEqual(report?.string("verdict"), "error")
        let error = report?.string("error") ?? ""
        XCTAssertTrue(error.contains("workloads not ready and will not be by waiting"), error)
        let timeouts = ((report?["scenario"] as? [String: Any])?["timeouts"] as? [String: Any]) ?? [:]
        XCTAssertEqual(timeouts["deploySeconds"] as? Double, 600)
        let deploy = try XCTUnwrap((report ?? [:]).array("phases").first { $0.string("name") == "deploy" }?["seconds"] as? Double)
        XCTAssertLessThan(deploy, 600, "the deploy wait ended before its timeout")
        let rows = Self.checks(report, "deploy")
        XCTAssertFalse(rows.isEmpty, "failing: \(Self.failing(report))")
        XCTAssertEqual(Set(Self.failing(report)), ["deploy@cluster-2"])
        for row in rows {
            XCTAssertTrue((row.string("message") ?? "").hasPrefix("cluster-2 (context \(bed.mesh.contexts[1])): "), "\(row)")
            XCTAssertTrue((row.string("message") ?? "").contains("will not become ready by waiting"), "\(row)")
            XCTAssertFalse((row.string("hint") ?? "").isEmpty, "\(row)")
        }
        XCTAssertEqual((report?["cleanup"] as? [String: Any])?.string("status"), "done")
        let left = try await bed.managedNamespaces()
        XCTAssertEqual(left, [], "cleanup ran after the early end")
        return rows
    }

    /// A `deploy` row's message, cause and hint.
    typealias DeployRow = (message: String, cause: String, hint: String)

    /// The rows as (message, cause, hint), after checking that one is about HelloWorld v2 (the wait ends at
    /// the first certain reason, so cluster-2's sleep may or may not have its own row by then).
    static func deployRows(_ rows: [[String: Any]]) -> [DeployRow] {
        let parsed = rows.map { (message: $0.string("message") ?? "", cause: $0.string("cause") ?? "", hint: $0.string("hint") ?? "") }
        XCTAssertTrue(parsed.contains { $0.message.contains("/helloworld-v2-") }, "a row names HelloWorld v2's object: \(rows)")
        return parsed
    }

    /// Polls `condition` every 100 ms for at most `seconds`.
    static func waitUntil(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<Int(seconds * 10) {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTFail("timed out waiting until \(what)")
    }

    /// Two roots in the mesh: preflight's root-ca fails and explains why neither cluster reaches the other.
    static func assertRootMismatchFailsTheRun(_ bed: Bed) throws {
        let (result, report) = try bed.run(try bed.scenario())
        XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let root = try XCTUnwrap(Self.checks(report, "root-ca").first)
        XCTAssertEqual(root.string("status"), "fail")
        XCTAssertTrue((root.string("message") ?? "").contains("istio-ca-root-cert differs between clusters"), "\(root)")
        for source in ["cluster-1", "cluster-2"] {
            let reached = try XCTUnwrap(Self.checks(report, "all-clusters-reached", source: source).first)
            XCTAssertEqual(reached.string("status"), "fail", source)
            XCTAssertTrue((reached.string("cause") ?? "").contains("preflight root-ca"), reached.string("cause") ?? "")
        }
    }

    // MARK: Rows

    func testMissingRemoteSecretFailsAllClustersReachedNamingTheSecret() async throws {
        try await withBed("remote-secret") { bed in
            try await bed.clients[0].delete(.secrets(in: "istio-system", "istio-remote-secret-cluster-2"))
            // Converge may wait 10 minutes, yet the run must end within the CLI's 180 s: the pair
            // cluster-1 → cluster-2 that preflight failed is awaited only for its short grace.
            let (result, report) = try bed.run(
                try bed.scenario("", convergeTimeout: "10m"), timeout: 180, arguments: ["--verbose"])
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let reached = try XCTUnwrap(Self.checks(report, "all-clusters-reached", source: "cluster-1").first)
            XCTAssertEqual(reached.string("status"), "fail")
            let cause = reached.string("cause") ?? ""
            XCTAssertTrue(cause.contains("cluster-1's clients reached only cluster-1"), cause)
            XCTAssertTrue(cause.contains("no remote secret for cluster-2"), cause)
            XCTAssertEqual(Self.checks(report, "all-clusters-reached", source: "cluster-2").first?.string("status"), "pass")
            XCTAssertEqual(Self.checks(report, "remote-secret").first?.string("status"), "fail")
            try Self.assertLayerNamed(
                report, source: "cluster-1", target: "cluster-2", layer: "secret", title: "remote secret", hint: "istioctl create-remote-secret")
            XCTAssertTrue(result.stdout.contains("cluster-1 → cluster-2  FAIL"), "the terminal summary shows the layer matrix: \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("no remote secret for cluster-2"), "the terminal summary shows the cause")
            let junit = try String(contentsOfFile: bed.directory + "/out/junit.xml", encoding: .utf8)
            XCTAssertTrue(junit.contains("no remote secret for cluster-2"), "JUnit carries the cause")
            XCTAssertTrue(result.stderr.contains("cluster-2 (preflight failed)"), result.stderr)
            XCTAssertTrue(result.stderr.contains("@cluster-1 without cluster-2; measuring anyway"), result.stderr)
            let converge = try XCTUnwrap(report?["convergeSeconds"] as? Double)
            XCTAssertLessThan(converge, 120, "converge ended after the failed pair's grace, not its 10 min timeout")
        }
    }

    /// A firewall drops cluster-1's packets to cluster-2's east-west gateway (15443): secret, sync and the sidecar's
    /// endpoints are all green — the gateway is listed and healthy, as Envoy without outlier detection keeps it — and
    /// the retries answer from cluster-1. The first broken layer is the answers, with the data-path hint.
    func testGatewayBehindAFirewallBreaksTheAnswersLayerWithTheDataPathHint() async throws {
        try await withBed("gateway-blocked") { bed in
            bed.mesh.faults.runtime.update { $0.blockedGateways = [ClusterPair(source: "cluster-1", target: "cluster-2")] }
            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            try Self.assertLayerNamed(
                report, source: "cluster-1", target: "cluster-2", layer: "traffic", title: "answers", hint: "data path between the gateways")
            let (pair, status) = try Self.layers(report, "cluster-1", "cluster-2")
            XCTAssertEqual(status, ["secret": "pass", "sync": "pass", "endpoints": "pass", "traffic": "fail"], "\(pair)")
            let endpoints = try XCTUnwrap(pair.array("layers").first { $0.string("layer") == "endpoints" })
            XCTAssertTrue((endpoints.string("evidence") ?? "").contains("healthy endpoint(s) for cluster-2: 192.0.2.22:15443"), "\(endpoints)")
            XCTAssertEqual(Self.checks(report, "all-clusters-reached", source: "cluster-2").first?.string("status"), "pass")
            XCTAssertTrue(result.stdout.contains("answers"), "the terminal shows the pair × layer matrix: \(result.stdout)")
        }
    }

    func testEastWestGatewayScaledToZeroFailsTrafficIntoThatCluster() async throws {
        try await withBed("eastwest") { bed in
            let scale = JSONValue.object(["spec": .object(["replicas": .number(0)])])
            let _: JSONValue = try await bed.clients[1].patch(.deployments(in: "istio-system", "istio-eastwestgateway"), merge: scale)
            try await Self.waitUntil("the gateway pods are gone") {
                let pods: [Pod] = try await bed.clients[1].list(ResourcePath.pods(in: "istio-system").labelSelector("istio=eastwestgateway"))
                return pods.allSatisfy { !$0.isReady }
            }
            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let reached = try XCTUnwrap(Self.checks(report, "all-clusters-reached", source: "cluster-1").first)
            XCTAssertEqual(reached.string("status"), "fail")
            let cause = reached.string("cause") ?? ""
            XCTAssertTrue(cause.contains("0 of") && cause.contains("answers from cluster-2"), cause)
            XCTAssertTrue(cause.contains("east-west-gateway (cluster-2)") && cause.contains("scaled to 0"), cause)
            // The control plane is fine; the sidecar holds no endpoint for cluster-2.
            try Self.assertLayerNamed(
                report, source: "cluster-1", target: "cluster-2", layer: "endpoints", title: "sidecar endpoints", hint: "cluster-2's east-west gateway")
            let (_, status) = try Self.layers(report, "cluster-1", "cluster-2")
            XCTAssertEqual(status["secret"], "pass")
            XCTAssertEqual(status["sync"], "pass")
            XCTAssertEqual(
                Self.checks(report, "all-clusters-reached", source: "cluster-2").first?.string("status"), "pass",
                "traffic out of cluster-2 goes through cluster-1's gateway, which is up")
            // The sidecars' own view agrees: cluster-1's list no peer, cluster-2's list cluster-1's gateway.
            let readings = report?["sidecarEndpoints"] as? [[String: Any]] ?? []
            XCTAssertFalse(readings.isEmpty)
            for reading in readings {
                let peers = (reading["endpoints"] as? [[String: Any]] ?? []).filter { $0.string("origin") == "peer" }.compactMap { $0.string("peer") }
                XCTAssertEqual(peers, reading.string("source") == "cluster-1" ? [] : ["cluster-1"], "\(reading)")
            }
        }
    }

    func testRootCAMismatchFailsPreflightAndIsNamedByTheTrafficChecks() async throws {
        try await withBed("root-ca") { bed in
            let before: ConfigMap = try await bed.clients[1].get(.configMaps(in: "istio-system", "istio-ca-root-cert"))
            // istiod rewrites istio-ca-root-cert from its CA, so the fault is a different CA in cluster 2.
            try bed.mesh.faults.setRootCertificateMismatch(true, cluster: "cluster-2")
            try await Self.waitUntil("cluster-2 publishes its own root") {
                let now: ConfigMap = try await bed.clients[1].get(.configMaps(in: "istio-system", "istio-ca-root-cert"))
                return now.data?["root-cert.pem"] != before.data?["root-cert.pem"]
            }
            try Self.assertRootMismatchFailsTheRun(bed)
        }
    }

    func testNamespaceLabelledForARevisionThatDoesNotExistFailsSidecarInjection() async throws {
        try await withBed("revision") { bed in
            let (result, report) = try bed.run(try bed.scenario("mesh:\n  revision: asm-0-0"))
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let sidecars = try XCTUnwrap(Self.checks(report, "sidecar-injection").first)
            XCTAssertEqual(sidecars.string("status"), "fail")
            let message = sidecars.string("message") ?? ""
            XCTAssertTrue(message.contains("cluster-1/helloworld-v1-") && message.contains("cluster-1/sleep-"), "the pods are named: \(message)")
            XCTAssertTrue(
                (sidecars.string("cause") ?? "").contains("revision asm-0-0 is not installed (installed revisions: asm-1-23)"),
                sidecars.string("cause") ?? "")
            // Without a sidecar there is no Envoy to ask: every reading is "not visible", with its reason.
            let readings = report?["sidecarEndpoints"] as? [[String: Any]] ?? []
            XCTAssertFalse(readings.isEmpty)
            for reading in readings {
                XCTAssertEqual(reading["visible"] as? Bool, false, "\(reading)")
                XCTAssertTrue((reading.string("reason") ?? "").contains("localhost:15000"), "\(reading)")
            }
            XCTAssertEqual(Self.checks(report, "revision").first?.string("status"), "fail")
        }
    }

    /// The install guide's private-cluster procedure: remote secrets name each peer's private endpoint, the
    /// user's kubeconfig the public one. The secrets carry the peers' CAs, so preflight matches them by
    /// identity, says they point at another endpoint, and nothing fails.
    func testPrivateEndpointsPassPreflightAndTheRun() async throws {
        try await withBed("private", options: Options { $0.privateEndpoints = true }) { bed in
            let secret: Secret = try await bed.clients[0].get(.secrets(in: "istio-system", "istio-remote-secret-cluster-2"))
            let kubeconfig = String(decoding: secret.decodedValue("cluster-2") ?? [], as: UTF8.self)
            XCTAssertTrue(kubeconfig.contains("server: https://127.0.1.2:"), "the secret names the private endpoint: \(kubeconfig.prefix(400))")
            let report = try Self.assertPreflightAndRunPass(bed, preflightSays: "another endpoint of cluster-2")
            // A healthy multi-primary mesh: every layer it can see is green, nothing is hidden from it.
            for pair in (report ?? [:]).array("layers") {
                XCTAssertTrue(pair.array("layers").allSatisfy { ["pass", "not-applicable"].contains($0.string("status")) }, "\(pair)")
            }
        }
    }

    func testManagedControlPlaneInConnectedModePassesPreflightAndTheRun() async throws {
        try await withBed("managed", options: Options { $0.managedControlPlane = true }) { bed in
            let remoteSecrets: [Secret] = try await bed.clients[0].list(ResourcePath.secrets(in: "istio-system").labelSelector("istio/multiCluster=true"))
            XCTAssertEqual(remoteSecrets.count, 0, "connected mode (the default): the fleet discovers the peers")
            let report = try Self.assertPreflightAndRunPass(bed, preflightSays: "managed ControlPlaneRevision asm-managed is Reconciled")
            XCTAssertEqual(report?.string("revision"), "asm-managed")
            XCTAssertTrue((Self.checks(report, "topology").first?.string("message") ?? "").contains("managed, connected discovery"))
        }
    }

    /// A healthy mesh of this shape: `meshcheck preflight` on both contexts exits 0 and its checklist says
    /// `preflightSays`, and the run passes. Returns the run's report.
    @discardableResult
    static func assertPreflightAndRunPass(_ bed: Bed, preflightSays: String) throws -> [String: Any]? {
        let preflight = try CLI.run(
            ["preflight", "--kubeconfig", bed.mesh.kubeconfigPath, "--context", bed.mesh.contexts[0], "--context", bed.mesh.contexts[1]],
            timeout: 60)
        XCTAssertEqual(preflight.exitCode, 0, "stdout: \(preflight.stdout)\nstderr: \(preflight.stderr)")
        XCTAssertTrue(preflight.stdout.contains(preflightSays), preflight.stdout)
        let (result, report) = try bed.run(try bed.scenario())
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        XCTAssertEqual(report?.string("verdict"), "pass")
        XCTAssertEqual(Self.failing(report), [])
        // Every pair's layers: none broken, the report.html matrix shown, the terminal's not (nothing broke).
        let layers = (report ?? [:]).array("layers")
        XCTAssertEqual(layers.count, 4, "every source × serving cluster")
        for pair in layers {
            XCTAssertNil(pair["firstBroken"], "\(pair)")
            XCTAssertFalse(pair.array("layers").contains { $0.string("status") == "fail" }, "\(pair)")
        }
        let html = try String(contentsOfFile: bed.directory + "/out/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"layers\">") && html.contains("No pair has a broken layer."))
        XCTAssertTrue(html.contains("<th scope=\"row\">cluster-1 → cluster-2</th>"))
        XCTAssertFalse(result.stdout.contains("Layers"), result.stdout)
        return report
    }

    /// `meshcheck preflight` on both contexts as a checklist and as JSON: (exit code, checklist, findings, layers).
    static func preflight(_ bed: Bed) throws -> (Int32, String, [[String: Any]], [[String: Any]]) {
        let contexts = ["--kubeconfig", bed.mesh.kubeconfigPath, "--context", bed.mesh.contexts[0], "--context", bed.mesh.contexts[1]]
        let text = try CLI.run(["preflight"] + contexts, timeout: 60)
        let json = try CLI.run(["preflight", "-o", "json"] + contexts, timeout: 60)
        XCTAssertEqual(json.exitCode, text.exitCode, json.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.stdout)
        return (text.exitCode, text.stdout, document.array("findings"), document.array("layers"))
    }

    /// istiod of cluster-1 cannot reach cluster-2's API server (authorized networks, a firewall): the remote
    /// secret is fine, but istiod never syncs cluster-2, so cluster-1's sidecars never learn its endpoints.
    /// Preflight's `control-plane-sync` names the peer with the hint, and the run's cause is that row.
    func testIstiodThatCannotReachThePeerFailsControlPlaneSyncWhileTheSecretIsGreen() async throws {
        try await withBed("istiod-unreachable", options: Options { $0.istiodUnreachablePeers = ["cluster-1": ["cluster-2"]] }) { bed in
            let (exitCode, checklist, findings, layers) = try Self.preflight(bed)
            XCTAssertEqual(exitCode, 1, checklist)
            let pair = try XCTUnwrap(layers.first { $0.string("source") == "cluster-1" && $0.string("target") == "cluster-2" }, "\(layers)")
            XCTAssertEqual(pair.string("firstBroken"), "sync")
            XCTAssertEqual(pair.array("layers").compactMap { $0.string("status") }, ["pass", "fail"], "secret and sync only: nothing is deployed")
            XCTAssertTrue(checklist.contains("control-plane-sync"), checklist)
            XCTAssertTrue(checklist.contains("has not synced with cluster-2 timeout"), checklist)
            XCTAssertTrue(checklist.contains("istiod in cluster-1 cannot reach the API server of cluster-2"), checklist)
            let sync = findings.filter { $0.string("check") == "control-plane-sync" }
            let first = try XCTUnwrap(sync.first { $0.string("cluster") == "cluster-1" })
            XCTAssertEqual(first.string("status"), "fail")
            XCTAssertEqual(first.string("peer"), "cluster-2")
            XCTAssertTrue((first.string("evidence") ?? "").contains("cluster-2 timeout (secret istio-system/istio-remote-secret-cluster-2)"), "\(first)")
            XCTAssertTrue((first.string("hint") ?? "").contains("private-cluster authorized networks or a firewall"), "\(first)")
            XCTAssertEqual(sync.first { $0.string("cluster") == "cluster-2" }?.string("status"), "pass")
            let secrets = findings.filter { $0.string("check") == "remote-secret" }
            XCTAssertEqual(secrets.compactMap { $0.string("status") }, ["pass", "pass"], "the secrets are fine")
            XCTAssertEqual(findings.filter { $0.string("status") == "fail" }.count, 1, "only the sync row fails")

            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let reached = try XCTUnwrap(Self.checks(report, "all-clusters-reached", source: "cluster-1").first)
            XCTAssertEqual(reached.string("status"), "fail")
            let cause = reached.string("cause") ?? ""
            XCTAssertTrue(cause.contains("preflight control-plane-sync (cluster-1)"), cause)
            XCTAssertEqual(Self.checks(report, "all-clusters-reached", source: "cluster-2").first?.string("status"), "pass")
            try Self.assertLayerNamed(
                report, source: "cluster-1", target: "cluster-2", layer: "sync", title: "control plane sync",
                hint: "private-cluster authorized networks or firewalls")
            XCTAssertEqual(try Self.layers(report, "cluster-1", "cluster-2").status["secret"], "pass", "the secret layer is green")
            // Preflight shows the same layer per pair.
            XCTAssertTrue(checklist.contains("cluster-1 → cluster-2  pass           FAIL"), checklist)
        }
    }

    /// Preflight on a mesh where `cluster` cannot show istiod's view: exit 0, that cluster's
    /// `control-plane-sync` row is the only one not passing, a warning whose evidence starts with `prefix` and
    /// contains `reason`. Returns the checklist.
    @discardableResult
    static func assertViewNotVisible(_ bed: Bed, cluster: String, prefix: String, reason: String) throws -> String {
        let (exitCode, checklist, findings, _) = try Self.preflight(bed)
        XCTAssertEqual(exitCode, 0, checklist)
        let row = try XCTUnwrap(findings.first { $0.string("check") == "control-plane-sync" && $0.string("cluster") == cluster })
        XCTAssertEqual(row.string("status"), "warn")
        let evidence = row.string("evidence") ?? ""
        XCTAssertTrue(evidence.hasPrefix(prefix), evidence)
        XCTAssertTrue(evidence.contains(reason), evidence)
        XCTAssertEqual(findings.filter { $0.string("status") != "pass" }.count, 1, "everything else passes: \(findings)")
        return checklist
    }

    /// Credentials without `create pods/exec` in istio-system (the bursts' exec in meshcheck's own namespace still
    /// allowed): preflight cannot run `pilot-discovery request` in istiod, says so and why, and passes everything
    /// else. (istiod's view is read that way because istiod refuses the API server's pod proxy with 401, which the
    /// simulator does too, so every other row that passes the sync check proves the exec path.)
    func testDeniedExecInIstioSystemMarksTheControlPlaneViewNotVisible() async throws {
        try await withBed("exec-denied", options: Options { $0.deniedResources = ["cluster-1": ["pods/exec@istio-system"]] }) { bed in
            let checklist = try Self.assertViewNotVisible(
                bed, cluster: "cluster-1", prefix: "not visible: forbidden: needs `create pods/exec in istio-system`",
                reason: "cannot create resource \"pods/exec\"")
            XCTAssertTrue(checklist.contains("not visible: forbidden"), checklist)

            // A run with the same credentials still judges traffic; only the sync layer of cluster-1's pairs is unseen.
            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            XCTAssertEqual(Self.checks(report, "all-clusters-reached", source: "cluster-1").first?.string("status"), "pass")
            let (pair, status) = try Self.layers(report, "cluster-1", "cluster-2")
            XCTAssertEqual(status, ["secret": "pass", "sync": "not-visible", "endpoints": "pass", "traffic": "pass"])
            let sync = try XCTUnwrap(pair.array("layers").first { $0.string("layer") == "sync" })
            XCTAssertTrue((sync.string("evidence") ?? "").hasPrefix("cluster-1: forbidden"), "\(sync)")
            XCTAssertEqual(try Self.layers(report, "cluster-2", "cluster-1").status["sync"], "pass", "cluster-2's view is readable")
        }
    }

    func testPrimaryRemotePassesPreflightAndTheRun() async throws {
        try await withBed("primary-remote", options: Options { $0.topology = .primaryRemote }) { bed in
            let istiod: [Pod] = try await bed.clients[1].list(ResourcePath.pods(in: "istio-system").labelSelector("app=istiod"))
            XCTAssertEqual(istiod.count, 0, "the remote runs no istiod")
            let remoteSecrets: [Secret] = try await bed.clients[1].list(ResourcePath.secrets(in: "istio-system").labelSelector("istio/multiCluster=true"))
            XCTAssertEqual(remoteSecrets.count, 0, "only the primary holds remote secrets")
            let report = try Self.assertPreflightAndRunPass(bed, preflightSays: "primary-remote (primary cluster-1; remotes cluster-2)")
            let topology = try XCTUnwrap(Self.checks(report, "topology").first)
            XCTAssertTrue((topology.string("message") ?? "").contains("primary-remote (primary cluster-1; remotes cluster-2)"), "\(topology)")
            let html = try String(contentsOfFile: bed.directory + "/out/report.html", encoding: .utf8)
            XCTAssertTrue(html.contains("primary-remote (primary cluster-1; remotes cluster-2)"), "the HTML report names the topology")
            // With the remote as the first context, the revision comes from its injector webhook (it runs no istiod).
            let remoteFirst = try CLI.run(
                [
                    "run", "--kubeconfig", bed.mesh.kubeconfigPath, "--context", bed.mesh.contexts[1], "--context", bed.mesh.contexts[0],
                    "--output-dir", bed.directory + "/remote-first",
                ], timeout: 180)
            XCTAssertEqual(remoteFirst.exitCode, 0, "stderr: \(remoteFirst.stderr)\nstdout: \(remoteFirst.stdout)")
            XCTAssertEqual(try CLI.report(in: bed.directory + "/remote-first").string("revision"), "asm-1-23")
        }
    }

    /// The primary discovers its remote only through its remote secret: without it neither cluster's
    /// clients reach the remote's endpoints — not even the remote's own, whose sidecars the primary configures.
    func testPrimaryRemoteWithoutThePrimarysSecretForTheRemoteFailsBothSources() async throws {
        try await withBed("primary-remote-secret", options: Options { $0.topology = .primaryRemote }) { bed in
            try await bed.clients[0].delete(.secrets(in: "istio-system", "istio-remote-secret-cluster-2"))
            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            XCTAssertEqual(Self.checks(report, "remote-secret").first?.string("status"), "fail")
            for source in ["cluster-1", "cluster-2"] {
                let reached = try XCTUnwrap(Self.checks(report, "all-clusters-reached", source: source).first)
                XCTAssertEqual(reached.string("status"), "fail", source)
                let cause = reached.string("cause") ?? ""
                XCTAssertTrue(cause.contains("reached only cluster-1"), cause)
                // The remote's pairs are judged by its primary's secret, which the cause names as the broken layer.
                XCTAssertTrue(cause.hasPrefix("layer remote secret: cluster-1: no remote secret for cluster-2"), cause)
                XCTAssertEqual(try Self.layers(report, source, "cluster-2").pair.string("firstBroken"), "secret", source)
            }
        }
    }

    /// An operator turns connected discovery off on one cluster (asm-options patched to manual) and there
    /// are no secrets: that cluster's control plane stops seeing its peer.
    func testManagedClusterPatchedToManualWithoutSecretsFailsWithThePatchHint() async throws {
        try await withBed("managed-manual", options: Options { $0.managedControlPlane = true }) { bed in
            let manual = JSONValue.object(["data": .object(["multicluster_mode": .string("manual")])])
            let _: JSONValue = try await bed.clients[1].patch(.configMaps(in: "istio-system", "asm-options"), merge: manual)
            let (result, report) = try bed.run(try bed.scenario())
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let patch = "kubectl --context \(bed.mesh.contexts[1]) patch configmap/asm-options -n istio-system --type merge"
            for name in ["topology", "remote-secret"] {
                let row = try XCTUnwrap(Self.checks(report, name).first, name)
                XCTAssertEqual(row.string("status"), "fail", "\(row)")
                XCTAssertTrue((row.string("hint") ?? "").contains(patch), "\(row)")
            }
            XCTAssertEqual(Self.checks(report, "all-clusters-reached", source: "cluster-2").first?.string("status"), "fail")
            XCTAssertEqual(
                Self.checks(report, "all-clusters-reached", source: "cluster-1").first?.string("status"), "pass",
                "cluster-1 is still connected")
        }
    }

    /// The operator's way to a root mismatch: a different plug-in CA (`cacerts`) in cluster-2, picked up
    /// when istiod restarts (`kubectl rollout restart` patches the pod template's restartedAt annotation).
    func testPluggedInRootMismatchAfterIstiodRestartFailsRootCA() async throws {
        try await withBed("plugin-ca") { bed in
            let client = bed.clients[1]
            let before: ConfigMap = try await client.get(.configMaps(in: "istio-system", "istio-ca-root-cert"))
            let other = try CertificateAuthority.make(commonName: "Plug-in Root CA", organization: "example.com")
            let pem = JSONValue.string(other.certificatePEM)
            let cacerts = JSONValue.object([
                "apiVersion": .string("v1"), "kind": .string("Secret"), "metadata": .object(["name": .string("cacerts")]),
                "stringData": .object([
                    "ca-cert.pem": pem, "ca-key.pem": .string(other.privateKey.pemRepresentation), "root-cert.pem": pem,
                    "cert-chain.pem": pem,
                ]),
            ])
            let _: JSONValue = try await client.create(ResourcePath.secrets(in: "istio-system"), cacerts)
            try await Task.sleep(for: .milliseconds(500))
            let unchanged: ConfigMap = try await client.get(.configMaps(in: "istio-system", "istio-ca-root-cert"))
            XCTAssertEqual(unchanged.data?["root-cert.pem"], before.data?["root-cert.pem"], "istiod reads cacerts only when it starts")
            let restart = JSONValue.object([
                "spec": .object([
                    "template": .object([
                        "metadata": .object(["annotations": .object(["kubectl.kubernetes.io/restartedAt": .string("2026-12-02T09:30:00Z")])])
                    ])
                ])
            ])
            let _: JSONValue = try await client.patch(.deployments(in: "istio-system", "istiod-\(bed.mesh.clusterInfo[1].revision)"), merge: restart)
            try await Self.waitUntil("the restarted istiod publishes the plugged-in root") {
                let now: ConfigMap = try await client.get(.configMaps(in: "istio-system", "istio-ca-root-cert"))
                return now.data?["root-cert.pem"] == other.certificatePEM
            }
            try Self.assertRootMismatchFailsTheRun(bed)
        }
    }

    /// The errors are HTTP 500: Istio's default retry policy retries 503s on another endpoint, which would
    /// hide a 5 % rate of them from the client entirely.
    func testFivePercentErrorsFromV2FailErrorRateWithTheirSplit() async throws {
        try await withBed("errors") { bed in
            bed.mesh.faults.runtime.update { $0.versionFaults["v2"] = VersionFault(errorRate: 0.05, errorStatus: 500) }
            let (result, report) = try bed.run(try bed.scenario(requests: 200))
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let failed = Self.checks(report, "error-rate").filter { $0.string("status") == "fail" }
            XCTAssertFalse(failed.isEmpty, "with about 100 requests to v2 per source, some must fail: \(Self.failing(report))")
            for check in failed {
                XCTAssertTrue((check.string("message") ?? "").contains("http-500 ×"), "\(check)")
                let cause = check.string("cause") ?? ""
                XCTAssertTrue(cause.hasPrefix("errors by serving cluster: cluster-1 0 of"), cause)
                XCTAssertTrue(cause.contains("failed without naming the instance"), cause)
            }
            XCTAssertEqual(Set(Self.failing(report).map { String($0.prefix { $0 != "@" }) }), ["error-rate"])
        }
    }

    func testCrossClusterLatencyFailsTheSLOForTheCrossClusterDirectionOnly() async throws {
        try await withBed("latency", options: Options { $0.crossClusterLatency = .milliseconds(200) }) { bed in
            // Only the injected delay decides the outcome, not this machine's speed: every cross-cluster
            // request takes at least 200 ms, so a 100 ms p99 fails; local requests get a bound that only
            // a hang could break, so the local direction passes on however loaded a machine.
            let slo = """
                expectations:
                  latencySLO:
                    local: {p99: 60000}
                    crossCluster: {p99: 100}
                """
            let (result, report) = try bed.run(try bed.scenario(slo))
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let latency = Self.checks(report, "latency-slo")
            XCTAssertEqual(latency.count, 4)
            for check in latency {
                let cross = check.string("source") != check.string("target")
                XCTAssertEqual(check.string("status"), cross ? "fail" : "pass", "\(check)")
                if cross { XCTAssertTrue((check.string("cause") ?? "").contains("cross-cluster direction"), "\(check)") }
            }
            XCTAssertEqual(Set(Self.failing(report).map { String($0.prefix { $0 != "@" }) }), ["latency-slo"])
        }
    }

    func testBrokenExecStreamKeepsPartialRecordsAndJudgesWhatArrived() async throws {
        try await withBed("exec-break") { bed in
            // Converge probes (10 records, under 1 KiB) pass; the 60-request burst breaks after about 25 records.
            bed.mesh.faults.runtime.update { $0.execStreamFaults["cluster-1"] = .breakAfter(bytes: 2_000) }
            let (result, report) = try bed.run(try bed.scenario(requests: 60))
            XCTAssertEqual(result.exitCode, 1, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let exec = try XCTUnwrap(report?["exec"] as? [String: Any])
            XCTAssertGreaterThanOrEqual(exec["failed"] as? Int ?? 0, 1)
            let fromBroken = try bed.records().filter { $0.string("source") == "cluster-1" }.count
            XCTAssertGreaterThan(fromBroken, 0, "records that arrived before the break are kept")
            XCTAssertLessThan(fromBroken, 60)
            let errors = try XCTUnwrap(Self.checks(report, "error-rate", source: "cluster-1").first)
            XCTAssertEqual(errors.string("status"), "fail")
            XCTAssertTrue((errors.string("message") ?? "").contains("missing records"), "\(errors)")
            XCTAssertEqual(Self.checks(report, "error-rate", source: "cluster-2").first?.string("status"), "pass")
            let left = try await bed.managedNamespaces()
            XCTAssertEqual(left, [])
        }
    }

    func testHangingNamespaceDeletionEndsCleanupAtItsDeadlineWithExit4() async throws {
        try await withBed("ns-hang", options: Options { $0.hangNamespaceDeletion = true }) { bed in
            let (result, report) = try bed.run(try bed.scenario(cleanupTimeout: "3s"))
            XCTAssertEqual(result.exitCode, 4, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            let cleanup = try XCTUnwrap(report?["cleanup"] as? [String: Any])
            XCTAssertEqual(cleanup.string("status"), "failed")
            let leftovers = cleanup.array("leftovers")
            XCTAssertEqual(Set(leftovers.compactMap { $0.string("cluster") }), ["cluster-1", "cluster-2"])
            XCTAssertTrue(leftovers.allSatisfy { $0.string("kind") == "Namespace" && ($0.string("reason") ?? "").contains("cleanup timeout") }, "\(leftovers)")
        }
    }

    func testClusterWhoseAPIDropsEveryConnectionIsUnreachableAndNothingIsCreated() async throws {
        try await withBed("unreachable") { bed in
            var drop = APIFaults()
            drop.dropFraction = 1
            try bed.mesh.faults.setAPIFaults(drop, cluster: "cluster-2")
            let (result, _) = try bed.run(try bed.scenario(), timeout: 120)
            XCTAssertEqual(result.exitCode, 3, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            XCTAssertTrue(result.stderr.contains(bed.mesh.contexts[1]), result.stderr)
            let managed = try await bed.managedNamespaces(in: [0])
            XCTAssertEqual(managed, [], "nothing may be created in the reachable cluster")
        }
    }

    /// API priority and fairness under pressure: 30 % of requests to every API server get 429 with
    /// Retry-After. The client retries (bounded), the run passes, and the retries are in the report.
    func testThrottledAPIServersStillPassAndTheRetriesAreCounted() async throws {
        try await withBed("throttled") { bed in
            var throttle = APIFaults()
            throttle.throttleFraction = 0.3
            for cluster in ["cluster-1", "cluster-2"] { try bed.mesh.faults.setAPIFaults(throttle, cluster: cluster) }
            let (result, report) = try bed.run(try bed.scenario(), timeout: 240)
            XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
            XCTAssertEqual(report?.string("verdict"), "pass")
            let retries = (report ?? [:]).array("retries").reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
            XCTAssertGreaterThan(retries, 0, "the throttled requests must show up as retries in the report")
            let managed = try await bed.managedNamespaces()
            XCTAssertEqual(managed, [])
        }
    }

    // MARK: Deploy faults (each ends the run long before its 10-minute deploy timeout)

    func testImagePullFailureEndsTheDeployWaitNamingThePodTheImageAndTheRegistrysError() async throws {
        let image = "registry.istio.io/release/examples-helloworld-v2:1.0"
        try await withBed("image-pull", options: Options { $0.imagePullErrors = ["*/examples-helloworld-v2:*"] }) { bed in
            let rows = Self.deployRows(try await runDeployFault(bed, graces: ["imagePullGrace": "5s"]))
            XCTAssertEqual(rows.count, 1, "only the v2 image fails: \(rows)")
            for row in rows {
                XCTAssertTrue(row.message.contains("pod/helloworld-v2-") && row.message.contains("container helloworld image \(image)"), row.message)
                XCTAssertTrue(row.cause.hasPrefix("pod/helloworld-v2-"), "the cause names the pod: \(row.cause)")
                XCTAssertTrue(
                    row.cause.contains(" container helloworld: ErrImagePull: ") || row.cause.contains(" container helloworld: ImagePullBackOff: "), row.cause)
                XCTAssertTrue(row.cause.contains("failed to resolve reference \"\(image)\": \(image): not found"), "the registry's error: \(row.cause)")
                XCTAssertTrue(row.hint.contains("images.registry") && row.hint.contains("images.pullSecrets"), row.hint)
            }
        }
    }

    func testUnschedulablePodsEndTheDeployWaitWithTheSchedulersMessage() async throws {
        try await withBed("unschedulable", options: Self.podFaults("cluster-2") { $0.unschedulable = PodFaults.defaultUnschedulableMessage }) { bed in
            for row in Self.deployRows(try await runDeployFault(bed, graces: ["unschedulableGrace": "3s"])) {
                XCTAssertTrue(row.message.contains(": pod/"), row.message)
                XCTAssertTrue(row.cause.hasPrefix("pod/") && row.cause.hasSuffix(": Unschedulable: \(PodFaults.defaultUnschedulableMessage)"), row.cause)
                XCTAssertTrue(row.cause.contains("Insufficient cpu"), row.cause)
                XCTAssertTrue(row.hint.contains("resource requests") && row.hint.contains("values.global.proxy.resources"), row.hint)
            }
        }
    }

    func testPodSecurityDenialEndsTheDeployWaitAtOnceNamingTheReplicaSet() async throws {
        try await withBed("admission", options: Self.podFaults("cluster-2") { $0.denyPods = PodFaults.defaultDenyPodsMessage }) { bed in
            for row in Self.deployRows(try await runDeployFault(bed)) {
                let replicaSet = try XCTUnwrap(row.message.split(separator: " ").first { $0.hasPrefix("replicaset/") }, row.message)
                let name = replicaSet.dropFirst("replicaset/".count).prefix { $0 != ":" }
                XCTAssertTrue(row.cause.hasPrefix("replicaset/\(name): FailedCreate: Error creating: pods \"\(name)-\" is forbidden: "), row.cause)
                XCTAssertTrue(row.cause.contains("violates PodSecurity \"restricted:latest\""), row.cause)
                XCTAssertTrue(row.hint.contains("PodSecurity \"restricted:latest\"") && row.hint.contains("istio-cni"), row.hint)
            }
        }
    }

    func testCrashLoopEndsTheDeployWaitAtOnceWithTheLastExit() async throws {
        try await withBed("crash-loop", options: Self.podFaults("cluster-2") { $0.crashLoopApps = ["helloworld"] }) { bed in
            let rows = Self.deployRows(try await runDeployFault(bed))
            XCTAssertEqual(rows.count, 1, "only helloworld crashes: \(rows)")
            for row in rows {
                XCTAssertTrue(row.message.contains("pod/helloworld-v2-") && row.message.contains("container helloworld"), row.message)
                XCTAssertTrue(row.cause.hasPrefix("pod/helloworld-v2-"), "the cause names the pod: \(row.cause)")
                XCTAssertTrue(
                    row.cause.contains(" container helloworld: CrashLoopBackOff: back-off 10s restarting failed container=helloworld pod=helloworld-v2-"),
                    row.cause)
                XCTAssertTrue(row.cause.contains("last exit: Error, exit code 1"), row.cause)
                XCTAssertTrue(row.hint.contains("kubectl --context \(bed.mesh.contexts[1]) -n "), "the command names the cluster's context: \(row.hint)")
                XCTAssertTrue(row.hint.contains(" logs --previous helloworld-v2-") && row.hint.contains("-c helloworld"), row.hint)
            }
        }
    }

    func testSidecarThatNeverBecomesReadyEndsTheDeployWaitAfterItsGrace() async throws {
        try await withBed("sidecar", options: Self.podFaults("cluster-2") { $0.sidecarNotReady = true }) { bed in
            for row in Self.deployRows(try await runDeployFault(bed, graces: ["sidecarReadyGrace": "5s"])) {
                XCTAssertTrue(row.message.contains(": pod/") && row.message.contains("container istio-proxy"), row.message)
                XCTAssertTrue(row.cause.hasPrefix("pod/") && row.cause.contains(" container istio-proxy: "), row.cause)
                XCTAssertTrue(row.cause.contains("istio-proxy is running but not ready"), row.cause)
                XCTAssertTrue(row.cause.contains("Readiness probe failed: HTTP probe failed with statuscode: 503"), row.cause)
                XCTAssertTrue(row.hint.contains("istiod") && row.hint.contains("-c istio-proxy"), row.hint)
            }
        }
    }
}
