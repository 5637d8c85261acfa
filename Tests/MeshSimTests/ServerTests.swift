import Foundation
import MeshTestSupport
import Testing

@testable import MeshSim

/// Talks to a running simulated mesh with the machine's curl (a client written by others), over 127.0.0.1.
struct Curl {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "meshsim-tests")
    }

    func file(_ name: String, _ text: String) throws -> String {
        try directory.write(name, text)
    }

    /// Runs curl; returns the HTTP status, the response headers and the body.
    func run(_ arguments: [String]) throws -> (status: Int, headers: String, body: String) {
        let headerFile = directory.path("headers-" + UUID().uuidString)
        let text = try ChildProcess.run("/usr/bin/curl", ["-s", "--max-time", "10", "-D", headerFile, "-w", "\n%{http_code}"] + arguments)
            .stdoutText
        let split = text.split(separator: "\n", omittingEmptySubsequences: false)
        let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        return (Int(split.last ?? "") ?? 0, headers, split.dropLast().joined(separator: "\n"))
    }
}

@Suite(.serialized) struct ServerTests {
    func withMesh(_ body: (SimulatedMesh, Curl) async throws -> Void) async throws {
        var options = SimulatedMeshOptions()
        options.controlEndpoint = true
        options.startDelay = .milliseconds(50)
        let mesh = try await SimulatedMesh.start(options)
        let curl = try Curl() // its directory goes with it
        do {
            try await body(mesh, curl)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }

    @Test func startsClustersWithAKubeconfigContextEach() async throws {
        try await withMesh { mesh, _ in
            #expect(mesh.contexts == ["gke_meshcheck-sim_us-central1-a_cluster-1", "gke_meshcheck-sim_us-central1-a_cluster-2"])
            let kubeconfig = try String(contentsOfFile: mesh.kubeconfigPath, encoding: .utf8)
            for context in mesh.contexts {
                #expect(kubeconfig.contains("- name: \(context)\n  context:"))
                #expect(kubeconfig.contains("- name: \(context)-token\n  user:\n    token: "))
            }
            #expect(FileManager.default.fileExists(atPath: mesh.kubeconfigPath + ".sim.json"))
        }
    }

    @Test func authenticatesCertificatesAndTokensAndRejectsEverythingElse() async throws {
        try await withMesh { mesh, curl in
            let first = mesh.clusters[0]
            let second = mesh.clusters[1]
            let ca = try curl.file("ca.pem", first.credentials.authority.certificatePEM)
            let cert = try curl.file("cert.pem", first.credentials.adminClient.certificatePEM)
            let key = try curl.file("key.pem", first.credentials.adminClient.privateKeyPEM)
            let foreignCert = try curl.file("foreign.pem", second.credentials.adminClient.certificatePEM)
            let foreignKey = try curl.file("foreign-key.pem", second.credentials.adminClient.privateKeyPEM)
            let url = first.serverURL + "/api/v1/namespaces/default"

            let withCertificate = try curl.run(["--cacert", ca, "--cert", cert, "--key", key, url])
            #expect(withCertificate.status == 200)
            #expect((try JSON.parse(withCertificate.body))["metadata"]["name"] == "default")
            let withToken = try curl.run(["--cacert", ca, "-H", "Authorization: Bearer \(first.credentials.bearerToken)", url])
            #expect(withToken.status == 200)

            let anonymous = try curl.run(["--cacert", ca, url])
            #expect(anonymous.status == 401)
            #expect((try JSON.parse(anonymous.body))["reason"] == "Unauthorized")
            #expect(try curl.run(["--cacert", ca, "-H", "Authorization: Bearer wrong", url]).status == 401)
            #expect(try curl.run(["--cacert", ca, "-H", "Authorization: Bearer \(second.credentials.bearerToken)", url]).status == 401)
            #expect(try curl.run(["--cacert", ca, "--cert", foreignCert, "--key", foreignKey, url]).status == 401)
        }
    }

    @Test func execUpgradeFailuresAnswerLikeARealServer() async throws {
        try await withMesh { mesh, curl in
            let cluster = mesh.clusters[0]
            let ca = try curl.file("ca.pem", cluster.credentials.authority.certificatePEM)
            let auth = ["--cacert", ca, "-H", "Authorization: Bearer \(cluster.credentials.bearerToken)"]
            let pod = cluster.read { $0.store.list(.pods, namespace: "istio-system").first?["metadata"]["name"].string } ?? ""
            let base = cluster.serverURL + "/api/v1/namespaces/istio-system/pods/"
            let query = "/exec?command=true&stdout=true"
            let websocket = [
                "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
                "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            ]

            let plain = try curl.run(auth + [base + pod + query])
            #expect(plain.status == 400 && plain.body.contains("Upgrade request required"))
            let missing = try curl.run(auth + websocket + ["-H", "Sec-WebSocket-Protocol: v5.channel.k8s.io", base + "nope" + query])
            #expect(missing.status == 404 && missing.body.contains(#"pods \"nope\" not found"#))
            let wrongContainer = try curl.run(auth + websocket + [base + pod + query + "&container=zz"])
            #expect(wrongContainer.status == 400)
            let unsupported = try curl.run(auth + websocket + ["-H", "Sec-WebSocket-Protocol: v3.channel.k8s.io", base + pod + query])
            #expect(unsupported.status == 403 && unsupported.body.isEmpty)
            let badVersion = try curl.run(
                auth + [
                    "-H", "Connection: Upgrade", "-H", "Upgrade: websocket",
                    "-H", "Sec-WebSocket-Version: 7", "-H", "Sec-WebSocket-Key: a2V5", "-H", "Sec-WebSocket-Protocol: v5.channel.k8s.io",
                    base + pod + query,
                ])
            #expect(badVersion.status == 400 && badVersion.headers.lowercased().contains("sec-websocket-version: 13"))
        }
    }

    @Test func watchStreamsChangesAsNewlineDelimitedEvents() async throws {
        try await withMesh { mesh, curl in
            let cluster = mesh.clusters[0]
            let ca = try curl.file("ca.pem", cluster.credentials.authority.certificatePEM)
            let version = cluster.read { $0.store.resourceVersion }
            cluster.withState { state in
                _ = state.handle(
                    APIRequest(
                        method: "POST", path: "/api/v1/namespaces",
                        body: ClusterHarness.namespace("watched").serializedBytes()), now: SimulatedCluster.now(), serverAddress: "")
            }
            let watch = try curl.run([
                "--cacert", ca, "-H", "Authorization: Bearer \(cluster.credentials.bearerToken)",
                cluster.serverURL + "/api/v1/namespaces?watch=true&timeoutSeconds=1&resourceVersion=\(version)",
            ])
            #expect(watch.status == 200)
            let events = watch.body.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
            #expect(events.contains { $0["type"] == "ADDED" && $0["object"]["metadata"]["name"] == "watched" })
            let expired = try curl.run([
                "--cacert", ca, "-H", "Authorization: Bearer \(cluster.credentials.bearerToken)",
                cluster.serverURL + "/api/v1/namespaces?watch=true&timeoutSeconds=1&resourceVersion=x",
            ])
            #expect(expired.status == 400)
        }
    }

    @Test func faultControlThrottlesAndRecovers() async throws {
        try await withMesh { mesh, curl in
            let cluster = mesh.clusters[1]
            let control = try #require(mesh.controlURL) + "/v1/faults"
            let ca = try curl.file("ca.pem", cluster.credentials.authority.certificatePEM)
            let request = ["--cacert", ca, "-H", "Authorization: Bearer \(cluster.credentials.bearerToken)", cluster.serverURL + "/api"]

            let set = try curl.run(["-X", "PUT", "-d", #"{"api":{"cluster-2":{"throttleFraction":1,"retryAfterSeconds":2}}}"#, control])
            #expect(set.status == 200)
            #expect((try JSON.parse(set.body))["api"]["cluster-2"]["throttleFraction"].int == 1)
            let throttled = try curl.run(request)
            #expect(throttled.status == 429 && throttled.headers.lowercased().contains("retry-after: 2"))
            #expect((try JSON.parse(throttled.body))["reason"] == "TooManyRequests")

            #expect(try curl.run(["-X", "PUT", "-d", #"{"api":{"*":{}}}"#, control]).status == 200)
            #expect(try curl.run(request).status == 200)
            #expect(try curl.run(["-X", "PUT", "-d", #"{"api":{"cluster-9":{}}}"#, control]).status == 400)
            #expect(try curl.run(["-X", "PUT", "-d", #"{"bogus":1}"#, control]).status == 400)

            let runtime = try curl.run([
                "-X", "PUT", "-d",
                #"{"runtime":{"versions":{"v2":{"errorRate":0.5,"errorStatus":500}},"exec":{"*":{"breakAfterBytes":10}}}}"#, control,
            ])
            #expect((try JSON.parse(runtime.body))["runtime"]["exec"]["*"]["breakAfterBytes"] == 10)
            #expect(mesh.faults.runtime.current.versionFault("v2").errorRate == 0.5)
            #expect(mesh.faults.runtime.current.versionFault("v2").errorStatus == 500)
            #expect(try curl.run(["-X", "PUT", "-d", #"{"runtime":{"versions":{"v2":{"errorStatus":200}}}}"#, control]).status == 400)
            #expect(try curl.run(["-X", "PUT", "-d", #"{"rootCertificateMismatch":{"cluster-1":true}}"#, control]).status == 200)
            try await Task.sleep(for: .milliseconds(100))
            let roots = mesh.clusters.map { cluster in
                cluster.read { $0.store.get(.configMaps, namespace: "default", name: "istio-ca-root-cert")?["data"]["root-cert.pem"] }
            }
            #expect(roots[0] != roots[1])
        }
    }

    @Test func podFaultSectionsChangeThroughTheFaultEndpoint() async throws {
        try await withMesh { mesh, curl in
            let control = try #require(mesh.controlURL) + "/v1/faults"
            func put(_ document: String) throws -> (status: Int, document: JSON) {
                let answer = try curl.run(["-X", "PUT", "-d", document, control])
                return (answer.status, (try? JSON.parse(answer.body)) ?? .null)
            }
            let images = try put(#"{"images":{"pullErrors":["*/helloworld:*"]}}"#)
            #expect(images.status == 200 && images.document["images"]["pullErrors"] == ["*/helloworld:*"])
            #expect(try mesh.faults.podFaults(cluster: "cluster-2").imagePullErrors == ["*/helloworld:*"])

            let pods = try put(#"{"pods":{"cluster-1":{"unschedulable":true,"crashLoop":["helloworld"]}}}"#)
            #expect(pods.document["pods"]["cluster-1"]["unschedulable"].string == PodFaults.defaultUnschedulableMessage)
            #expect(pods.document["pods"]["cluster-1"]["crashLoop"] == ["helloworld"])
            #expect(pods.document["pods"]["cluster-2"]["unschedulable"].isNull)
            let everywhere = try put(#"{"pods":{"*":{"sidecarNotReady":true}}}"#)
            #expect(everywhere.document["pods"]["cluster-2"]["sidecarNotReady"] == true)
            #expect(everywhere.document["pods"]["cluster-1"]["crashLoop"] == ["helloworld"], "only the fields sent change")
            let admission = try put(#"{"admission":{"cluster-2":{"denyPods":"exceeded quota: q, requested: pods=1"}}}"#)
            #expect(admission.document["admission"]["cluster-2"]["denyPods"] == "exceeded quota: q, requested: pods=1")
            #expect(try put(#"{"pods":{"cluster-1":{"unschedulable":null}}}"#).document["pods"]["cluster-1"]["unschedulable"].isNull)

            for bad in [
                #"{"pods":{"cluster-1":{"bogus":true}}}"#, #"{"pods":{"cluster-9":{"sidecarNotReady":true}}}"#,
                #"{"images":{"pullErrors":["has space"]}}"#, #"{"images":{"pattern":[]}}"#,
                #"{"admission":{"cluster-1":{"denyPods":5}}}"#, #"{"pods":{"cluster-1":{"crashLoop":"helloworld"}}}"#,
            ] {
                #expect(try put(bad).status == 400, "\(bad)")
            }
        }
    }

    @Test func podFaultsForAnUnknownClusterAreRefusedBeforeAnythingStarts() async throws {
        var options = SimulatedMeshOptions()
        options.podFaults = ["cluster-3": PodFaults()]
        await #expect(throws: SimulatedMeshError.self) { try await SimulatedMesh.start(options) }
        options.podFaults = [:]
        options.imagePullErrors = [""]
        await #expect(throws: SimulatedMeshError.self) { try await SimulatedMesh.start(options) }
    }

    @Test func stopClosesTheServers() async throws {
        let mesh = try await SimulatedMesh.start(SimulatedMeshOptions())
        let url = mesh.clusters[0].serverURL
        let curl = try Curl()
        await mesh.stop()
        await mesh.stop()
        #expect(try curl.run(["-k", url + "/version"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: mesh.kubeconfigPath))
    }
}
