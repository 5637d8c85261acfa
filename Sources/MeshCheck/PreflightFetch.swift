// The fetching edge of preflight: every cluster is asked at once, and within a cluster every question
// runs concurrently. A question that fails (a missing CRD, a forbidden list) becomes a fact of its own;
// only a cluster that does not answer `/version` is unreachable.

import Foundation
import KubeClient

/// One cluster to check: the scenario's name for it and a client for its context.
package struct PreflightTarget: Sendable {
    package var name: String
    package var client: KubeClient

    package init(name: String, client: KubeClient) {
        self.name = name
        self.client = client
    }
}

/// The outcome of `meshcheck preflight` (and of a run's preflight phase).
package struct PreflightReport: Codable, Sendable, Equatable {
    package struct Cluster: Codable, Sendable, Equatable {
        package var name: String
        package var context: String
        package var server: String
        package var version: String?
        /// Set exactly when `version` is nil.
        package var failure: ClusterFailure?

        package init(name: String, context: String, server: String, version: String?, failure: ClusterFailure? = nil) {
            self.name = name
            self.context = context
            self.server = server
            self.version = version
            self.failure = failure ?? (version == nil ? .unreachable : nil)
        }
    }

    package var clusters: [Cluster]
    package var findings: [PreflightFinding]
    /// Cluster name → its east-west gateway Service's load-balancer addresses, for classifying the
    /// endpoints a sidecar lists (not part of preflight's output).
    package var eastWestGatewayAddresses: [String: [String]] = [:]
    /// Cluster name → istiod's view of its peers (`/debug/clusterz`), for the run's pair layers.
    package var controlPlaneViews: [String: ControlPlaneView] = [:]
    /// Every pair's control plane layers (remote secret, sync), for `meshcheck preflight`'s output.
    package var layers: [PairLayers] = []

    private enum CodingKeys: String, CodingKey { case clusters, findings }

    package init(
        clusters: [Cluster], findings: [PreflightFinding], eastWestGatewayAddresses: [String: [String]] = [:],
        controlPlaneViews: [String: ControlPlaneView] = [:]
    ) {
        self.clusters = clusters
        self.findings = findings
        self.eastWestGatewayAddresses = eastWestGatewayAddresses
        self.controlPlaneViews = controlPlaneViews
        layers = Self.controlPlaneLayers(clusters: clusters.map(\.name), findings: findings, views: controlPlaneViews)
    }

    /// The secret and sync layers of every ordered pair of clusters, leaving out pairs where neither applies (a
    /// cluster to itself, unless a remote's primary discovers it).
    static func controlPlaneLayers(clusters: [String], findings: [PreflightFinding], views: [String: ControlPlaneView]) -> [PairLayers] {
        let input = PairLayerJudge.Input(
            findings: findings, sync: views, sidecars: [:], answers: nil, mustReach: [:], namespace: "")
        return PairLayerJudge.judge(input, sources: clusters, targets: clusters).filter { pair in
            pair.layers.contains { $0.status != .notApplicable }
        }
    }

    /// Contexts whose API server could not be examined (no connection, or no usable answer).
    package var unreachableContexts: [String] { clusters.filter { $0.version == nil }.map(\.context) }

    /// 0 nothing failed, 1 a check failed, 2 a context has no usable credentials (its kubeconfig
    /// entry or credential plugin failed, as for `meshcheck run`), 3 a cluster is unreachable or
    /// refused the credentials.
    package var exitCode: Int32 {
        if clusters.contains(where: { $0.failure == .credentials }) { return 2 }
        if !unreachableContexts.isEmpty { return 3 }
        return findings.contains { $0.status == .fail } ? 1 : 0
    }

    package func counts() -> (pass: Int, warn: Int, fail: Int) {
        findings.reduce(into: (0, 0, 0)) { counts, finding in
            switch finding.status {
            case .pass: counts.0 += 1
            case .warn: counts.1 += 1
            case .fail: counts.2 += 1
            }
        }
    }
}

package enum Preflight {
    /// Checks every cluster concurrently and judges the facts together.
    package static func run(_ targets: [PreflightTarget], expectations: PreflightExpectations) async -> PreflightReport {
        let facts = await withTaskGroup(of: (Int, ClusterFacts).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask { (index, await fetch(target, expectations: expectations)) }
            }
            var ordered = [ClusterFacts?](repeating: nil, count: targets.count)
            for await (index, fact) in group { ordered[index] = fact }
            return ordered.compactMap { $0 }
        }
        let clusters = facts.map {
            PreflightReport.Cluster(name: $0.name, context: $0.context, server: $0.server, version: $0.version, failure: $0.failure)
        }
        var addresses: [String: [String]] = [:]
        var views: [String: ControlPlaneView] = [:]
        for fact in facts {
            addresses[fact.name] = fact.eastWestService.value??.addresses ?? []
            views[fact.name] = fact.controlPlaneView
        }
        return PreflightReport(
            clusters: clusters, findings: PreflightChecks.evaluate(facts, expectations), eastWestGatewayAddresses: addresses,
            controlPlaneViews: views)
    }

    /// What a run's preflight expects: the scenario's explicit revision (else auto) and the run's namespace.
    package static func expectations(for scenario: Scenario, namespace: String, now: Double = Date().timeIntervalSince1970) -> PreflightExpectations {
        var expectations = PreflightExpectations(namespace: namespace, now: now)
        if case .explicit(let revision) = scenario.revision { expectations.revision = revision }
        return expectations
    }

    /// One progress line: counts, and the checks that did not pass.
    package static func progressLine(_ report: PreflightReport) -> String {
        let counts = report.counts()
        let problems = report.findings.filter { $0.status != .pass }.map { "\($0.status.rawValue) \($0.check) (\(PreflightSummary.scope($0)))" }
        return "preflight: \(counts.pass) pass, \(counts.warn) warn, \(counts.fail) fail" + (problems.isEmpty ? "" : ": " + problems.joined(separator: ", "))
    }

    static let istioSystem = "istio-system"

    /// What kind of failure a `/version` error is, and its text without the context (the finding
    /// names it): the same split as the run's reachability check.
    static func classify(_ error: any Error, context: String) -> (ClusterFailure, String) {
        let text = "\(error)"
        let prefix = "context \(context): "
        let message = text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text
        switch error {
        case is KubeconfigError: return (.credentials, message)
        case is KubeAPIError: return (.rejected, "API server refused the request: \(message)")
        // A server that answered, however badly, is not unreachable: its message says what it did.
        case let transport as KubeTransportError where transport.kind == .noAnswer: return (.noAnswer, message)
        case let transport as KubeTransportError where transport.kind == .tooSlow: return (.tooSlow, message)
        case let transport as KubeTransportError where transport.kind == .tooLarge: return (.tooLarge, message)
        default: return (.unreachable, "API server unreachable: \(message)")
        }
    }

    /// Everything preflight looks at in one cluster.
    static func fetch(_ target: PreflightTarget, expectations: PreflightExpectations) async -> ClusterFacts {
        let client = target.client
        var facts = ClusterFacts(name: target.name, context: client.name, server: client.context.cluster.server.description, version: nil)
        facts.certificateAuthority = APIServerIdentity(pem: client.context.cluster.certificateAuthorityPEM)
        do {
            let body = try await client.request(method: "GET", path: "/version")
            facts.version = (try? JSONDecoder().decode(JSONValue.self, from: Data(body)))?["gitVersion"]?.stringValue ?? "(version unknown)"
        } catch {
            (facts.failure, facts.unreachable) = classify(error, context: client.name)
            return facts
        }
        async let access = accessAnswers(client, namespace: expectations.namespace)
        async let istiod = fetched { try await istiodPods(client) }
        async let revisions = fetched { try await controlPlaneRevisions(client) }
        async let secrets = fetched { try await remoteSecrets(client) }
        async let deployment = fetched { try await eastWestDeployment(client) }
        async let service = fetched { try await eastWestService(client) }
        async let gateways = fetched { try await crossNetworkGateways(client) }
        async let namespace = fetched { try await istioSystemNamespace(client) }
        async let webhooks = fetched { try await injectorWebhooks(client) }
        async let mode = fetched { try await multiclusterMode(client) }
        async let root = fetched { try await rootCertificate(client) }
        async let rules = fetched { try await destinationRules(client, expectations) }
        async let sidecars = fetched { try await sidecarCount(client) }
        facts.access = await access
        facts.istiodPods = await istiod
        facts.controlPlaneRevisions = await revisions
        facts.controlPlaneView = await controlPlaneView(client, istiod: facts.istiodPods, revisions: facts.controlPlaneRevisions)
        facts.remoteSecrets = await secrets
        facts.eastWestDeployment = await deployment
        facts.eastWestService = await service
        facts.crossNetworkGateways = await gateways
        let istioSystem = await namespace
        facts.networkLabel = istioSystem.map(\.network)
        facts.controlPlaneClusters = istioSystem.map(\.controlPlaneClusters)
        facts.injectorWebhooks = await webhooks
        facts.multiclusterMode = await mode
        facts.rootCertificatePEM = await root
        facts.destinationRules = await rules
        facts.sidecars = await sidecars
        return facts
    }

    private static func fetched<Value: Sendable & Equatable>(_ body: () async throws -> Value) async -> Fetched<Value> {
        do {
            return .value(try await body())
        } catch let error as KubeAPIError {
            return .failed(error.reason == .forbidden ? "forbidden: \(error.message)" : error.message)
        } catch {
            return .failed("\(error)")
        }
    }

    /// A list whose resource type is not served (404 on the collection) is an empty list.
    private static func listOrEmpty<T: Decodable & Sendable>(_ client: KubeClient, _ path: ResourcePath, of type: T.Type) async throws -> [T] {
        do {
            return try await client.list(path, of: type)
        } catch let error as KubeAPIError where error.reason == .notFound {
            return []
        }
    }

    /// A single object that may be absent.
    private static func getOrNil<T: Decodable>(_ client: KubeClient, _ path: ResourcePath, as type: T.Type) async throws -> T? {
        do {
            return try await client.get(path, as: type)
        } catch let error as KubeAPIError where error.reason == .notFound {
            return nil
        }
    }

    // MARK: Individual questions

    static func accessAnswers(_ client: KubeClient, namespace: String?) async -> [AccessQuestion: AccessAnswer] {
        await withTaskGroup(of: (AccessQuestion, AccessAnswer).self) { group in
            for question in AccessQuestion.runNeeds {
                group.addTask {
                    var attributes: [String: JSONValue] = ["verb": .string(question.verb), "resource": .string(question.resource)]
                    if !question.group.isEmpty { attributes["group"] = .string(question.group) }
                    if let subresource = question.subresource { attributes["subresource"] = .string(subresource) }
                    if question.resource != "namespaces", let namespace { attributes["namespace"] = .string(namespace) }
                    let review: JSONValue = .object([
                        "apiVersion": .string("authorization.k8s.io/v1"), "kind": .string("SelfSubjectAccessReview"),
                        "spec": .object(["resourceAttributes": .object(attributes)]),
                    ])
                    let path = ResourcePath(group: "authorization.k8s.io", resource: "selfsubjectaccessreviews")
                    do {
                        let answer: JSONValue = try await client.create(path, review)
                        if answer["status"]?["allowed"]?.boolValue == true { return (question, .allowed) }
                        let reason = answer["status"]?["reason"]?.stringValue ?? answer["status"]?["evaluationError"]?.stringValue ?? ""
                        return (question, .denied(reason))
                    } catch {
                        return (question, .unknown("\(error)"))
                    }
                }
            }
            var answers: [AccessQuestion: AccessAnswer] = [:]
            for await (question, answer) in group { answers[question] = answer }
            return answers
        }
    }

    static func istiodPods(_ client: KubeClient) async throws -> [IstiodPodFact] {
        let pods: [Pod] = try await client.list(ResourcePath.pods(in: istioSystem).labelSelector("app=istiod"))
        return pods.filter { $0.metadata.deletionTimestamp == nil }.map { pod in
            IstiodPodFact(name: pod.metadata.name ?? "?", revision: pod.metadata.labels?["istio.io/rev"] ?? "default", ready: pod.isReady)
        }
    }

    /// What `create pods/exec` in istio-system lets meshcheck read: istiod's `/debug/clusterz`, through
    /// `pilot-discovery request` in the istiod container (what its image ships for this), from a Ready istiod pod when
    /// there is one. istiod answers its debug handlers only to localhost and Istio-authenticated callers, so the
    /// API server's proxy subresource (`pods/proxy`, no credential istiod accepts) gets 401 on a real cluster.
    static let clusterzPermission = "create pods/exec in istio-system"
    static let clusterzCommand = ["pilot-discovery", "request", "GET", "/debug/clusterz"]
    /// istiod's container in its pod (the `discovery` image).
    static let istiodContainer = "discovery"
    /// clusterz lists one short entry per cluster of the mesh; 1 MiB is thousands of clusters.
    static let clusterzMaxBytes = 1 << 20

    static func controlPlaneView(
        _ client: KubeClient, istiod: Fetched<[IstiodPodFact]>, revisions: Fetched<[ControlPlaneRevisionFact]>
    ) async -> ControlPlaneView {
        let pods: [IstiodPodFact]
        switch istiod {
        case .failed(let why): return .notVisible("cannot list istiod pods: \(why)")
        case .value(let list): pods = list
        }
        guard let pod = pods.first(where: \.ready) ?? pods.first else {
            if let managed = revisions.value?.first {
                return .notVisible("managed control plane (\(managed.name)), istiod runs outside the cluster")
            }
            return .notVisible("no istiod pod (label app=istiod) in istio-system")
        }
        let collector = ExecOutputCollector(limit: clusterzMaxBytes + 1, stderrLimit: 4 * 1024)
        let request = ExecRequest(
            namespace: istioSystem, pod: pod.name, container: istiodContainer, command: clusterzCommand,
            timeouts: ExecTimeouts(connect: .seconds(10), idle: .seconds(20), total: .seconds(30)), maxOutputBytes: clusterzMaxBytes + 64 * 1024)
        do {
            let result = try await client.exec(request, consumer: collector)
            guard result.exitCode == 0 else {
                let stderr = PodOutputExcerpt.lastLine(collector.stderrText).map { ": \($0)" } ?? ""
                return .notVisible("`\(clusterzCommand.joined(separator: " "))` in \(pod.name) exited with \(result.exitCode)\(stderr)")
            }
            guard collector.stdout.count <= clusterzMaxBytes else {
                return .notVisible("istiod \(pod.name) answered /debug/clusterz with more than \(clusterzMaxBytes >> 20) MiB")
            }
            return .clusters(pod: pod.name, try ClusterzParser.parse(collector.stdout))
        } catch let error as ExecError {
            if case .rejected(let apiError) = error.code, apiError.reason == .forbidden {
                return .notVisible("forbidden: needs `\(clusterzPermission)` (\(apiError.message))")
            }
            return .notVisible("cannot exec into istiod \(pod.name): \(error)")
        } catch let error as ClusterzParser.ParseError {
            return .notVisible("istiod \(pod.name) answered /debug/clusterz with something else: \(error)")
        } catch {
            return .notVisible("istiod \(pod.name) did not answer /debug/clusterz: \(error)")
        }
    }

    static func controlPlaneRevisions(_ client: KubeClient) async throws -> [ControlPlaneRevisionFact] {
        let path = ResourcePath(group: "mesh.cloud.google.com", version: "v1beta1", resource: "controlplanerevisions", namespace: istioSystem)
        return try await listOrEmpty(client, path, of: JSONValue.self).map { object in
            let conditions = object["status"]?["conditions"]?.arrayValue ?? []
            let reconciled = conditions.first { $0["type"]?.stringValue == "Reconciled" }
            return ControlPlaneRevisionFact(
                name: object["metadata"]?["name"]?.stringValue ?? "?",
                reconciled: reconciled.map { $0["status"]?.stringValue == "True" },
                message: reconciled?["message"]?.stringValue)
        }
    }

    static func remoteSecrets(_ client: KubeClient) async throws -> [RemoteSecretEntry] {
        let secrets: [Secret] = try await client.list(ResourcePath.secrets(in: istioSystem).labelSelector("istio/multiCluster=true"))
        return secrets.flatMap { secret in
            (secret.data ?? [:]).keys.sorted().map { key in
                RemoteSecretReader.entry(secretName: secret.metadata.name ?? "?", key: key, value: secret.decodedValue(key))
            }
        }
    }

    static func eastWestDeployment(_ client: KubeClient) async throws -> GatewayDeploymentFact? {
        guard let deployment = try await getOrNil(client, .deployments(in: istioSystem, "istio-eastwestgateway"), as: Deployment.self) else { return nil }
        return GatewayDeploymentFact(
            replicas: deployment.spec?.replicas ?? 1, availableReplicas: deployment.status?.availableReplicas ?? 0,
            networkLabel: deployment.metadata.labels?["topology.istio.io/network"])
    }

    static func eastWestService(_ client: KubeClient) async throws -> GatewayServiceFact? {
        guard let service = try await getOrNil(client, .services(in: istioSystem, "istio-eastwestgateway"), as: Service.self) else { return nil }
        let addresses = (service.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip ?? $0.hostname }
        return GatewayServiceFact(type: service.spec?.type ?? "ClusterIP", addresses: addresses)
    }

    static func crossNetworkGateways(_ client: KubeClient) async throws -> [CrossNetworkGatewayFact] {
        let path = ResourcePath(group: "networking.istio.io", version: "v1", resource: "gateways", namespace: istioSystem)
        let gateways: [JSONValue]
        do {
            gateways = try await client.list(path, of: JSONValue.self)
        } catch let error as KubeAPIError where error.reason == .notFound {
            throw KubeAPIError(
                httpStatus: 404, status: nil, context: client.name,
                fallbackMessage: "networking.istio.io/v1 Gateways are not served (Istio CRDs missing)")
        }
        return gateways.map { gateway in
            let servers = gateway["spec"]?["servers"]?.arrayValue ?? []
            let passthrough = servers.contains { server in
                server["port"]?["number"]?.numberValue == 15443 && server["tls"]?["mode"]?.stringValue == "AUTO_PASSTHROUGH"
            }
            return CrossNetworkGatewayFact(name: gateway["metadata"]?["name"]?.stringValue ?? "?", passthrough15443: passthrough)
        }
    }

    static func istioSystemNamespace(_ client: KubeClient) async throws -> IstioSystemNamespaceFact {
        let metadata = try await getOrNil(client, .namespaces(istioSystem), as: Namespace.self)?.metadata
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        return IstioSystemNamespaceFact(
            network: nonEmpty(metadata?.labels?["topology.istio.io/network"]),
            controlPlaneClusters: nonEmpty(metadata?.annotations?["topology.istio.io/controlPlaneClusters"]))
    }

    static func injectorWebhooks(_ client: KubeClient) async throws -> [InjectorWebhookFact] {
        let path = ResourcePath(group: "admissionregistration.k8s.io", version: "v1", resource: "mutatingwebhookconfigurations")
        return try await listOrEmpty(client, path, of: JSONValue.self).compactMap { configuration in
            let webhooks = configuration["webhooks"]?.arrayValue ?? []
            guard let injector = webhooks.first(where: { $0["name"]?.stringValue?.hasSuffix("sidecar-injector.istio.io") == true }) else {
                return nil
            }
            let clientConfig = injector["clientConfig"] ?? .null
            let service = clientConfig["service"].flatMap { service in
                service["name"]?.stringValue.map { "\(service["namespace"]?.stringValue ?? "default")/\($0)" }
            }
            return InjectorWebhookFact(
                name: configuration["metadata"]?["name"]?.stringValue ?? "?",
                revision: configuration["metadata"]?["labels"]?["istio.io/rev"]?.stringValue,
                url: clientConfig["url"]?.stringValue, service: service)
        }
    }

    static func multiclusterMode(_ client: KubeClient) async throws -> String? {
        try await getOrNil(client, .configMaps(in: istioSystem, "asm-options"), as: ConfigMap.self)?.data?["multicluster_mode"]
    }

    static func rootCertificate(_ client: KubeClient) async throws -> String? {
        try await getOrNil(client, .configMaps(in: istioSystem, "istio-ca-root-cert"), as: ConfigMap.self)?.data?["root-cert.pem"]
    }

    static func destinationRules(_ client: KubeClient, _ expectations: PreflightExpectations) async throws -> [DestinationRuleFact] {
        let rules = try await listOrEmpty(client, ResourcePath(group: "networking.istio.io", version: "v1", resource: "destinationrules"), of: JSONValue.self)
        return rules.compactMap { rule in
            let namespace = rule["metadata"]?["namespace"]?.stringValue ?? ""
            // A kept (canary) namespace holds meshcheck's own rule from the last run: the scenario states its effect.
            if rule["metadata"]?["labels"]?[Ownership.managedByKey]?.stringValue == Ownership.managedByValue { return nil }
            guard let host = rule["spec"]?["host"]?.stringValue,
                PreflightChecks.hostMatches(host, service: expectations.testService, ruleNamespace: namespace, namespace: expectations.namespace)
            else { return nil }
            return DestinationRuleFact(
                namespace: namespace, name: rule["metadata"]?["name"]?.stringValue ?? "?", host: host,
                splitChanges: DestinationRuleReader.splitChanges(rule["spec"] ?? .null))
        }
    }

    static func sidecarCount(_ client: KubeClient) async throws -> SidecarCount {
        let pods: [Pod] = try await client.list(ResourcePath(resource: "pods").labelSelector("security.istio.io/tlsMode=istio"))
        var count = SidecarCount()
        for pod in pods {
            if pod.spec?.containers.contains(where: { $0.name == "istio-proxy" }) == true {
                count.classic += 1
            } else if pod.spec?.initContainers?.contains(where: { $0.name == "istio-proxy" && $0.restartPolicy == "Always" }) == true {
                count.native += 1
            }
        }
        return count
    }
}

/// Reads one remote-secret value (a kubeconfig) without ever printing its credentials.
enum RemoteSecretReader {
    static func entry(secretName: String, key: String, value: [UInt8]?) -> RemoteSecretEntry {
        guard let value, let text = String(bytes: value, encoding: .utf8) else {
            return RemoteSecretEntry(secretName: secretName, key: key, clusterName: nil, server: nil, problem: "the value is not UTF-8 text")
        }
        do {
            let kubeconfig = try Kubeconfig.parse(text, directory: "/")
            let context = try kubeconfig.resolve(context: kubeconfig.currentContext ?? kubeconfig.contextNames.first)
            return RemoteSecretEntry(
                secretName: secretName, key: key, clusterName: context.clusterName,
                server: context.cluster.server.description,
                certificateAuthority: APIServerIdentity(pem: context.cluster.certificateAuthorityPEM))
        } catch {
            return RemoteSecretEntry(secretName: secretName, key: key, clusterName: nil, server: nil, problem: "\(error)")
        }
    }
}

/// Which DestinationRule settings change how requests are split across endpoints.
enum DestinationRuleReader {
    static func splitChanges(_ spec: JSONValue) -> [String] {
        var changes: [String] = []
        let policy = spec["trafficPolicy"] ?? .null
        let loadBalancer = policy["loadBalancer"] ?? .null
        if let locality = loadBalancer["localityLbSetting"], locality["enabled"]?.boolValue != false {
            changes.append("localityLbSetting")
        } else if policy["outlierDetection"] != nil {
            changes.append("outlierDetection (locality failover becomes active)")
        }
        if loadBalancer["consistentHash"] != nil { changes.append("consistentHash") }
        if let subsets = spec["subsets"]?.arrayValue, !subsets.isEmpty { changes.append("\(subsets.count) subsets") }
        return changes
    }
}
