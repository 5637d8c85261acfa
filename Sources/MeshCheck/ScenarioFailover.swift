// Failover and locality in a scenario: the DestinationRule meshcheck creates for Istio's locality load balancing
// (`routing.locality`), the timed disruptions it applies to its own objects during the load (`disruptions:`), the
// time-series window (`timeline:`), and what the `locality` and `failover` checks expect (`expectations.locality`,
// `expectations.failover`). Nothing here touches a cluster.

/// `routing.locality`: `trafficPolicy.loadBalancer.localityLbSetting` and `trafficPolicy.outlierDetection` of a
/// DestinationRule for HelloWorld, with Istio's field names. Istio applies locality load balancing (and so failover)
/// only to a destination that has outlier detection: without it every endpoint is in one priority and nothing fails
/// over, which is why a scenario may leave it out (to see that) but the run says so.
package struct LocalityRouting: Sendable, Equatable {
    /// `localityLbSetting.failover`: traffic leaves region `from` for region `to` when `from` has no healthy endpoint.
    package var failover: [LocalityFailoverRule]
    /// `localityLbSetting.failoverPriority`: endpoint labels, most important first; an endpoint matching the client on
    /// more leading labels has the higher priority (`topology.kubernetes.io/region`, `topology.kubernetes.io/zone`, ...).
    package var failoverPriority: [String]
    /// `localityLbSetting.distribute`: per client locality, the percent of traffic each endpoint locality gets.
    package var distribute: [LocalityDistributeRule]
    /// `trafficPolicy.outlierDetection`; nil = not set.
    package var outlierDetection: OutlierDetectionSettings?

    package init(
        failover: [LocalityFailoverRule] = [], failoverPriority: [String] = [], distribute: [LocalityDistributeRule] = [],
        outlierDetection: OutlierDetectionSettings? = nil
    ) {
        self.failover = failover
        self.failoverPriority = failoverPriority
        self.distribute = distribute
        self.outlierDetection = outlierDetection
    }

    /// Whether Istio applies locality load balancing to the DestinationRule's host: it does only with outlier
    /// detection (the mesh default `localityLbSetting.enabled: true` then applies even without this block's fields).
    package var isInEffect: Bool { outlierDetection != nil }
}

package struct LocalityFailoverRule: Sendable, Equatable {
    /// A region, e.g. `us-central1`.
    package var from: String
    package var to: String

    package init(from: String, to: String) {
        self.from = from
        self.to = to
    }
}

package struct LocalityDistributeRule: Sendable, Equatable {
    /// A client locality: `region`, `region/zone` or `region/zone/subzone`, `*` allowed as a whole segment.
    package var from: String
    /// Endpoint locality → percent; the percents add up to 100.
    package var to: [String: Int]

    package init(from: String, to: [String: Int]) {
        self.from = from
        self.to = to
    }
}

/// Istio's `OutlierDetection` fields meshcheck sets; nil leaves Istio's default.
package struct OutlierDetectionSettings: Sendable, Equatable {
    /// Istio's defaults, which the simulated sidecars and the expected failover window use when a field is unset.
    package static let defaultConsecutive5xxErrors = 5
    package static let defaultInterval: Duration = .seconds(10)
    package static let defaultBaseEjectionTime: Duration = .seconds(30)
    package static let defaultMaxEjectionPercent = 10

    package var consecutive5xxErrors: Int?
    package var consecutiveGatewayErrors: Int?
    package var interval: Duration?
    package var baseEjectionTime: Duration?
    package var maxEjectionPercent: Int?

    package init(
        consecutive5xxErrors: Int? = nil, consecutiveGatewayErrors: Int? = nil, interval: Duration? = nil,
        baseEjectionTime: Duration? = nil, maxEjectionPercent: Int? = nil
    ) {
        self.consecutive5xxErrors = consecutive5xxErrors
        self.consecutiveGatewayErrors = consecutiveGatewayErrors
        self.interval = interval
        self.baseEjectionTime = baseEjectionTime
        self.maxEjectionPercent = maxEjectionPercent
    }
}

/// One timed action on objects meshcheck owns, applied during the load and undone at `restoreAt`.
package struct Disruption: Sendable, Equatable {
    package enum Action: Sendable, Equatable {
        /// Scale the HelloWorld Deployment of each listed cluster to 0 replicas; restore sets the scenario's count back.
        case scaleToZero(clusters: [String])
        /// A VirtualService for HelloWorld in each listed (client) cluster whose route aborts `percent` of the requests
        /// with `httpStatus` (Istio's `fault.abort`); restore deletes it. Istio injects faults in the client's sidecar,
        /// per route, so a fault reaches the requests of the clusters whose sidecars it configures.
        case abort(percent: Double, httpStatus: Int, clusters: [String])

        /// The names scenario files and reports use.
        package var kind: String {
            switch self {
            case .scaleToZero: return "scale-to-zero"
            case .abort: return "abort"
            }
        }

        package var clusters: [String] {
            switch self {
            case .scaleToZero(let clusters), .abort(_, _, let clusters): return clusters
            }
        }
    }

    /// DNS-1123 label, unique in the scenario; names the disruption in reports and in the objects' labels.
    package var name: String
    package var action: Action
    /// From the start of the load.
    package var at: Duration
    /// From the start of the load; nil = left in place until the load ends (cleanup still removes it).
    package var restoreAt: Duration?

    package init(name: String, action: Action, at: Duration, restoreAt: Duration? = nil) {
        self.name = name
        self.action = action
        self.at = at
        self.restoreAt = restoreAt
    }
}

/// `expectations.locality`: the share of each source's requests its own locality must serve while healthy.
package struct LocalityExpectation: Sendable, Equatable {
    package enum Scope: String, Sendable, Equatable, CaseIterable {
        case zone
        case region
    }

    package var scope: Scope
    /// Judged with the one-sided binomial test of `balance: local-preferred`, at the scenario's significance.
    package var minShare: Double

    package init(scope: Scope = .zone, minShare: Double = 0.9) {
        self.scope = scope
        self.minShare = minShare
    }
}

/// `expectations.failover`: bounds on the failover figures of every disruption and affected source.
package struct FailoverExpectation: Sendable, Equatable {
    /// From the action to the first window after which the disrupted clusters' share stays at or below
    /// `shareThreshold` and no request fails.
    package var maxFailoverSeconds: Double?
    /// Failed requests of one source between the action and its failover.
    package var maxErrorsDuringFailover: Int?
    /// From the restore to the first window after which the disrupted clusters serve their healthy share again.
    package var maxRecoverySeconds: Double?
    /// The share at or below which a disrupted cluster counts as failed away from.
    package var shareThreshold: Double

    package static let defaultShareThreshold = 0.05

    package init(
        maxFailoverSeconds: Double? = nil, maxErrorsDuringFailover: Int? = nil, maxRecoverySeconds: Double? = nil,
        shareThreshold: Double = FailoverExpectation.defaultShareThreshold
    ) {
        self.maxFailoverSeconds = maxFailoverSeconds
        self.maxErrorsDuringFailover = maxErrorsDuringFailover
        self.maxRecoverySeconds = maxRecoverySeconds
        self.shareThreshold = shareThreshold
    }
}

/// `timeline:` how the run's requests are grouped in time.
package struct TimelineSettings: Sendable, Equatable {
    package static let defaultWindow: Duration = .seconds(1)

    /// Width of one window of the per-source time series (100 ms to 60 s).
    package var window: Duration

    package init(window: Duration = TimelineSettings.defaultWindow) {
        self.window = window
    }

    package var windowMilliseconds: Int { Int(window.components.seconds) * 1000 + Int(window.components.attoseconds / 1_000_000_000_000_000) }
}
