// The Kubernetes objects meshcheck creates, as plain Encodable values (the REST client accepts any
// Encodable). Shapes follow Istio's samples/helloworld and samples/sleep, plus ownership labels on every
// object and pod template so that cleanup and orphan search can go by label.

// MARK: - Object model (only the fields meshcheck sets)

// Types named like a KubeClient object (ObjectMeta, PodSpec, Container, ...) carry a `Manifest` prefix:
// KubeClient's are what the API server returns, these are the smaller shapes meshcheck writes.

package struct ManifestObjectMeta: Encodable, Sendable, Equatable {
    package var name: String
    package var namespace: String?
    package var labels: [String: String]
    package var annotations: [String: String]?
}

package struct LabelSelector: Encodable, Sendable, Equatable {
    package var matchLabels: [String: String]
}

package struct NamespaceObject: Encodable, Sendable, Equatable {
    package var apiVersion = "v1"
    package var kind = "Namespace"
    package var metadata: ManifestObjectMeta
}

package struct ServiceAccountObject: Encodable, Sendable, Equatable {
    package var apiVersion = "v1"
    package var kind = "ServiceAccount"
    package var metadata: ManifestObjectMeta
}

package struct ManifestServicePort: Encodable, Sendable, Equatable {
    package var name: String
    package var port: Int
    package var targetPort: Int
    package var `protocol` = "TCP"
}

package struct ManifestServiceSpec: Encodable, Sendable, Equatable {
    package var selector: [String: String]
    package var ports: [ManifestServicePort]
}

package struct ServiceObject: Encodable, Sendable, Equatable {
    package var apiVersion = "v1"
    package var kind = "Service"
    package var metadata: ManifestObjectMeta
    package var spec: ManifestServiceSpec
}

package struct EnvVar: Encodable, Sendable, Equatable {
    package var name: String
    package var value: String
}

package struct ContainerPort: Encodable, Sendable, Equatable {
    package var name: String?
    package var containerPort: Int
}

package struct HTTPGetAction: Encodable, Sendable, Equatable {
    package var path: String
    package var port: Int
}

package struct Probe: Encodable, Sendable, Equatable {
    package var httpGet: HTTPGetAction
    package var initialDelaySeconds: Int?
    package var periodSeconds: Int
    package var failureThreshold: Int
}

package struct ResourceRequirements: Encodable, Sendable, Equatable {
    package var requests: [String: String]
}

package struct ManifestContainer: Encodable, Sendable, Equatable {
    package var name: String
    package var image: String
    package var imagePullPolicy = "IfNotPresent"
    package var command: [String]?
    package var env: [EnvVar]?
    package var ports: [ContainerPort]?
    package var readinessProbe: Probe?
    package var resources: ResourceRequirements?
}

package struct LocalObjectReference: Encodable, Sendable, Equatable {
    package var name: String
}

package struct ManifestPodSpec: Encodable, Sendable, Equatable {
    package var serviceAccountName: String?
    package var terminationGracePeriodSeconds: Int?
    package var containers: [ManifestContainer]
    package var imagePullSecrets: [LocalObjectReference]?
}

package struct PodTemplate: Encodable, Sendable, Equatable {
    package var metadata: PodTemplateMeta
    package var spec: ManifestPodSpec
}

package struct PodTemplateMeta: Encodable, Sendable, Equatable {
    package var labels: [String: String]
}

package struct ManifestDeploymentSpec: Encodable, Sendable, Equatable {
    package var replicas: Int
    package var selector: LabelSelector
    package var template: PodTemplate
}

package struct DeploymentObject: Encodable, Sendable, Equatable {
    package var apiVersion = "apps/v1"
    package var kind = "Deployment"
    package var metadata: ManifestObjectMeta
    package var spec: ManifestDeploymentSpec
}

/// An image pull Secret copied into the run's namespace (`images.pullSecretsFrom`).
package struct SecretObject: Encodable, Sendable, Equatable {
    package var apiVersion = "v1"
    package var kind = "Secret"
    package var metadata: ManifestObjectMeta
    package var type: String
    /// Base64 values, as read from the source Secret.
    package var data: [String: String]
}

/// Istio's DestinationRule (networking.istio.io/v1): the subsets a VirtualService can route to.
package struct DestinationRuleObject: Encodable, Sendable, Equatable {
    package struct Subset: Encodable, Sendable, Equatable {
        package var name: String
        package var labels: [String: String]
    }

    package struct Spec: Encodable, Sendable, Equatable {
        package var host: String
        /// Absent when the rule only sets a traffic policy.
        package var subsets: [Subset]?
        package var trafficPolicy: TrafficPolicy?
    }

    /// `trafficPolicy` with Istio's field names (`routing.locality`); durations as protobuf JSON seconds (`1.5s`).
    package struct TrafficPolicy: Encodable, Sendable, Equatable {
        package struct LoadBalancer: Encodable, Sendable, Equatable {
            package var localityLbSetting: LocalityLbSetting
        }

        package struct LocalityLbSetting: Encodable, Sendable, Equatable {
            package struct Failover: Encodable, Sendable, Equatable {
                package var from: String
                package var to: String
            }

            package struct Distribute: Encodable, Sendable, Equatable {
                package var from: String
                package var to: [String: Int]
            }

            package var enabled: Bool
            package var failover: [Failover]?
            package var failoverPriority: [String]?
            package var distribute: [Distribute]?
        }

        package struct OutlierDetection: Encodable, Sendable, Equatable {
            package var consecutive5xxErrors: Int?
            package var consecutiveGatewayErrors: Int?
            package var interval: String?
            package var baseEjectionTime: String?
            package var maxEjectionPercent: Int?
        }

        package var loadBalancer: LoadBalancer
        package var outlierDetection: OutlierDetection?

        package init(_ locality: LocalityRouting) {
            loadBalancer = LoadBalancer(
                localityLbSetting: LocalityLbSetting(
                    enabled: true,
                    failover: locality.failover.isEmpty ? nil : locality.failover.map { LocalityLbSetting.Failover(from: $0.from, to: $0.to) },
                    failoverPriority: locality.failoverPriority.isEmpty ? nil : locality.failoverPriority,
                    distribute: locality.distribute.isEmpty ? nil : locality.distribute.map { LocalityLbSetting.Distribute(from: $0.from, to: $0.to) }))
            outlierDetection = locality.outlierDetection.map {
                OutlierDetection(
                    consecutive5xxErrors: $0.consecutive5xxErrors, consecutiveGatewayErrors: $0.consecutiveGatewayErrors,
                    interval: $0.interval.map(Self.protobufDuration), baseEjectionTime: $0.baseEjectionTime.map(Self.protobufDuration),
                    maxEjectionPercent: $0.maxEjectionPercent)
            }
        }

        /// `1s`, `0.5s`, `1.25s`: the protobuf JSON form, which Istio's validation and istiod both read.
        static func protobufDuration(_ duration: Duration) -> String {
            let milliseconds = duration.wholeMilliseconds
            let whole = milliseconds / 1000
            let fraction = milliseconds % 1000
            guard fraction != 0 else { return "\(whole)s" }
            var digits = String(fraction)
            digits = String(repeating: "0", count: 3 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            return "\(whole).\(digits)s"
        }
    }

    package var apiVersion = "networking.istio.io/v1"
    package var kind = "DestinationRule"
    package var metadata: ManifestObjectMeta
    package var spec: Spec
}

/// Istio's VirtualService (networking.istio.io/v1) with weighted HTTP routes.
package struct VirtualServiceObject: Encodable, Sendable, Equatable {
    package struct PortSelector: Encodable, Sendable, Equatable {
        package var number: Int
    }

    package struct Destination: Encodable, Sendable, Equatable {
        package var host: String
        /// Absent: every endpoint of the host.
        package var subset: String?
        package var port: PortSelector
    }

    package struct WeightedDestination: Encodable, Sendable, Equatable {
        package var destination: Destination
        package var weight: Int
    }

    package struct HTTPRoute: Encodable, Sendable, Equatable {
        package var name: String
        package var route: [WeightedDestination]
        package var fault: Fault?
    }

    /// Istio's `HTTPFaultInjection` abort: injected by the client's sidecar, before any upstream is chosen.
    package struct Fault: Encodable, Sendable, Equatable {
        package struct Abort: Encodable, Sendable, Equatable {
            package var httpStatus: Int
            package var percentage: Percent
        }

        package struct Percent: Encodable, Sendable, Equatable {
            package var value: Double
        }

        package var abort: Abort

        package init(percent: Double, httpStatus: Int) {
            abort = Abort(httpStatus: httpStatus, percentage: Percent(value: percent))
        }
    }

    package struct Spec: Encodable, Sendable, Equatable {
        package var hosts: [String]
        package var http: [HTTPRoute]
    }

    package var apiVersion = "networking.istio.io/v1"
    package var kind = "VirtualService"
    package var metadata: ManifestObjectMeta
    package var spec: Spec
}

// MARK: - What to create, and where

/// One object to create, with the collection it is POSTed to.
package struct ManifestItem: Sendable {
    package var kind: String
    package var name: String
    /// REST collection path, e.g. `/apis/apps/v1/namespaces/meshcheck-ab12cd/deployments`.
    package var collectionPath: String
    package var body: any Encodable & Sendable

    /// `Deployment/helloworld-v1`, as kubectl names objects.
    package var reference: String { "\(kind)/\(name)" }
}

/// Everything one cluster gets, in creation order: the namespace first, ServiceAccounts before the
/// Deployments that use them.
package struct ClusterManifests: Sendable {
    package var cluster: ClusterSpec
    package var namespace: NamespaceObject
    package var items: [ManifestItem]
}

/// Labels and names shared by the manifests and the lifecycle (pod lists, cleanup).
package enum Ownership {
    package static let managedByKey = "app.kubernetes.io/managed-by"
    package static let managedByValue = "meshcheck"
    package static let runIDKey = "meshcheck.io/run-id"
    package static let scenarioKey = "meshcheck.io/scenario"

    /// `app.kubernetes.io/managed-by=meshcheck,meshcheck.io/run-id=<id>`: selects everything of one run.
    package static func runSelector(runID: String) -> String { "\(managedByKey)=\(managedByValue),\(runIDKey)=\(runID)" }
    /// Selects everything meshcheck ever created (orphan search).
    package static let managedSelector = "\(managedByKey)=\(managedByValue)"

    package static func labels(runID: String) -> [String: String] {
        [managedByKey: managedByValue, runIDKey: runID]
    }
}

package enum Workloads {
    package static let helloworldApp = "helloworld"
    package static let helloworldPort = 5000
    package static let sleepApp = "sleep"
    /// Container the bursts exec into.
    package static let sleepContainer = "sleep"
    package static let helloworldContainer = "helloworld"

    package static func helloworldDeploymentName(version: String) -> String { "helloworld-\(version)" }

    /// Selector of the HelloWorld pods of one run (any version).
    package static func helloworldSelector(runID: String) -> String { "app=\(helloworldApp),\(Ownership.runIDKey)=\(runID)" }
    /// Selector of the Sleep pods of one run.
    package static func sleepSelector(runID: String) -> String { "app=\(sleepApp),\(Ownership.runIDKey)=\(runID)" }

    /// Namespace labels for sidecar injection: `istio-injection=enabled` for the `default` revision,
    /// `istio.io/rev=<rev>` otherwise (a namespace with both would let `istio-injection` win).
    package static func injectionLabels(revision: String) -> [String: String] {
        revision == "default" ? ["istio-injection": "enabled"] : ["istio.io/rev": revision]
    }

    /// The objects for `cluster`, given a validated scenario, the namespace, run id and resolved revision.
    package static func manifests(
        for cluster: ClusterSpec, scenario: Scenario, namespace: String, runID: String,
        revision: String
    ) -> ClusterManifests {
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
            spec: ManifestServiceSpec(
                selector: ["app": helloworldApp],
                ports: [ManifestServicePort(name: "http", port: helloworldPort, targetPort: helloworldPort)]))
        items.append(ManifestItem(kind: "Service", name: helloworldApp, collectionPath: "\(core)/services", body: service))
        if scenario.routing != nil || scenario.locality != nil {
            // Every cluster's istiod configures its own sidecars from its own cluster's rules (multi-primary),
            // so each cluster gets them, also where no version runs. Subsets come before the routes that name them.
            items += routingItems(
                routing: scenario.routing, locality: scenario.locality, versions: scenario.versions, namespace: namespace,
                metadata: meta(helloworldApp, ["app": helloworldApp]))
        }

        if let version = cluster.serves {
            let podLabels = owned.merging(["app": helloworldApp, "version": version]) { current, _ in current }
            let container = ManifestContainer(
                name: helloworldContainer, image: scenario.images.helloworldImage(version: version), command: nil,
                env: [EnvVar(name: "SERVICE_VERSION", value: version)],
                ports: [ContainerPort(name: "http", containerPort: helloworldPort)],
                readinessProbe: Probe(
                    httpGet: HTTPGetAction(path: "/health", port: helloworldPort), initialDelaySeconds: nil,
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
                    template: PodTemplate(
                        metadata: PodTemplateMeta(labels: podLabels),
                        spec: ManifestPodSpec(
                            serviceAccountName: nil, terminationGracePeriodSeconds: 0,
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

            let container = ManifestContainer(
                name: sleepContainer, image: scenario.images.sleep, command: ["/bin/sleep", "infinity"],
                env: nil, ports: nil, readinessProbe: nil, resources: nil)
            let deployment = DeploymentObject(
                metadata: meta(sleepApp, ["app": sleepApp]),
                spec: ManifestDeploymentSpec(
                    replicas: cluster.sleepReplicas,
                    selector: LabelSelector(matchLabels: ["app": sleepApp]),
                    template: PodTemplate(
                        metadata: PodTemplateMeta(labels: owned.merging(["app": sleepApp]) { current, _ in current }),
                        spec: ManifestPodSpec(
                            serviceAccountName: sleepApp, terminationGracePeriodSeconds: 0,
                            containers: [container], imagePullSecrets: pullSecrets))))
            items.append(ManifestItem(kind: "Deployment", name: sleepApp, collectionPath: "\(apps)/deployments", body: deployment))
        }
        return ClusterManifests(cluster: cluster, namespace: namespaceObject, items: items)
    }

    /// The DestinationRule (one subset per version, selected by the pods' `version` label, when routing by weight;
    /// the locality traffic policy, when set) and, when routing by weight, the VirtualService (one HTTP route splitting
    /// by weight, in the scenario's version order) for the HelloWorld Service, both naming it by its FQDN so they cannot
    /// apply to another namespace's `helloworld`.
    static func routingItems(
        routing: RoutingSettings?, locality: LocalityRouting?, versions: [String], namespace: String, metadata: ManifestObjectMeta
    ) -> [ManifestItem] {
        let host = helloworldHost(namespace: namespace)
        let istio = "/apis/networking.istio.io/v1/namespaces/\(namespace)"
        let rule = DestinationRuleObject(
            metadata: metadata,
            spec: DestinationRuleObject.Spec(
                host: host, subsets: routing.map { _ in versions.map { DestinationRuleObject.Subset(name: $0, labels: ["version": $0]) } },
                trafficPolicy: locality.map(DestinationRuleObject.TrafficPolicy.init)))
        var items = [ManifestItem(kind: "DestinationRule", name: helloworldApp, collectionPath: "\(istio)/destinationrules", body: rule)]
        if let routing {
            let service = VirtualServiceObject(
                metadata: metadata, spec: VirtualServiceObject.Spec(hosts: [host], http: [weightedRoute(routing, versions: versions, host: host)]))
            items.append(ManifestItem(kind: "VirtualService", name: helloworldApp, collectionPath: "\(istio)/virtualservices", body: service))
        }
        return items
    }

    package static func helloworldHost(namespace: String) -> String { "\(helloworldApp).\(namespace).svc.cluster.local" }

    /// The weighted route of `routing:`; a fault disruption adds its `fault` to this same route.
    static func weightedRoute(_ routing: RoutingSettings, versions: [String], host: String) -> VirtualServiceObject.HTTPRoute {
        VirtualServiceObject.HTTPRoute(
            name: "weighted-by-version",
            route: versions.map { version in
                VirtualServiceObject.WeightedDestination(
                    destination: VirtualServiceObject.Destination(host: host, subset: version, port: VirtualServiceObject.PortSelector(number: helloworldPort)),
                    weight: routing.weights[version] ?? 0)
            })
    }

    /// The HTTP routes a cluster's HelloWorld VirtualService holds while abort disruption `fault` is applied: the weighted
    /// route when the scenario routes by weight (Istio applies the oldest VirtualService of a host, so the fault must go
    /// into that one), else one route to every endpoint.
    package static func faultRoutes(
        _ fault: VirtualServiceObject.Fault, routing: RoutingSettings?, versions: [String], namespace: String
    ) -> [VirtualServiceObject.HTTPRoute] {
        let host = helloworldHost(namespace: namespace)
        var route =
            routing.map { weightedRoute($0, versions: versions, host: host) }
            ?? VirtualServiceObject.HTTPRoute(
                name: "all-endpoints",
                route: [
                    VirtualServiceObject.WeightedDestination(
                        destination: VirtualServiceObject.Destination(host: host, subset: nil, port: VirtualServiceObject.PortSelector(number: helloworldPort)),
                        weight: 100)
                ])
        route.fault = fault
        return [route]
    }

    /// A copy of pull Secret `name` (type and base64 data as read from `images.pullSecretsFrom`) for the
    /// run's namespace, carrying the ownership labels so cleanup removes it with the rest.
    package static func copiedPullSecret(name: String, type: String, data: [String: String], namespace: String, runID: String) -> ManifestItem {
        let secret = SecretObject(
            metadata: ManifestObjectMeta(name: name, namespace: namespace, labels: Ownership.labels(runID: runID), annotations: nil),
            type: type, data: data)
        return ManifestItem(kind: "Secret", name: name, collectionPath: "/api/v1/namespaces/\(namespace)/secrets", body: secret)
    }
}
