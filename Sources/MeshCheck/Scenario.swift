// The scenario: everything a run needs to know, fully resolved (defaults applied) and validated.
// Produced by `ScenarioLoader` from YAML or by `Scenario.guideCheck(contexts:)` from bare contexts;
// nothing here touches a cluster.

/// One cluster taking part in the run, addressed through a kubeconfig context.
package struct ClusterSpec: Sendable, Equatable {
    /// The kubeconfig context used to reach the cluster.
    package var context: String
    /// Short DNS-1123 label naming the cluster in reports and expectations (e.g. `cluster-1`).
    package var name: String
    /// The HelloWorld version this cluster serves (e.g. `v1`), or nil when it serves none.
    package var serves: String?
    /// Whether Sleep client pods run here and send bursts.
    package var clients: Bool
    /// HelloWorld pods (only meaningful when `serves` is set).
    package var helloworldReplicas: Int
    /// Sleep (curl) client pods (only meaningful when `clients` is true).
    package var sleepReplicas: Int

    package init(context: String, name: String, serves: String?, clients: Bool, helloworldReplicas: Int, sleepReplicas: Int) {
        self.context = context
        self.name = name
        self.serves = serves
        self.clients = clients
        self.helloworldReplicas = helloworldReplicas
        self.sleepReplicas = sleepReplicas
    }
}

/// Container images, configurable for air-gapped registries.
package struct ImageSettings: Sendable, Equatable {
    package static let defaultRegistry = "registry.istio.io/release"
    package static let defaultSleepImage = "curlimages/curl:8.16.0"

    /// Prefix for the HelloWorld images: `<registry>/examples-helloworld-<version>:1.0`.
    package var registry: String
    /// Full image references per HelloWorld version, overriding the registry-derived default.
    package var helloworldOverrides: [String: String]
    /// The Sleep client's image (must contain `/bin/sh`, `/bin/sleep` and curl 7.88+).
    package var sleep: String
    /// Image pull Secrets every pod references by name.
    package var pullSecrets: [String]
    /// Namespace the pull Secrets are copied from into the run's namespace (a fresh namespace holds no
    /// Secrets); nil when the Secrets get there some other way (reused namespace, admission policy).
    package var pullSecretsFrom: String?

    package init(
        registry: String = ImageSettings.defaultRegistry, helloworldOverrides: [String: String] = [:],
        sleep: String = ImageSettings.defaultSleepImage, pullSecrets: [String] = [], pullSecretsFrom: String? = nil
    ) {
        self.registry = registry
        self.helloworldOverrides = helloworldOverrides
        self.sleep = sleep
        self.pullSecrets = pullSecrets
        self.pullSecretsFrom = pullSecretsFrom
    }

    /// The image serving HelloWorld `version`.
    package func helloworldImage(version: String) -> String {
        if let image = helloworldOverrides[version] { return image }
        return "\(registry)/examples-helloworld-\(version):1.0"
    }
}

/// Which mesh revision the namespace is labelled for.
package enum RevisionSetting: Sendable, Equatable {
    /// Detect from istiod's `istio.io/rev` label or a managed `ControlPlaneRevision`.
    case auto
    /// Use this revision; `default` labels the namespace `istio-injection=enabled`.
    case explicit(String)
}

/// How requests are issued inside one burst (one exec).
package enum LoadMode: Sendable, Equatable {
    /// One worker, one request after the other.
    case sequential
    /// `parallelism` background workers in the pod share the burst's requests.
    case parallelInPod(parallelism: Int)
    /// Open-loop: the burst targets `ratePerSecond` starts per second, spread over `parallelism` workers;
    /// starts that come late because a previous request was slow are counted (coordinated omission).
    case paced(ratePerSecond: Double, parallelism: Int)

    /// Number of in-pod workers one burst uses.
    package var workers: Int {
        switch self {
        case .sequential: return 1
        case .parallelInPod(let parallelism): return parallelism
        case .paced(_, let parallelism): return parallelism
        }
    }

    /// The modes as scenario files and reports spell them; the one place those names are written.
    package enum Kind: String, Sendable, CaseIterable {
        case sequential
        case parallelInPod = "parallel-in-pod"
        case paced
    }

    package var kind: Kind {
        switch self {
        case .sequential: return .sequential
        case .parallelInPod: return .parallelInPod
        case .paced: return .paced
        }
    }

    /// The name used in scenario files and reports.
    package var name: String { kind.rawValue }
}

package struct LoadSettings: Sendable, Equatable {
    package var requestsPerBurst: Int
    package var bursts: Int
    package var concurrentBurstsPerClientPod: Int
    package var clientReplicas: Int
    package var mode: LoadMode
    /// curl's `--max-time` for each request.
    package var requestTimeout: Duration
    /// curl's `--connect-timeout` for each request.
    package var connectTimeout: Duration
    /// `load.connectionReuse`: each in-pod worker runs one curl over reused connections (true), or one curl per
    /// request as the install guide does (false, the default), which also measures connection set-up through the mesh.
    package var connectionReuse: Bool

    package init(
        requestsPerBurst: Int = 20, bursts: Int = 1, concurrentBurstsPerClientPod: Int = 1, clientReplicas: Int = 1,
        mode: LoadMode = .sequential, requestTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5),
        connectionReuse: Bool = false
    ) {
        self.requestsPerBurst = requestsPerBurst
        self.bursts = bursts
        self.concurrentBurstsPerClientPod = concurrentBurstsPerClientPod
        self.clientReplicas = clientReplicas
        self.mode = mode
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.connectionReuse = connectionReuse
    }

    /// In-pod workers of one burst: the mode's, at most one per request.
    package var workersPerBurst: Int { max(1, min(mode.workers, requestsPerBurst)) }

    /// Paced mode: microseconds between one worker's scheduled starts, each worker pacing at rate/workers so that
    /// together they start `ratePerSecond`; nil when not paced. With reuse curl's `--rate` paces, and it counts
    /// whole milliseconds (and does not limit above 1000 per second), so the interval is rounded to whole
    /// milliseconds; ScenarioValidator refuses a rate that rounding changes by more than 1 %.
    package var pacingIntervalMicroseconds: Int? {
        guard case .paced(let rate, _) = mode else { return nil }
        return Self.pacingInterval(rate: rate, workers: workersPerBurst, connectionReuse: connectionReuse)
    }

    package static func pacingInterval(rate: Double, workers: Int, connectionReuse: Bool) -> Int {
        let exact = Double(workers) * 1_000_000 / rate
        guard connectionReuse else { return max(1, Int(exact.rounded())) }
        return max(1, Int((exact / 1000).rounded())) * 1000
    }
}

/// How meshcheck itself talks to the API servers: every REST answer is bounded in time and size, so a
/// broken or hostile server (or something else at its address) can neither hang a run nor exhaust memory.
package struct APISettings: Sendable, Equatable {
    /// The longest one REST request may take, answer included (30s, as for kubectl's usual calls).
    package var requestTimeout: Duration
    /// The most body bytes one REST answer may hold (lists are paged, so this bounds one page).
    package var maxResponseBytes: Int

    // KubeClientOptions' defaults (this file is also compiled without KubeClient, by the scenario fuzz target).
    package static let defaultRequestTimeout: Duration = .seconds(30)
    package static let defaultMaxResponseBytes = 64 << 20
    package static let maxRequestTimeout: Duration = .seconds(600)
    /// 1 MiB (a page of a few hundred objects) to 4 GiB (more would only postpone running out of memory).
    package static let responseBytesRange = (1 << 20)...(4 << 30)

    package init(requestTimeout: Duration = APISettings.defaultRequestTimeout, maxResponseBytes: Int = APISettings.defaultMaxResponseBytes) {
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// Deadlines per lifecycle phase, and the graces after which a deploy blocker or a pair preflight
/// already failed is taken as certain rather than waited out.
package struct PhaseTimeouts: Sendable, Equatable {
    package var deploy: Duration
    package var converge: Duration
    package var bursts: Duration
    package var cleanup: Duration
    /// How long a container may fail to pull its image (`ErrImagePull`, `ImagePullBackOff`) before the
    /// deploy wait gives up: long enough for a slow registry's transient error, short of the deploy timeout.
    package var imagePullGrace: Duration
    /// How long a pod may stay `Unschedulable` (a cluster autoscaler may still add a node).
    package var unschedulableGrace: Duration
    /// How long a ReplicaSet may fail to create pods for a reason that can pass (a webhook that cannot be
    /// called yet, a ServiceAccount not yet created); PodSecurity and ResourceQuota denials end the wait at once.
    package var failedCreateGrace: Duration
    /// How long a running `istio-proxy` may stay not ready (it is ready once istiod has sent its configuration).
    package var sidecarReadyGrace: Duration
    /// How long converge waits for a (source, target) pair that preflight has already failed.
    package var convergeFailedPairGrace: Duration

    package init(
        deploy: Duration = .seconds(300), converge: Duration = .seconds(120), bursts: Duration = .seconds(600),
        cleanup: Duration = .seconds(300), imagePullGrace: Duration = .seconds(60), unschedulableGrace: Duration = .seconds(30),
        failedCreateGrace: Duration = .seconds(30), sidecarReadyGrace: Duration = .seconds(90),
        convergeFailedPairGrace: Duration = .seconds(15)
    ) {
        self.deploy = deploy
        self.converge = converge
        self.bursts = bursts
        self.cleanup = cleanup
        self.imagePullGrace = imagePullGrace
        self.unschedulableGrace = unschedulableGrace
        self.failedCreateGrace = failedCreateGrace
        self.sidecarReadyGrace = sidecarReadyGrace
        self.convergeFailedPairGrace = convergeFailedPairGrace
    }
}

/// The split of a source's requests across serving clusters that the verdict expects.
package enum BalanceExpectation: Sendable, Equatable {
    /// Each serving cluster's share equals its share of ready HelloWorld endpoints.
    case proportionalToEndpoints
    /// Each cluster's share is its weight over the sum of weights; unlisted clusters expect nothing.
    case weights([String: Double])
    /// The source's own cluster serves at least `minLocalShare` of its requests.
    case localPreferred(minLocalShare: Double)
    /// Each source reaches at least one cluster other than its own; the split is not judged.
    case anyCrossCluster

    /// The expectations as scenario files and reports spell them; the one place those names are written.
    package enum Kind: String, Sendable, CaseIterable {
        case proportionalToEndpoints = "proportional-to-endpoints"
        case weights
        case localPreferred = "local-preferred"
        case anyCrossCluster = "any-cross-cluster"
    }

    package var kind: Kind {
        switch self {
        case .proportionalToEndpoints: return .proportionalToEndpoints
        case .weights: return .weights
        case .localPreferred: return .localPreferred
        case .anyCrossCluster: return .anyCrossCluster
        }
    }

    /// The name used in scenario files and reports.
    package var name: String { kind.rawValue }
}

/// Latency bounds in milliseconds on the in-pod `time_total`; nil = not judged.
package struct LatencyBounds: Sendable, Equatable {
    package var p50: Double?
    package var p90: Double?
    package var p99: Double?

    package init(p50: Double? = nil, p90: Double? = nil, p99: Double? = nil) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
    }

    package var isEmpty: Bool { p50 == nil && p90 == nil && p99 == nil }

    /// The bounds that are set, as (quantile, label, milliseconds), lowest quantile first.
    package var quantileBounds: [(quantile: Double, label: String, milliseconds: Double)] {
        var out: [(Double, String, Double)] = []
        if let p50 { out.append((0.50, "p50", p50)) }
        if let p90 { out.append((0.90, "p90", p90)) }
        if let p99 { out.append((0.99, "p99", p99)) }
        return out
    }
}

/// A latency SLO for one (source → target) cluster pair.
package struct PairLatencySLO: Sendable, Equatable {
    package var source: String
    package var target: String
    package var bounds: LatencyBounds

    package init(source: String, target: String, bounds: LatencyBounds) {
        self.source = source
        self.target = target
        self.bounds = bounds
    }
}

package struct LatencySLO: Sendable, Equatable {
    /// Requests served by the source's own cluster.
    package var local: LatencyBounds
    /// Requests served by another cluster.
    package var crossCluster: LatencyBounds
    /// Specific pairs; a pair's bounds replace the direction's bounds for that pair.
    package var pairs: [PairLatencySLO]

    package init(local: LatencyBounds = LatencyBounds(), crossCluster: LatencyBounds = LatencyBounds(), pairs: [PairLatencySLO] = []) {
        self.local = local
        self.crossCluster = crossCluster
        self.pairs = pairs
    }

    package var isEmpty: Bool { local.isEmpty && crossCluster.isEmpty && pairs.isEmpty }
}

package struct Expectations: Sendable, Equatable {
    package static let defaultSignificance = 0.001
    package static let defaultMinLocalShare = 0.9

    package var balance: BalanceExpectation
    /// α of the balance test: fail when the goodness-of-fit p-value is below it.
    package var significance: Double
    /// Largest tolerated fraction of failed requests per source (0 = any failure fails `error-rate`).
    package var maxErrorRate: Double
    package var latencySLO: LatencySLO
    /// `expectations.locality`; nil = the `locality` check is not judged.
    package var locality: LocalityExpectation?
    /// `expectations.failover`: bounds on the failover figures (judged when the scenario has disruptions).
    package var failover: FailoverExpectation

    package init(
        balance: BalanceExpectation = .proportionalToEndpoints, significance: Double = Expectations.defaultSignificance,
        maxErrorRate: Double = 0, latencySLO: LatencySLO = LatencySLO(), locality: LocalityExpectation? = nil,
        failover: FailoverExpectation = FailoverExpectation()
    ) {
        self.locality = locality
        self.failover = failover
        self.balance = balance
        self.significance = significance
        self.maxErrorRate = maxErrorRate
        self.latencySLO = latencySLO
    }
}

/// Istio traffic routing meshcheck sets up for HelloWorld instead of the mesh's default balancing: a
/// DestinationRule with one subset per version (by the pods' `version` label) and a VirtualService whose single
/// HTTP route sends each version's weight of every client's requests to its subset.
package struct RoutingSettings: Sendable, Equatable {
    /// Percent of requests per served version; every served version has one (0 sends it nothing), and they
    /// add up to 100.
    package var weights: [String: Int]

    package init(weights: [String: Int]) {
        self.weights = weights
    }
}

package enum CleanupPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    case always
    case onSuccess = "on-success"
    case never
}

package struct Scenario: Sendable, Equatable {
    /// Name used in reports and as the metrics grouping key (DNS-1123 label).
    package var name: String
    package var clusters: [ClusterSpec]
    /// The namespace created in every cluster; nil = a fresh `meshcheck-<short id>` per run.
    package var namespace: String?
    package var images: ImageSettings
    package var revision: RevisionSetting
    package var load: LoadSettings
    package var timeouts: PhaseTimeouts
    package var expectations: Expectations
    package var cleanup: CleanupPolicy
    /// Canary mode: keep the workloads between runs and reuse them when they are ours.
    package var reuse: Bool
    /// Weighted routing by version; nil leaves the split to the mesh's default balancing.
    package var routing: RoutingSettings?
    /// Bounds on meshcheck's own API requests.
    package var api: APISettings
    /// `routing.locality`: the DestinationRule for Istio's locality load balancing; nil creates none.
    package var locality: LocalityRouting?
    /// Timed actions on meshcheck's own objects during the load, in the order they are listed.
    package var disruptions: [Disruption]
    package var timeline: TimelineSettings

    package init(
        name: String, clusters: [ClusterSpec], namespace: String? = nil, images: ImageSettings = ImageSettings(),
        revision: RevisionSetting = .auto, load: LoadSettings = LoadSettings(), timeouts: PhaseTimeouts = PhaseTimeouts(),
        expectations: Expectations = Expectations(), cleanup: CleanupPolicy = .always, reuse: Bool = false,
        routing: RoutingSettings? = nil, api: APISettings = APISettings(), locality: LocalityRouting? = nil,
        disruptions: [Disruption] = [], timeline: TimelineSettings = TimelineSettings()
    ) {
        self.api = api
        self.locality = locality
        self.disruptions = disruptions
        self.timeline = timeline
        self.name = name
        self.clusters = clusters
        self.namespace = namespace
        self.images = images
        self.revision = revision
        self.load = load
        self.timeouts = timeouts
        self.expectations = expectations
        self.cleanup = cleanup
        self.reuse = reuse
        self.routing = routing
    }

    /// Clusters that run HelloWorld.
    package var servingClusters: [ClusterSpec] { clusters.filter { $0.serves != nil } }
    /// Clusters whose Sleep pods send bursts.
    package var clientClusters: [ClusterSpec] { clusters.filter(\.clients) }
    /// Distinct HelloWorld versions, in cluster order.
    package var versions: [String] {
        var seen: [String] = []
        for cluster in clusters {
            if let version = cluster.serves, !seen.contains(version) { seen.append(version) }
        }
        return seen
    }
}
