import Foundation
import MeshSimRuntime

// sim-data-plane: requests per second through the simulated data plane, as the keep-alive load engine drives
// it: one client pod per cluster (two sidecar proxies), each a curl process sending its requests over 32
// reused connections to its sidecar (`curl -Z --parallel-max`, one `url` line per request), to four HelloWorld
// pods (two per cluster, the simulator's 2 ms service time), everything in this process but curl. Ours: the
// sidecars pool their upstream connections; baseline: `upstreamPoolSize: 0`, a new upstream connection per
// request as before pooling. Two figures from one measurement: requests/s (`sim-data-plane`) and this
// process's CPU time per request (`sim-data-plane-cpu`: proxies and HelloWorld servers, not curl).

enum SimDataPlane {
    static let clients = 2
    /// Requests a client keeps in flight, each on its own reused connection: with the 2 ms service time, 8 leave
    /// the machine idle waiting (latency-bound near 3,600 req/s pooled); 32 make it CPU-bound.
    static let connectionsPerClient = 32
    static let requestsPerClient = 20_000
    static let rounds = 2

    static let measured: (throughput: Comparison, cpu: Comparison) = measure()

    /// One run's figures.
    struct Figures {
        var requestsPerSecond = 0.0
        var cpuMicrosecondsPerRequest = Double.infinity
        var curlMicrosecondsPerRequest = Double.infinity
        var upstreamConnections = 0
    }

    private static func measure() -> (throughput: Comparison, cpu: Comparison) {
        var pooled = Figures()
        var unpooled = Figures()
        // Alternated, best of each, so both sides see the same load on the shared machine.
        for _ in 0..<rounds {
            pooled = best(pooled, run(upstreamPoolSize: 64))
            unpooled = best(unpooled, run(upstreamPoolSize: 0))
        }
        for (side, figures) in [("pooled", pooled), ("connection per request", unpooled)] {
            print(
                "# sim-data-plane \(side): \(Int(figures.requestsPerSecond)) req/s, "
                    + String(format: "%.1f", figures.cpuMicrosecondsPerRequest) + " µs CPU/request in the proxies and servers, "
                    + String(format: "%.1f", figures.curlMicrosecondsPerRequest) + " µs CPU/request in curl, "
                    + "\(figures.upstreamConnections) upstream connections for \(clients * requestsPerClient) requests")
        }
        return (
            Comparison(name: "sim-data-plane", ours: pooled.requestsPerSecond, baseline: unpooled.requestsPerSecond, unit: .requestsPerSecond),
            Comparison(
                name: "sim-data-plane-cpu", ours: pooled.cpuMicrosecondsPerRequest, baseline: unpooled.cpuMicrosecondsPerRequest,
                unit: .microsecondsPerRequest)
        )
    }

    private static func best(_ a: Figures, _ b: Figures) -> Figures {
        Figures(
            requestsPerSecond: max(a.requestsPerSecond, b.requestsPerSecond),
            cpuMicrosecondsPerRequest: min(a.cpuMicrosecondsPerRequest, b.cpuMicrosecondsPerRequest),
            curlMicrosecondsPerRequest: min(a.curlMicrosecondsPerRequest, b.curlMicrosecondsPerRequest),
            upstreamConnections: b.upstreamConnections)
    }

    /// Starts the mesh, runs both clients at once, stops the mesh.
    private static func run(upstreamPoolSize: Int) -> Figures {
        let mesh: DataPlane
        do { mesh = try blocking { try await DataPlane.start(upstreamPoolSize: upstreamPoolSize) } } catch {
            fatalError("sim-data-plane: \(error)")
        }
        defer { _ = try? blocking { await mesh.stop() } }
        let scratch = NSTemporaryDirectory() + "meshbench-dataplane-\(getpid())"
        try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let config = String(repeating: "url = \"http://helloworld.sample:5000/hello\"\noutput = \"/dev/null\"\n", count: requestsPerClient)
        let configPath = scratch + "/urls"
        precondition(FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8)), "sim-data-plane: cannot write \(configPath)")

        let cpuBefore = (ours: cpuSeconds(RUSAGE_SELF), curl: cpuSeconds(RUSAGE_CHILDREN))
        let clock = ContinuousClock()
        let start = clock.now
        let curls = mesh.proxies.indices.map { index in
            startCurl(configPath: configPath, proxy: mesh.proxies[index].url, output: scratch + "/codes-\(index)")
        }
        for curl in curls { curl.waitUntilExit() }
        let seconds = (clock.now - start).seconds
        let cpu = (ours: cpuSeconds(RUSAGE_SELF) - cpuBefore.ours, curl: cpuSeconds(RUSAGE_CHILDREN) - cpuBefore.curl)

        let total = clients * requestsPerClient
        let succeeded = mesh.proxies.indices.reduce(0) { count, index in
            let codes = (try? String(contentsOfFile: scratch + "/codes-\(index)", encoding: .utf8)) ?? ""
            return count + codes.split(separator: "\n").filter { $0 == "200" }.count
        }
        precondition(succeeded == total, "sim-data-plane: only \(succeeded) of \(total) requests answered 200")
        return Figures(
            requestsPerSecond: Double(total) / seconds, cpuMicrosecondsPerRequest: cpu.ours / Double(total) * 1e6,
            curlMicrosecondsPerRequest: cpu.curl / Double(total) * 1e6,
            upstreamConnections: mesh.servers.map(\.acceptedConnections).reduce(0, +))
    }

    private static func startCurl(configPath: String, proxy: String, output: String) -> Process {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = [
            "-sS", "--no-progress-meter", "--max-time", "30", "-Z", "--parallel-immediate", "--parallel-max", "\(connectionsPerClient)",
            "-w", "%{http_code}\n", "-K", configPath,
        ]
        curl.environment = ["PATH": "/usr/bin:/bin", "http_proxy": proxy]
        precondition(FileManager.default.createFile(atPath: output, contents: nil), "sim-data-plane: cannot create \(output)")
        curl.standardOutput = FileHandle(forWritingAtPath: output)
        do { try curl.run() } catch { fatalError("sim-data-plane: cannot start curl: \(error)") }
        return curl
    }
}

/// Two clusters with two HelloWorld pods each, and one client pod's sidecar in each cluster.
private struct DataPlane: Sendable {
    var servers: [HelloWorldServer]
    var proxies: [SidecarProxy]

    static func start(upstreamPoolSize: Int) async throws -> DataPlane {
        let faults = RuntimeFaultControl()
        let clusters = ["cluster-1", "cluster-2"]
        var servers: [HelloWorldServer] = []
        var endpoints: [String: [MeshEndpoint]] = [:]
        for (index, cluster) in clusters.enumerated() {
            for replica in ["a", "b"] {
                let version = "v\(index + 1)"
                let server = try await HelloWorldServer.start(podName: "helloworld-\(version)-\(replica)", version: version, faults: faults)
                servers.append(server)
                endpoints[cluster, default: []].append(
                    MeshEndpoint(
                        pod: server.podName, cluster: cluster, host: server.host, port: server.port, version: version, hasSidecar: true))
            }
        }
        let service = ServiceKey(namespace: "sample", name: "helloworld")
        let view = MeshView(
            clusters: clusters.enumerated().map { index, cluster in
                ClusterView(
                    name: cluster, network: "network\(index + 1)", rootCAFingerprint: "root",
                    remoteSecrets: Dictionary(uniqueKeysWithValues: clusters.filter { $0 != cluster }.map { ($0, RemoteSecretView()) }),
                    eastWestGatewayReadyPods: 1, services: [service: ServiceView(ports: [5000], endpoints: endpoints[cluster] ?? [])])
            })
        var proxies: [SidecarProxy] = []
        for cluster in clusters {
            proxies.append(
                try await SidecarProxy.start(
                    source: ProxySource(cluster: cluster, namespace: "sample", pod: "sleep-\(cluster)"),
                    settings: ProxySettings(mode: .sidecar, upstreamPoolSize: upstreamPoolSize), view: MeshViewStore(view),
                    faults: faults))
        }
        return DataPlane(servers: servers, proxies: proxies)
    }

    func stop() async {
        for proxy in proxies { await proxy.stop() }
        for server in servers { await server.stop() }
    }
}

extension Benchmark {
    /// Requests/s through two sidecars to four HelloWorld pods, pooled vs a connection per request.
    static let simDataPlane = Benchmark(name: "sim-data-plane") { SimDataPlane.measured.throughput }
    /// CPU µs per request of the proxies and servers in the same runs.
    static let simDataPlaneCPU = Benchmark(name: "sim-data-plane-cpu") { SimDataPlane.measured.cpu }
}
