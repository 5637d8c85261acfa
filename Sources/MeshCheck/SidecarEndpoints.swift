// The client sidecar's view of HelloWorld: what each Sleep pod's Envoy lists for the outbound helloworld
// cluster (admin `/clusters?format=json` on localhost:15000, read through an exec into the sleep container,
// which shares the pod's network namespace with istio-proxy), once after converge and once after the
// bursts. A reading that fails is kept as "not visible" with its reason; it never fails the run.

/// One endpoint as the sidecar listed it, classified from the source cluster's point of view.
package struct SidecarEndpoint: Codable, Sendable, Equatable {
    package var address: String
    package var port: Int?
    package var health: EnvoyHostHealth
    /// The health flags behind `health`; absent when there are none.
    package var healthReasons: [String]?
    package var weight: Int
    /// Absent when Envoy's locality is empty.
    package var locality: EnvoyLocality?
    package var priority: Int
    /// `local` (a pod of the source cluster), `peer` (a peer's east-west gateway) or `unknown`.
    package var origin: EndpointOrigin.Kind
    /// The peer cluster, for `peer`.
    package var peer: String?

    package init(_ host: EnvoyHost, origin: EndpointOrigin) {
        address = host.address
        port = host.port
        health = host.health
        healthReasons = host.healthReasons.isEmpty ? nil : host.healthReasons
        weight = host.weight
        locality = host.locality.isEmpty ? nil : host.locality
        priority = host.priority
        self.origin = origin.kind
        peer = origin.cluster
    }
}

/// One read of one client pod's sidecar.
package struct SidecarEndpointsReading: Codable, Sendable, Equatable {
    package enum Phase: String, Codable, Sendable, CaseIterable {
        case afterConverge, afterBursts
    }

    /// The client pod's cluster (scenario name).
    package var source: String
    package var pod: String
    package var phase: Phase
    /// The Envoy cluster read: `outbound|5000||helloworld.<namespace>.svc.cluster.local`.
    package var envoyCluster: String
    package var visible: Bool
    /// Why the view is not visible (exec failed, no sidecar answering, not Envoy's JSON, ...).
    package var reason: String?
    /// Whether the sidecar holds `envoyCluster` at all (false: no such cluster, so no endpoints).
    package var clusterPresent: Bool
    package var endpoints: [SidecarEndpoint]

    package init(
        source: String, pod: String, phase: Phase, envoyCluster: String, visible: Bool, reason: String? = nil,
        clusterPresent: Bool = false, endpoints: [SidecarEndpoint] = []
    ) {
        self.source = source
        self.pod = pod
        self.phase = phase
        self.envoyCluster = envoyCluster
        self.visible = visible
        self.reason = reason
        self.clusterPresent = clusterPresent
        self.endpoints = endpoints
    }

    /// `visible` or `not visible: <reason>`.
    package var summary: String { visible ? "visible" : "not visible: \(reason ?? "unknown")" }

    /// A failed read.
    package static func notVisible(source: String, pod: String, phase: Phase, envoyCluster: String, _ reason: String) -> Self {
        SidecarEndpointsReading(source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, visible: false, reason: reason)
    }

    /// Reads the answer of ``SidecarView/command``; pure.
    package static func from(
        answer: [UInt8], source: String, pod: String, phase: Phase, envoyCluster: String, classifier: EndpointClassifier
    ) -> Self {
        let clusters: EnvoyClusters
        do {
            clusters = try EnvoyClusters.parse(answer)
        } catch {
            return .notVisible(source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, "\(error)")
        }
        guard let cluster = clusters.cluster(named: envoyCluster) else {
            return SidecarEndpointsReading(source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, visible: true)
        }
        return SidecarEndpointsReading(
            source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, visible: true, clusterPresent: true,
            endpoints: cluster.hosts.map { SidecarEndpoint($0, origin: classifier.origin(address: $0.address, port: $0.port)) })
    }
}

/// The in-pod read: a constant argv (no shell, nothing run-specific), bounded in time and size.
package enum SidecarView {
    package static let adminURL = "http://localhost:15000/clusters?format=json"
    package static let maxSeconds = 10
    /// Sidecar reads in flight at once: one, since a read may hold up to EnvoyClusters.maxBytes (its array growing to
    /// twice that) and a mesh of many client pods is read in seconds anyway.
    package static let concurrentReads = 1
    /// curl's stderr is one line; what is kept of it names the failure.
    package static let maxStderrBytes = 4 * 1024
    /// No `--noproxy`: a real pod has no proxy variables, and the simulator's pods reach their sidecar's
    /// admin port through `http_proxy`, as a real pod's loopback reaches Envoy.
    package static let command = [
        "curl", "-sS", "--fail", "--max-time", String(maxSeconds), "--max-filesize", String(EnvoyClusters.maxBytes), adminURL,
    ]

    /// Why the read failed, from curl's exit code and the last line of its stderr.
    package static func failure(exitCode: Int32, stderr: String) -> String {
        let detail = PodOutputExcerpt.lastLine(stderr).map { " (\($0))" } ?? ""
        let what: String
        switch exitCode {
        case 7: what = "nothing answers on localhost:15000 (no sidecar in the pod, or its admin port is closed)"
        // Also what a pod without a sidecar gets when an HTTP proxy in its environment answers for localhost.
        case 22: what = "localhost:15000 answered with an HTTP error (no Envoy admin endpoint there?)"
        case 28: what = "the admin endpoint did not answer within \(maxSeconds)s"
        case 63: what = "the answer is larger than \(EnvoyClusters.maxBytes) bytes"
        case 126, 127: what = "curl is not available in the sleep container"
        default: what = "curl exited with \(exitCode)"
        }
        return what + detail
    }
}
