// Rules over a whole `Scenario` (names, references between fields, ranges that depend on each other).
// Used after YAML reading and after command-line overrides, so a scenario built any way is checked
// the same before anything touches a cluster.

package enum ScenarioValidator {
    /// Namespaces meshcheck never creates workloads in, even when asked.
    package static let reservedNamespaces: Set<String> = ["default", "kube-system", "kube-package", "kube-node-lease", "istio-system"]

    /// Problems as (field path, message); empty when the scenario is usable.
    package static func problems(in scenario: Scenario) -> [(path: String, message: String)] {
        var out: [(String, String)] = []
        func check(_ path: String, _ problem: String?) {
            if let problem { out.append((path, problem)) }
        }

        check("name", NameRules.dns1123LabelProblem(scenario.name))
        checkClusters(scenario, &out)

        if let namespace = scenario.namespace {
            check("namespace", NameRules.dns1123LabelProblem(namespace))
            if reservedNamespaces.contains(namespace) {
                out.append(
                    ("namespace", "\(NameRules.quoted(namespace)) is a system namespace; meshcheck creates and deletes its own namespace, pick a new name"))
            }
        }

        let images = scenario.images
        check("images.registry", NameRules.registryPrefixProblem(images.registry))
        check("images.sleep", NameRules.imageReferenceProblem(images.sleep))
        for version in images.helloworldOverrides.keys.sorted() {
            check("images.helloworld.\(version)", NameRules.imageReferenceProblem(images.helloworldOverrides[version]!))
            if !scenario.versions.contains(version) {
                out.append(
                    (
                        "images.helloworld.\(version)",
                        "no cluster serves version \(NameRules.quoted(version)); served versions: \(scenario.versions.joined(separator: ", "))"
                    ))
            }
        }
        for (index, secret) in images.pullSecrets.enumerated() {
            check("images.pullSecrets[\(index)]", NameRules.dns1123SubdomainProblem(secret))
        }
        if let source = images.pullSecretsFrom {
            check("images.pullSecretsFrom", NameRules.dns1123LabelProblem(source))
            if images.pullSecrets.isEmpty { out.append(("images.pullSecretsFrom", "is set but images.pullSecrets names no Secret to copy")) }
        }

        if case .explicit(let revision) = scenario.revision {
            check("mesh.revision", NameRules.dns1123LabelProblem(revision).map { "\($0) (or `auto` to detect it)" })
        }

        // The YAML reader checks these ranges too; command-line overrides (--requests, --bursts,
        // --concurrency) reach the scenario only through here.
        let load = scenario.load
        for (path, value, range) in [
            ("load.requestsPerBurst", load.requestsPerBurst, 1...10_000_000), ("load.bursts", load.bursts, 1...1_000_000),
            ("load.concurrentBurstsPerClientPod", load.concurrentBurstsPerClientPod, 1...1000),
        ]
        where !range.contains(value) {
            out.append((path, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"))
        }
        if load.mode.workers > load.requestsPerBurst {
            out.append(
                ("load.parallelism", "is \(load.mode.workers) but each burst has only \(load.requestsPerBurst) requests; use at most requestsPerBurst workers"))
        }
        if load.connectionReuse, case .paced(let rate, _) = load.mode {
            // curl's --rate paces each worker in whole milliseconds and not at all above 1000 starts per second.
            let workers = load.workersPerBurst
            let exact = Double(workers) * 1_000_000 / rate
            if let interval = load.pacingIntervalMicroseconds, abs(Double(interval) - exact) > exact / 100 {
                let wholeMilliseconds = (1...1000).first { candidate in
                    let milliseconds = Double(candidate) * 1000 / rate
                    return milliseconds >= 1 && abs(milliseconds - milliseconds.rounded()) <= milliseconds / 100
                }
                let suggestion = wholeMilliseconds.map { " (e.g. parallelism \($0))" } ?? ""
                out.append(
                    (
                        "load.ratePerSecond",
                        "\(NumberFormat.shortest(rate))/s over \(workers) worker(s) needs \(NumberFormat.shortest(exact / 1000)) ms between a worker's starts, but with connectionReuse curl's --rate paces in whole milliseconds; choose parallelism so that parallelism × 1000 / ratePerSecond is a whole number of milliseconds\(suggestion), or set connectionReuse: false"
                    ))
            }
        }
        if load.connectTimeout > load.requestTimeout {
            out.append(
                ("load.connectTimeout", "(\(formatDuration(load.connectTimeout))) must not exceed load.requestTimeout (\(formatDuration(load.requestTimeout)))")
            )
        }

        out += apiProblems(scenario.api)
        out += timeoutProblems(scenario.timeouts)
        checkExpectations(scenario, &out)
        out += routingProblems(scenario)
        out += failoverProblems(scenario)

        if scenario.reuse {
            if scenario.namespace == nil {
                out.append(("reuse", "needs a fixed `namespace` so the next run finds the kept workloads"))
            }
            if scenario.cleanup == .always {
                out.append(("cleanup", "`always` would delete the workloads that `reuse: true` keeps; use `never` (the default with reuse) or `on-success`"))
            }
        }
        return out
    }

    /// The YAML reader checks these ranges too; --api-timeout and --max-response-size arrive only here.
    package static func apiProblems(_ api: APISettings) -> [(path: String, message: String)] {
        var out: [(String, String)] = []
        if let problem = byteSizeRangeProblem(api.maxResponseBytes, in: APISettings.responseBytesRange) {
            out.append(("api.maxResponseSize", "\(problem), got \(formatByteSize(api.maxResponseBytes))"))
        }
        if api.requestTimeout <= .zero || api.requestTimeout > APISettings.maxRequestTimeout {
            let limit = formatDuration(APISettings.maxRequestTimeout)
            out.append(("api.requestTimeout", "must be greater than 0 and at most \(limit), got \(formatDuration(api.requestTimeout))"))
        }
        return out
    }

    /// A grace is only worth setting if it can end its wait before the phase's own deadline does. A
    /// default grace is exempt: with a short deadline (`deploy: 45s`) the deadline simply decides.
    static func timeoutProblems(_ timeouts: PhaseTimeouts) -> [(path: String, message: String)] {
        let defaults = PhaseTimeouts()
        let graces: [(key: String, field: KeyPath<PhaseTimeouts, Duration>, phase: String, deadline: Duration)] = [
            ("imagePullGrace", \.imagePullGrace, "deploy", timeouts.deploy),
            ("unschedulableGrace", \.unschedulableGrace, "deploy", timeouts.deploy),
            ("failedCreateGrace", \.failedCreateGrace, "deploy", timeouts.deploy),
            ("sidecarReadyGrace", \.sidecarReadyGrace, "deploy", timeouts.deploy),
            ("convergeFailedPairGrace", \.convergeFailedPairGrace, "converge", timeouts.converge),
        ]
        return graces.compactMap { grace in
            let path = "timeouts.\(grace.key)"
            let value = timeouts[keyPath: grace.field]
            if value <= .zero { return (path, "must be greater than 0, got \(formatDuration(value))") }
            guard value >= grace.deadline, value != defaults[keyPath: grace.field] else { return nil }
            return (
                path,
                "(\(formatDuration(value))) must be shorter than timeouts.\(grace.phase) (\(formatDuration(grace.deadline))), "
                    + "or the \(grace.phase) timeout always ends the wait first; lower it or raise timeouts.\(grace.phase)"
            )
        }
    }

    private static func checkClusters(_ scenario: Scenario, _ out: inout [(String, String)]) {
        if scenario.clusters.isEmpty {
            out.append(("clusters", "must list at least one cluster"))
            return
        }
        var contexts: [String: Int] = [:]
        var names: [String: Int] = [:]
        for (index, cluster) in scenario.clusters.enumerated() {
            let path = "clusters[\(index)]"
            if let problem = NameRules.contextNameProblem(cluster.context) { out.append(("\(path).context", problem)) }
            if let first = contexts[cluster.context] {
                out.append(
                    ("\(path).context", "\(NameRules.quoted(cluster.context)) is already used by clusters[\(first)]; each cluster needs its own context"))
            } else {
                contexts[cluster.context] = index
            }
            if let problem = NameRules.dns1123LabelProblem(cluster.name) { out.append(("\(path).name", problem)) }
            if let first = names[cluster.name] {
                out.append(("\(path).name", "\(NameRules.quoted(cluster.name)) is already used by clusters[\(first)]; cluster names must be unique"))
            } else {
                names[cluster.name] = index
            }
            if let version = cluster.serves {
                if let problem = NameRules.dns1123LabelProblem(version) {
                    out.append(("\(path).serves", "\(problem) (or `none`)"))
                } else if ("helloworld-" + version).utf8.count > 63 {
                    out.append(("\(path).serves", "version names must be at most 52 characters (they name the Deployment helloworld-<version>)"))
                }
                if cluster.helloworldReplicas < 1 {
                    out.append(("\(path).replicas.helloworld", "must be at least 1 when the cluster serves \(version); use `serves: none` to serve nothing"))
                }
            }
            if cluster.clients, cluster.sleepReplicas < 1 {
                out.append(("\(path).replicas.sleep", "must be at least 1 when the cluster runs clients; use `clients: false` instead"))
            }
        }
        if scenario.servingClusters.isEmpty {
            out.append(("clusters", "no cluster serves HelloWorld; give at least one cluster `serves: <version>`"))
        }
        if scenario.clientClusters.isEmpty {
            out.append(("clusters", "no cluster runs clients; give at least one cluster `clients: true`"))
        }
    }

    private static func checkExpectations(_ scenario: Scenario, _ out: inout [(String, String)]) {
        let names = Set(scenario.clusters.map(\.name))
        let serving = Set(scenario.servingClusters.map(\.name))
        let expectations = scenario.expectations
        switch expectations.balance {
        case .weights(let weights):
            for cluster in weights.keys.sorted() {
                let path = "expectations.balance.weights.\(cluster)"
                if !names.contains(cluster) {
                    var message = "is not a cluster of this scenario"
                    if let suggestion = NameRules.suggestion(for: cluster, among: scenario.clusters.map(\.name)) {
                        message += "; did you mean `\(suggestion)`?"
                    }
                    out.append((path, message))
                } else if !serving.contains(cluster), weights[cluster]! > 0 {
                    out.append((path, "cluster \(cluster) serves no HelloWorld, so it cannot receive a share"))
                }
            }
            if weights.filter({ serving.contains($0.key) }).values.reduce(0, +) <= 0 {
                out.append(("expectations.balance.weights", "must give at least one serving cluster a positive weight"))
            }
        case .localPreferred(let minLocalShare):
            if !(minLocalShare > 0 && minLocalShare <= 1) {
                out.append(("expectations.minLocalShare", "must be greater than 0 and at most 1"))
            }
        case .proportionalToEndpoints, .anyCrossCluster:
            break
        }
        if !(expectations.significance > 0 && expectations.significance <= 0.5) {
            out.append(("expectations.significance", "must be greater than 0 and at most 0.5"))
        }
        if !(expectations.maxErrorRate >= 0 && expectations.maxErrorRate <= 1) {
            out.append(("expectations.maxErrorRate", "must be between 0 and 1"))
        }
        let slo = expectations.latencySLO
        checkBounds(slo.local, "expectations.latencySLO.local", &out)
        checkBounds(slo.crossCluster, "expectations.latencySLO.crossCluster", &out)
        let clients = Set(scenario.clientClusters.map(\.name))
        for (index, pair) in slo.pairs.enumerated() {
            let path = "expectations.latencySLO.pairs[\(index)]"
            checkBounds(pair.bounds, path, &out)
            if !clients.contains(pair.source) {
                out.append(
                    ("\(path).source", "\(NameRules.quoted(pair.source)) is not a cluster that runs clients (\(clients.sorted().joined(separator: ", ")))"))
            }
            if !serving.contains(pair.target) {
                out.append(
                    ("\(path).target", "\(NameRules.quoted(pair.target)) is not a cluster that serves HelloWorld (\(serving.sorted().joined(separator: ", ")))")
                )
            }
        }
    }

    private static func checkBounds(_ bounds: LatencyBounds, _ path: String, _ out: inout [(String, String)]) {
        let set = bounds.quantileBounds
        for bound in set where !(bound.milliseconds > 0) {
            out.append(("\(path).\(bound.label)", "must be greater than 0 ms"))
        }
        for (lower, upper) in zip(set, set.dropFirst()) where lower.milliseconds > upper.milliseconds {
            out.append(
                (
                    "\(path).\(upper.label)",
                    "(\(NumberFormat.shortest(upper.milliseconds)) ms) must not be below \(lower.label) (\(NumberFormat.shortest(lower.milliseconds)) ms)"
                ))
        }
    }
}

extension Scenario {
    /// The install guide's check from bare contexts: HelloWorld v1 in the first cluster, v2 in the second
    /// (v<n> in the n-th), Sleep in every cluster, 20 requests from each.
    package static func guideCheck(contexts: [String]) throws(ScenarioError) -> Scenario {
        let names = defaultClusterNames(contexts: contexts)
        let clusters = contexts.enumerated().map { index, context in
            ClusterSpec(context: context, name: names[index], serves: "v\(index + 1)", clients: true, helloworldReplicas: 1, sleepReplicas: 1)
        }
        let scenario = Scenario(name: "smoke", clusters: clusters)
        try scenario.validated(source: "--context")
        return scenario
    }

    /// Throws every validation problem, located at `source` (a file name or a flag).
    package func validated(source: String) throws(ScenarioError) {
        let problems = ScenarioValidator.problems(in: self)
        if !problems.isEmpty {
            throw ScenarioError(problems: problems.map { ScenarioProblem(file: source, line: nil, path: $0.path, message: $0.message) })
        }
    }

    /// Cluster names derived from contexts: the cluster part of a GKE context
    /// (`gke_<project>_<location>_<cluster>`), otherwise the context made DNS-safe; `cluster-<n>` when that
    /// is empty or would collide.
    package static func defaultClusterNames(contexts: [String]) -> [String] {
        let derived = contexts.map { context -> String in
            let parts = context.split(separator: "_", omittingEmptySubsequences: false)
            let base = parts.count == 4 && parts[0] == "gke" ? String(parts[3]) : context
            return NameRules.derivedLabel(from: base)
        }
        return derived.enumerated().map { index, name in
            let collides = derived.filter { $0 == name }.count > 1
            return name.isEmpty || collides ? "cluster-\(index + 1)" : name
        }
    }
}

/// Values given on the command line that replace the scenario's.
package struct ScenarioOverrides: Sendable, Equatable {
    /// Replaces the clusters' contexts in order (same count as the scenario's clusters).
    package var contexts: [String]
    package var namespace: String?
    package var requestsPerBurst: Int?
    package var bursts: Int?
    /// In-pod workers per burst; > 1 turns a sequential scenario into parallel-in-pod.
    package var parallelism: Int?
    package var concurrentBurstsPerClientPod: Int?
    package var cleanup: CleanupPolicy?

    package init(
        contexts: [String] = [], namespace: String? = nil, requestsPerBurst: Int? = nil, bursts: Int? = nil,
        parallelism: Int? = nil, concurrentBurstsPerClientPod: Int? = nil, cleanup: CleanupPolicy? = nil
    ) {
        self.contexts = contexts
        self.namespace = namespace
        self.requestsPerBurst = requestsPerBurst
        self.bursts = bursts
        self.parallelism = parallelism
        self.concurrentBurstsPerClientPod = concurrentBurstsPerClientPod
        self.cleanup = cleanup
    }
}

extension Scenario {
    /// The scenario with command-line values applied, validated again.
    package func applying(_ overrides: ScenarioOverrides) throws(ScenarioError) -> Scenario {
        var copy = self
        var problems: [ScenarioProblem] = []
        func flagProblem(_ flag: String, _ message: String) {
            problems.append(ScenarioProblem(file: flag, line: nil, path: "", message: message))
        }
        if !overrides.contexts.isEmpty {
            if overrides.contexts.count == copy.clusters.count {
                for index in copy.clusters.indices { copy.clusters[index].context = overrides.contexts[index] }
            } else {
                flagProblem(
                    "--context",
                    "given \(overrides.contexts.count) times but the scenario has \(copy.clusters.count) clusters; give one per cluster, in the scenario's order"
                )
            }
        }
        if let namespace = overrides.namespace { copy.namespace = namespace }
        if let requests = overrides.requestsPerBurst {
            if requests < 1 { flagProblem("--requests", "must be a positive integer, got \(requests)") }
            copy.load.requestsPerBurst = requests
        }
        if let bursts = overrides.bursts {
            if bursts < 1 { flagProblem("--bursts", "must be a positive integer, got \(bursts)") }
            copy.load.bursts = bursts
        }
        if let concurrent = overrides.concurrentBurstsPerClientPod {
            if concurrent < 1 { flagProblem("--concurrent-bursts", "must be a positive integer, got \(concurrent)") }
            copy.load.concurrentBurstsPerClientPod = concurrent
        }
        if let parallelism = overrides.parallelism {
            if parallelism < 1 { flagProblem("--concurrency", "must be a positive integer, got \(parallelism)") }
            switch copy.load.mode {
            case .sequential, .parallelInPod:
                copy.load.mode = parallelism > 1 ? .parallelInPod(parallelism: parallelism) : .sequential
            case .paced(let rate, _):
                copy.load.mode = .paced(ratePerSecond: rate, parallelism: parallelism)
            }
        }
        if let cleanup = overrides.cleanup { copy.cleanup = cleanup }
        if !problems.isEmpty { throw ScenarioError(problems: problems) }
        try copy.validated(source: "command line")
        return copy
    }
}
