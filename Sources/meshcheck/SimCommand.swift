import ArgumentParser
import Dispatch
import Foundation
import MeshSim
import MeshSimRuntime

/// `meshcheck sim`: runs the simulated multi-cluster mesh until interrupted.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run a simulated multi-cluster Istio mesh on 127.0.0.1 and write its kubeconfig.",
        discussion: """
            Starts N Kubernetes API servers (HTTPS, client-certificate and token users) joined into one mesh, \
            writes a kubeconfig with a context per cluster (gke_<project>_<location>_cluster-<n>) and a fault \
            control endpoint description to <kubeconfig>.sim.json, then runs until SIGINT or SIGTERM. \
            Faults can be changed at run time with PUT http://127.0.0.1:<port>/v1/faults (see README).
            """)

    @Option(help: "Number of clusters (1...64).")
    var clusters = 2

    @Option(name: .customLong("kubeconfig-out"), help: "Where to write the kubeconfig.")
    var kubeconfigOut: String

    @Flag(help: "Install a managed control plane (ControlPlaneRevision asm-managed, no istiod) instead of istiod.")
    var managed = false

    @Option(
        name: .customLong("managed-discovery"),
        help: "With --managed: asm-options multicluster_mode, connected (the fleet discovers endpoints, no remote secrets) or manual (remote secrets).")
    var managedDiscovery: String?

    @Option(
        help: "multi-primary (istiod in every cluster) or primary-remote (istiod in cluster-1 only; the others are its remotes).")
    var topology = SimulatedTopology.multiPrimary.rawValue

    @Flag(
        name: .customLong("private-endpoints"),
        help: "Private-cluster endpoints: each API server also listens on 127.0.1.<n>, which the remote secrets name and the kubeconfig does not.")
    var privateEndpoints = false

    @Option(help: "Revision of the in-cluster control plane (istio.io/rev).")
    var revision = "asm-1-23"

    @Option(help: "gcloud project used in context names.")
    var project = "meshcheck-sim"

    @Option(help: "gcloud location used in context names.")
    var location = "us-central1-a"

    @Option(name: .customLong("start-delay"), help: "Time from pod creation to Running, e.g. 300ms or 1s.")
    var startDelay = "300ms"

    @Option(name: .customLong("api-throttle"), help: "Fraction of API requests answered 429 with Retry-After.")
    var apiThrottle = 0.0

    @Option(name: .customLong("api-errors"), help: "Fraction of API requests answered 503.")
    var apiErrors = 0.0

    @Option(name: .customLong("api-drop"), help: "Fraction of API requests whose connection is dropped.")
    var apiDrop = 0.0

    @Flag(name: .customLong("hang-namespace-deletion"), help: "Deleted namespaces stay Terminating forever.")
    var hangNamespaceDeletion = false

    @Option(
        name: .customLong("gateway-blocked"),
        help: "The target's east-west gateway does not answer the source's sidecars (a firewall on 15443), e.g. cluster-1>cluster-2 (repeatable).")
    var gatewayBlocked: [String] = []

    @Option(name: .customLong("pair-latency"), help: "Extra latency for a cluster pair, e.g. cluster-1>cluster-2=40ms (repeatable).")
    var pairLatency: [String] = []

    @Option(name: .customLong("version-errors"), help: "Error rate of a HelloWorld version, e.g. v2=0.5 (repeatable).")
    var versionErrors: [String] = []

    @Option(name: .customLong("version-delay"), help: "Extra delay of a HelloWorld version, e.g. v2=200ms (repeatable).")
    var versionDelay: [String] = []

    @Option(name: .customLong("version-error-status"), help: "HTTP status of a version's injected errors, e.g. v2=500 (default 503, retried by sidecars).")
    var versionErrorStatus: [String] = []

    @Option(name: .customLong("exec-stall-after"), help: "Exec streams stall after this many output bytes.")
    var execStallAfter: Int?

    @Option(name: .customLong("exec-break-after"), help: "Exec connections break after this many output bytes.")
    var execBreakAfter: Int?

    @Option(
        name: .customLong("exec-hostile"),
        help: "Exec sessions run nothing and send hostile output until the client leaves: flood, endless-frame or invalid-frame-length.")
    var execHostile: String?

    @Option(
        name: .customLong("image-pull-error"),
        help: "Image references matching this glob cannot be pulled (ErrImagePull, ImagePullBackOff), e.g. '*/helloworld:*' (repeatable).")
    var imagePullErrors: [String] = []

    @Option(
        name: .customLong("unschedulable"),
        help: "New pods of a cluster stay Pending, unschedulable: CLUSTER or CLUSTER=MESSAGE (default: 3 Insufficient cpu) (repeatable).")
    var unschedulable: [String] = []

    @Option(
        name: .customLong("crash-loop"),
        help: "App containers of pods labelled app=APP exit with code 1 at every start (CrashLoopBackOff): CLUSTER=APP (repeatable).")
    var crashLoop: [String] = []

    @Option(
        name: .customLong("sidecar-not-ready"),
        help: "Sidecars of a cluster's new pods never become ready, as when istiod cannot be reached: CLUSTER (repeatable).")
    var sidecarNotReady: [String] = []

    @Option(
        name: .customLong("deny-pods"),
        help: "Admission refuses pod creates in a cluster (FailedCreate): CLUSTER or CLUSTER=REASON (default: PodSecurity restricted) (repeatable).")
    var denyPods: [String] = []

    @Option(
        name: .customLong("istiod-unreachable-peer"),
        help:
            "A cluster's istiod cannot reach a peer's API server (/debug/clusterz shows it timeout, its sidecars lose the peer's endpoints): CLUSTER=PEER (repeatable)."
    )
    var istiodUnreachablePeers: [String] = []

    @Option(
        name: .customLong("istiod-debug-open"),
        help:
            "A cluster's istiod also answers debug requests that are not from loopback, so /debug/clusterz through the API server's proxy answers (a real istiod, and the simulated one by default, refuses them with 401): CLUSTER (repeatable)."
    )
    var istiodDebugOpen: [String] = []

    @Option(
        name: .customLong("rbac-deny"),
        help:
            "RBAC refuses a resource in a cluster (403 and a SelfSubjectAccessReview that says no): CLUSTER=RESOURCE[@NAMESPACE], e.g. cluster-1=pods/exec@istio-system (repeatable)."
    )
    var rbacDeny: [String] = []

    @Option(
        name: .customLong("locality"),
        help: "A cluster's node region and zone, e.g. cluster-2=us-east1/us-east1-b (repeatable; default: all in us-central1, zones a, b, c, f, d, ...).")
    var locality: [String] = []

    @Option(
        name: .customLong("endpoint-removal-delay"),
        help: "How long sidecars keep listing a departed pod's endpoint (its listener stops at once), e.g. 2s (default 2s).")
    var endpointRemovalDelay = "2s"

    func run() async throws {
        var options = SimulatedMeshOptions()
        options.clusters = clusters
        options.kubeconfigPath = kubeconfigOut
        options.managedControlPlane = managed
        guard let topology = SimulatedTopology(rawValue: topology) else {
            throw ValidationError(
                "--topology must be one of \(SimulatedTopology.allCases.map(\.rawValue).joined(separator: ", ")), got \(topology)")
        }
        options.topology = topology
        if let managedDiscovery {
            guard managed else { throw ValidationError("--managed-discovery applies to a managed control plane: add --managed") }
            guard let discovery = SimulatedManagedDiscovery(rawValue: managedDiscovery) else {
                throw ValidationError(
                    "--managed-discovery must be one of \(SimulatedManagedDiscovery.allCases.map(\.rawValue).joined(separator: ", ")), got \(managedDiscovery)")
            }
            options.managedDiscovery = discovery
        }
        options.privateEndpoints = privateEndpoints
        options.revision = revision
        options.project = project
        options.location = location
        options.startDelay = try Self.duration(startDelay, option: "--start-delay")
        options.apiFaults.throttleFraction = apiThrottle
        options.apiFaults.serverErrorFraction = apiErrors
        options.apiFaults.dropFraction = apiDrop
        options.hangNamespaceDeletion = hangNamespaceDeletion
        options.controlEndpoint = true
        options.runtimeFaults = try runtimeFaults()
        options.endpointRemovalDelay = try Self.duration(endpointRemovalDelay, option: "--endpoint-removal-delay")
        for entry in locality {
            let (cluster, value) = try Self.keyValue(entry, option: "--locality")
            guard let parsed = SimulatedLocality(parsing: value) else {
                throw ValidationError("--locality expects CLUSTER=REGION/ZONE with lower-case names, e.g. cluster-2=us-east1/us-east1-b, got \(entry)")
            }
            options.localities[cluster] = parsed
        }
        options.imagePullErrors = imagePullErrors
        options.podFaults = try podFaults()
        options.istiodUnreachablePeers = try Self.clusterSets(istiodUnreachablePeers, option: "--istiod-unreachable-peer", shape: "CLUSTER=PEER")
        options.deniedResources = try Self.clusterSets(rbacDeny, option: "--rbac-deny", shape: "CLUSTER=RESOURCE")
        for entry in istiodDebugOpen {
            let (cluster, extra) = try Self.clusterAndText(entry, option: "--istiod-debug-open", shape: "CLUSTER")
            guard extra == nil else { throw ValidationError("--istiod-debug-open expects a cluster name, e.g. cluster-1, got \(entry)") }
            options.istiodDebugOpen.insert(cluster)
        }
        for fraction in [apiThrottle, apiErrors, apiDrop] where !(0...1).contains(fraction) {
            throw ValidationError("API fault fractions must be between 0 and 1")
        }

        let began = Date()
        let mesh: SimulatedMesh
        do {
            mesh = try await SimulatedMesh.start(options)
        } catch let error as SimulatedMeshError {
            FileHandle.standardError.write(Data("meshcheck sim: \(error.description)\n".utf8))
            // Exit codes as documented: 2 bad input, 3 environment.
            if case .notReady = error { throw ExitCode(3) }
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("meshcheck sim: could not start the simulated mesh: \(error)\n".utf8))
            throw ExitCode(3)
        }
        let elapsed = Date().timeIntervalSince(began)
        var lines = ["meshcheck sim: \(mesh.contexts.count) cluster(s) ready in \(String(format: "%.2f", elapsed)) s"]
        for cluster in mesh.clusterInfo {
            lines.append(
                "  \(cluster.name)  context \(cluster.context)  \(cluster.server)  \(cluster.network)  "
                    + "revision \(cluster.revision)  \(cluster.role)  \(cluster.locality.region)/\(cluster.locality.zone)")
        }
        lines.append("kubeconfig: \(mesh.kubeconfigPath)")
        if let control = mesh.controlURL {
            lines.append("fault control: \(control)/v1/faults (described in \(mesh.kubeconfigPath).sim.json)")
        }
        lines.append("running until SIGINT or SIGTERM")
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))

        let signal = await Self.waitForTermination()
        FileHandle.standardOutput.write(Data("meshcheck sim: \(signal), stopping\n".utf8))
        await mesh.stop()
        try? FileManager.default.removeItem(atPath: mesh.kubeconfigPath + ".sim.json")
    }

    func runtimeFaults() throws -> RuntimeFaults {
        var faults = RuntimeFaults()
        for entry in gatewayBlocked {
            guard let pair = ClusterPair(parsing: entry) else { throw ValidationError("--gateway-blocked expects cluster-1>cluster-2") }
            faults.blockedGateways.insert(pair)
        }
        for entry in pairLatency {
            let (key, value) = try Self.keyValue(entry, option: "--pair-latency")
            guard let pair = ClusterPair(parsing: key) else { throw ValidationError("--pair-latency expects cluster-1>cluster-2=40ms") }
            faults.pairLatency[pair] = try Self.duration(value, option: "--pair-latency")
        }
        for entry in versionErrors {
            let (version, value) = try Self.keyValue(entry, option: "--version-errors")
            guard let rate = Double(value), (0...1).contains(rate) else {
                throw ValidationError("--version-errors expects v2=0.5 with a rate between 0 and 1")
            }
            faults.versionFaults[version, default: VersionFault()].errorRate = rate
        }
        for entry in versionDelay {
            let (version, value) = try Self.keyValue(entry, option: "--version-delay")
            faults.versionFaults[version, default: VersionFault()].extraDelay = try Self.duration(value, option: "--version-delay")
        }
        for entry in versionErrorStatus {
            let (version, value) = try Self.keyValue(entry, option: "--version-error-status")
            guard let status = Int(value), (500...599).contains(status) else {
                throw ValidationError("--version-error-status expects v2=500 with a 5xx status")
            }
            let current = faults.versionFaults[version] ?? VersionFault()
            faults.versionFaults[version] = VersionFault(
                errorRate: current.errorRate, extraDelay: current.extraDelay, errorStatus: status)
        }
        if let execStallAfter { faults.allClustersExecStreamFault = .stallAfter(bytes: execStallAfter) }
        if let execBreakAfter { faults.allClustersExecStreamFault = .breakAfter(bytes: execBreakAfter) }
        if let execHostile {
            guard let kind = HostileExecKind(rawValue: execHostile) else {
                throw ValidationError("--exec-hostile expects one of \(HostileExecKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            faults.allClustersExecStreamFault = .hostile(kind)
        }
        return faults
    }

    /// Pod faults by cluster; which clusters exist is checked when the mesh starts, before anything runs.
    func podFaults() throws -> [String: PodFaults] {
        var faults: [String: PodFaults] = [:]
        for entry in unschedulable {
            let (cluster, message) = try Self.clusterAndText(entry, option: "--unschedulable", shape: "CLUSTER[=MESSAGE]")
            faults[cluster, default: PodFaults()].unschedulable = message ?? PodFaults.defaultUnschedulableMessage
        }
        for entry in crashLoop {
            let (cluster, app) = try Self.clusterAndText(entry, option: "--crash-loop", shape: "CLUSTER=APP")
            guard let app else { throw ValidationError("--crash-loop expects CLUSTER=APP (the pods' app label), e.g. cluster-1=helloworld") }
            faults[cluster, default: PodFaults()].crashLoopApps.append(app)
        }
        for entry in sidecarNotReady {
            let (cluster, extra) = try Self.clusterAndText(entry, option: "--sidecar-not-ready", shape: "CLUSTER")
            guard extra == nil else { throw ValidationError("--sidecar-not-ready expects a cluster name, e.g. cluster-1, got \(entry)") }
            faults[cluster, default: PodFaults()].sidecarNotReady = true
        }
        for entry in denyPods {
            let (cluster, reason) = try Self.clusterAndText(entry, option: "--deny-pods", shape: "CLUSTER[=REASON]")
            faults[cluster, default: PodFaults()].denyPods = reason ?? PodFaults.defaultDenyPodsMessage
        }
        return faults
    }

    /// Repeated `CLUSTER=VALUE` entries, gathered per cluster.
    static func clusterSets(_ entries: [String], option: String, shape: String) throws -> [String: Set<String>] {
        var sets: [String: Set<String>] = [:]
        for entry in entries {
            let (cluster, value) = try clusterAndText(entry, option: option, shape: shape)
            guard let value else { throw ValidationError("\(option) expects \(shape), got \(entry)") }
            sets[cluster, default: []].insert(value)
        }
        return sets
    }

    /// `cluster-1` or `cluster-1=some text` (the text may hold `=` itself).
    static func clusterAndText(_ entry: String, option: String, shape: String) throws -> (String, String?) {
        let separator = entry.firstIndex(of: "=") ?? entry.endIndex
        let cluster = String(entry[..<separator])
        guard !cluster.isEmpty else { throw ValidationError("\(option) expects \(shape) with a cluster name such as cluster-1, got \(entry)") }
        let text = separator == entry.endIndex ? "" : String(entry[entry.index(after: separator)...])
        return (cluster, text.isEmpty ? nil : text)
    }

    static func keyValue(_ text: String, option: String) throws -> (String, String) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("\(option) expects KEY=VALUE, got \(text)") }
        return (parts[0], parts[1])
    }

    /// `300ms`, `1.5s`, `2m`; a bare number is milliseconds.
    static func duration(_ text: String, option: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 {
                return .milliseconds(Int64(value * scale))
            }
        }
        if let value = Double(text), value >= 0 { return .milliseconds(Int64(value)) }
        throw ValidationError("\(option) expects a duration such as 300ms or 1s, got \(text)")
    }

    /// Suspends until SIGINT or SIGTERM and names the signal.
    static func waitForTermination() async -> String {
        await withCheckedContinuation { continuation in
            let once = SignalOnce(continuation)
            for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                Foundation.signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume(name) }
                source.resume()
                once.keep(source)
            }
        }
    }
}

/// Resumes a continuation at most once and keeps the signal sources alive meanwhile.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ source: DispatchSourceSignal) {
        lock.lock()
        sources.append(source)
        lock.unlock()
    }

    func resume(_ name: String) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(returning: name)
    }
}
