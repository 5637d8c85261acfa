// One simulated cluster's state and its API-server behaviour, as a value-level core that takes `now` as input:
// admission (namespace lifecycle, sidecar injection), defaulting, storage, watches and the controllers live
// here; sockets, TLS and timers live in ClusterServer. Not thread-safe: ClusterServer serialises access.

/// Static facts about a simulated cluster.
package struct ClusterIdentity: Sendable, Equatable {
    /// Cluster name as in the context name and remote secrets (`cluster-1`).
    package var name: String
    /// 1-based position, used for address ranges and the network name.
    package var index: Int
    package var network: String
    /// Control-plane revision pods opt into with `istio.io/rev` (`asm-1-23` or `asm-managed`).
    package var revision: String
    package var managedControlPlane: Bool
    package var proxyImage: String
    /// The primary whose istiod configures this cluster's sidecars (a primary-remote mesh's remote); nil when
    /// the cluster runs its own control plane.
    package var primaryCluster: String?
    /// `multicluster_mode` of a managed control plane's `asm-options` (`connected` or `manual`).
    package var managedDiscovery = "connected"
    /// The topology labels of the cluster's node: every cluster in `us-central1`, cluster n in the n-th GCP zone.
    package var region = "us-central1"
    package var zone: String

    /// GCP's zone letters in the order its regions offer them (`us-central1-a, -b, -c, -f`), then the rest.
    static let zoneLetters = Array("abcf") + Array("deghijklmnopqrstuvwxyz")

    /// `<region>-<letter>` for the cluster at 1-based `index`.
    package static func defaultZone(region: String, index: Int) -> String {
        "\(region)-\(zoneLetters[(max(index, 1) - 1) % zoneLetters.count])"
    }

    /// `primary`, `remote of cluster-1` or `managed (connected discovery)`, for `meshcheck sim`'s listing.
    package var role: String {
        if managedControlPlane { return "managed (\(managedDiscovery) discovery)" }
        return primaryCluster.map { "remote of \($0)" } ?? "primary"
    }

    /// Whether the install gives this cluster remote secrets for its peers: every control plane that
    /// discovers through them (not a remote, not a managed one in connected mode).
    package var holdsRemoteSecrets: Bool {
        primaryCluster == nil && !(managedControlPlane && managedDiscovery == "connected")
    }

    package init(name: String, index: Int, revision: String, managedControlPlane: Bool) {
        self.name = name
        self.index = index
        self.network = "network-\(index)"
        self.revision = revision
        self.managedControlPlane = managedControlPlane
        self.zone = Self.defaultZone(region: "us-central1", index: index)
        self.proxyImage =
            managedControlPlane
            ? "gcr.io/gke-release/asm/mdp/proxyv2:1.23.4-asm.1" : "gcr.io/gke-release/asm/proxyv2:1.23.4-asm.1"
    }
}

/// Durations the controllers use, in seconds; short so tests and demos move quickly.
package struct ClusterTimings: Sendable, Equatable {
    /// From pod creation to Running and Ready.
    package var podStartDelay: Double = 0.3
    /// Upper bound on how long a deleted pod stays Terminating (its grace period, capped).
    package var maxTerminationSeconds: Double = 1.0
    /// Minimum time a deleted namespace stays Terminating before it can disappear.
    package var namespaceFinalizeDelay: Double = 0.5

    package init() {}
}

/// Work for the pod runtime, produced while the state is locked and carried out after.
package enum PodRuntimeAction: Sendable, Equatable {
    case start(PodLaunch)
    case stop(podUID: String)
}

/// A container environment variable with a literal value, in spec order.
package struct ContainerVariable: Sendable, Equatable {
    package var name: String
    package var value: String

    /// The literal `env` entries of a container spec (`valueFrom` references have no value here).
    static func list(_ container: JSON) -> [ContainerVariable] {
        (container["env"].array ?? []).compactMap { variable in
            guard let name = variable["name"].string, let value = variable["value"].string else { return nil }
            return ContainerVariable(name: name, value: value)
        }
    }
}

/// What the runtime needs to make a simulated pod real.
package struct PodLaunch: Sendable, Equatable {
    package struct Container: Sendable, Equatable {
        package var name: String
        package var image: String
        package var environment: [ContainerVariable]
    }
    package var cluster: String
    package var namespace: String
    package var name: String
    package var uid: String
    package var containers: [Container]
    package var injected: Bool
    package var labels: [String: String]
}

/// A watch registered with the cluster; `send` must only enqueue (it is called with the state locked).
final class WatchRegistration: @unchecked Sendable {
    let id: Int
    let resource: ResourceType
    let namespace: String?
    let labelSelector: LabelSelector
    let fieldSelector: FieldSelector
    let send: @Sendable (JSON) -> Void

    init(
        id: Int, resource: ResourceType, namespace: String?, labelSelector: LabelSelector,
        fieldSelector: FieldSelector, send: @escaping @Sendable (JSON) -> Void
    ) {
        self.id = id
        self.resource = resource
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.send = send
    }

    func matches(_ object: JSON) -> Bool {
        if let namespace, object["metadata"]["namespace"].string != namespace { return false }
        return labelSelector.matches(object["metadata"]["labels"].stringMap) && fieldSelector.matches(object)
    }

    /// The event this watcher sees for a store change, if any (filtered watches see objects leave and enter).
    func translate(_ event: StoreEvent) -> JSON? {
        guard event.resource == resource else { return nil }
        let nowMatches = matches(event.object)
        let type: String
        switch event.kind {
        case .added, .deleted:
            guard nowMatches else { return nil }
            type = event.kind.rawValue
        case .modified:
            let before = event.previous.map(matches) ?? false
            if nowMatches { type = before ? "MODIFIED" : "ADDED" } else if before { type = "DELETED" } else { return nil }
        }
        return ["type": .string(type), "object": event.object]
    }
}

package struct ClusterState {
    package let identity: ClusterIdentity
    package var timings: ClusterTimings
    package internal(set) var store = ObjectStore()
    /// PEM of the mesh root CA, published as `istio-ca-root-cert` in every namespace.
    package var meshRootCertificatePEM: String
    /// PEM of the API server's CA, published as `kube-root-ca.crt` in every namespace.
    package var clusterCACertificatePEM = ""
    /// Namespaces whose deletion never completes (fault injection).
    package var hangNamespaceDeletion = false
    /// Image pulls, scheduling, admission, crashes and sidecar readiness that fail (PodFaults.swift).
    package var podFaults = PodFaults.none
    /// Peers whose API server this cluster's istiod cannot reach (fault injection): their remote clusters
    /// never sync, and this cluster's sidecars never learn their endpoints.
    package var istiodUnreachablePeers: Set<String> = []
    /// istiod's debug port authenticates non-loopback callers as a real one does, so a request through the
    /// API server's proxy (which carries no credential istiod accepts) gets 401; `pilot-discovery request` in
    /// the pod is the way in. False serves the proxied request too, for tests that read clusterz with kubectl.
    package var istiodDebugRequiresAuthentication = true
    /// Resources (`pods`, `pods/proxy`) RBAC refuses to the simulated user, every verb (fault injection):
    /// requests get 403 Forbidden and SelfSubjectAccessReview says no.
    package var deniedResources: Set<String> = []

    var podRunningAt: [String: Double] = [:]
    var podRemoveAt: [String: Double] = [:]
    var namespaceFinalizeAt: [String: Double] = [:]
    /// The next step of a pod held back by a pod fault (pull retry, crash, restart, readiness probe), by uid.
    var podFaultSteps: [String: PodFaultStep] = [:]
    /// When a ReplicaSet whose pod creates are refused tries again, by uid.
    var replicaSetRetryAt: [String: Double] = [:]
    /// Events recorded so far (their names carry it).
    var recordedEvents: UInt64 = 0
    var startedPods: Set<String> = []
    var nextPodIP = 2
    var nextServiceIP = 10
    var nextUID: UInt64
    var randomState: UInt64
    var watchers: [Int: WatchRegistration] = [:]
    var nextWatcherID = 1
    package internal(set) var runtimeActions: [PodRuntimeAction] = []

    package init(identity: ClusterIdentity, timings: ClusterTimings, meshRootCertificatePEM: String, seed: UInt64) {
        self.identity = identity
        self.timings = timings
        self.meshRootCertificatePEM = meshRootCertificatePEM
        self.randomState = seed | 1
        self.nextUID = seed
    }

    // MARK: Identifiers

    mutating func random() -> UInt64 {
        // xorshift64*: deterministic per seed, good enough for names and uids.
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return randomState &* 2_685_821_657_736_338_717
    }

    static let nameAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    mutating func randomSuffix(_ length: Int) -> String {
        String((0..<length).map { _ in Self.nameAlphabet[Int(random() % UInt64(Self.nameAlphabet.count))] })
    }

    mutating func newUID() -> String {
        let hex = Array("0123456789abcdef")
        var digits = ""
        for _ in 0..<2 {
            var value = random()
            for _ in 0..<16 {
                digits.append(hex[Int(value & 0xF)])
                value >>= 4
            }
        }
        let d = Array(digits)
        return String(d[0..<8]) + "-" + String(d[8..<12]) + "-4" + String(d[13..<16]) + "-a" + String(d[17..<20])
            + "-" + String(d[20..<32])
    }

    // MARK: Store access with watch fan-out

    @discardableResult
    mutating func put(_ resource: ResourceType, _ object: JSON) -> JSON {
        let (stored, event) = store.put(resource, object)
        notify(event)
        return stored
    }

    mutating func removeObject(_ resource: ResourceType, namespace: String, name: String) {
        if let event = store.remove(resource, namespace: namespace, name: name) { notify(event) }
    }

    func notify(_ event: StoreEvent) {
        for watcher in watchers.values {
            if let message = watcher.translate(event) { watcher.send(message) }
        }
    }

    /// Registers a watch; returns the initial events to send, or a 410 for a compacted resourceVersion.
    mutating func addWatch(
        resource: ResourceType, namespace: String?, labelSelector: LabelSelector, fieldSelector: FieldSelector,
        resourceVersion: String?, send: @escaping @Sendable (JSON) -> Void
    ) -> Result<(id: Int, initial: [JSON]), APIError> {
        let registration = WatchRegistration(
            id: nextWatcherID, resource: resource, namespace: namespace, labelSelector: labelSelector,
            fieldSelector: fieldSelector, send: send)
        var initial: [JSON] = []
        if let resourceVersion, !resourceVersion.isEmpty, resourceVersion != "0" {
            guard let version = Int(resourceVersion) else {
                return .failure(APIError.badRequest("invalid resource version: \(resourceVersion)"))
            }
            guard let events = store.events(after: version) else {
                return .failure(
                    APIError.gone("too old resource version: \(version) (\(store.oldestWatchableVersion - 1))"))
            }
            initial = events.compactMap { registration.translate($0) }
        } else {
            initial = store.list(resource, namespace: namespace).filter(registration.matches).map {
                ["type": "ADDED", "object": $0]
            }
        }
        watchers[registration.id] = registration
        nextWatcherID += 1
        return .success((registration.id, initial))
    }

    mutating func removeWatch(_ id: Int) { watchers.removeValue(forKey: id) }

    package mutating func takeRuntimeActions() -> [PodRuntimeAction] {
        defer { runtimeActions = [] }
        return runtimeActions
    }

    // MARK: Namespace lifecycle

    static let immortalNamespaces: Set<String> = ["default", "kube-system", "kube-package", "kube-node-lease"]

    func namespacePhase(_ name: String) -> String? {
        store.get(.namespaces, namespace: "", name: name).map { $0["status"]["phase"].string ?? "Active" }
    }

    /// NamespaceLifecycle admission for creates of namespaced objects.
    func admitNamespace(_ resource: ResourceType, name: String, namespace: String) throws(APIError) {
        guard let phase = namespacePhase(namespace) else { throw APIError.notFound(.namespaces, namespace) }
        if phase == "Terminating" { throw APIError.namespaceTerminating(resource, name, namespace: namespace) }
    }

    // MARK: Defaulting and admission

    mutating func stampNewObject(_ object: inout JSON, resource: ResourceType, now: Double) {
        object["kind"] = .string(resource.kind)
        object["apiVersion"] = .string(resource.apiVersion)
        object["metadata"]["uid"] = .string(newUID())
        object["metadata"]["creationTimestamp"] = .string(TimeFormat.rfc3339(now))
        if Self.tracksGeneration(resource) { object["metadata"]["generation"] = 1 }
        object["metadata"]["deletionTimestamp"] = .null
        if resource == .jobs { BatchResources.generateJobSelector(&object) }
    }

    static func tracksGeneration(_ resource: ResourceType) -> Bool {
        switch resource {
        case .deployments, .replicaSets, .jobs, .cronJobs, .gateways, .destinationRules, .virtualServices,
            .controlPlaneRevisions, .mutatingWebhookConfigurations:
            return true
        default: return false
        }
    }

    mutating func applyDefaults(_ object: inout JSON, resource: ResourceType) {
        switch resource {
        case .namespaces:
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = object["metadata"]["name"]
            if object["spec"]["finalizers"].isNull { object["spec"]["finalizers"] = ["kubernetes"] }
            object["status"] = ["phase": "Active"]
        case .pods:
            Self.defaultPodSpec(&object["spec"])
        case .deployments:
            if object["spec"]["replicas"].isNull { object["spec"]["replicas"] = 1 }
            if object["spec"]["strategy"].isNull {
                object["spec"]["strategy"] = [
                    "type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": "25%", "maxSurge": "25%"],
                ]
            }
            if object["spec"]["revisionHistoryLimit"].isNull { object["spec"]["revisionHistoryLimit"] = 10 }
            if object["spec"]["progressDeadlineSeconds"].isNull { object["spec"]["progressDeadlineSeconds"] = 600 }
            Self.defaultPodSpec(&object["spec"]["template"]["spec"])
        case .replicaSets:
            if object["spec"]["replicas"].isNull { object["spec"]["replicas"] = 1 }
            Self.defaultPodSpec(&object["spec"]["template"]["spec"])
        case .jobs:
            BatchResources.defaultJob(&object)
        case .cronJobs:
            BatchResources.defaultCronJob(&object)
        case .services:
            defaultService(&object)
        case .secrets:
            if object["type"].isNull { object["type"] = "Opaque" }
            if let stringData = object["stringData"].object {
                for (key, value) in stringData {
                    object["data"][key] = .string(Base64.encode(Array((value.string ?? "").utf8)))
                }
                object["stringData"] = .null
            }
        default: break
        }
    }

    /// SetDefaults_PodSpec and friends: what the API server fills in on every pod spec, Pods' and templates' alike.
    static func defaultPodSpec(_ spec: inout JSON) {
        guard !spec.isNull else { return }
        if spec["restartPolicy"].isNull { spec["restartPolicy"] = "Always" }
        if spec["terminationGracePeriodSeconds"].isNull { spec["terminationGracePeriodSeconds"] = 30 }
        if spec["dnsPolicy"].isNull { spec["dnsPolicy"] = "ClusterFirst" }
        if spec["schedulerName"].isNull { spec["schedulerName"] = "default-scheduler" }
        if spec["securityContext"].isNull { spec["securityContext"] = .emptyObject }
        if spec["enableServiceLinks"].isNull { spec["enableServiceLinks"] = true }
        for field in ["containers", "initContainers"] {
            guard var containers = spec[field].array else { continue }
            for index in containers.indices { defaultContainer(&containers[index]) }
            spec[field] = .array(containers)
        }
    }

    static func defaultContainer(_ container: inout JSON) {
        if container["imagePullPolicy"].isNull {
            container["imagePullPolicy"] = imageHasLatestTag(container["image"].string ?? "") ? "Always" : "IfNotPresent"
        }
        if container["terminationMessagePath"].isNull { container["terminationMessagePath"] = "/dev/termination-log" }
        if container["terminationMessagePolicy"].isNull { container["terminationMessagePolicy"] = "File" }
        if var ports = container["ports"].array {
            for index in ports.indices where ports[index]["protocol"].isNull { ports[index]["protocol"] = "TCP" }
            container["ports"] = .array(ports)
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] where !container[probe].isNull {
            for (key, value) in [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)]
            where container[probe][key].isNull {
                container[probe][key] = .int(Int64(value))
            }
            if !container[probe]["httpGet"].isNull && container[probe]["httpGet"]["scheme"].isNull {
                container[probe]["httpGet"]["scheme"] = "HTTP"
            }
        }
    }

    /// `:latest` or no tag at all (a digest pins the image); a registry port is not a tag.
    static func imageHasLatestTag(_ image: String) -> Bool {
        if image.contains("@") { return false }
        let lastSegment = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastSegment.lastIndex(of: ":") else { return true }
        return lastSegment[lastSegment.index(after: colon)...] == "latest"
    }

    /// What admission adds to Pods only (never to templates): the ServiceAccount plugin's account and its token
    /// volume mounted in every container, DefaultTolerationSeconds' tolerations, Priority's priority.
    mutating func admitPodDefaults(_ pod: inout JSON) {
        if pod["spec"]["serviceAccountName"].isNull {
            pod["spec"]["serviceAccountName"] = pod["spec"]["serviceAccount"].isNull ? "default" : pod["spec"]["serviceAccount"]
        }
        pod["spec"]["serviceAccount"] = pod["spec"]["serviceAccountName"]
        var tolerations = pod["spec"]["tolerations"].array ?? []
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
        where !tolerations.contains(where: { $0["key"].string == key }) {
            tolerations.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300])
        }
        pod["spec"]["tolerations"] = .array(tolerations)
        if pod["spec"]["priority"].isNull { pod["spec"]["priority"] = 0 }
        if pod["spec"]["preemptionPolicy"].isNull { pod["spec"]["preemptionPolicy"] = "PreemptLowerPriority" }
        guard pod["spec"]["automountServiceAccountToken"].bool != false else { return }
        let volumeName = "kube-api-access-\(randomSuffix(5))"
        let volume: JSON = [
            "name": .string(volumeName),
            "projected": [
                "defaultMode": 420,
                "sources": [
                    ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
                    ["configMap": ["name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]]]],
                    [
                        "downwardAPI": [
                            "items": [
                                ["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]
                            ]
                        ]
                    ],
                ],
            ],
        ]
        pod["spec"]["volumes"] = .array((pod["spec"]["volumes"].array ?? []) + [volume])
        let mount: JSON = [
            "name": .string(volumeName), "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        ]
        for field in ["containers", "initContainers"] {
            guard var containers = pod["spec"][field].array else { continue }
            for index in containers.indices {
                containers[index]["volumeMounts"] = .array((containers[index]["volumeMounts"].array ?? []) + [mount])
            }
            pod["spec"][field] = .array(containers)
        }
    }

    mutating func defaultService(_ object: inout JSON) {
        if object["spec"]["type"].isNull { object["spec"]["type"] = "ClusterIP" }
        if object["spec"]["sessionAffinity"].isNull { object["spec"]["sessionAffinity"] = "None" }
        let type = object["spec"]["type"].string ?? "ClusterIP"
        if type != "ExternalName", object["spec"]["clusterIP"].isNull {
            let address = "10.\(100 + identity.index).\(nextServiceIP / 250).\(nextServiceIP % 250 + 1)"
            nextServiceIP += 1
            object["spec"]["clusterIP"] = .string(address)
            object["spec"]["clusterIPs"] = [.string(address)]
            object["spec"]["ipFamilies"] = ["IPv4"]
            object["spec"]["ipFamilyPolicy"] = "SingleStack"
            object["spec"]["internalTrafficPolicy"] = "Cluster"
        }
        if var ports = object["spec"]["ports"].array {
            for index in ports.indices {
                if ports[index]["protocol"].isNull { ports[index]["protocol"] = "TCP" }
                if ports[index]["targetPort"].isNull { ports[index]["targetPort"] = ports[index]["port"] }
                if type == "LoadBalancer" || type == "NodePort", ports[index]["nodePort"].isNull {
                    ports[index]["nodePort"] = .int(Int64(30000 + Int(random() % 2767)))
                }
            }
            object["spec"]["ports"] = .array(ports)
        }
        if type == "LoadBalancer", object["spec"]["externalTrafficPolicy"].isNull {
            object["spec"]["externalTrafficPolicy"] = "Cluster"
            object["spec"]["allocateLoadBalancerNodePorts"] = true
        }
        object["status"] = ["loadBalancer": .emptyObject]
    }

    // MARK: Sidecar injection (docs/PROTOCOL-NOTES.md §C11)

    /// Whether the injector webhook of the installed revision mutates this pod.
    static func injectionApplies(podLabels: [String: String], namespaceLabels: [String: String], revision: String)
        -> Bool
    {
        let namespaceInjection = namespaceLabels["istio-injection"]
        let podInject = podLabels["sidecar.istio.io/inject"]
        if namespaceInjection == "disabled" || podInject == "false" { return false }
        if namespaceInjection == "enabled" { return true }
        if let podRevision = podLabels["istio.io/rev"] { return podRevision == revision || podRevision == "default" }
        if let namespaceRevision = namespaceLabels["istio.io/rev"] {
            return namespaceRevision == revision || namespaceRevision == "default"
        }
        return podInject == "true"
    }

    func inject(_ pod: inout JSON) {
        let labels = pod["metadata"]["labels"].stringMap
        let namespace = pod["metadata"]["namespace"].string ?? ""
        let namespaceLabels = store.get(.namespaces, namespace: "", name: namespace)?["metadata"]["labels"].stringMap ?? [:]
        guard !identity.managedControlPlane || !identity.revision.isEmpty,
            Self.injectionApplies(podLabels: labels, namespaceLabels: namespaceLabels, revision: identity.revision),
            pod["metadata"]["annotations"]["sidecar.istio.io/status"].isNull
        else { return }
        let appContainers = pod["spec"]["containers"].array ?? []
        let firstApp = appContainers.first?["name"].string ?? ""
        pod["metadata"]["annotations"]["sidecar.istio.io/status"] = .string(
            JSON.object([
                "initContainers": ["istio-init"], "containers": ["istio-proxy"],
                "volumes": .array(Self.sidecarVolumes.map { $0["name"] }),
                "imagePullSecrets": .null, "revision": .string(identity.revision),
            ]).serialized())
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] = .string(firstApp)
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-logs-container"] = .string(firstApp)
        pod["metadata"]["annotations"]["istio.io/rev"] = .string(identity.revision)
        pod["metadata"]["labels"]["security.istio.io/tlsMode"] = "istio"
        pod["metadata"]["labels"]["service.istio.io/canonical-name"] = .string(
            labels["app"] ?? labels["app.kubernetes.io/name"] ?? firstApp)
        pod["metadata"]["labels"]["service.istio.io/canonical-revision"] = .string(
            labels["version"] ?? labels["app.kubernetes.io/version"] ?? "latest")
        pod["metadata"]["labels"]["topology.istio.io/network"] = .string(identity.network)
        let proxy: JSON = [
            "name": "istio-proxy", "image": .string(identity.proxyImage), "imagePullPolicy": "IfNotPresent",
            "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning"],
            "ports": [["containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"]],
            "env": [
                ["name": "ISTIO_META_CLUSTER_ID", "value": .string(identity.name)],
                ["name": "ISTIO_META_NETWORK", "value": .string(identity.network)],
            ],
            "readinessProbe": ["httpGet": ["path": "/healthz/ready", "port": 15021], "periodSeconds": 15],
            "resources": ["requests": ["cpu": "100m", "memory": "128Mi"]],
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            "volumeMounts": .array(Self.sidecarVolumeMounts.map { ["name": .string($0.0), "mountPath": .string($0.1)] }),
        ]
        let initContainer: JSON = [
            "name": "istio-init", "image": .string(identity.proxyImage), "imagePullPolicy": "IfNotPresent",
            "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT"],
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        ]
        pod["spec"]["containers"] = .array(appContainers + [proxy])
        pod["spec"]["volumes"] = .array((pod["spec"]["volumes"].array ?? []) + Self.sidecarVolumes)
        pod["spec"]["initContainers"] = .array([initContainer] + (pod["spec"]["initContainers"].array ?? []))
    }

    /// The volumes Istio's injection template adds (the status annotation lists their names).
    static let sidecarVolumes: [JSON] = [
        ["name": "workload-socket", "emptyDir": .emptyObject], ["name": "credential-socket", "emptyDir": .emptyObject],
        ["name": "workload-certs", "emptyDir": .emptyObject], ["name": "istio-envoy", "emptyDir": ["medium": "Memory"]],
        ["name": "istio-data", "emptyDir": .emptyObject],
        [
            "name": "istio-podinfo",
            "downwardAPI": [
                "defaultMode": 420,
                "items": [
                    ["path": "labels", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.labels"]],
                    ["path": "annotations", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.annotations"]],
                ],
            ],
        ],
        [
            "name": "istio-token",
            "projected": [
                "defaultMode": 420,
                "sources": [["serviceAccountToken": ["audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"]]],
            ],
        ],
        ["name": "istiod-ca-cert", "configMap": ["name": "istio-ca-root-cert", "defaultMode": 420]],
    ]

    static let sidecarVolumeMounts = [
        ("workload-socket", "/var/run/secrets/workload-spiffe-uds"), ("credential-socket", "/var/run/secrets/credential-uds"),
        ("workload-certs", "/var/run/secrets/workload-spiffe-credentials"), ("istiod-ca-cert", "/var/run/secrets/istio"),
        ("istio-data", "/var/lib/istio/data"), ("istio-envoy", "/etc/istio/proxy"), ("istio-token", "/var/run/secrets/tokens"),
        ("istio-podinfo", "/etc/istio/pod"),
    ]

    static func isInjected(_ pod: JSON) -> Bool {
        !pod["metadata"]["annotations"]["sidecar.istio.io/status"].isNull
    }

    // MARK: Pods

    /// Creates a pod as the API does after admission: defaulted, injected, Pending and not yet bound.
    mutating func admitNewPod(_ pod: inout JSON, now: Double) {
        applyDefaults(&pod, resource: .pods)
        inject(&pod)
        // Built-in admission runs again after a webhook changed the pod, so the sidecar gets the token mount too.
        admitPodDefaults(&pod)
        // The server decodes the webhook's answer again, so the injected containers are defaulted too.
        applyDefaults(&pod, resource: .pods)
        stampNewObject(&pod, resource: .pods, now: now)
        pod["status"] = ["phase": "Pending", "qosClass": "Burstable"]
    }

    /// Stores an admitted pod and lets the scheduler bind it at once, or record why no node fits it.
    @discardableResult
    mutating func storeNewPod(_ pod: JSON, now: Double) -> JSON {
        var pod = pod
        if podFaults.unschedulable == nil { bind(&pod, now: now) } else { markUnschedulable(&pod, now: now) }
        let stored = put(.pods, pod)
        if let message = podFaults.unschedulable {
            recordEvent(about: stored, reason: "FailedScheduling", message: message, source: .scheduler, now: now)
        } else {
            recordScheduled(stored, now: now)
        }
        return stored
    }

    mutating func recordScheduled(_ pod: JSON, now: Double) {
        let name = "\(pod["metadata"]["namespace"].string ?? "")/\(pod["metadata"]["name"].string ?? "")"
        recordEvent(
            about: pod, type: "Normal", reason: "Scheduled", message: "Successfully assigned \(name) to \(nodeName)",
            source: .scheduler, now: now)
    }

    /// The scheduler binds the pod to the node; the kubelet reports its containers waiting and will start them.
    mutating func bind(_ pod: inout JSON, now: Double) {
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        pod["spec"]["nodeName"] = .string(nodeName)
        pod["status"]["conditions"] = [["type": "PodScheduled", "status": "True", "lastTransitionTime": stamp]]
        let initContainers = pod["spec"]["initContainers"].array ?? []
        func waiting(_ container: JSON, _ reason: String) -> JSON {
            [
                "name": container["name"], "ready": false, "started": false, "restartCount": 0, "image": container["image"],
                "imageID": "", "state": ["waiting": ["reason": .string(reason)]],
            ]
        }
        if !initContainers.isEmpty { pod["status"]["initContainerStatuses"] = .array(initContainers.map { waiting($0, "PodInitializing") }) }
        pod["status"]["containerStatuses"] = .array(
            (pod["spec"]["containers"].array ?? []).map { waiting($0, initContainers.isEmpty ? "ContainerCreating" : "PodInitializing") })
        if let uid = pod["metadata"]["uid"].string { podRunningAt[uid] = now + timings.podStartDelay }
    }

    mutating func markUnschedulable(_ pod: inout JSON, now: Double) {
        pod["status"]["conditions"] = [
            [
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": .string(podFaults.unschedulable ?? ""), "lastProbeTime": .null,
                "lastTransitionTime": .string(TimeFormat.rfc3339(now)),
            ]
        ]
    }

    var nodeName: String { "gke-\(identity.name)-default-pool-5f8e2d1c-\(identity.index)x4k" }

    /// Containers started; they turn ready when the runtime reports the pod's listeners up (`markPodReady`),
    /// as a readiness probe would.
    mutating func markRunning(_ pod: inout JSON, now: Double) {
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        let created = pod["metadata"]["creationTimestamp"]
        // A pod started again after a pod fault keeps the address of its sandbox.
        let podIP = pod["status"]["podIP"].string ?? "10.\(identity.index).\(nextPodIP / 250).\(nextPodIP % 250 + 2)"
        if pod["status"]["podIP"].isNull { nextPodIP += 1 }
        func status(_ container: JSON, ready: Bool) -> JSON {
            [
                "name": container["name"], "ready": false, "started": .bool(ready), "restartCount": 0,
                "image": container["image"],
                "imageID": .string(
                    (container["image"].string ?? "") + "@sha256:"
                        + String(repeating: "5f", count: 32)),
                "containerID": .string("containerd://" + newUID().replacing("-", with: "")),
                "state": ["running": ["startedAt": stamp]],
            ]
        }
        let initStatuses: [JSON] = (pod["spec"]["initContainers"].array ?? []).map { container in
            if container["restartPolicy"].string == "Always" { return status(container, ready: true) }
            var terminated = status(container, ready: false)
            terminated["started"] = false
            terminated["state"] = [
                "terminated": ["exitCode": 0, "reason": "Completed", "startedAt": stamp, "finishedAt": stamp]
            ]
            return terminated
        }
        var podStatus: JSON = [
            "phase": "Running", "hostIP": .string("10.128.0.\(identity.index + 1)"),
            "hostIPs": [["ip": .string("10.128.0.\(identity.index + 1)")]], "podIP": .string(podIP),
            "podIPs": [["ip": .string(podIP)]], "startTime": created, "qosClass": "Burstable",
            "conditions": .array(
                ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map { type in
                    let waiting = type == "Ready" || type == "ContainersReady"
                    var condition: JSON = [
                        "type": .string(type), "status": waiting ? "False" : "True", "lastTransitionTime": stamp,
                    ]
                    if waiting { condition["reason"] = "ContainersNotReady" }
                    return condition
                }),
            "containerStatuses": .array((pod["spec"]["containers"].array ?? []).map { status($0, ready: true) }),
        ]
        if !initStatuses.isEmpty { podStatus["initContainerStatuses"] = .array(initStatuses) }
        pod["status"] = podStatus
    }

    /// The runtime has the pod's listeners up: containers and the pod become ready.
    package mutating func markPodReady(uid: String, now: Double) {
        guard var pod = store.list(.pods, namespace: nil).first(where: { $0["metadata"]["uid"].string == uid }),
            pod["metadata"]["deletionTimestamp"].isNull, pod["status"]["phase"] == "Running"
        else { return }
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        for field in ["containerStatuses", "initContainerStatuses"] {
            guard let statuses = pod["status"][field].array else { continue }
            pod["status"][field] = .array(
                statuses.map { status in
                    var changed = status
                    if status["state"]["running"].isNull == false {
                        changed["ready"] = true
                        changed["started"] = true
                    }
                    return changed
                })
        }
        pod["status"]["conditions"] = .array(
            (pod["status"]["conditions"].array ?? []).map { condition in
                guard condition["type"] == "Ready" || condition["type"] == "ContainersReady" else { return condition }
                return ["type": condition["type"], "status": "True", "lastTransitionTime": stamp]
            })
        if podFaults.sidecarNotReady && Self.isInjected(pod) {
            failSidecarProbe(&pod, now: now)
            probeSidecar(put(.pods, pod), now: now)
            return
        }
        put(.pods, pod)
    }

    /// The runtime could not start the pod's listeners: the pod fails as a container that cannot start would.
    package mutating func markPodFailed(uid: String, message: String, now: Double) {
        guard var pod = store.list(.pods, namespace: nil).first(where: { $0["metadata"]["uid"].string == uid }),
            pod["metadata"]["deletionTimestamp"].isNull
        else { return }
        pod["status"]["phase"] = "Failed"
        pod["status"]["reason"] = "RuntimeError"
        pod["status"]["message"] = .string("the simulated pod could not start: \(message)")
        pod["status"]["conditions"] = .array(
            (pod["status"]["conditions"].array ?? []).map { condition in
                var changed = condition
                if condition["type"] == "Ready" || condition["type"] == "ContainersReady" {
                    changed["status"] = "False"
                    changed["lastTransitionTime"] = .string(TimeFormat.rfc3339(now))
                }
                return changed
            })
        put(.pods, pod)
    }

    func launch(for pod: JSON) -> PodLaunch {
        let containers = (pod["spec"]["containers"].array ?? []).map { container in
            PodLaunch.Container(
                name: container["name"].string ?? "", image: container["image"].string ?? "",
                environment: ContainerVariable.list(container))
        }
        return PodLaunch(
            cluster: identity.name, namespace: pod["metadata"]["namespace"].string ?? "",
            name: pod["metadata"]["name"].string ?? "", uid: pod["metadata"]["uid"].string ?? "",
            containers: containers, injected: Self.isInjected(pod), labels: pod["metadata"]["labels"].stringMap)
    }

    /// Graceful deletion: marks the pod Terminating; it disappears when its (capped) grace period ends.
    mutating func beginPodDeletion(_ pod: JSON, gracePeriod: Int64?, now: Double) -> JSON {
        var pod = pod
        guard let uid = pod["metadata"]["uid"].string else { return pod }
        if !pod["metadata"]["deletionTimestamp"].isNull { return pod }
        let grace = gracePeriod ?? pod["spec"]["terminationGracePeriodSeconds"].int ?? 30
        let phase = pod["status"]["phase"].string ?? "Pending"
        let finished = phase == "Succeeded" || phase == "Failed" || phase == "Pending"
        let effective = finished ? 0 : min(Double(grace), timings.maxTerminationSeconds)
        pod["metadata"]["deletionTimestamp"] = .string(TimeFormat.rfc3339(now + Double(grace)))
        pod["metadata"]["deletionGracePeriodSeconds"] = .int(grace)
        podRemoveAt[uid] = now + effective
        podRunningAt.removeValue(forKey: uid)
        podFaultSteps.removeValue(forKey: uid)
        // The containers get SIGTERM now and the simulated servers exit at once, so connections are refused from
        // here on, while peers' sidecars still list the endpoint until the removal reaches them.
        if startedPods.remove(uid) != nil { runtimeActions.append(.stop(podUID: uid)) }
        return put(.pods, pod)
    }

    mutating func finishPodDeletion(_ pod: JSON) {
        let uid = pod["metadata"]["uid"].string ?? ""
        podRemoveAt.removeValue(forKey: uid)
        podRunningAt.removeValue(forKey: uid)
        podFaultSteps.removeValue(forKey: uid)
        if startedPods.remove(uid) != nil { runtimeActions.append(.stop(podUID: uid)) }
        removeObject(.pods, namespace: pod["metadata"]["namespace"].string ?? "", name: pod["metadata"]["name"].string ?? "")
    }
}

/// Lower-case hex of bytes (tokens, fingerprints).
func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return text
}

/// Base64 without Foundation, for Secret data.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var lookup = [Int16](repeating: -1, count: 256)
        for (index, byte) in alphabet.enumerated() { lookup[Int(byte)] = Int16(index) }
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") { break }
            if byte == 10 || byte == 13 || byte == 32 { continue }
            let value = lookup[Int(byte)]
            if value < 0 { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
