// Disruptions: the scenario's timed actions, applied to the run's own objects while the paced load runs, each
// stamped on the load's timeline when its API calls completed. Only objects of the run's namespace that the run
// created are touched: its HelloWorld Deployments (scaled) and HelloWorld VirtualServices (a fault added, or one
// created with the run's labels and deleted again).

import KubeClient
import Synchronization

struct DisruptionExecutor: Sendable {
    let scenario: Scenario
    let namespace: String
    let runID: String
    /// By cluster name.
    let operations: [String: ClusterOperations]
    let clock: LoadClock
    /// Where pods that appear during the load are registered.
    let lateInstances: LateInstances
    let progress: @Sendable (String) -> Void

    /// One scheduled step: apply or restore disruption `index`.
    struct Step: Equatable {
        var index: Int
        var restore: Bool
        var at: Duration
    }

    /// Every step in time order (an apply before a restore scheduled at the same moment, then scenario order).
    static func schedule(_ disruptions: [Disruption]) -> [Step] {
        var steps: [Step] = []
        for (index, disruption) in disruptions.enumerated() {
            steps.append(Step(index: index, restore: false, at: disruption.at))
            if let restoreAt = disruption.restoreAt { steps.append(Step(index: index, restore: true, at: restoreAt)) }
        }
        return steps.enumerated().sorted { lhs, rhs in
            (lhs.element.at, lhs.element.restore ? 1 : 0, lhs.offset) < (rhs.element.at, rhs.element.restore ? 1 : 0, rhs.offset)
        }.map(\.element)
    }

    static func records(_ disruptions: [Disruption]) -> [DisruptionRecord] {
        disruptions.map { disruption in
            DisruptionRecord(
                name: disruption.name, kind: disruption.action.kind, clusters: disruption.action.clusters,
                percent: disruption.action.abortFault?.percent, httpStatus: disruption.action.abortFault?.httpStatus,
                at: seconds(disruption.at), restoreAt: disruption.restoreAt.map(seconds))
        }
    }

    /// Runs the schedule until it is done or the task is cancelled (the load ended); `update` gets the records after
    /// every step, so an interrupted run still reports what was applied. When `restoreWhenCut` (the namespace outlives
    /// the run), disruptions the cancellation left applied are restored before returning.
    func run(restoreWhenCut: Bool, update: @Sendable ([DisruptionRecord]) -> Void) async -> [DisruptionRecord] {
        var records = Self.records(scenario.disruptions)
        update(records)
        await withTaskGroup(of: Void.self) { watchers in
            for step in Self.schedule(scenario.disruptions) {
                do {
                    try await Task.sleep(until: clock.origin + step.at, clock: .continuous)
                } catch {
                    break
                }
                await perform(step, records: &records)
                update(records)
                // A cluster scaled back up answers from new pods: register them as they appear, so their answers
                // are attributed (not counted as unknown instances).
                if step.restore, case .scaleToZero(let clusters) = scenario.disruptions[step.index].action {
                    for name in clusters { if let op = operations[name] { watchers.addTask { await watchNewPods(op) } } }
                }
            }
            // The schedule is done: watchers end when their pods are registered or the load ends (cancellation).
            await watchers.waitForAll()
        }
        if Task.isCancelled, restoreWhenCut {
            // Cancellation would end every API call at once: restore from a task of its own.
            let pending = scenario.disruptions.indices.filter { records[$0].appliedAtMs != nil && records[$0].restoredAtMs == nil }
            let executor = self
            let current = records
            records = await Task.detached {
                var restored = current
                for index in pending { await executor.perform(Step(index: index, restore: true, at: .zero), records: &restored) }
                return restored
            }.value
            update(records)
        }
        return records
    }

    private func perform(_ step: Step, records: inout [DisruptionRecord]) async {
        let disruption = scenario.disruptions[step.index]
        let verb = step.restore ? "restoring" : "applying"
        progress("disruption \(disruption.name): \(verb) \(describe(disruption.action)) at \(formatDuration(step.at))")
        var failures: [String] = []
        for cluster in disruption.action.clusters {
            guard let op = operations[cluster] else {
                failures.append("\(cluster): not a cluster of this run")
                continue
            }
            do {
                try await act(disruption, restore: step.restore, on: op)
            } catch {
                failures.append("context \(op.cluster.context): \(error)")
            }
        }
        let now = clock.nowMilliseconds()
        if step.restore { records[step.index].restoredAtMs = now } else { records[step.index].appliedAtMs = now }
        if !failures.isEmpty {
            let message = "\(verb) failed: " + failures.joined(separator: "; ")
            records[step.index].error = [records[step.index].error, message].compactMap { $0 }.joined(separator: "; ")
            progress("disruption \(disruption.name): \(message)")
        }
    }

    private func describe(_ action: Disruption.Action) -> String {
        switch action {
        case .scaleToZero(let clusters): return "HelloWorld scaled to 0 in \(clusters.joined(separator: ", "))"
        case .abort(let percent, let status, let clusters):
            return "fault abort \(NumberFormat.shortest(percent)) % → \(status) in \(clusters.joined(separator: ", "))"
        }
    }

    private func act(_ disruption: Disruption, restore: Bool, on op: ClusterOperations) async throws {
        let client = op.cluster.client
        switch disruption.action {
        case .scaleToZero:
            guard let version = op.cluster.spec.serves else { return }
            let replicas = restore ? op.cluster.spec.helloworldReplicas : 0
            let path = ResourcePath.deployments(in: namespace, Workloads.helloworldDeploymentName(version: version))
            let _: JSONValue = try await client.patch(path, merge: ["spec": ["replicas": replicas]])
        case .abort(let percent, let status, _):
            if let routing = scenario.routing {
                // The weighted VirtualService is the host's oldest, the one Istio applies: the fault goes into its route.
                let fault = VirtualServiceObject.Fault(percent: percent, httpStatus: status)
                let http =
                    restore
                    ? [Workloads.weightedRoute(routing, versions: scenario.versions, host: Workloads.helloworldHost(namespace: namespace))]
                    : Workloads.faultRoutes(fault, routing: routing, versions: scenario.versions, namespace: namespace)
                let _: JSONValue = try await client.patch(Self.virtualServices(namespace, Workloads.helloworldApp), merge: ["spec": ["http": http]])
            } else if restore {
                try await client.delete(Self.virtualServices(namespace, Self.faultName(disruption)))
            } else {
                let item = Workloads.faultVirtualService(
                    name: Self.faultName(disruption), percent: percent, httpStatus: status, namespace: namespace, runID: runID,
                    scenarioName: scenario.name, disruption: disruption.name)
                let _: JSONValue = try await client.create(Self.virtualServices(namespace), item)
            }
        }
    }

    /// Lists the cluster's HelloWorld pods every 250 ms until as many as the scenario runs are Ready, registering every
    /// one seen; bounded by the load (cancellation) and by 10 minutes.
    private func watchNewPods(_ op: ClusterOperations) async {
        guard let version = op.cluster.spec.serves else { return }
        let selector = "app=\(Workloads.helloworldApp),version=\(version)"
        for _ in 0..<2400 {
            if let pods: [Pod] = try? await op.cluster.client.list(ResourcePath.pods(in: namespace).labelSelector(selector)) {
                let runPods = ClusterOperations.runPods(pods)
                for pod in runPods where !pod.terminating { lateInstances.register(pod.name, cluster: op.cluster.index, podIP: pod.podIP) }
                if runPods.filter({ $0.ready && !$0.terminating }).count >= op.cluster.spec.helloworldReplicas { return }
            }
            do { try await Task.sleep(for: .milliseconds(250)) } catch { return }
        }
    }

    /// The VirtualService an abort disruption creates when the scenario has none of its own.
    static func faultName(_ disruption: Disruption) -> String { "\(Workloads.helloworldApp)-\(disruption.name)" }

    static func virtualServices(_ namespace: String, _ name: String? = nil) -> ResourcePath {
        ResourcePath(group: "networking.istio.io", version: "v1", resource: "virtualservices", namespace: namespace, name: name)
    }
}

/// HelloWorld pods that appeared during the load (a cluster scaled back up), by pod name: the run registers its pods
/// before the bursts, and these only once they exist. Read on the rare path of a record naming an instance the session
/// does not know, and by the sidecar readings after the load (the new pods' addresses are local endpoints).
package final class LateInstances: Sendable {
    private let pods = Mutex<[String: (cluster: Int, podIP: String?)]>([:])
    /// Whether pods can appear during the load at all (a scaled-down cluster is scaled back up); only then do sessions
    /// hold answers from unknown instances for them.
    package let expected: Bool

    package init(expected: Bool = false) {
        self.expected = expected
    }

    package func register(_ pod: String, cluster: Int, podIP: String?) { pods.withLock { $0[pod] = (cluster, podIP) } }

    package func cluster(of pod: String) -> Int? { pods.withLock { $0[pod]?.cluster } }

    package func podIPs(inCluster cluster: Int) -> [String] {
        pods.withLock { $0.values.filter { $0.cluster == cluster }.compactMap(\.podIP) }
    }
}

extension Workloads {
    /// The label naming the disruption an object was created for.
    package static let disruptionKey = "meshcheck.io/disruption"

    /// A VirtualService for HelloWorld whose one route aborts `percent` of the requests with `httpStatus`, labelled as
    /// the run's (so cleanup deletes it with the namespace) and with the disruption's name.
    package static func faultVirtualService(
        name: String, percent: Double, httpStatus: Int, namespace: String, runID: String, scenarioName: String, disruption: String
    ) -> VirtualServiceObject {
        var labels = Ownership.labels(runID: runID)
        labels[Ownership.scenarioKey] = scenarioName
        labels["app"] = helloworldApp
        labels[disruptionKey] = disruption
        return VirtualServiceObject(
            metadata: ManifestObjectMeta(name: name, namespace: namespace, labels: labels, annotations: nil),
            spec: VirtualServiceObject.Spec(
                hosts: [helloworldHost(namespace: namespace)],
                http: faultRoutes(VirtualServiceObject.Fault(percent: percent, httpStatus: httpStatus), routing: nil, versions: [], namespace: namespace)))
    }
}

/// Just the metadata of an object (a Node's labels).
private struct MetadataOnly: Decodable, Sendable {
    var metadata: ObjectMeta
}

extension ClusterOperations {
    static let regionLabel = "topology.kubernetes.io/region"
    static let zoneLabel = "topology.kubernetes.io/zone"

    /// Region and zone of the node the run's first scheduled pod runs on, from the well-known topology labels Istio
    /// reads localities from; nil when no pod is scheduled or the nodes cannot be read (a client without `get nodes`).
    func readLocality() async -> ClusterLocality? {
        let selector = "app in (\(Workloads.helloworldApp),\(Workloads.sleepApp))"
        guard let pods: [Pod] = try? await cluster.client.list(ResourcePath.pods(in: namespace).labelSelector(selector)),
            let node = pods.lazy.compactMap({ $0.spec?.nodeName }).first(where: { !$0.isEmpty }),
            let object = try? await cluster.client.get(ResourcePath(resource: "nodes", name: node), as: MetadataOnly.self)
        else { return nil }
        let labels = object.metadata.labels ?? [:]
        let locality = ClusterLocality(region: labels[Self.regionLabel], zone: labels[Self.zoneLabel])
        return locality.region == nil && locality.zone == nil ? nil : locality
    }
}
