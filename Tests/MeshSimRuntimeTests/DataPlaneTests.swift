import Foundation
import MeshTestSupport
import Testing

@testable import MeshSimRuntime

/// Runs the machine's curl (the client the simulated pods use) against loopback listeners.
func curl(_ arguments: [String], proxy: String? = nil) throws -> (status: Int, body: String, headers: String) {
    let scratch = try TemporaryDirectory(prefix: "mc-headers")
    defer { withExtendedLifetime(scratch) {} }
    let headerFile = scratch.path("headers")
    var environment: [String: String] = ["PATH": "/usr/bin:/bin"]
    if let proxy { environment["http_proxy"] = proxy }
    let text = try ChildProcess.run(
        "/usr/bin/curl", ["-sS", "--max-time", "10", "-D", headerFile, "-o", "-", "-w", "\n%{http_code}"] + arguments,
        environment: environment
    ).stdoutText
    guard let split = text.lastIndex(of: "\n") else { throw TestError("curl printed nothing") }
    let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
    return (Int(text[text.index(after: split)...]) ?? 0, String(text[..<split]), headers)
}

@Suite struct HelloWorldServerTests {
    @Test(arguments: [
        ("registry.istio.io/release/examples-helloworld-v2:1.0", "v2"),
        ("docker.io/istio/examples-helloworld-v1", "v1"),
        ("localhost:5000/examples-helloworld-v10@sha256:abc", "v10"),
    ])
    func versionComesFromTheImageName(image: String, version: String) {
        #expect(HelloWorldServer.isHelloWorldImage(image))
        #expect(HelloWorldServer.version(image: image, environment: []) == version)
    }

    @Test func environmentVersionWinsAndOtherImagesAreNotHelloWorld() {
        #expect(HelloWorldServer.version(image: "x/examples-helloworld-v1:1.0", environment: [EnvironmentVariable("SERVICE_VERSION", "canary")]) == "canary")
        #expect(!HelloWorldServer.isHelloWorldImage("curlimages/curl:8.16.0"))
        #expect(!HelloWorldServer.isHelloWorldImage("registry.example:5000/sleep"))
        #expect(HelloWorldServer.version(image: "x/helloworld:1.0", environment: []) == nil)
    }

    @Test func answersHelloHealthAndNotFound() async throws {
        let server = try await HelloWorldServer.start(podName: "helloworld-v2-7d4f-abcde", version: "v2", faults: RuntimeFaultControl())
        defer { Task { await server.stop() } }
        let hello = try curl(["http://127.0.0.1:\(server.port)/hello"])
        #expect(hello.status == 200)
        #expect(hello.body == "Hello version: v2, instance: helloworld-v2-7d4f-abcde\n")
        let health = try curl(["http://127.0.0.1:\(server.port)/health"])
        #expect(health.status == 200 && health.body == "Helloworld is healthy")
        #expect(try curl(["http://127.0.0.1:\(server.port)/other"]).status == 404)
    }

    @Test func versionFaultTurnsResponsesInto503() async throws {
        let faults = RuntimeFaultControl(RuntimeFaults(versionFaults: ["v1": VersionFault(errorRate: 1)]))
        let v1 = try await HelloWorldServer.start(podName: "hw-v1", version: "v1", faults: faults)
        let v2 = try await HelloWorldServer.start(podName: "hw-v2", version: "v2", faults: faults)
        defer {
            Task {
                await v1.stop()
                await v2.stop()
            }
        }
        #expect(try curl(["http://127.0.0.1:\(v1.port)/hello"]).status == 503)
        #expect(try curl(["http://127.0.0.1:\(v2.port)/hello"]).status == 200)
        faults.set(.none)
        #expect(try curl(["http://127.0.0.1:\(v1.port)/hello"]).status == 200)
    }
}

@Suite struct SidecarProxyTests {
    static let key = ServiceKey(namespace: "sample", name: "helloworld")

    static func cluster(
        _ name: String, network: String, secrets: [String], gateway: Int = 1, endpoints: [MeshEndpoint],
        rules: [VirtualServiceView] = []
    ) -> ClusterView {
        ClusterView(
            name: name, network: network, rootCAFingerprint: "root", remoteSecrets: Dictionary(uniqueKeysWithValues: secrets.map { ($0, RemoteSecretView()) }),
            eastWestGatewayReadyPods: gateway, services: [key: ServiceView(ports: [5000], endpoints: endpoints)],
            virtualServices: rules, destinationRules: rules.isEmpty ? [] : [TrafficRulesTests.subsets])
    }

    /// Two clusters, one HelloWorld pod each, joined in a mesh.
    struct TwoClusters {
        let v1: HelloWorldServer
        let v2: HelloWorldServer
        let store: MeshViewStore
        let faults = RuntimeFaultControl()

        init() async throws {
            v1 = try await HelloWorldServer.start(podName: "helloworld-v1-a", version: "v1", faults: faults)
            v2 = try await HelloWorldServer.start(podName: "helloworld-v2-b", version: "v2", faults: faults)
            store = MeshViewStore()
            store.set(view())
        }

        var e1: MeshEndpoint {
            MeshEndpoint(
                pod: v1.podName, cluster: "cluster-1", host: "127.0.0.1", port: v1.port, version: "v1", hasSidecar: true,
                labels: ["version": "v1"])
        }
        var e2: MeshEndpoint {
            MeshEndpoint(
                pod: v2.podName, cluster: "cluster-2", host: "127.0.0.1", port: v2.port, version: "v2", hasSidecar: true,
                labels: ["version": "v2"])
        }

        /// The mesh; `rules` are cluster 1's VirtualServices (with the v1/v2 subsets defined when there are any).
        func view(secretFor2: Bool = true, gateway2: Int = 1, rules: [VirtualServiceView] = []) -> MeshView {
            MeshView(clusters: [
                SidecarProxyTests.cluster(
                    "cluster-1", network: "network1", secrets: secretFor2 ? ["cluster-2"] : [], endpoints: [e1],
                    rules: rules),
                SidecarProxyTests.cluster("cluster-2", network: "network2", secrets: ["cluster-1"], gateway: gateway2, endpoints: [e2]),
            ])
        }

        func proxy(_ mode: ProxySettings.Mode, cluster: String = "cluster-1", retries: Int? = nil) async throws -> SidecarProxy {
            try await SidecarProxy.start(
                source: ProxySource(cluster: cluster, namespace: "sample", pod: "sleep-x"),
                settings: ProxySettings(
                    mode: mode, crossClusterLatency: CrossClusterLatency(base: .milliseconds(5), jitter: .milliseconds(2)), retries: retries),
                view: store, faults: faults)
        }

        func stop() async {
            await v1.stop()
            await v2.stop()
        }

        /// Starts the mesh and a proxy (arguments as ``proxy(_:cluster:retries:)``), runs `body`, then stops both.
        static func withProxy(
            _ mode: ProxySettings.Mode, cluster: String = "cluster-1", retries: Int? = nil,
            _ body: (TwoClusters, SidecarProxy) async throws -> Void
        ) async throws {
            let mesh = try await TwoClusters()
            let proxy = try await mesh.proxy(mode, cluster: cluster, retries: retries)
            defer {
                Task {
                    await proxy.stop()
                    await mesh.stop()
                }
            }
            try await body(mesh, proxy)
        }
    }

    private func versions(through proxy: SidecarProxy, host: String = "helloworld.sample:5000", count: Int = 20) throws -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count {
            let response = try curl(["http://\(host)/hello"], proxy: proxy.url)
            #expect(response.status == 200, "body: \(response.body)")
            let version = response.body.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) } ?? "-"
            seen[version, default: 0] += 1
        }
        return seen
    }

    @Test func sidecarBalancesAcrossClustersAndFollowsTheView() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            let both = try versions(through: proxy, host: "helloworld.sample.svc.cluster.local:5000")
            #expect(Set(both.keys) == ["v1", "v2"])
            let response = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(response.headers.lowercased().contains("x-envoy-upstream-service-time:"))
            #expect(response.headers.lowercased().contains("server: envoy"))

            mesh.store.set(mesh.view(secretFor2: false))
            #expect(try versions(through: proxy, count: 10) == ["v1": 10])
            mesh.store.set(mesh.view(gateway2: 0))
            #expect(try versions(through: proxy, count: 10) == ["v1": 10])
            mesh.store.set(mesh.view())
            #expect(Set(try versions(through: proxy).keys) == ["v1", "v2"])
        }
    }

    @Test func sidecarAppliesTheClustersVirtualService() async throws {
        try await TwoClusters.withProxy(.sidecar, retries: 0) { mesh, proxy async throws in
            mesh.store.set(mesh.view(rules: [TrafficRulesTests.weighted([("v1", 0), ("v2", 100)])]))
            #expect(try versions(through: proxy, count: 10) == ["v2": 10])

            mesh.store.set(mesh.view(rules: [TrafficRulesTests.weighted([("v3", 100)])]))
            let undefined = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(undefined.status == 503 && undefined.body.isEmpty && undefined.headers.lowercased().contains("server: envoy"))

            mesh.store.set(mesh.view(secretFor2: false, rules: [TrafficRulesTests.weighted([("v2", 100)])]))
            let unreachable = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(unreachable.status == 503 && unreachable.body == "no healthy upstream")

            mesh.store.set(mesh.view(rules: [TrafficRulesTests.weighted([("v1", 100)], matches: [HTTPMatchRule(uri: .exact("/health"))])]))
            #expect(try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url).status == 404)
            #expect(try curl(["http://helloworld.sample:5000/health"], proxy: proxy.url).status == 200)
        }
    }

    @Test func podWithoutSidecarReachesOnlyItsOwnCluster() async throws {
        try await TwoClusters.withProxy(.plainForwarder, cluster: "cluster-2") { mesh, plain async throws in
            #expect(try versions(through: plain, host: "helloworld:5000", count: 10) == ["v2": 10])
            let response = try curl(["http://helloworld.sample:5000/hello"], proxy: plain.url)
            #expect(!response.headers.lowercased().contains("server: envoy"))
        }
    }

    @Test func envoyAnswersWhenNothingIsReachable() async throws {
        try await TwoClusters.withProxy(.sidecar, retries: 0) { mesh, proxy async throws in
            mesh.store.set(MeshView(clusters: [SidecarProxyTests.cluster("cluster-1", network: "network1", secrets: [], endpoints: [])]))
            let empty = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(empty.status == 503 && empty.body == "no healthy upstream")

            await mesh.v1.stop()
            mesh.store.set(MeshView(clusters: [SidecarProxyTests.cluster("cluster-1", network: "network1", secrets: [], endpoints: [mesh.e1])]))
            let refused = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(refused.status == 503)
            #expect(refused.body.hasPrefix("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure"))

            let unknown = try curl(["http://no-such-service.sample:5000/hello"], proxy: proxy.url)
            #expect(unknown.status == 502)
            let wrongPort = try curl(["http://helloworld.sample:5001/hello"], proxy: proxy.url)
            #expect(wrongPort.status == 502)
        }
    }

    @Test func retriesMoveToAnotherHostAfterAConnectFailure() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            await mesh.v2.stop()
            // cluster-2's endpoint refuses connections; with Istio's default retries every request still succeeds.
            #expect(try versions(through: proxy, count: 10) == ["v1": 10])
        }
    }

    /// A firewall between the networks (`blockedGateways`): cluster-2's gateway stays listed, connections to it time
    /// out, and the retry on another host answers from cluster-1 — only the direction blocked; healing restores it.
    @Test func blockedGatewayTimesOutAndTheRetryAnswersLocally() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            mesh.faults.update { $0.blockedGateways = [ClusterPair(source: "cluster-1", target: "cluster-2")] }
            #expect(try versions(through: proxy, count: 6) == ["v1": 6])
            mesh.faults.update { $0.blockedGateways = [ClusterPair(source: "cluster-2", target: "cluster-1")] }
            #expect(Set(try versions(through: proxy).keys) == ["v1", "v2"])
        }
    }

    /// Istio's default policy retries 503 on another host but not 500, which is why a version fault can
    /// choose its status.
    @Test func sidecarRetries503ButNot500() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            mesh.faults.set(RuntimeFaults(versionFaults: ["v2": VersionFault(errorRate: 1)]))
            #expect(try versions(through: proxy, count: 10) == ["v1": 10])
            mesh.faults.set(RuntimeFaults(versionFaults: ["v2": VersionFault(errorRate: 1, errorStatus: 500)]))
            var statuses: Set<Int> = []
            for _ in 0..<20 { statuses.insert(try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url).status) }
            #expect(statuses == [200, 500])
            #expect(VersionFault(errorStatus: 404).errorStatus == 503)
        }
    }

    /// A route's fault.abort answers in the client sidecar, as Envoy's fault filter does: no upstream is tried.
    @Test func faultAbortAnswersWithoutAnUpstream() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            var service = TrafficRulesTests.weighted([("v1", 100)])
            service.http[0].fault = HTTPFaultRule(abort: .init(httpStatus: 418, percentage: FaultPercentage(percent: 100)))
            mesh.store.set(mesh.view(rules: [service]))
            await mesh.v1.stop()
            let aborted = try curl(["http://helloworld.sample:5000/hello"], proxy: proxy.url)
            #expect(aborted.status == 418 && aborted.body == "fault filter abort")
            #expect(aborted.headers.lowercased().contains("content-type: text/plain"))
        }
    }

    /// With outlierDetection and failover, the client's own zone takes every request; when its pod stops (still
    /// listed, as during the endpoint-removal delay) the refused attempts eject it, the retries and then every
    /// request go to the failover region, and `/clusters` shows the ejection and the priorities.
    @Test func outlierDetectionFailsOverToTheNextLocality() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            var view = mesh.view()
            let central = ["topology.kubernetes.io/region": "us-central1", "topology.kubernetes.io/zone": "us-central1-a"]
            view.clusters["cluster-1"]?.nodeLabels = ["node-1": central]
            view.clusters["cluster-1"]?.pods = ["sample/sleep-x": PodPlacement(nodeName: "node-1", labels: ["app": "sleep"])]
            view.clusters["cluster-1"]?.services[Self.key]?.endpoints[0].locality = Locality(nodeLabels: central)
            view.clusters["cluster-2"]?.services[Self.key]?.endpoints[0].locality = Locality(region: "us-east1", zone: "us-east1-b")
            view.clusters["cluster-1"]?.destinationRules = [
                DestinationRuleView(
                    namespace: "sample", name: "helloworld", host: "helloworld", subsets: [],
                    trafficPolicy: TrafficPolicyRule(
                        localityLbSetting: LocalityLbSettingRule(failover: [LocalityFailoverRule(from: "us-central1", to: "us-east1")]),
                        outlierDetection: OutlierDetectionRule(consecutive5xxErrors: 1, maxEjectionPercent: 100)))
            ]
            mesh.store.set(view)
            #expect(try versions(through: proxy, count: 10) == ["v1": 10])
            await mesh.v1.stop()
            #expect(try versions(through: proxy, count: 10) == ["v2": 10])
            let admin = try curl(["http://localhost:15000/clusters"], proxy: proxy.url).body
            let name = "outbound|5000||helloworld.sample.svc.cluster.local"
            #expect(admin.contains("\(name)::127.0.0.1:\(mesh.v1.port)::health_flags::/failed_outlier_check\n"))
            #expect(admin.contains("\(name)::127.0.0.1:\(mesh.v1.port)::zone::us-central1-a\n"))
        }
    }

    @Test func loopbackTargetsPassStraightThrough() async throws {
        try await TwoClusters.withProxy(.sidecar) { mesh, proxy async throws in
            let response = try curl(["http://127.0.0.1:\(mesh.v2.port)/health"], proxy: proxy.url)
            #expect(response.status == 200 && response.body == "Helloworld is healthy")
        }
    }

    @Test func leastRequestPrefersTheLessLoadedOfTwoDraws() {
        let endpoints = (0..<4).map { MeshEndpoint(pod: "p\($0)", cluster: "c", host: "127.0.0.1", port: 1000 + $0, version: nil, hasSidecar: true) }
        var generator = SplitMix64(state: 42)
        var counts: [String: Int] = [:]
        for _ in 0..<4000 {
            // p0 is always busy: it can only win a draw against itself, which P2C never makes.
            let chosen = LeastRequestBalancer.choose(from: endpoints, activeRequests: { $0.pod == "p0" ? 5 : 0 }, using: &generator)
            counts[chosen!.pod, default: 0] += 1
        }
        #expect(counts["p0"] == nil)
        #expect(counts.count == 3)
        #expect(counts.values.allSatisfy { $0 > 1000 })
        #expect(LeastRequestBalancer.choose(from: [], activeRequests: { _ in 0 }, using: &generator) == nil)
        #expect(LeastRequestBalancer.choose(from: [endpoints[0]], activeRequests: { _ in 9 }, using: &generator) == endpoints[0])
    }

    @Test(
        arguments: [
            ("http://helloworld.sample:5000/hello", nil, ProxyTarget(host: "helloworld.sample", port: 5000, pathAndQuery: "/hello")),
            ("http://Example.svc/x?y=1", nil, ProxyTarget(host: "Example.svc", port: 80, pathAndQuery: "/x?y=1")),
            ("http://a:5000?q", nil, ProxyTarget(host: "a", port: 5000, pathAndQuery: "/?q")),
            ("http://[::1]:8080/", nil, ProxyTarget(host: "::1", port: 8080, pathAndQuery: "/")),
            ("/hello", "helloworld:5000", ProxyTarget(host: "helloworld", port: 5000, pathAndQuery: "/hello")),
        ] as [(String, String?, ProxyTarget)])
    func requestTargetsParse(uri: String, host: String?, expected: ProxyTarget) {
        #expect(ProxyTarget.parse(uri: uri, hostHeader: host) == expected)
    }

    @Test(arguments: ["https://a/", "/nohost", "http://a:99999/", "http://:80/", "http://a:x/"])
    func badTargetsAreRefused(uri: String) {
        #expect(ProxyTarget.parse(uri: uri, hostHeader: nil) == nil)
    }
}

@Suite struct PodRuntimesTests {
    @Test func execInASleepPodReachesHelloWorldThroughItsSidecar() async throws {
        let store = MeshViewStore()
        let runtimes = PodRuntimes(
            view: store, faults: RuntimeFaultControl(),
            settings: PodRuntimeSettings(crossClusterLatency: CrossClusterLatency(base: .milliseconds(3))))
        defer { Task { await runtimes.stopAll() } }
        let helloWorld = try await runtimes.start(
            SimulatedPod(
                cluster: "cluster-2", namespace: "sample", name: "helloworld-v2-xyz", uid: "u-hw",
                containers: [SimulatedContainer(name: "helloworld", image: "registry.istio.io/release/examples-helloworld-v2:1.0", environment: [])],
                hasSidecar: true))
        let sleep = try await runtimes.start(
            SimulatedPod(
                cluster: "cluster-1", namespace: "sample", name: "sleep-abc", uid: "u-sleep",
                containers: [SimulatedContainer(name: "sleep", image: "curlimages/curl:8.16.0", environment: [])], hasSidecar: true))
        #expect(sleep.helloWorld == nil && sleep.endpoint == nil)
        #expect(try await runtimes.start(sleep.pod).httpProxy == sleep.httpProxy)
        let endpoint = try #require(helloWorld.endpoint)
        #expect(endpoint.version == "v2" && endpoint.cluster == "cluster-2")
        let key = ServiceKey(namespace: "sample", name: "helloworld")
        store.set(
            MeshView(clusters: [
                ClusterView(
                    name: "cluster-1", network: "n1", rootCAFingerprint: "ca", remoteSecrets: ["cluster-2": .init()],
                    eastWestGatewayReadyPods: 1, services: [key: ServiceView(ports: [5000], endpoints: [])]),
                ClusterView(
                    name: "cluster-2", network: "n2", rootCAFingerprint: "ca", remoteSecrets: ["cluster-1": .init()],
                    eastWestGatewayReadyPods: 1, services: [key: ServiceView(ports: [5000], endpoints: [endpoint])]),
            ]))

        var request = makeRequest(["/bin/sh", "-c", "for i in 1 2 3; do curl -sS helloworld.sample:5000/hello; done"])
        request.environment = PodEnvironment.make(containerEnv: [], podName: "sleep-abc", httpProxy: sleep.httpProxy)
        let server = try await TestExecServer(request: request)
        defer { Task { await server.close() } }
        let transcript = try TestExecClient(port: server.port).finish()
        #expect(
            String(decoding: transcript.stdout, as: UTF8.self)
                == String(repeating: "Hello version: v2, instance: helloworld-v2-xyz\n", count: 3))
        #expect(transcript.status == #"{"metadata":{},"status":"Success"}"#)

        await runtimes.stop(uid: "u-hw")
        #expect(runtimes.running(uid: "u-hw") == nil)
        #expect(runtimes.all.count == 1)
    }
}
