// The scenario as the report repeats it: the same field names as the YAML, durations in seconds,
// enums as their YAML spelling, so a reader can see exactly what was asked for.

package struct ScenarioEcho: Codable, Sendable, Equatable {
    package struct Cluster: Codable, Sendable, Equatable {
        package var context: String
        package var name: String
        /// Version served, or "none".
        package var serves: String
        package var clients: Bool
        package var helloworldReplicas: Int
        package var sleepReplicas: Int
    }

    package struct Images: Codable, Sendable, Equatable {
        package var registry: String
        /// Resolved image per served version.
        package var helloworld: [String: String]
        package var sleep: String
        package var pullSecrets: [String]
        package var pullSecretsFrom: String?
    }

    package struct Load: Codable, Sendable, Equatable {
        package var requestsPerBurst: Int
        package var bursts: Int
        package var concurrentBurstsPerClientPod: Int
        package var clientReplicas: Int
        package var mode: String
        package var parallelism: Int
        package var ratePerSecond: Double?
        package var requestTimeoutSeconds: Double
        package var connectTimeoutSeconds: Double
        /// Optional: reports written before the setting existed carry none (false applied).
        package var connectionReuse: Bool?
    }

    package struct Timeouts: Codable, Sendable, Equatable {
        package var deploySeconds: Double
        package var convergeSeconds: Double
        package var burstsSeconds: Double
        package var cleanupSeconds: Double
        // Optional: reports written before these settings existed carry none (the defaults applied).
        package var imagePullGraceSeconds: Double?
        package var unschedulableGraceSeconds: Double?
        package var failedCreateGraceSeconds: Double?
        package var sidecarReadyGraceSeconds: Double?
        package var convergeFailedPairGraceSeconds: Double?

        /// The settings echoed, with the defaults for those an older report does not carry.
        func phaseTimeouts(_ duration: (Double) -> Duration) -> PhaseTimeouts {
            let defaults = PhaseTimeouts()
            return PhaseTimeouts(
                deploy: duration(deploySeconds), converge: duration(convergeSeconds), bursts: duration(burstsSeconds),
                cleanup: duration(cleanupSeconds), imagePullGrace: imagePullGraceSeconds.map(duration) ?? defaults.imagePullGrace,
                unschedulableGrace: unschedulableGraceSeconds.map(duration) ?? defaults.unschedulableGrace,
                failedCreateGrace: failedCreateGraceSeconds.map(duration) ?? defaults.failedCreateGrace,
                sidecarReadyGrace: sidecarReadyGraceSeconds.map(duration) ?? defaults.sidecarReadyGrace,
                convergeFailedPairGrace: convergeFailedPairGraceSeconds.map(duration) ?? defaults.convergeFailedPairGrace)
        }
    }

    package struct Bounds: Codable, Sendable, Equatable {
        package var source: String?
        package var target: String?
        package var p50: Double?
        package var p90: Double?
        package var p99: Double?
    }

    package struct Expectations: Codable, Sendable, Equatable {
        package var balance: String
        package var weights: [String: Double]?
        package var minLocalShare: Double?
        package var significance: Double
        package var maxErrorRate: Double
        package var latencySLO: [String: [Bounds]]
        /// Absent when not set (and in reports written before the check).
        package var locality: LocalityExpectationEcho?
        /// Absent in reports written before failover figures.
        package var failover: FailoverExpectationEcho?
    }

    package struct LocalityExpectationEcho: Codable, Sendable, Equatable {
        package var scope: String
        package var minShare: Double
    }

    package struct FailoverExpectationEcho: Codable, Sendable, Equatable {
        package var maxFailoverSeconds: Double?
        package var maxErrorsDuringFailover: Int?
        package var maxRecoverySeconds: Double?
        package var shareThreshold: Double
    }

    /// `routing.locality` with Istio's field names; durations in seconds.
    package struct LocalityEcho: Codable, Sendable, Equatable {
        package struct Failover: Codable, Sendable, Equatable {
            package var from: String
            package var to: String
        }

        package struct Distribute: Codable, Sendable, Equatable {
            package var from: String
            package var to: [String: Int]
        }

        package struct OutlierDetection: Codable, Sendable, Equatable {
            package var consecutive5xxErrors: Int?
            package var consecutiveGatewayErrors: Int?
            package var intervalSeconds: Double?
            package var baseEjectionTimeSeconds: Double?
            package var maxEjectionPercent: Int?
        }

        package var failover: [Failover]
        package var failoverPriority: [String]
        package var distribute: [Distribute]
        package var outlierDetection: OutlierDetection?
    }

    package struct DisruptionEcho: Codable, Sendable, Equatable {
        package var name: String
        /// `scale-to-zero` or `abort`.
        package var kind: String
        package var clusters: [String]
        package var percent: Double?
        package var httpStatus: Int?
        package var atSeconds: Double
        package var restoreAtSeconds: Double?
    }

    package var name: String
    package var clusters: [Cluster]
    package var namespace: String?
    package var images: Images
    /// `auto` or the explicit revision.
    package var revision: String
    package var load: Load
    package var timeouts: Timeouts
    package var expectations: Expectations
    package struct Routing: Codable, Sendable, Equatable {
        /// Percent of requests per version.
        package var weights: [String: Int]
    }

    package var cleanup: String
    package var reuse: Bool
    /// Absent when the scenario leaves the split to the mesh.
    package var routing: Routing?
    package struct API: Codable, Sendable, Equatable {
        package var requestTimeoutSeconds: Double
        package var maxResponseBytes: Int
    }

    /// Optional: reports written before the setting existed carry none (the defaults applied).
    package var api: API?
    /// `routing.locality`; absent when not set.
    package var locality: LocalityEcho?
    /// Absent when the scenario has none.
    package var disruptions: [DisruptionEcho]?
    /// `timeline.window`; absent in reports written before the timeline.
    package var timelineWindowSeconds: Double?

    package init(_ scenario: Scenario) {
        name = scenario.name
        clusters = scenario.clusters.map {
            Cluster(
                context: $0.context, name: $0.name, serves: $0.serves ?? "none", clients: $0.clients,
                helloworldReplicas: $0.helloworldReplicas, sleepReplicas: $0.sleepReplicas)
        }
        namespace = scenario.namespace
        var resolved: [String: String] = [:]
        for version in scenario.versions { resolved[version] = scenario.images.helloworldImage(version: version) }
        images = Images(
            registry: scenario.images.registry, helloworld: resolved, sleep: scenario.images.sleep,
            pullSecrets: scenario.images.pullSecrets, pullSecretsFrom: scenario.images.pullSecretsFrom)
        switch scenario.revision {
        case .auto: revision = "auto"
        case .explicit(let value): revision = value
        }
        var rate: Double?
        if case .paced(let perSecond, _) = scenario.load.mode { rate = perSecond }
        load = Load(
            requestsPerBurst: scenario.load.requestsPerBurst, bursts: scenario.load.bursts,
            concurrentBurstsPerClientPod: scenario.load.concurrentBurstsPerClientPod, clientReplicas: scenario.load.clientReplicas,
            mode: scenario.load.mode.name, parallelism: scenario.load.mode.workers, ratePerSecond: rate,
            requestTimeoutSeconds: seconds(scenario.load.requestTimeout), connectTimeoutSeconds: seconds(scenario.load.connectTimeout),
            connectionReuse: scenario.load.connectionReuse)
        let phase = scenario.timeouts
        timeouts = Timeouts(
            deploySeconds: seconds(phase.deploy), convergeSeconds: seconds(phase.converge),
            burstsSeconds: seconds(phase.bursts), cleanupSeconds: seconds(phase.cleanup),
            imagePullGraceSeconds: seconds(phase.imagePullGrace), unschedulableGraceSeconds: seconds(phase.unschedulableGrace),
            failedCreateGraceSeconds: seconds(phase.failedCreateGrace), sidecarReadyGraceSeconds: seconds(phase.sidecarReadyGrace),
            convergeFailedPairGraceSeconds: seconds(phase.convergeFailedPairGrace))
        let expected = scenario.expectations
        var weights: [String: Double]?
        var minLocalShare: Double?
        switch expected.balance {
        case .weights(let values): weights = values
        case .localPreferred(let share): minLocalShare = share
        case .proportionalToEndpoints, .anyCrossCluster: break
        }
        func bounds(_ value: LatencyBounds, source: String? = nil, target: String? = nil) -> Bounds {
            Bounds(source: source, target: target, p50: value.p50, p90: value.p90, p99: value.p99)
        }
        var slo: [String: [Bounds]] = [:]
        if !expected.latencySLO.local.isEmpty { slo["local"] = [bounds(expected.latencySLO.local)] }
        if !expected.latencySLO.crossCluster.isEmpty { slo["crossCluster"] = [bounds(expected.latencySLO.crossCluster)] }
        if !expected.latencySLO.pairs.isEmpty {
            slo["pairs"] = expected.latencySLO.pairs.map { bounds($0.bounds, source: $0.source, target: $0.target) }
        }
        expectations = Expectations(
            balance: expected.balance.name, weights: weights, minLocalShare: minLocalShare,
            significance: expected.significance, maxErrorRate: expected.maxErrorRate, latencySLO: slo,
            locality: expected.locality.map { LocalityExpectationEcho(scope: $0.scope.rawValue, minShare: $0.minShare) },
            failover: FailoverExpectationEcho(
                maxFailoverSeconds: expected.failover.maxFailoverSeconds, maxErrorsDuringFailover: expected.failover.maxErrorsDuringFailover,
                maxRecoverySeconds: expected.failover.maxRecoverySeconds, shareThreshold: expected.failover.shareThreshold))
        locality = scenario.locality.map { routing in
            LocalityEcho(
                failover: routing.failover.map { LocalityEcho.Failover(from: $0.from, to: $0.to) },
                failoverPriority: routing.failoverPriority,
                distribute: routing.distribute.map { LocalityEcho.Distribute(from: $0.from, to: $0.to) },
                outlierDetection: routing.outlierDetection.map {
                    LocalityEcho.OutlierDetection(
                        consecutive5xxErrors: $0.consecutive5xxErrors, consecutiveGatewayErrors: $0.consecutiveGatewayErrors,
                        intervalSeconds: $0.interval.map(seconds), baseEjectionTimeSeconds: $0.baseEjectionTime.map(seconds),
                        maxEjectionPercent: $0.maxEjectionPercent)
                })
        }
        disruptions =
            scenario.disruptions.isEmpty
            ? nil
            : scenario.disruptions.map { disruption in
                DisruptionEcho(
                    name: disruption.name, kind: disruption.action.kind, clusters: disruption.action.clusters,
                    percent: disruption.action.abortFault?.percent, httpStatus: disruption.action.abortFault?.httpStatus,
                    atSeconds: seconds(disruption.at), restoreAtSeconds: disruption.restoreAt.map(seconds))
            }
        timelineWindowSeconds = seconds(scenario.timeline.window)
        cleanup = scenario.cleanup.rawValue
        reuse = scenario.reuse
        routing = scenario.routing.map { Routing(weights: $0.weights) }
        api = API(requestTimeoutSeconds: seconds(scenario.api.requestTimeout), maxResponseBytes: scenario.api.maxResponseBytes)
    }
}

/// Seconds as a Double (report fields).
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// The scenario's expectations type; inside ScenarioEcho `Expectations` names the echo's own.
private typealias ScenarioExpectations = Expectations

extension ScenarioEcho {
    /// The scenario a report ran with, rebuilt from its echo (to judge saved records the same way).
    package func scenario() throws(ScenarioError) -> Scenario {
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
        func unknown(_ path: String, _ value: String, _ known: [String]) -> ScenarioError {
            ScenarioError(problems: [
                ScenarioProblem(
                    file: "report.json scenario", line: nil, path: path,
                    message: "unknown value \"\(value)\"; expected one of \(known.joined(separator: ", "))")
            ])
        }
        let mode: LoadMode
        switch LoadMode.Kind(rawValue: load.mode) {
        case .parallelInPod: mode = .parallelInPod(parallelism: load.parallelism)
        case .paced: mode = .paced(ratePerSecond: load.ratePerSecond ?? 1, parallelism: load.parallelism)
        case .sequential: mode = .sequential
        case nil: throw unknown("load.mode", load.mode, LoadMode.Kind.allCases.map(\.rawValue))
        }
        let balance: BalanceExpectation
        switch BalanceExpectation.Kind(rawValue: expectations.balance) {
        case .weights: balance = .weights(expectations.weights ?? [:])
        case .localPreferred: balance = .localPreferred(minLocalShare: expectations.minLocalShare ?? ScenarioExpectations.defaultMinLocalShare)
        case .anyCrossCluster: balance = .anyCrossCluster
        case .proportionalToEndpoints: balance = .proportionalToEndpoints
        case nil: throw unknown("expectations.balance", expectations.balance, BalanceExpectation.Kind.allCases.map(\.rawValue))
        }
        func bounds(_ entry: Bounds) -> LatencyBounds { LatencyBounds(p50: entry.p50, p90: entry.p90, p99: entry.p99) }
        let slo = LatencySLO(
            local: expectations.latencySLO["local"]?.first.map(bounds) ?? LatencyBounds(),
            crossCluster: expectations.latencySLO["crossCluster"]?.first.map(bounds) ?? LatencyBounds(),
            pairs: (expectations.latencySLO["pairs"] ?? []).compactMap { entry in
                guard let source = entry.source, let target = entry.target else { return nil }
                return PairLatencySLO(source: source, target: target, bounds: bounds(entry))
            })
        var localityExpectation: LocalityExpectation?
        if let echo = expectations.locality {
            guard let scope = LocalityExpectation.Scope(rawValue: echo.scope) else {
                throw unknown("expectations.locality.scope", echo.scope, LocalityExpectation.Scope.allCases.map(\.rawValue))
            }
            localityExpectation = LocalityExpectation(scope: scope, minShare: echo.minShare)
        }
        let failoverExpectation = expectations.failover.map {
            FailoverExpectation(
                maxFailoverSeconds: $0.maxFailoverSeconds, maxErrorsDuringFailover: $0.maxErrorsDuringFailover,
                maxRecoverySeconds: $0.maxRecoverySeconds, shareThreshold: $0.shareThreshold)
        }
        let localityRouting = locality.map { echo in
            LocalityRouting(
                failover: echo.failover.map { LocalityFailoverRule(from: $0.from, to: $0.to) }, failoverPriority: echo.failoverPriority,
                distribute: echo.distribute.map { LocalityDistributeRule(from: $0.from, to: $0.to) },
                outlierDetection: echo.outlierDetection.map {
                    OutlierDetectionSettings(
                        consecutive5xxErrors: $0.consecutive5xxErrors, consecutiveGatewayErrors: $0.consecutiveGatewayErrors,
                        interval: $0.intervalSeconds.map(duration), baseEjectionTime: $0.baseEjectionTimeSeconds.map(duration),
                        maxEjectionPercent: $0.maxEjectionPercent)
                })
        }
        var rebuiltDisruptions: [Disruption] = []
        for echo in disruptions ?? [] {
            let action: Disruption.Action
            switch echo.kind {
            case "scale-to-zero": action = .scaleToZero(clusters: echo.clusters)
            case "abort": action = .abort(percent: echo.percent ?? 100, httpStatus: echo.httpStatus ?? 503, clusters: echo.clusters)
            default: throw unknown("disruptions.kind", echo.kind, ["scale-to-zero", "abort"])
            }
            rebuiltDisruptions.append(
                Disruption(name: echo.name, action: action, at: duration(echo.atSeconds), restoreAt: echo.restoreAtSeconds.map(duration)))
        }
        let overrides = images.helloworld.filter { version, image in image != "\(images.registry)/examples-helloworld-\(version):1.0" }
        let scenario = Scenario(
            name: name,
            clusters: clusters.map {
                ClusterSpec(
                    context: $0.context, name: $0.name, serves: $0.serves == "none" ? nil : $0.serves, clients: $0.clients,
                    helloworldReplicas: $0.helloworldReplicas, sleepReplicas: $0.sleepReplicas)
            },
            namespace: namespace,
            images: ImageSettings(
                registry: images.registry, helloworldOverrides: overrides, sleep: images.sleep,
                pullSecrets: images.pullSecrets, pullSecretsFrom: images.pullSecretsFrom),
            revision: revision == "auto" ? .auto : .explicit(revision),
            load: LoadSettings(
                requestsPerBurst: load.requestsPerBurst, bursts: load.bursts,
                concurrentBurstsPerClientPod: load.concurrentBurstsPerClientPod, clientReplicas: load.clientReplicas,
                mode: mode, requestTimeout: duration(load.requestTimeoutSeconds), connectTimeout: duration(load.connectTimeoutSeconds),
                connectionReuse: load.connectionReuse ?? false),
            timeouts: timeouts.phaseTimeouts(duration),
            expectations: ScenarioExpectations(
                balance: balance, significance: expectations.significance, maxErrorRate: expectations.maxErrorRate,
                latencySLO: slo, locality: localityExpectation, failover: failoverExpectation ?? FailoverExpectation()),
            cleanup: CleanupPolicy(rawValue: cleanup) ?? .always,
            reuse: reuse,
            api: api.map { APISettings(requestTimeout: duration($0.requestTimeoutSeconds), maxResponseBytes: $0.maxResponseBytes) } ?? APISettings(),
            locality: localityRouting, disruptions: rebuiltDisruptions,
            timeline: TimelineSettings(window: timelineWindowSeconds.map(duration) ?? TimelineSettings.defaultWindow))
        try scenario.validated(source: "report.json scenario")
        return scenario
    }
}
