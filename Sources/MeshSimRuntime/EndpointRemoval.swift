// Endpoint removal is not instant in a real mesh: when a pod goes away (or stops being ready) its process stops
// at once, but the sidecars that route to it keep the endpoint until the removal reaches them — istiod's
// debounce and push, and for a peer cluster the remote API-server watch. This keeps every departed endpoint in
// the view for `delay` after it was last seen; additions are not delayed. Pure: the time is passed in.

package struct EndpointRemovalDelay: Sendable {
    struct Key: Hashable, Sendable {
        var cluster: String
        var service: ServiceKey
        var pod: String
    }

    package let delay: Duration
    private var listed: [Key: MeshEndpoint] = [:]
    private var departed: [Key: (endpoint: MeshEndpoint, since: ContinuousClock.Instant)] = [:]

    package init(delay: Duration) {
        self.delay = delay
    }

    /// When the view next changes by an expiry alone; nil when nothing is pending.
    package var nextExpiry: ContinuousClock.Instant? { departed.values.map { $0.since + delay }.min() }

    /// `fresh` (the endpoints that exist now) plus the departed ones whose removal has not reached the sidecars
    /// yet. A departed endpoint stays only while its Service still exists in that cluster.
    package mutating func apply(to fresh: MeshView, now: ContinuousClock.Instant) -> MeshView {
        var current: [Key: MeshEndpoint] = [:]
        for (clusterName, cluster) in fresh.clusters {
            for (service, view) in cluster.services {
                for endpoint in view.endpoints { current[Key(cluster: clusterName, service: service, pod: endpoint.pod)] = endpoint }
            }
        }
        for (key, endpoint) in listed where current[key] == nil && departed[key] == nil { departed[key] = (endpoint, now) }
        departed = departed.filter { key, entry in current[key] == nil && now - entry.since < delay }
        listed = current
        guard !departed.isEmpty else { return fresh }
        var view = fresh
        for key in departed.keys.sorted(by: { ($0.cluster, $0.service.description, $0.pod) < ($1.cluster, $1.service.description, $1.pod) }) {
            guard let entry = departed[key], view.clusters[key.cluster]?.services[key.service] != nil else { continue }
            view.clusters[key.cluster]?.services[key.service]?.endpoints.append(entry.endpoint)
        }
        return view
    }
}
