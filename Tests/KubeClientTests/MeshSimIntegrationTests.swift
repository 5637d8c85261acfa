import Foundation
import MeshSim
import MeshTestSupport
import Synchronization
import Testing

@testable import KubeClient

/// One simulated mesh (two clusters) shared by the integration suite; the suite is serialized
/// because some tests switch faults on.
actor SharedMesh {
    static let instance = SharedMesh()
    private var started: Task<SimulatedMesh, any Error>?

    func mesh() async throws -> SimulatedMesh {
        if let started { return try await started.value }
        let task = Task { () throws -> SimulatedMesh in
            var options = SimulatedMeshOptions()
            options.clusters = 2
            options.startDelay = .milliseconds(50)
            return try await SimulatedMesh.start(options)
        }
        started = task
        return try await task.value
    }
}

/// Collects the session for a sleep pod the exec tests share.
private actor SleepPod {
    static let instance = SleepPod()
    private var name: String?

    func name(using client: KubeClient) async throws -> String {
        if let name { return name }
        let namespace = "kc-exec"
        _ = try? await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: namespace)), as: Namespace.self)
        let deployment: JSONValue = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(
                #"""
                {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"sleep","labels":{"app":"sleep"}},
                 "spec":{"replicas":1,"selector":{"matchLabels":{"app":"sleep"}},
                         "template":{"metadata":{"labels":{"app":"sleep"}},
                                     "spec":{"containers":[{"name":"sleep","image":"curlimages/curl","command":["/bin/sleep","infinity"]}]}}}}
                """#.utf8))
        _ = try await client.create(.deployments(in: namespace), deployment, as: JSONValue.self)
        for _ in 0..<200 {
            let pods = try await client.list(.pods(in: namespace).labelSelector("app=sleep"), of: Pod.self)
            if let ready = pods.first(where: \.isReady), let podName = ready.metadata.name {
                name = podName
                return podName
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KubeAPIError(httpStatus: 0, status: nil, fallbackMessage: "sleep pod never became ready")
    }
}

@Suite(.serialized) struct MeshSimIntegrationTests {
    private func client(_ index: Int = 0, options: KubeClientOptions = KubeClientOptions()) async throws -> (SimulatedMesh, KubeClient) {
        let mesh = try await SharedMesh.instance.mesh()
        let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath, environment: [:]))
        return (mesh, try KubeClient(kubeconfig: config, context: mesh.contexts[index], options: options))
    }

    private func kubeconfigText(_ mesh: SimulatedMesh) throws -> String {
        try String(contentsOfFile: mesh.kubeconfigPath, encoding: .utf8)
    }

    /// The `-token` user's token of the first cluster, read from the simulator's kubeconfig.
    private func token(_ mesh: SimulatedMesh, cluster index: Int = 0) throws -> String {
        let lines = try kubeconfigText(mesh).components(separatedBy: "\n")
        let tokens = lines.compactMap { line -> String? in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix("token: ") ? String(trimmed.dropFirst("token: ".count)) : nil
        }
        return tokens[index]
    }

    // MARK: REST

    /// Create, get, list with selectors, merge patch and delete round-trip through the API server.
    @Test func restRoundTrips() async throws {
        let (_, client) = try await client()
        let name = "kc-rest-\(UInt32.random(in: 0..<UInt32.max))"
        let created = try await client.create(
            .namespaces(), Namespace(metadata: ObjectMeta(name: name, labels: ["app.kubernetes.io/managed-by": "meshcheck"])), as: Namespace.self)
        #expect(created.metadata.name == name)
        let fetched = try await client.get(.namespaces(name), as: Namespace.self)
        #expect(fetched.status?.phase == "Active")
        let patched = try await client.patch(.namespaces(name), merge: ["metadata": ["labels": ["meshcheck.io/run-id": "r1"]]], as: Namespace.self)
        #expect(patched.metadata.labels?["meshcheck.io/run-id"] == "r1")
        let selected = try await client.list(ResourcePath.namespaces().labelSelector("meshcheck.io/run-id=r1"), of: Namespace.self)
        #expect(selected.compactMap(\.metadata.name).contains(name))
        for index in 0..<5 {
            _ = try await client.create(
                .configMaps(in: name), ConfigMap(metadata: ObjectMeta(name: "cm-\(index)"), data: ["k": "\(index)"]), as: ConfigMap.self)
        }
        let paged = try await client.list(.configMaps(in: name), of: ConfigMap.self, pageSize: 2)
        #expect(paged.compactMap(\.metadata.name).filter { $0.hasPrefix("cm-") }.sorted() == (0..<5).map { "cm-\($0)" })
        let byField = try await client.list(ResourcePath.configMaps(in: name).fieldSelector("metadata.name=cm-3"), of: ConfigMap.self)
        #expect(byField.map(\.metadata.name) == ["cm-3"])
        try await client.delete(.namespaces(name), propagation: .foreground)
    }

    /// A list larger than the response limit still arrives whole, page by page (`limit`/`continue`), while one
    /// unpaged answer of the same list passes the limit and is stopped as "answer too large".
    @Test func pagedListsStayUnderTheResponseLimit() async throws {
        let (_, client) = try await client(options: KubeClientOptions(maxRetries: 0, maxResponseBytes: 1 << 20))
        let name = "kc-paged-\(UInt32.random(in: 0..<UInt32.max))"
        _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: name)), as: Namespace.self)
        let filler = String(repeating: "x", count: 300 << 10)
        for index in 0..<6 {
            _ = try await client.create(
                .configMaps(in: name), ConfigMap(metadata: ObjectMeta(name: "big-\(index)"), data: ["k": filler]), as: ConfigMap.self)
        }
        let paged = try await client.list(.configMaps(in: name), of: ConfigMap.self, pageSize: 2)
        #expect(paged.compactMap(\.metadata.name).filter { $0.hasPrefix("big-") }.count == 6)
        await #expect {
            _ = try await client.request(method: "GET", path: ResourcePath.configMaps(in: name).requestPath)
        } throws: { error in
            (error as? KubeTransportError)?.code == .tooLarge(part: .body, limit: 1 << 20)
        }
        try await client.delete(.namespaces(name), propagation: .foreground)
    }

    /// A server's `Warning` headers (here: unknown fields it dropped) reach the handler once each,
    /// with the context, and stay listed in `serverWarnings`.
    @Test func serverWarningsArriveOnceEach() async throws {
        let received = Mutex<[String]>([])
        var options = KubeClientOptions()
        options.serverWarningHandler = { context, text in received.withLock { $0.append("\(context)|\(text)") } }
        let (mesh, client) = try await client(options: options)
        let name = "kc-warn-\(UInt32.random(in: 0..<UInt32.max))"
        _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: name)), as: Namespace.self)
        for index in 0..<3 {
            let body = try JSONDecoder().decode(
                JSONValue.self, from: Data(#"{"metadata":{"name":"cm-\#(index)"},"data":{"k":"v"},"bogus":true,"spec":{"x":1}}"#.utf8))
            _ = try await client.create(.configMaps(in: name), body, as: JSONValue.self)
        }
        let expected = [#"unknown field "bogus""#, #"unknown field "spec""#]
        #expect(received.withLock { $0 } == expected.map { "\(mesh.contexts[0])|\($0)" })
        #expect(client.serverWarnings == expected)
        try await client.delete(.namespaces(name))
    }

    /// Every Status kind the harness switches on arrives typed by reason.
    @Test func statusErrorKinds() async throws {
        let (mesh, client) = try await client()
        let name = "kc-status-\(UInt32.random(in: 0..<UInt32.max))"
        _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: name)), as: Namespace.self)

        await #expect { _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: name)), as: Namespace.self) } throws: {
            ($0 as? KubeAPIError)?.reason == .alreadyExists && ($0 as? KubeAPIError)?.httpStatus == 409
        }
        await #expect { _ = try await client.get(.namespaces(name + "-missing"), as: Namespace.self) } throws: { ($0 as? KubeAPIError)?.reason == .notFound }
        let badDeployment: JSONValue = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(
                #"""
                {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bad"},
                 "spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}
                """#.utf8))
        await #expect { _ = try await client.create(.deployments(in: name), badDeployment, as: JSONValue.self) } throws: { error in
            guard let error = error as? KubeAPIError else { return false }
            return error.reason == .invalid && error.httpStatus == 422 && !error.causes.isEmpty
        }
        // Conflict: an update carrying a stale resourceVersion.
        let configMap = try await client.create(.configMaps(in: name), ConfigMap(metadata: ObjectMeta(name: "cm"), data: ["v": "1"]), as: ConfigMap.self)
        _ = try await client.patch(.configMaps(in: name, "cm"), merge: ["data": ["v": "2"]], as: ConfigMap.self)
        var stale = configMap
        stale.data = ["v": "3"]
        await #expect {
            _ = try await client.request(
                method: "PUT", path: ResourcePath.configMaps(in: name, "cm").requestPath,
                body: Array(try JSONEncoder().encode(stale)), contentType: "application/json")
        } throws: { ($0 as? KubeAPIError)?.reason == .conflict && ($0 as? KubeAPIError)?.httpStatus == 409 }

        // Forbidden with NamespaceTerminating while the namespace hangs in Terminating.
        try mesh.faults.setNamespaceDeletionHangs(true)
        defer { try? mesh.faults.setNamespaceDeletionHangs(false) }
        try await client.delete(.namespaces(name))
        await #expect { _ = try await client.create(.configMaps(in: name), ConfigMap(metadata: ObjectMeta(name: "late")), as: ConfigMap.self) } throws: {
            ($0 as? KubeAPIError)?.reason == .forbidden && ($0 as? KubeAPIError)?.isNamespaceTerminating == true
        }
        await #expect { _ = try await client.create(.namespaces(), Namespace(metadata: ObjectMeta(name: name)), as: Namespace.self) } throws: {
            ($0 as? KubeAPIError)?.isObjectBeingDeleted == true
        }

        // Unauthorized: a token the server does not know.
        let config = try Kubeconfig.parse(
            """
            current-context: bad
            contexts: [{name: bad, context: {cluster: c, user: u}}]
            clusters: [{name: c, cluster: {server: "\(mesh.clusterInfo[0].server)", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: not-a-valid-token}}]
            """, directory: "/")
        let unauthorized = try KubeClient(kubeconfig: config)
        await #expect { _ = try await unauthorized.get(.namespaces("default"), as: Namespace.self) } throws: { error in
            guard let error = error as? KubeAPIError else { return false }
            return error.reason == .unauthorized && !error.description.contains("not-a-valid-token")
        }
    }

    /// 429 with Retry-After and 503 are retried a bounded number of times and counted.
    @Test func throttlingAndUnavailableAreRetried() async throws {
        let (mesh, client) = try await client(options: KubeClientOptions(maxRetries: 2, retryBaseDelay: .milliseconds(5)))
        var throttle = APIFaults()
        throttle.throttleFraction = 1
        throttle.retryAfterSeconds = 0
        try mesh.faults.setAPIFaults(throttle, cluster: mesh.clusterInfo[0].name)
        defer { try? mesh.faults.setAPIFaults(.none) }
        await #expect { _ = try await client.get(.namespaces("default"), as: Namespace.self) } throws: { ($0 as? KubeAPIError)?.reason == .tooManyRequests }
        #expect(client.retryCount == 2)
        var unavailable = APIFaults()
        unavailable.serverErrorFraction = 1
        try mesh.faults.setAPIFaults(unavailable, cluster: mesh.clusterInfo[0].name)
        await #expect { _ = try await client.get(.namespaces("default"), as: Namespace.self) } throws: { ($0 as? KubeAPIError)?.httpStatus == 503 }
        #expect(client.retryCount == 4)
        try mesh.faults.setAPIFaults(.none)
        #expect(try await client.get(.namespaces("default"), as: Namespace.self).metadata.name == "default")
    }

    /// The objects the deploy diagnosis reads decode as a server sends them: a ReplicaSet with its
    /// owner and replicas, a running pod's typed container states, and the namespace's Events.
    @Test func deployDiagnosisObjectsDecode() async throws {
        let (_, client) = try await client()
        let podName = try await SleepPod.instance.name(using: client)
        let sets = try await client.list(.replicaSets(in: "kc-exec").labelSelector("app=sleep"), of: ReplicaSet.self)
        #expect(sets.count == 1)
        #expect(sets.first?.spec?.replicas == 1)
        #expect(sets.first?.metadata.ownerReferences?.first?.kind == "Deployment")
        let pod = try await client.get(.pods(in: "kc-exec", podName), as: Pod.self)
        #expect(pod.status?.containerStatuses?.first?.state?.running != nil)
        #expect(pod.metadata.ownerReferences?.first?.name == sets.first?.metadata.name)
        let events = try await client.list(.events(in: "kc-exec"), of: Event.self)
        #expect(events.allSatisfy { $0.metadata.namespace == "kc-exec" })
    }

    // MARK: Exec

    /// ≥64 MiB of stdout arrives complete, chunk by chunk, with exit code 0.
    @Test func execLargeOutput() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        let consumer = CollectingConsumer(keepBytes: false)
        let size = 64 * 1024 * 1024
        let result = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["head", "-c", "\(size)", "/dev/zero"]), consumer: consumer)
        #expect(result.exitCode == 0)
        #expect(result.negotiatedProtocol == .v5)
        #expect(consumer.stdoutByteCount == size)
        #expect(result.stdoutBytes == size)
        #expect(consumer.chunkCount > 1)
    }

    /// 1 MiB of random stdin comes back unchanged through `cat` (v5 CLOSE ends stdin).
    @Test func execStdinEcho() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        var generator = SystemRandomNumberGenerator()
        let input = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let consumer = ExecOutputCollector()
        let result = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["cat"], stdin: input), consumer: consumer)
        #expect(result.exitCode == 0)
        #expect(consumer.stdout == input)
    }

    /// Exit codes 0, 1, 3 and 127 come from the channel-3 Status; stderr is separate.
    @Test func execExitCodes() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        for (script, code) in [("true", 0), ("exit 1", 1), ("echo oops >&2; exit 3", 3), ("no-such-command-here", 127)] {
            let consumer = ExecOutputCollector()
            let result = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["sh", "-c", script]), consumer: consumer)
            #expect(result.exitCode == Int32(code), "\(script)")
            if code == 3 { #expect(consumer.stderrText == "oops\n") }
        }
    }

    /// Missing pod and missing container fail before the 101 with typed reasons.
    @Test func execMissingPodAndContainer() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        await #expect {
            _ = try await client.exec(ExecRequest(namespace: "kc-exec", pod: "no-such-pod", command: ["true"]), consumer: CollectingConsumer())
        } throws: { error in
            guard let error = error as? ExecError, case .rejected(let apiError) = error.code else { return false }
            return apiError.reason == .notFound && apiError.httpStatus == 404
        }
        await #expect {
            _ = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, container: "nope", command: ["true"]), consumer: CollectingConsumer())
        } throws: { error in
            guard let error = error as? ExecError, case .rejected(let apiError) = error.code else { return false }
            return apiError.reason == .badRequest && apiError.httpStatus == 400
        }
    }

    /// A server that drops the connection mid-stream gives a broken-stream error, not a hang or a success.
    @Test func execBrokenStream() async throws {
        let (mesh, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        mesh.faults.runtime.update { $0.allClustersExecStreamFault = .breakAfter(bytes: 100_000) }
        defer { mesh.faults.runtime.update { $0.allClustersExecStreamFault = nil } }
        let consumer = CollectingConsumer(keepBytes: false)
        await #expect {
            _ = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["head", "-c", "10000000", "/dev/zero"]), consumer: consumer)
        } throws: { error in
            guard let error = error as? ExecError, case .streamBroken = error.code else { return false }
            return true
        }
        #expect(consumer.stdoutByteCount <= 10_000_000)
    }

    /// `maxOutputBytes` stops a session whose output passes it, with its own error, having delivered no byte past it;
    /// output within it arrives whole. The same holds when the server's single frame never ends.
    @Test func execOutputLimit() async throws {
        let (mesh, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        let limit = 1 << 20
        let within = CollectingConsumer(keepBytes: false)
        let result = try await client.exec(
            ExecRequest(namespace: "kc-exec", pod: pod, command: ["head", "-c", "\(limit)", "/dev/zero"], maxOutputBytes: limit), consumer: within)
        #expect(result.exitCode == 0)
        #expect(within.stdoutByteCount == limit)

        func expectStopped(_ command: [String]) async {
            let consumer = CollectingConsumer(keepBytes: false)
            await #expect {
                _ = try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: command, maxOutputBytes: limit), consumer: consumer)
            } throws: { error in
                guard let error = error as? ExecError, case .outputTooLarge(limit) = error.code else { return false }
                return "\(error)".contains("the output passed 1 MiB, far more than the command prints, and the session was stopped")
            }
            #expect(consumer.stdoutByteCount <= limit)
        }
        await expectStopped(["head", "-c", "10000000", "/dev/zero"])
        mesh.faults.runtime.update { $0.allClustersExecStreamFault = .hostile(.endlessFrame) }
        defer { mesh.faults.runtime.update { $0.allClustersExecStreamFault = nil } }
        await expectStopped(["true"])
    }

    /// Many concurrent sessions share the one I/O engine thread; every one delivers all its bytes.
    @Test func execManyConcurrentSessions() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        let sessions = 200
        let size = 64 * 1024
        let request = ExecRequest(
            namespace: "kc-exec", pod: pod, command: ["head", "-c", "\(size)", "/dev/zero"],
            timeouts: ExecTimeouts(connect: .seconds(60), idle: .seconds(60), total: .seconds(120)))
        let complete = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<sessions {
                group.addTask {
                    let consumer = CollectingConsumer(keepBytes: false)
                    let result = try await client.exec(request, consumer: consumer)
                    return result.exitCode == 0 && consumer.stdoutByteCount == size
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(complete == sessions)
        #expect(IOEngine.shared.activeExecSessions == 0)
    }

    /// Cancelling the task closes the session and throws CancellationError promptly.
    @Test func execCancellation() async throws {
        let (_, client) = try await client()
        let pod = try await SleepPod.instance.name(using: client)
        let task = Task { try await client.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["sleep", "30"]), consumer: CollectingConsumer()) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
    }

    // MARK: Authentication

    /// Client certificates (default user), a bearer token, and a tokenFile referenced relative to its kubeconfig.
    @Test func authenticationMethods() async throws {
        let mesh = try await SharedMesh.instance.mesh()
        let (_, certificateClient) = try await client()
        #expect(certificateClient.context.authentication.clientCertificate != nil)
        _ = try await certificateClient.get(.namespaces("default"), as: Namespace.self)

        let dir = try TemporaryDirectory()
        try dir.write("creds/token", try token(mesh) + "\n")
        let kubeconfig = try dir.write(
            "conf/kubeconfig",
            """
            current-context: file
            contexts:
            - {name: token, context: {cluster: c, user: token}}
            - {name: file, context: {cluster: c, user: file}}
            clusters: [{name: c, cluster: {server: "\(mesh.clusterInfo[0].server)", insecure-skip-tls-verify: true}}]
            users:
            - {name: token, user: {token: "\(try token(mesh))"}}
            - {name: file, user: {tokenFile: ../creds/token}}
            """)
        let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: kubeconfig, environment: [:]))
        for context in ["token", "file"] {
            let client = try KubeClient(kubeconfig: config, context: context)
            #expect(try await client.get(.namespaces("default"), as: Namespace.self).metadata.name == "default", "\(context)")
        }
    }

    /// Exec plugins v1 and v1beta1 authenticate; a plugin whose first token is rejected is re-run after the 401.
    @Test func execPluginAuthentication() async throws {
        let mesh = try await SharedMesh.instance.mesh()
        let good = try token(mesh)
        for version in ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"] {
            let dir = try TemporaryDirectory()
            // First run hands out a stale token, later runs the real one: proves the re-run after 401.
            try dir.write(
                "plugin.sh",
                """
                #!/bin/sh
                echo run >> "\(dir.path)/runs"
                if [ "$(wc -l < "\(dir.path)/runs")" -eq 1 ]; then token=stale; else token=\(good); fi
                printf '{"apiVersion":"\(version)","kind":"ExecCredential","status":{"token":"%s"}}' "$token"
                """, executable: true)
            let kubeconfig = try dir.write(
                "kubeconfig",
                """
                current-context: p
                contexts: [{name: p, context: {cluster: c, user: u}}]
                clusters: [{name: c, cluster: {server: "\(mesh.clusterInfo[0].server)", insecure-skip-tls-verify: true}}]
                users: [{name: u, user: {exec: {apiVersion: \(version), command: ./plugin.sh, interactiveMode: Never}}}]
                """)
            let client = try KubeClient(kubeconfig: try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: kubeconfig, environment: [:])))
            #expect(try await client.get(.namespaces("default"), as: Namespace.self).metadata.name == "default")
            let runs = try String(contentsOfFile: dir.path + "/runs", encoding: .utf8).split(separator: "\n").count
            #expect(runs == 2, "\(version)")
        }
    }

    /// A KUBECONFIG list of three files (contexts, clusters, users) merges into working clients.
    @Test func mergedKubeconfigOfThreeFiles() async throws {
        let mesh = try await SharedMesh.instance.mesh()
        let source = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath, environment: [:]))
        let dir = try TemporaryDirectory()
        var contexts = "current-context: \(mesh.contexts[1])\ncontexts:\n"
        var clusters = "clusters:\n"
        var users = "users:\n"
        for (index, name) in mesh.contexts.enumerated() {
            let resolved = try source.resolve(context: name)
            contexts += "- {name: \(name), context: {cluster: c\(index), user: u\(index)}}\n"
            clusters += "- {name: c\(index), cluster: {server: \"\(mesh.clusterInfo[index].server)\", certificate-authority: ca\(index).pem}}\n"
            try dir.write("clusters/ca\(index).pem", String(decoding: resolved.cluster.certificateAuthorityPEM ?? [], as: UTF8.self))
            try dir.write("users/t\(index)", try token(mesh, cluster: index))
            users += "- {name: u\(index), user: {tokenFile: t\(index)}}\n"
        }
        let files = [try dir.write("contexts/config", contexts), try dir.write("clusters/config", clusters), try dir.write("users/config", users)]
        let merged = try Kubeconfig.load(KubeconfigLoadingRules(environment: ["KUBECONFIG": files.joined(separator: ":")]))
        #expect(merged.currentContext == mesh.contexts[1])
        for name in mesh.contexts {
            let client = try KubeClient(kubeconfig: merged, context: name)
            #expect(try await client.get(.namespaces("istio-system"), as: Namespace.self).metadata.name == "istio-system")
        }
    }

    /// Another cluster's CA gives a TLS error naming the context and field; insecure-skip-tls-verify works and warns.
    @Test func wrongCAAndInsecure() async throws {
        let mesh = try await SharedMesh.instance.mesh()
        let source = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath, environment: [:]))
        var wrong = try source.resolve(context: mesh.contexts[0])
        wrong.cluster.certificateAuthorityPEM = try source.resolve(context: mesh.contexts[1]).cluster.certificateAuthorityPEM
        let wrongClient = KubeClient(context: wrong, options: KubeClientOptions(maxRetries: 0))
        await #expect { _ = try await wrongClient.get(.namespaces("default"), as: Namespace.self) } throws: { error in
            "\(error)".hasPrefix("context \(mesh.contexts[0]): TLS: certificate signed by unknown authority — check certificate-authority-data")
        }
        let pod = try await SleepPod.instance.name(using: try await client().1)
        await #expect {
            _ = try await wrongClient.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["true"]), consumer: CollectingConsumer())
        } throws: { "\($0)".contains("certificate signed by unknown authority — check certificate-authority-data") }

        let insecure = try Kubeconfig.parse(
            """
            current-context: i
            contexts: [{name: i, context: {cluster: c, user: u}}]
            clusters: [{name: c, cluster: {server: "\(mesh.clusterInfo[0].server)", insecure-skip-tls-verify: true}}]
            users: [{name: u, user: {token: "\(try token(mesh))"}}]
            """, directory: "/")
        let insecureClient = try KubeClient(kubeconfig: insecure)
        #expect(insecureClient.warnings.contains { $0.contains("context i") && $0.contains("insecure-skip-tls-verify") })
        _ = try await insecureClient.get(.namespaces("default"), as: Namespace.self)
        let result = try await insecureClient.exec(ExecRequest(namespace: "kc-exec", pod: pod, command: ["true"]), consumer: CollectingConsumer())
        #expect(result.exitCode == 0)
    }
}
