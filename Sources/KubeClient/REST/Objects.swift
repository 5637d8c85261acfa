import Foundation

// Typed views of the kinds meshcheck reads. Only the fields meshcheck uses are modelled; use
// `JSONValue` for anything else. All fields are optional because the API omits empty ones.

package struct ObjectMeta: Codable, Sendable, Equatable {
    package var name: String?
    package var generateName: String?
    package var namespace: String?
    package var uid: String?
    package var resourceVersion: String?
    package var generation: Int64?
    package var creationTimestamp: String?
    package var deletionTimestamp: String?
    package var labels: [String: String]?
    package var annotations: [String: String]?
    package var finalizers: [String]?
    package var ownerReferences: [OwnerReference]?

    package init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

package struct OwnerReference: Codable, Sendable, Equatable {
    package var apiVersion: String?
    package var kind: String?
    package var name: String?
    package var uid: String?
    package var controller: Bool?
}

package struct ListMeta: Codable, Sendable, Equatable {
    package var resourceVersion: String?
    /// Set when more pages follow.
    package var `continue`: String?
    package var remainingItemCount: Int64?
}

/// Any `*List` response.
package struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
    package var metadata: ListMeta?
    package var items: [Item]

    enum CodingKeys: String, CodingKey { case metadata, items }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata)
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

package struct Condition: Codable, Sendable, Equatable {
    package var type: String
    package var status: String
    package var reason: String?
    package var message: String?
    package var lastTransitionTime: String?
}

// MARK: Namespace

package struct Namespace: Codable, Sendable, Equatable {
    package var apiVersion: String? = "v1"
    package var kind: String? = "Namespace"
    package var metadata: ObjectMeta
    package var status: NamespaceStatus?

    package init(metadata: ObjectMeta) { self.metadata = metadata }
}

package struct NamespaceStatus: Codable, Sendable, Equatable {
    /// "Active" or "Terminating".
    package var phase: String?
    package var conditions: [Condition]?
}

// MARK: Pod

package struct Pod: Codable, Sendable, Equatable {
    package var apiVersion: String? = "v1"
    package var kind: String? = "Pod"
    package var metadata: ObjectMeta
    package var spec: PodSpec?
    package var status: PodStatus?

    /// Running, Ready, and not terminating (kubectl's notion of a usable pod).
    package var isReady: Bool {
        metadata.deletionTimestamp == nil && status?.phase == "Running"
            && status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true
    }
}

package struct PodSpec: Codable, Sendable, Equatable {
    package var containers: [Container]
    package var initContainers: [Container]?
    package var nodeName: String?
    package var serviceAccountName: String?
}

package struct Container: Codable, Sendable, Equatable {
    package var name: String
    package var image: String?
    /// "Always" on an init container makes it a native sidecar.
    package var restartPolicy: String?
}

package struct PodStatus: Codable, Sendable, Equatable {
    package var phase: String?
    package var podIP: String?
    package var hostIP: String?
    package var conditions: [Condition]?
    package var containerStatuses: [ContainerStatus]?
    package var initContainerStatuses: [ContainerStatus]?
}

package struct ContainerStatus: Codable, Sendable, Equatable {
    package var name: String
    package var ready: Bool
    package var started: Bool?
    package var restartCount: Int?
    package var image: String?
    package var state: ContainerState?
    /// The previous run of the container (what `kubectl describe` shows as "Last State").
    package var lastState: ContainerState?
}

/// At most one of the three is set by the kubelet; all are absent before the first status.
package struct ContainerState: Codable, Sendable, Equatable {
    package var waiting: ContainerStateWaiting?
    package var running: ContainerStateRunning?
    package var terminated: ContainerStateTerminated?
}

package struct ContainerStateWaiting: Codable, Sendable, Equatable {
    /// e.g. `ContainerCreating`, `ErrImagePull`, `ImagePullBackOff`, `CrashLoopBackOff`.
    package var reason: String?
    package var message: String?
}

package struct ContainerStateRunning: Codable, Sendable, Equatable {
    package var startedAt: String?
}

package struct ContainerStateTerminated: Codable, Sendable, Equatable {
    package var exitCode: Int?
    /// e.g. `Error`, `OOMKilled`, `Completed`.
    package var reason: String?
    package var message: String?
    package var finishedAt: String?
}

// MARK: Service

package struct Service: Codable, Sendable, Equatable {
    package var apiVersion: String? = "v1"
    package var kind: String? = "Service"
    package var metadata: ObjectMeta
    package var spec: ServiceSpec?
    package var status: ServiceStatus?
}

package struct ServiceSpec: Codable, Sendable, Equatable {
    package var type: String?
    package var selector: [String: String]?
    package var ports: [ServicePort]?
    package var clusterIP: String?
}

package struct ServicePort: Codable, Sendable, Equatable {
    package var name: String?
    package var port: Int
    package var targetPort: JSONValue?
    package var `protocol`: String?
}

package struct ServiceStatus: Codable, Sendable, Equatable {
    package var loadBalancer: LoadBalancerStatus?
}

package struct LoadBalancerStatus: Codable, Sendable, Equatable {
    package var ingress: [LoadBalancerIngress]?
}

package struct LoadBalancerIngress: Codable, Sendable, Equatable {
    package var ip: String?
    package var hostname: String?
}

// MARK: Deployment

package struct Deployment: Codable, Sendable, Equatable {
    package var apiVersion: String? = "apps/v1"
    package var kind: String? = "Deployment"
    package var metadata: ObjectMeta
    package var spec: DeploymentSpec?
    package var status: DeploymentStatus?

    /// kubectl `rollout status` success: observed, updated, no old replicas, all available.
    package var isRolledOut: Bool {
        guard let status else { return false }
        let wanted = spec?.replicas ?? 1
        let updated = status.updatedReplicas ?? 0
        return (status.observedGeneration ?? 0) >= (metadata.generation ?? 0)
            && updated == wanted && (status.replicas ?? 0) == updated && (status.availableReplicas ?? 0) == updated
    }
}

package struct DeploymentSpec: Codable, Sendable, Equatable {
    package var replicas: Int?
}

package struct DeploymentStatus: Codable, Sendable, Equatable {
    package var observedGeneration: Int64?
    package var replicas: Int?
    package var updatedReplicas: Int?
    package var readyReplicas: Int?
    package var availableReplicas: Int?
    package var unavailableReplicas: Int?
    package var conditions: [Condition]?
}

// MARK: ReplicaSet

package struct ReplicaSet: Codable, Sendable, Equatable {
    package var apiVersion: String? = "apps/v1"
    package var kind: String? = "ReplicaSet"
    package var metadata: ObjectMeta
    package var spec: ReplicaSetSpec?
    package var status: ReplicaSetStatus?
}

package struct ReplicaSetSpec: Codable, Sendable, Equatable {
    package var replicas: Int?
}

package struct ReplicaSetStatus: Codable, Sendable, Equatable {
    package var replicas: Int?
    package var readyReplicas: Int?
    /// `ReplicaFailure` (reason `FailedCreate`) while the controller cannot create pods.
    package var conditions: [Condition]?
}

// MARK: Event (core v1)

/// A core/v1 Event, as `kubectl describe` and `kubectl get events` show them.
package struct Event: Codable, Sendable, Equatable {
    package var metadata: ObjectMeta
    package var involvedObject: ObjectReference?
    /// e.g. `FailedCreate`, `FailedScheduling`, `Failed`, `BackOff`, `Unhealthy`.
    package var reason: String?
    package var message: String?
    /// `Normal` or `Warning`.
    package var type: String?
    package var count: Int?
    package var firstTimestamp: String?
    package var lastTimestamp: String?
    /// Set instead of the two timestamps by clients of the events.k8s.io API.
    package var eventTime: String?
}

package struct ObjectReference: Codable, Sendable, Equatable {
    package var kind: String?
    package var namespace: String?
    package var name: String?
    package var uid: String?
    /// e.g. `spec.containers{helloworld}` for a container's events.
    package var fieldPath: String?
}

// MARK: Secret and ConfigMap

package struct Secret: Codable, Sendable, Equatable, CustomStringConvertible {
    package var apiVersion: String? = "v1"
    package var kind: String? = "Secret"
    package var metadata: ObjectMeta
    package var type: String?
    /// Base64 values as sent by the API (decode with ``decodedValue(_:)``).
    package var data: [String: String]?

    package init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    package func decodedValue(_ key: String) -> [UInt8]? {
        data?[key].flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }

    /// Never prints the values.
    package var description: String { "Secret \(metadata.namespace ?? "")/\(metadata.name ?? "") keys=\((data ?? [:]).keys.sorted())" }
}

package struct ConfigMap: Codable, Sendable, Equatable {
    package var apiVersion: String? = "v1"
    package var kind: String? = "ConfigMap"
    package var metadata: ObjectMeta
    package var data: [String: String]?

    package init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }
}
