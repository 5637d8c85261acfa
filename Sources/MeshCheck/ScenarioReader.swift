// Field-by-field reading of the scenario document, applying defaults. Shape problems (wrong type,
// unknown key, out-of-range number) are reported here with the node's line; rules that relate several
// fields live in `ScenarioValidator`.

import Yams

struct ScenarioReader {
    let log: ProblemLog
    var read: ValueReader { ValueReader(log: log) }

    static let topLevelKeys = [
        "name", "description", "clusters", "namespace", "images", "mesh", "routing", "load", "timeouts",
        "expectations", "cleanup", "reuse", "api", "disruptions", "timeline",
    ]
    static let clusterKeys = ["context", "name", "serves", "clients", "replicas"]
    static let replicaKeys = ["helloworld", "sleep"]
    static let imageKeys = ["registry", "helloworld", "sleep", "pullSecrets", "pullSecretsFrom"]
    static let meshKeys = ["revision"]
    static let loadKeys = [
        "requestsPerBurst", "bursts", "concurrentBurstsPerClientPod", "clientReplicas", "mode",
        "parallelism", "ratePerSecond", "requestTimeout", "connectTimeout", "connectionReuse",
    ]
    static let timeoutKeys = [
        "deploy", "converge", "bursts", "cleanup", "imagePullGrace", "unschedulableGrace", "failedCreateGrace",
        "sidecarReadyGrace", "convergeFailedPairGrace",
    ]
    static let apiKeys = ["requestTimeout", "maxResponseSize"]
    static let expectationKeys = ["balance", "minLocalShare", "significance", "maxErrorRate", "latencySLO", "locality", "failover"]
    static let balanceMappingKeys = ["weights"]
    static let sloKeys = ["local", "crossCluster", "pairs"]
    static let boundKeys = ["p50", "p90", "p99"]
    static let pairKeys = ["source", "target", "p50", "p90", "p99"]

    static let maxPhaseTimeout: Duration = .seconds(24 * 3600)
    static let maxRequestTimeout: Duration = .seconds(600)

    func scenario(_ root: Node) -> Scenario? {
        guard let top = Fields(root, path: "", log: log, allowed: Self.topLevelKeys) else { return nil }
        let name = top["name"].flatMap { read.string($0, "name") } ?? "scenario"
        if let description = top["description"] { _ = read.string(description, "description") }

        guard let clustersNode = top["clusters"] else {
            log.add(root, "clusters", "is required: list each cluster's kubeconfig context, e.g. `clusters: [{context: ctx-1}, {context: ctx-2}]`")
            return nil
        }
        let load = top["load"].flatMap { loadSettings($0) } ?? LoadSettings()
        let clusters = clusterList(clustersNode, defaultSleepReplicas: load.clientReplicas)

        var scenario = Scenario(name: name, clusters: clusters ?? [])
        scenario.load = load
        if let node = top["namespace"] { scenario.namespace = read.string(node, "namespace") }
        if let node = top["images"] { scenario.images = images(node) ?? scenario.images }
        if let node = top["mesh"], let mesh = Fields(node, path: "mesh", log: log, allowed: Self.meshKeys),
            let revisionNode = mesh["revision"], let revision = read.string(revisionNode, "mesh.revision")
        {
            scenario.revision = revision == "auto" ? .auto : .explicit(revision)
        }
        if let node = top["timeouts"] { scenario.timeouts = timeouts(node) ?? scenario.timeouts }
        if let node = top["expectations"] { scenario.expectations = expectations(node) ?? scenario.expectations }
        if let node = top["reuse"] { scenario.reuse = read.boolean(node, "reuse") ?? false }
        if let node = top["routing"] { (scenario.routing, scenario.locality) = routing(node) }
        if let node = top["disruptions"] { scenario.disruptions = disruptions(node, clusters: clusters ?? []) }
        if let node = top["timeline"] { scenario.timeline = timeline(node) ?? scenario.timeline }
        if let node = top["api"] { scenario.api = api(node) ?? scenario.api }
        if let node = top["cleanup"] {
            let options = CleanupPolicy.allCases.map(\.rawValue)
            scenario.cleanup = read.choice(node, "cleanup", among: options).flatMap(CleanupPolicy.init(rawValue:)) ?? .always
        } else if scenario.reuse {
            scenario.cleanup = .never
        }
        return clusters == nil ? nil : scenario
    }

    private func clusterList(_ node: Node, defaultSleepReplicas: Int) -> [ClusterSpec]? {
        guard let items = read.list(node, "clusters") else { return nil }
        var contexts: [String] = []
        var unreadable = false
        var partial: [(context: String, name: String?, serves: String??, clients: Bool, helloworld: Int, sleep: Int)] = []
        for (index, item) in items.enumerated() {
            let path = "clusters[\(index)]"
            // A bare string is shorthand for `{context: <string>}`.
            if case .scalar = item {
                let context = read.string(item, "\(path).context") ?? ""
                log.remember("\(path).context", item)
                contexts.append(context)
                partial.append((context, nil, nil, true, 1, defaultSleepReplicas))
                continue
            }
            guard let fields = Fields(item, path: path, log: log, allowed: Self.clusterKeys) else {
                unreadable = true
                continue
            }
            guard let contextNode = fields["context"] else {
                log.add(item, "\(path).context", "is required (the kubeconfig context of this cluster)")
                unreadable = true
                continue
            }
            let context = read.string(contextNode, fields.path("context")) ?? ""
            let name = fields["name"].flatMap { read.string($0, fields.path("name")) }
            var serves: String?? = nil
            if let servesNode = fields["serves"], let value = read.string(servesNode, fields.path("serves")) {
                serves = .some(value == "none" ? nil : value)
            }
            let clients = fields["clients"].flatMap { read.boolean($0, fields.path("clients")) } ?? true
            var helloworld = 1
            var sleep = defaultSleepReplicas
            if let replicasNode = fields["replicas"],
                let replicas = Fields(replicasNode, path: fields.path("replicas"), log: log, allowed: Self.replicaKeys)
            {
                if let node = replicas["helloworld"] { helloworld = read.integer(node, replicas.path("helloworld"), in: 0...1000) ?? 1 }
                if let node = replicas["sleep"] { sleep = read.integer(node, replicas.path("sleep"), in: 0...1000) ?? 1 }
            }
            contexts.append(context)
            partial.append((context, name, serves, clients, helloworld, sleep))
        }
        // Cluster-wide rules (at least one serving cluster...) would only repeat the entry's problem.
        if unreadable { return nil }
        let names = Scenario.defaultClusterNames(contexts: contexts)
        return partial.enumerated().map { index, entry in
            ClusterSpec(
                context: entry.context, name: entry.name ?? names[index],
                serves: entry.serves ?? "v\(index + 1)", clients: entry.clients,
                helloworldReplicas: entry.helloworld, sleepReplicas: entry.sleep)
        }
    }

    private func images(_ node: Node) -> ImageSettings? {
        guard let fields = Fields(node, path: "images", log: log, allowed: Self.imageKeys) else { return nil }
        var images = ImageSettings()
        if let node = fields["registry"], let value = read.string(node, "images.registry") {
            images.registry = value.hasSuffix("/") ? String(value.dropLast()) : value
        }
        if let node = fields["sleep"], let value = read.string(node, "images.sleep") { images.sleep = value }
        if let node = fields["helloworld"], let entries = read.stringMap(node, "images.helloworld") {
            for entry in entries {
                if let value = read.string(entry.value, "images.helloworld.\(entry.key)") { images.helloworldOverrides[entry.key] = value }
            }
        }
        if let node = fields["pullSecrets"], let items = read.list(node, "images.pullSecrets") {
            images.pullSecrets = items.enumerated().compactMap { read.string($1, "images.pullSecrets[\($0)]") }
        }
        if let node = fields["pullSecretsFrom"] { images.pullSecretsFrom = read.string(node, "images.pullSecretsFrom") }
        return images
    }

    private func loadSettings(_ node: Node) -> LoadSettings? {
        guard let fields = Fields(node, path: "load", log: log, allowed: Self.loadKeys) else { return nil }
        var load = LoadSettings()
        if let node = fields["requestsPerBurst"] {
            load.requestsPerBurst = read.integer(node, "load.requestsPerBurst", in: 1...10_000_000) ?? load.requestsPerBurst
        }
        if let node = fields["bursts"] { load.bursts = read.integer(node, "load.bursts", in: 1...1_000_000) ?? load.bursts }
        if let node = fields["concurrentBurstsPerClientPod"] {
            load.concurrentBurstsPerClientPod = read.integer(node, "load.concurrentBurstsPerClientPod", in: 1...1000) ?? load.concurrentBurstsPerClientPod
        }
        if let node = fields["clientReplicas"] { load.clientReplicas = read.integer(node, "load.clientReplicas", in: 1...1000) ?? load.clientReplicas }
        if let node = fields["requestTimeout"] {
            load.requestTimeout = read.duration(node, "load.requestTimeout", max: Self.maxRequestTimeout) ?? load.requestTimeout
        }
        if let node = fields["connectTimeout"] {
            load.connectTimeout = read.duration(node, "load.connectTimeout", max: Self.maxRequestTimeout) ?? load.connectTimeout
        } else {
            load.connectTimeout = min(load.connectTimeout, load.requestTimeout)
        }
        if let node = fields["connectionReuse"] { load.connectionReuse = read.boolean(node, "load.connectionReuse") ?? load.connectionReuse }

        let modeKind =
            fields["mode"].flatMap { read.choice($0, "load.mode", among: LoadMode.Kind.allCases.map(\.rawValue)) }
            .flatMap(LoadMode.Kind.init(rawValue:)) ?? .sequential
        let parallelism = fields["parallelism"].flatMap { read.integer($0, "load.parallelism", in: 1...1000) }
        let rate = fields["ratePerSecond"].flatMap { read.number($0, "load.ratePerSecond", in: 0...100_000, openLower: true) }
        switch modeKind {
        case .parallelInPod:
            load.mode = .parallelInPod(parallelism: parallelism ?? 4)
            if let node = fields["ratePerSecond"] { log.add(node, "load.ratePerSecond", "applies only to mode: paced") }
        case .paced:
            if rate == nil, fields["ratePerSecond"] == nil {
                log.add(fields["mode"] ?? node, "load.ratePerSecond", "is required with mode: paced (target request starts per second per burst)")
            }
            load.mode = .paced(ratePerSecond: rate ?? 1, parallelism: parallelism ?? 1)
        case .sequential:
            load.mode = .sequential
            if let node = fields["parallelism"] { log.add(node, "load.parallelism", "applies only to mode: parallel-in-pod or paced") }
            if let node = fields["ratePerSecond"] { log.add(node, "load.ratePerSecond", "applies only to mode: paced") }
        }
        return load
    }

    private func timeouts(_ node: Node) -> PhaseTimeouts? {
        guard let fields = Fields(node, path: "timeouts", log: log, allowed: Self.timeoutKeys) else { return nil }
        var timeouts = PhaseTimeouts()
        let settings: [(key: String, field: WritableKeyPath<PhaseTimeouts, Duration>)] = [
            ("deploy", \.deploy), ("converge", \.converge), ("bursts", \.bursts), ("cleanup", \.cleanup),
            ("imagePullGrace", \.imagePullGrace), ("unschedulableGrace", \.unschedulableGrace),
            ("failedCreateGrace", \.failedCreateGrace), ("sidecarReadyGrace", \.sidecarReadyGrace),
            ("convergeFailedPairGrace", \.convergeFailedPairGrace),
        ]
        for setting in settings {
            if let node = fields[setting.key], let value = read.duration(node, "timeouts.\(setting.key)", max: Self.maxPhaseTimeout) {
                timeouts[keyPath: setting.field] = value
            }
        }
        return timeouts
    }

    private func api(_ node: Node) -> APISettings? {
        guard let fields = Fields(node, path: "api", log: log, allowed: Self.apiKeys) else { return nil }
        var api = APISettings()
        if let node = fields["requestTimeout"] {
            api.requestTimeout = read.duration(node, "api.requestTimeout", max: APISettings.maxRequestTimeout) ?? api.requestTimeout
        }
        if let node = fields["maxResponseSize"] {
            api.maxResponseBytes = read.size(node, "api.maxResponseSize", in: APISettings.responseBytesRange) ?? api.maxResponseBytes
        }
        return api
    }

    private func expectations(_ node: Node) -> Expectations? {
        guard let fields = Fields(node, path: "expectations", log: log, allowed: Self.expectationKeys) else { return nil }
        var expectations = Expectations()
        let minLocalShare = fields["minLocalShare"].flatMap { read.number($0, "expectations.minLocalShare", in: 0...1, openLower: true) }
        if let balanceNode = fields["balance"] {
            expectations.balance = balance(balanceNode, minLocalShare: minLocalShare) ?? expectations.balance
        }
        if let node = fields["minLocalShare"], expectations.balance.kind != .localPreferred {
            log.add(node, "expectations.minLocalShare", "applies only to balance: local-preferred")
        }
        if let node = fields["significance"] {
            expectations.significance = read.number(node, "expectations.significance", in: 0...0.5, openLower: true) ?? expectations.significance
        }
        if let node = fields["maxErrorRate"] {
            expectations.maxErrorRate = read.number(node, "expectations.maxErrorRate", in: 0...1) ?? expectations.maxErrorRate
        }
        if let node = fields["latencySLO"] { expectations.latencySLO = latencySLO(node) ?? expectations.latencySLO }
        if let node = fields["locality"] { expectations.locality = localityExpectation(node) }
        if let node = fields["failover"] { expectations.failover = failoverExpectation(node) ?? expectations.failover }
        return expectations
    }

    private func balance(_ node: Node, minLocalShare: Double?) -> BalanceExpectation? {
        let path = "expectations.balance"
        if case .mapping = node {
            guard let fields = Fields(node, path: path, log: log, allowed: Self.balanceMappingKeys) else { return nil }
            guard let weightsNode = fields["weights"], let entries = read.stringMap(weightsNode, "\(path).weights") else {
                log.add(node, "\(path).weights", "is required in the mapping form, e.g. `balance: {weights: {cluster-1: 1, cluster-2: 3}}`")
                return nil
            }
            var weights: [String: Double] = [:]
            for entry in entries {
                if let weight = read.number(entry.value, "\(path).weights.\(entry.key)", in: 0...1_000_000) { weights[entry.key] = weight }
            }
            return .weights(weights)
        }
        let options = BalanceExpectation.Kind.allCases.map(\.rawValue)
        guard let kind = read.choice(node, path, among: options).flatMap(BalanceExpectation.Kind.init(rawValue:)) else { return nil }
        switch kind {
        case .proportionalToEndpoints: return .proportionalToEndpoints
        case .localPreferred: return .localPreferred(minLocalShare: minLocalShare ?? Expectations.defaultMinLocalShare)
        case .anyCrossCluster: return .anyCrossCluster
        case .weights:
            log.add(node, path, "weights need their values: write `balance: {weights: {cluster-1: 1, cluster-2: 3}}`")
            return nil
        }
    }

    private func latencySLO(_ node: Node) -> LatencySLO? {
        let path = "expectations.latencySLO"
        guard let fields = Fields(node, path: path, log: log, allowed: Self.sloKeys) else { return nil }
        var slo = LatencySLO()
        if let node = fields["local"], let local = Fields(node, path: "\(path).local", log: log, allowed: Self.boundKeys) {
            slo.local = bounds(local)
        }
        if let node = fields["crossCluster"], let cross = Fields(node, path: "\(path).crossCluster", log: log, allowed: Self.boundKeys) {
            slo.crossCluster = bounds(cross)
        }
        if let node = fields["pairs"], let items = read.list(node, "\(path).pairs") {
            for (index, item) in items.enumerated() {
                let itemPath = "\(path).pairs[\(index)]"
                guard let pair = Fields(item, path: itemPath, log: log, allowed: Self.pairKeys) else { continue }
                let bounds = bounds(pair)
                guard let sourceNode = pair["source"], let targetNode = pair["target"],
                    let source = read.string(sourceNode, pair.path("source")), let target = read.string(targetNode, pair.path("target"))
                else {
                    log.add(item, itemPath, "needs both `source` and `target` cluster names")
                    continue
                }
                slo.pairs.append(PairLatencySLO(source: source, target: target, bounds: bounds))
            }
        }
        return slo
    }

    private func bounds(_ fields: Fields) -> LatencyBounds {
        var bounds = LatencyBounds()
        let range = 0.0...3_600_000.0
        if let node = fields["p50"] { bounds.p50 = read.number(node, fields.path("p50"), in: range, openLower: true) }
        if let node = fields["p90"] { bounds.p90 = read.number(node, fields.path("p90"), in: range, openLower: true) }
        if let node = fields["p99"] { bounds.p99 = read.number(node, fields.path("p99"), in: range, openLower: true) }
        if bounds.isEmpty { log.add(fields.node, fields.path, "needs at least one of p50, p90, p99 (milliseconds)") }
        return bounds
    }
}
