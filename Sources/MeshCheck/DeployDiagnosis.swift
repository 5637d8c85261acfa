// Deploy diagnosis: why the workloads of a cluster are not ready, read from what `kubectl describe`
// shows (pod conditions, container states, ReplicaSet conditions, the namespace's Events), and which of
// those reasons waiting will not cure. Pure: the deploy wait reads the objects and keeps the clock.

import KubeClient

/// A Deployment meshcheck created in a cluster and how many ready pods it must have.
package struct ExpectedWorkload: Sendable, Equatable {
    /// The Deployment's name (`helloworld-v1`, `sleep`).
    package var name: String
    /// The Deployment's selector: a pod or ReplicaSet carrying all these labels belongs to it.
    package var selector: [String: String]
    package var replicas: Int

    package init(name: String, selector: [String: String], replicas: Int) {
        self.name = name
        self.selector = selector
        self.replicas = replicas
    }

    /// The Deployments `Workloads.manifests` creates for `cluster`, with nothing to wait for left out.
    package static func all(in cluster: ClusterSpec) -> [ExpectedWorkload] {
        var workloads: [ExpectedWorkload] = []
        if let version = cluster.serves, cluster.helloworldReplicas > 0 {
            workloads.append(
                ExpectedWorkload(
                    name: Workloads.helloworldDeploymentName(version: version),
                    selector: ["app": Workloads.helloworldApp, "version": version], replicas: cluster.helloworldReplicas))
        }
        if cluster.clients, cluster.sleepReplicas > 0 {
            workloads.append(ExpectedWorkload(name: Workloads.sleepApp, selector: ["app": Workloads.sleepApp], replicas: cluster.sleepReplicas))
        }
        return workloads
    }

    func owns(_ labels: [String: String]?) -> Bool {
        guard let labels else { return false }
        return selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// What one cluster showed in one round of the deploy wait.
package struct DeployObservation: Sendable {
    package var cluster: String
    package var context: String
    package var expected: [ExpectedWorkload]
    package var pods: [Pod]
    package var replicaSets: [ReplicaSet]
    package var events: [Event]

    package init(cluster: String, context: String, expected: [ExpectedWorkload], pods: [Pod], replicaSets: [ReplicaSet], events: [Event]) {
        self.cluster = cluster
        self.context = context
        self.expected = expected
        self.pods = pods
        self.replicaSets = replicaSets
        self.events = events
    }
}

/// One reason a workload is not ready, as the server states it.
package struct DeployBlocker: Sendable, Equatable {
    package enum Kind: String, Sendable, Equatable {
        /// `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`, `ErrImageNeverPull`.
        case imagePull
        /// `PodScheduled=False` with reason `Unschedulable`, or a `FailedScheduling` event.
        case unschedulable
        /// The ReplicaSet controller cannot create pods (`ReplicaFailure`/`FailedCreate`): admission said no.
        case failedCreate
        /// A container (or init container) in `CrashLoopBackOff`.
        case crashLoop
        /// `istio-proxy` runs but is not ready: it has no configuration from istiod.
        case sidecarNotReady
        /// Anything else on the way to ready (`ContainerCreating`, `PodInitializing`, a failing
        /// readiness probe): shown while waiting, never a reason to stop waiting.
        case pending
    }

    package var kind: Kind
    package var cluster: String
    package var context: String
    /// The Deployment it holds back.
    package var workload: String
    /// `pod/<name>` or `replicaset/<name>`.
    package var object: String
    package var container: String?
    /// The image of `container`, for image pull failures.
    package var image: String?
    /// The server's reason, verbatim (`ImagePullBackOff`, `Unschedulable`, `FailedCreate`, …).
    package var reason: String
    /// The server's message, verbatim.
    package var message: String
    /// A related event's message when it says more than `message` (the registry's error behind
    /// `Back-off pulling image`, the last exit of a crash-looping container).
    package var detail: String?

    /// Identifies the same blocker across rounds of the wait (the reason may alternate, as
    /// `ErrImagePull` and `ImagePullBackOff` do, without restarting its grace).
    var key: String { "\(cluster)|\(object)|\(container ?? "")|\(kind.rawValue)" }

    /// How long the blocker must last before waiting is pointless: `.zero` = at once, nil = never
    /// by itself (the deploy timeout decides).
    package func grace(_ timeouts: PhaseTimeouts) -> Duration? {
        switch kind {
        case .imagePull:
            // A malformed reference or `imagePullPolicy: Never` without the image cannot be retried into success.
            return ["InvalidImageName", "ErrImageNeverPull"].contains(reason) ? .zero : timeouts.imagePullGrace
        case .unschedulable: return timeouts.unschedulableGrace
        case .failedCreate: return AdmissionDenial(message) == nil ? timeouts.failedCreateGrace : .zero
        case .crashLoop: return .zero
        case .sidecarNotReady: return timeouts.sidecarReadyGrace
        case .pending: return nil
        }
    }
}

/// A `FailedCreate` that a policy decided: it stays until someone changes the policy.
package enum AdmissionDenial: Sendable, Equatable {
    /// `violates PodSecurity "restricted:latest"`: the level (`restricted:latest`).
    case podSecurity(level: String)
    /// `exceeded quota: compute-resources, requested: …`: the quota's name.
    case resourceQuota(name: String)
    /// `admission webhook "name" denied the request`: the webhook's name.
    case webhook(name: String)

    package init?(_ message: String) {
        if let level = Self.quoted(after: "violates PodSecurity ", in: message) {
            self = .podSecurity(level: level)
        } else if let range = message.range(of: "exceeded quota: ") {
            let name = message[range.upperBound...].prefix { $0 != "," && $0 != " " }
            self = .resourceQuota(name: String(name))
        } else if message.contains("denied the request"), let name = Self.quoted(after: "admission webhook ", in: message) {
            self = .webhook(name: name)
        } else {
            return nil
        }
    }

    /// The text between the double quotes that follow `marker`.
    private static func quoted(after marker: String, in message: String) -> String? {
        guard let range = message.range(of: marker + "\"") else { return nil }
        let rest = message[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

/// One Deployment's state in one round of the wait.
package struct WorkloadProgress: Sendable, Equatable {
    package var workload: ExpectedWorkload
    package var ready: Int
    package var blockers: [DeployBlocker]

    package var isReady: Bool { ready >= workload.replicas }
}

package enum DeployDiagnosis {
    static let sidecarName = "istio-proxy"

    /// Every expected workload of the cluster with its ready count and what holds back the rest.
    package static func progress(_ observation: DeployObservation) -> [WorkloadProgress] {
        let pods = observation.pods.filter { $0.metadata.deletionTimestamp == nil }
        return observation.expected.map { workload in
            let owned = pods.filter { workload.owns($0.metadata.labels) }
            let ready = owned.filter(\.isReady).count
            guard ready < workload.replicas else { return WorkloadProgress(workload: workload, ready: ready, blockers: []) }
            var blockers = owned.filter { !$0.isReady }.flatMap { podBlockers($0, workload: workload.name, observation) }
            blockers += replicaSetBlockers(workload, owned: owned, observation)
            if blockers.isEmpty {
                let reason = owned.isEmpty ? "NoPods" : "NotReady"
                let message =
                    owned.count < workload.replicas
                    ? "\(owned.count) of \(workload.replicas) pods created so far" : "waiting for the pods to become ready"
                blockers.append(
                    DeployBlocker(
                        kind: .pending, cluster: observation.cluster, context: observation.context, workload: workload.name,
                        object: "deployment/\(workload.name)", reason: reason, message: message))
            }
            return WorkloadProgress(workload: workload, ready: ready, blockers: blockers)
        }
    }

    /// Why one pod is not ready: scheduling first (nothing else happens before it), then each
    /// container's state, init containers first as the kubelet runs them.
    static func podBlockers(_ pod: Pod, workload: String, _ observation: DeployObservation) -> [DeployBlocker] {
        let name = pod.metadata.name ?? "?"
        func blocker(_ kind: DeployBlocker.Kind, container: String? = nil, reason: String, message: String, detail: String? = nil) -> DeployBlocker {
            let image = container.flatMap { container in
                ((pod.spec?.initContainers ?? []) + (pod.spec?.containers ?? [])).first { $0.name == container }?.image
            }
            return DeployBlocker(
                kind: kind, cluster: observation.cluster, context: observation.context, workload: workload, object: "pod/\(name)",
                container: container, image: image, reason: reason, message: message, detail: detail)
        }
        let podEvents = observation.events.filter { $0.involvedObject?.kind == "Pod" && $0.involvedObject?.name == name }
        if let scheduled = pod.status?.conditions?.first(where: { $0.type == "PodScheduled" }), scheduled.status == "False",
            scheduled.reason == "Unschedulable"
        {
            let event = latest(podEvents.filter { $0.reason == "FailedScheduling" })
            return [blocker(.unschedulable, reason: "Unschedulable", message: scheduled.message ?? event?.message ?? "")]
        }
        if pod.spec?.nodeName == nil, let event = latest(podEvents.filter { $0.reason == "FailedScheduling" }) {
            return [blocker(.unschedulable, reason: "FailedScheduling", message: event.message ?? "")]
        }
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
        return statuses.compactMap { status -> DeployBlocker? in
            if let waiting = status.state?.waiting, let reason = waiting.reason {
                let message = waiting.message ?? ""
                switch reason {
                case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
                    // The kubelet records `Failed` twice per attempt: `Failed to pull image "…": <the registry's
                    // answer>` and a bare `Error: ErrImagePull` / `Error: ImagePullBackOff`; the first says why.
                    let failures = podEvents.filter { $0.reason == "Failed" && $0.involvedObject?.fieldPath?.contains("{\(status.name)}") == true }
                    let failed = latest(failures.filter { $0.message?.hasPrefix("Error: ") == false }) ?? latest(failures)
                    let detail = (failed?.message).flatMap { $0 == message ? nil : $0 }
                    return blocker(.imagePull, container: status.name, reason: reason, message: message, detail: detail)
                case "CrashLoopBackOff":
                    return blocker(.crashLoop, container: status.name, reason: reason, message: message, detail: lastExit(status))
                default:
                    // ContainerCreating, PodInitializing: the way to ready. Init containers not yet
                    // started wait silently behind the one that runs.
                    return reason == "PodInitializing" ? nil : blocker(.pending, container: status.name, reason: reason, message: message)
                }
            }
            guard status.state?.running != nil, !status.ready else { return nil }
            if status.name == sidecarName {
                return blocker(
                    .sidecarNotReady, container: status.name, reason: "NotReady",
                    message: "container \(sidecarName) is running but not ready",
                    detail: latest(podEvents.filter { $0.reason == "Unhealthy" && $0.involvedObject?.fieldPath?.contains("{\(sidecarName)}") == true })?.message
                )
            }
            // An init container that runs to completion is not a sidecar and is never "ready".
            let isInit = pod.status?.initContainerStatuses?.contains { $0.name == status.name } ?? false
            let isNativeSidecar = pod.spec?.initContainers?.contains { $0.name == status.name && $0.restartPolicy == "Always" } ?? false
            guard !isInit || isNativeSidecar else { return nil }
            return blocker(.pending, container: status.name, reason: "NotReady", message: "container \(status.name) is running but not ready")
        }
    }

    /// `FailedCreate` from the ReplicaSets of the workload that have fewer pods than they want: the
    /// ReplicaSet's latest `FailedCreate` event (the controller's newest refusal), else its
    /// `ReplicaFailure` condition, which keeps the first one's message.
    static func replicaSetBlockers(_ workload: ExpectedWorkload, owned: [Pod], _ observation: DeployObservation) -> [DeployBlocker] {
        observation.replicaSets.filter { workload.owns($0.metadata.labels) && ($0.spec?.replicas ?? 0) > 0 }.compactMap { set in
            guard let name = set.metadata.name else { return nil }
            let pods = owned.filter { pod in pod.metadata.ownerReferences?.contains { $0.kind == "ReplicaSet" && $0.name == name } ?? false }
            guard pods.count < (set.spec?.replicas ?? 0) else { return nil }
            let condition = set.status?.conditions?.first { $0.type == "ReplicaFailure" && $0.status == "True" && $0.reason == "FailedCreate" }
            let event = latest(
                observation.events.filter { $0.involvedObject?.kind == "ReplicaSet" && $0.involvedObject?.name == name && $0.reason == "FailedCreate" })
            guard let message = event?.message ?? condition?.message else { return nil }
            return DeployBlocker(
                kind: .failedCreate, cluster: observation.cluster, context: observation.context, workload: workload.name,
                object: "replicaset/\(name)", reason: "FailedCreate", message: message)
        }
    }

    /// "last exit: Error, exit code 1" from the container's previous run.
    static func lastExit(_ status: ContainerStatus) -> String? {
        guard let terminated = status.lastState?.terminated else { return nil }
        var parts = ["last exit: \(terminated.reason ?? "terminated")"]
        if let code = terminated.exitCode { parts.append("exit code \(code)") }
        if let restarts = status.restartCount { parts.append("\(restarts) restarts") }
        if let message = terminated.message, !message.isEmpty { parts.append(message) }
        return parts.joined(separator: ", ")
    }

    /// The most recent of `events` (RFC 3339 timestamps of one server compare as text; ties keep list order).
    static func latest(_ events: [Event]) -> Event? {
        events.enumerated().max { lhs, rhs in
            let left = lhs.element.lastTimestamp ?? lhs.element.eventTime ?? lhs.element.firstTimestamp ?? ""
            let right = rhs.element.lastTimestamp ?? rhs.element.eventTime ?? rhs.element.firstTimestamp ?? ""
            return left == right ? lhs.offset < rhs.offset : left < right
        }?.element
    }
}

/// A blocker with how long the wait has seen it and whether waiting longer is pointless.
package struct JudgedBlocker: Sendable, Equatable {
    package var blocker: DeployBlocker
    /// Since the first round that showed it.
    package var seenFor: Duration
    package var certain: Bool
}

/// Remembers when each blocker was first seen, so its grace runs from then; a blocker that goes away
/// and comes back starts again. Pure: the wait passes the time since it started.
package struct DeployBlockerClock: Sendable {
    private var firstSeen: [String: Duration] = [:]
    let timeouts: PhaseTimeouts

    package init(timeouts: PhaseTimeouts) {
        self.timeouts = timeouts
    }

    package mutating func judge(_ blockers: [DeployBlocker], at now: Duration) -> [JudgedBlocker] {
        var seen: [String: Duration] = [:]
        let judged = blockers.map { blocker in
            let since = seen[blocker.key] ?? firstSeen[blocker.key] ?? now
            seen[blocker.key] = since
            let seenFor = now - since
            let certain = blocker.grace(timeouts).map { seenFor >= $0 } ?? false
            return JudgedBlocker(blocker: blocker, seenFor: seenFor, certain: certain)
        }
        firstSeen = seen
        return judged
    }
}

extension DeployDiagnosis {
    /// Progress lines keep the server's messages short; the report carries them whole.
    static let progressMessageLimit = 160

    /// `cluster-1 helloworld-v1 0/1 (ImagePullBackOff: Back-off pulling image "…")`, one entry per
    /// workload not ready yet.
    package static func progressLine(cluster: String, _ workloads: [WorkloadProgress]) -> [String] {
        workloads.filter { !$0.isReady }.map { progress in
            let reasons = progress.blockers.map { blocker in
                let message = blocker.message.count > progressMessageLimit ? String(blocker.message.prefix(progressMessageLimit - 1)) + "…" : blocker.message
                return message.isEmpty ? blocker.reason : "\(blocker.reason): \(message)"
            }
            var unique: [String] = []
            for reason in reasons where !unique.contains(reason) { unique.append(reason) }
            return "\(cluster) \(progress.workload.name) \(progress.ready)/\(progress.workload.replicas) (\(unique.joined(separator: "; ")))"
        }
    }

    /// The failed `deploy` rows: one per blocker, each naming the cluster and context, the object, the
    /// server's reason and message verbatim, and what to do. The cluster is the row's `source`, so
    /// reports group the rows by cluster (a JUnit suite per cluster). `stoppedEarly` says the wait ended
    /// on a certain failure, so the other blockers were cut short, not outlasted by the deploy timeout:
    /// faults still within their grace get rows too (the report says all that stood in the way), pods
    /// merely on their way to ready do not.
    package static func checks(_ blockers: [JudgedBlocker], namespace: String, stoppedEarly: Bool = false) -> [CheckResult] {
        let reported = stoppedEarly ? blockers.filter { $0.certain || $0.blocker.kind != .pending } : blockers
        return reported.map { judged in
            let blocker = judged.blocker
            var subject = "\(blocker.cluster) (context \(blocker.context)): \(blocker.object)"
            if let container = blocker.container { subject += " container \(container)" }
            if let image = blocker.image, blocker.kind == .imagePull { subject += " image \(image)" }
            let lasted = judged.seenFor > .zero ? " for \(formatWholeSeconds(judged.seenFor))" : ""
            let verdict =
                judged.certain
                ? "will not become ready by waiting"
                : stoppedEarly ? "not ready yet when the wait stopped" : "still not ready when the deploy timeout passed"
            // The cause stands alone too (JUnit shows it without the message): object, then the server's words.
            var cause = "\(blocker.object)\(blocker.container.map { " container \($0)" } ?? ""): \(blocker.reason): \(blocker.message)"
            if let detail = blocker.detail { cause += " (\(detail))" }
            return CheckResult(
                name: CheckName.deploy, source: blocker.cluster, status: .fail, message: "\(subject): \(blocker.reason)\(lasted), \(verdict)", cause: cause,
                hint: hint(blocker, namespace: namespace))
        }
    }

    static func hint(_ blocker: DeployBlocker, namespace: String) -> String {
        let pod = blocker.object.hasPrefix("pod/") ? String(blocker.object.dropFirst(4)) : nil
        // Every command names the context: a run spans clusters, and the current context is any of them.
        let kubectl = "kubectl --context \(blocker.context) -n \(namespace)"
        switch blocker.kind {
        case .imagePull:
            return "check that the image reference exists and the nodes can pull it: set `images.registry` (HelloWorld "
                + "images are <registry>/examples-helloworld-<version>:1.0), `images.helloworld.<version>` or `images.sleep` "
                + "in the scenario to an image your registry or mirror serves; for a private registry name its pull Secrets "
                + "in `images.pullSecrets` (copied into the run's namespace from `images.pullSecretsFrom`)"
        case .unschedulable:
            return "no node has room for the pod's resource requests (HelloWorld requests cpu 100m, plus the sidecar's): "
                + "free capacity, add nodes (or let the cluster autoscaler add them), or lower the sidecar's requests in "
                + "the mesh's proxy settings (`values.global.proxy.resources`); `\(kubectl) describe pod \(pod ?? "…")` "
                + "lists the scheduler's reasons"
        case .failedCreate:
            switch AdmissionDenial(blocker.message) {
            case .podSecurity(let level):
                return "the namespace \(namespace) enforces PodSecurity \"\(level)\" (label `pod-security.kubernetes.io/enforce`, "
                    + "set by a policy or the API server's default admission configuration); istio-init needs NET_ADMIN and "
                    + "NET_RAW, which only `privileged` allows: install Istio with the istio-cni node agent (pods then carry no "
                    + "istio-init), or exempt the namespace from that level"
            case .resourceQuota(let name):
                return "the ResourceQuota \(name) in namespace \(namespace) refuses the pods (a policy adds it to new namespaces): "
                    + "raise its limits for the run's pods and their sidecars, or lower the replicas in the scenario"
            case .webhook(let name):
                return "the admission webhook \"\(name)\" refuses the pods: read its message above and allow the run's "
                    + "namespace or pods in that policy"
            case nil:
                return "the ReplicaSet controller cannot create the pods: `\(kubectl) describe \(blocker.object)` "
                    + "shows its FailedCreate events; a webhook that cannot be called needs its service running"
            }
        case .crashLoop:
            var hint = "`\(kubectl) logs --previous \(pod ?? "…") -c \(blocker.container ?? "…")` shows why the container exits"
            if blocker.container == "istio-init" {
                hint += "; istio-init failing means the pod cannot set up its traffic redirection (iptables): consider istio-cni"
            }
            return hint
        case .sidecarNotReady:
            return "istio-proxy gets its configuration from istiod: check that istiod runs in istio-system and is reachable "
                + "from this cluster (`istioctl proxy-status`, `\(kubectl) logs \(pod ?? "…") -c istio-proxy`)"
        case .pending:
            return "`\(kubectl) describe \(blocker.object)` and `\(kubectl) get events` show what it waits for; "
                + "raise timeouts.deploy if the cluster is only slow"
        }
    }
}
