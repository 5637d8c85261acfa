// The Kubernetes objects meshcheck creates, as plain Encodable values (the REST client accepts any
// Encodable). Shapes follow Istio's samples/helloworld and samples/sleep, plus ownership labels on every
// object and pod template so that cleanup and orphan search can go by label.

// MARK: - Object model (only the fields meshcheck sets)

// Types named like a KubeClient object (ObjectMeta, PodSpec, Container, ...) carry a `Manifest` prefix:
// KubeClient's are what the API server returns, these are the smaller shapes meshcheck writes.

public struct ManifestObjectMeta: Encodable, Sendable, Equatable {
    public var name: String
    public var namespace: String?
    public var labels: [String: String]
    public var annotations: [String: String]?
}

public struct LabelSelector: Encodable, Sendable, Equatable {
    public var matchLabels: [String: String]
}

public struct NamespaceObject: Encodable, Sendable, Equatable {
    public var apiVersion = "v1"
    public var kind = "Namespace"
    public var metadata: ManifestObjectMeta
}

public struct ServiceAccountObject: Encodable, Sendable, Equatable {
    public var apiVersion = "v1"
    public var kind = "ServiceAccount"
    public var metadata: ManifestObjectMeta
}

public struct ManifestServicePort: Encodable, Sendable, Equatable {
    public var name: String
    public var port: Int
    public var targetPort: Int
    public var `protocol` = "TCP"
}

public struct ManifestServiceSpec: Encodable, Sendable, Equatable {
    public var selector: [String: String]
    public var ports: [ManifestServicePort]
}

public struct ServiceObject: Encodable, Sendable, Equatable {
    public var apiVersion = "v1"
    public var kind = "Service"
    public var metadata: ManifestObjectMeta
    public var spec: ManifestServiceSpec
}

public struct EnvVar: Encodable, Sendable, Equatable {
    public var name: String
    public var value: String
}

public struct ContainerPort: Encodable, Sendable, Equatable {
    public var name: String?
    public var containerPort: Int
}

public struct HTTPGetAction: Encodable, Sendable, Equatable {
    public var path: String
    public var port: Int
}

public struct Probe: Encodable, Sendable, Equatable {
    public var httpGet: HTTPGetAction
    public var initialDelaySeconds: Int?
    public var periodSeconds: Int
    public var failureThreshold: Int
}

public struct ResourceRequirements: Encodable, Sendable, Equatable {
    public var requests: [String: String]
}

public struct ManifestContainer: Encodable, Sendable, Equatable {
    public var name: String
    public var image: String
    public var imagePullPolicy = "IfNotPresent"
    public var command: [String]?
    public var env: [EnvVar]?
    public var ports: [ContainerPort]?
    public var readinessProbe: Probe?
    public var resources: ResourceRequirements?
}

public struct LocalObjectReference: Encodable, Sendable, Equatable {
    public var name: String
}

public struct ManifestPodSpec: Encodable, Sendable, Equatable {
    public var serviceAccountName: String?
    public var terminationGracePeriodSeconds: Int?
    public var containers: [ManifestContainer]
    public var imagePullSecrets: [LocalObjectReference]?
}

public struct PodTemplate: Encodable, Sendable, Equatable {
    public var metadata: PodTemplateMeta
    public var spec: ManifestPodSpec
}

public struct PodTemplateMeta: Encodable, Sendable, Equatable {
    public var labels: [String: String]
}

public struct ManifestDeploymentSpec: Encodable, Sendable, Equatable {
    public var replicas: Int
    public var selector: LabelSelector
    public var template: PodTemplate
}

public struct DeploymentObject: Encodable, Sendable, Equatable {
    public var apiVersion = "apps/v1"
    public var kind = "Deployment"
    public var metadata: ManifestObjectMeta
    public var spec: ManifestDeploymentSpec
}

/// An image pull Secret copied into the run's namespace (`images.pullSecretsFrom`).
public struct SecretObject: Encodable, Sendable, Equatable {
    public var apiVersion = "v1"
    public var kind = "Secret"
    public var metadata: ManifestObjectMeta
    public var type: String
    /// Base64 values, as read from the source Secret.
    public var data: [String: String]
}

/// Istio's DestinationRule (networking.istio.io/v1): the subsets a VirtualService can route to.
public struct DestinationRuleObject: Encodable, Sendable, Equatable {
    public struct Subset: Encodable, Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
    }

    public struct Spec: Encodable, Sendable, Equatable {
        public var host: String
        public var subsets: [Subset]
    }

    public var apiVersion = "networking.istio.io/v1"
    public var kind = "DestinationRule"
    public var metadata: ManifestObjectMeta
    public var spec: Spec
}

/// Istio's VirtualService (networking.istio.io/v1) with weighted HTTP routes.
public struct VirtualServiceObject: Encodable, Sendable, Equatable {
    public struct PortSelector: Encodable, Sendable, Equatable {
        public var number: Int
    }

    public struct Destination: Encodable, Sendable, Equatable {
        public var host: String
        public var subset: String
        public var port: PortSelector
    }

    public struct WeightedDestination: Encodable, Sendable, Equatable {
        public var destination: Destination
        public var weight: Int
    }

    public struct HTTPRoute: Encodable, Sendable, Equatable {
        public var name: String
        public var route: [WeightedDestination]
    }

    public struct Spec: Encodable, Sendable, Equatable {
        public var hosts: [String]
        public var http: [HTTPRoute]
    }

    public var apiVersion = "networking.istio.io/v1"
    public var kind = "VirtualService"
    public var metadata: ManifestObjectMeta
    public var spec: Spec
}

// MARK: - What to create, and where

/// One object to create, with the collection it is POSTed to.
public struct ManifestItem: Sendable {
    public var kind: String
    public var name: String
    /// REST collection path, e.g. `/apis/apps/v1/namespaces/meshcheck-ab12cd/deployments`.
    public var collectionPath: String
    public var body: any Encodable & Sendable

    /// `Deployment/helloworld-v1`, as kubectl names objects.
    public var reference: String { "\(kind)/\(name)" }
}

/// Everything one cluster gets, in creation order: the namespace first, ServiceAccounts before the
/// Deployments that use them.
public struct ClusterManifests: Sendable {
    public var cluster: ClusterSpec
    public var namespace: NamespaceObject
    public var items: [ManifestItem]
}

/// Labels and names shared by the manifests and the lifecycle (pod lists, cleanup).
public enum Ownership {
    public static let managedByKey = "app.kubernetes.io/managed-by"
    public static let managedByValue = "meshcheck"
    public static let runIDKey = "meshcheck.io/run-id"
    public static let scenarioKey = "meshcheck.io/scenario"

    /// `app.kubernetes.io/managed-by=meshcheck,meshcheck.io/run-id=<id>`: selects everything of one run.
    public static func runSelector(runID: String) -> String { "\(managedByKey)=\(managedByValue),\(runIDKey)=\(runID)" }
    /// Selects everything meshcheck ever created (orphan search).
    public static let managedSelector = "\(managedByKey)=\(managedByValue)"

    public static func labels(runID: String) -> [String: String] {
        [managedByKey: managedByValue, runIDKey: runID]
    }
}

public enum Workloads {
    public static let helloworldApp = "helloworld"
    public static let helloworldPort = 5000
    public static let sleepApp = "sleep"
    /// Container the bursts exec into.
    public static let sleepContainer = "sleep"
    public static let helloworldContainer = "helloworld"

    public static func helloworldDeploymentName(version: String) -> String { "helloworld-\(version)" }

    /// Selector of the HelloWorld pods of one run (any version).
    public static func helloworldSelector(runID: String) -> String { "app=\(helloworldApp),\(Ownership.runIDKey)=\(runID)" }
    /// Selector of the Sleep pods of one run.
    public static func sleepSelector(runID: String) -> String { "app=\(sleepApp),\(Ownership.runIDKey)=\(runID)" }

    /// Namespace labels for sidecar injection: `istio-injection=enabled` for the `default` revision,
    /// `istio.io/rev=<rev>` otherwise (a namespace with both would let `istio-injection` win).
    public static func injectionLabels(revision: String) -> [String: String] {
        revision == "default" ? ["istio-injection": "enabled"] : ["istio.io/rev": revision]
    }

    /// The objects for `cluster`, given a validated scenario, the namespace, run id and resolved revision.
    public static func manifests(for cluster: ClusterSpec, scenario: Scenario, namespace: String, runID: String,
                                 revision: String) -> ClusterManifests {
        var owned = Ownership.labels(runID: runID)
        owned[Ownership.scenarioKey] = scenario.name
        let namespaceLabels = owned.merging(injectionLabels(revision: revision)) { current, _ in current }
        let namespaceObject = NamespaceObject(metadata: ManifestObjectMeta(name: namespace, namespace: nil, labels: namespaceLabels, annotations: nil))

        let pullSecrets = scenario.images.pullSecrets.isEmpty ? nil : scenario.images.pullSecrets.map(LocalObjectReference.init(name:))
        var items: [ManifestItem] = []
        let core = "/api/v1/namespaces/\(namespace)"
        let apps = "/apis/apps/v1/namespaces/\(namespace)"
        func meta(_ name: String, _ extra: [String: String]) -> ManifestObjectMeta {
            ManifestObjectMeta(name: name, namespace: namespace, labels: owned.merging(extra) { current, _ in current }, annotations: nil)
        }

        // Every cluster gets the HelloWorld Service, also where no version runs: clients resolve
        // `helloworld.<ns>` through their own cluster's Service, as in the install guide.
        let service = ServiceObject(
            metadata: meta(helloworldApp, ["app": helloworldApp, "service": helloworldApp]),
            spec: ManifestServiceSpec(selector: ["app": helloworldApp],
                                      ports: [ManifestServicePort(name: "http", port: helloworldPort, targetPort: helloworldPort)]))
        items.append(ManifestItem(kind: "Service", name: helloworldApp, collectionPath: "\(core)/services", body: service))
        if let routing = scenario.routing {
            // Every cluster's istiod configures its own sidecars from its own cluster's rules (multi-primary),
            // so each cluster gets them, also where no version runs. Subsets come before the routes that name them.
            items += routingItems(routing, versions: scenario.versions, namespace: namespace, metadata: meta(helloworldApp, ["app": helloworldApp]))
        }

        if let version = cluster.serves {
            let podLabels = owned.merging(["app": helloworldApp, "version": version]) { current, _ in current }
            let container = ManifestContainer(
                name: helloworldContainer, image: scenario.images.helloworldImage(version: version), command: nil,
                env: [EnvVar(name: "SERVICE_VERSION", value: version)],
                ports: [ContainerPort(name: "http", containerPort: helloworldPort)],
                readinessProbe: Probe(httpGet: HTTPGetAction(path: "/health", port: helloworldPort), initialDelaySeconds: nil,
                                      periodSeconds: 2, failureThreshold: 3),
                resources: ResourceRequirements(requests: ["cpu": "100m"]))
            let name = helloworldDeploymentName(version: version)
            let deployment = DeploymentObject(
                metadata: meta(name, ["app": helloworldApp, "version": version]),
                spec: ManifestDeploymentSpec(
                    replicas: cluster.helloworldReplicas,
                    selector: LabelSelector(matchLabels: ["app": helloworldApp, "version": version]),
                    // No grace period, like the Sleep sample's: the pods hold nothing and serve no one
                    // once the bursts are over, so cleanup need not wait out the default 30 s (or
                    // the sidecar's 5 s drain) before the namespace can go.
                    template: PodTemplate(metadata: PodTemplateMeta(labels: podLabels),
                                          spec: ManifestPodSpec(serviceAccountName: nil, terminationGracePeriodSeconds: 0,
                                                                containers: [container], imagePullSecrets: pullSecrets))))
            items.append(ManifestItem(kind: "Deployment", name: name, collectionPath: "\(apps)/deployments", body: deployment))
        }

        if cluster.clients {
            let account = ServiceAccountObject(metadata: meta(sleepApp, [:]))
            items.append(ManifestItem(kind: "ServiceAccount", name: sleepApp, collectionPath: "\(core)/serviceaccounts", body: account))
            let service = ServiceObject(
                metadata: meta(sleepApp, ["app": sleepApp, "service": sleepApp]),
                spec: ManifestServiceSpec(selector: ["app": sleepApp], ports: [ManifestServicePort(name: "http", port: 80, targetPort: 80)]))
            items.append(ManifestItem(kind: "Service", name: sleepApp, collectionPath: "\(core)/services", body: service))

            let container = ManifestContainer(name: sleepContainer, image: scenario.images.sleep, command: ["/bin/sleep", "infinity"],
                                      env: nil, ports: nil, readinessProbe: nil, resources: nil)
            let deployment = DeploymentObject(
                metadata: meta(sleepApp, ["app": sleepApp]),
                spec: ManifestDeploymentSpec(
                    replicas: cluster.sleepReplicas,
                    selector: LabelSelector(matchLabels: ["app": sleepApp]),
                    template: PodTemplate(metadata: PodTemplateMeta(labels: owned.merging(["app": sleepApp]) { current, _ in current }),
                                          spec: ManifestPodSpec(serviceAccountName: sleepApp, terminationGracePeriodSeconds: 0,
                                                                containers: [container], imagePullSecrets: pullSecrets))))
            items.append(ManifestItem(kind: "Deployment", name: sleepApp, collectionPath: "\(apps)/deployments", body: deployment))
        }
        return ClusterManifests(cluster: cluster, namespace: namespaceObject, items: items)
    }

    /// The DestinationRule (one subset per version, selected by the pods' `version` label) and the
    /// VirtualService (one HTTP route splitting by weight, in the scenario's version order) for the
    /// HelloWorld Service, both named by its FQDN so they cannot apply to another namespace's `helloworld`.
    static func routingItems(_ routing: RoutingSettings, versions: [String], namespace: String, metadata: ManifestObjectMeta) -> [ManifestItem] {
        let host = "\(helloworldApp).\(namespace).svc.cluster.local"
        let istio = "/apis/networking.istio.io/v1/namespaces/\(namespace)"
        let rule = DestinationRuleObject(metadata: metadata, spec: DestinationRuleObject.Spec(
            host: host, subsets: versions.map { DestinationRuleObject.Subset(name: $0, labels: ["version": $0]) }))
        let route = VirtualServiceObject.HTTPRoute(name: "weighted-by-version", route: versions.map { version in
            VirtualServiceObject.WeightedDestination(
                destination: VirtualServiceObject.Destination(host: host, subset: version, port: VirtualServiceObject.PortSelector(number: helloworldPort)),
                weight: routing.weights[version] ?? 0)
        })
        let service = VirtualServiceObject(metadata: metadata, spec: VirtualServiceObject.Spec(hosts: [host], http: [route]))
        return [
            ManifestItem(kind: "DestinationRule", name: helloworldApp, collectionPath: "\(istio)/destinationrules", body: rule),
            ManifestItem(kind: "VirtualService", name: helloworldApp, collectionPath: "\(istio)/virtualservices", body: service),
        ]
    }

    /// A copy of pull Secret `name` (type and base64 data as read from `images.pullSecretsFrom`) for the
    /// run's namespace, carrying the ownership labels so cleanup removes it with the rest.
    public static func copiedPullSecret(name: String, type: String, data: [String: String], namespace: String, runID: String) -> ManifestItem {
        let secret = SecretObject(metadata: ManifestObjectMeta(name: name, namespace: namespace, labels: Ownership.labels(runID: runID), annotations: nil),
                                  type: type, data: data)
        return ManifestItem(kind: "Secret", name: name, collectionPath: "/api/v1/namespaces/\(namespace)/secrets", body: secret)
    }
}
