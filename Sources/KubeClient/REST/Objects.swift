import Foundation

// Typed views of the kinds meshcheck reads. Only the fields meshcheck uses are modelled; use
// `JSONValue` for anything else. All fields are optional because the API omits empty ones.

public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var finalizers: [String]?
    public var ownerReferences: [OwnerReference]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

public struct OwnerReference: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var name: String?
    public var uid: String?
    public var controller: Bool?
}

public struct ListMeta: Codable, Sendable, Equatable {
    public var resourceVersion: String?
    /// Set when more pages follow.
    public var `continue`: String?
    public var remainingItemCount: Int64?
}

/// Any `*List` response.
public struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
    public var metadata: ListMeta?
    public var items: [Item]

    enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata)
        items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

public struct Condition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
}

// MARK: Namespace

public struct Namespace: Codable, Sendable, Equatable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Namespace"
    public var metadata: ObjectMeta
    public var status: NamespaceStatus?

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

public struct NamespaceStatus: Codable, Sendable, Equatable {
    /// "Active" or "Terminating".
    public var phase: String?
    public var conditions: [Condition]?
}

// MARK: Pod

public struct Pod: Codable, Sendable, Equatable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Pod"
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    /// Running, Ready, and not terminating (kubectl's notion of a usable pod).
    public var isReady: Bool {
        metadata.deletionTimestamp == nil && status?.phase == "Running"
            && status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true
    }
}

public struct PodSpec: Codable, Sendable, Equatable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var nodeName: String?
    public var serviceAccountName: String?
}

public struct Container: Codable, Sendable, Equatable {
    public var name: String
    public var image: String?
    /// "Always" on an init container makes it a native sidecar.
    public var restartPolicy: String?
}

public struct PodStatus: Codable, Sendable, Equatable {
    public var phase: String?
    public var podIP: String?
    public var hostIP: String?
    public var conditions: [Condition]?
    public var containerStatuses: [ContainerStatus]?
    public var initContainerStatuses: [ContainerStatus]?
}

public struct ContainerStatus: Codable, Sendable, Equatable {
    public var name: String
    public var ready: Bool
    public var started: Bool?
    public var restartCount: Int?
    public var image: String?
    public var state: JSONValue?
}

// MARK: Service

public struct Service: Codable, Sendable, Equatable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Service"
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?
    public var status: ServiceStatus?
}

public struct ServiceSpec: Codable, Sendable, Equatable {
    public var type: String?
    public var selector: [String: String]?
    public var ports: [ServicePort]?
    public var clusterIP: String?
}

public struct ServicePort: Codable, Sendable, Equatable {
    public var name: String?
    public var port: Int
    public var targetPort: JSONValue?
    public var `protocol`: String?
}

public struct ServiceStatus: Codable, Sendable, Equatable {
    public var loadBalancer: LoadBalancerStatus?
}

public struct LoadBalancerStatus: Codable, Sendable, Equatable {
    public var ingress: [LoadBalancerIngress]?
}

public struct LoadBalancerIngress: Codable, Sendable, Equatable {
    public var ip: String?
    public var hostname: String?
}

// MARK: Deployment

public struct Deployment: Codable, Sendable, Equatable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "Deployment"
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec?
    public var status: DeploymentStatus?

    /// kubectl `rollout status` success: observed, updated, no old replicas, all available.
    public var isRolledOut: Bool {
        guard let status else { return false }
        let wanted = spec?.replicas ?? 1
        let updated = status.updatedReplicas ?? 0
        return (status.observedGeneration ?? 0) >= (metadata.generation ?? 0)
            && updated == wanted && (status.replicas ?? 0) == updated && (status.availableReplicas ?? 0) == updated
    }
}

public struct DeploymentSpec: Codable, Sendable, Equatable {
    public var replicas: Int?
}

public struct DeploymentStatus: Codable, Sendable, Equatable {
    public var observedGeneration: Int64?
    public var replicas: Int?
    public var updatedReplicas: Int?
    public var readyReplicas: Int?
    public var availableReplicas: Int?
    public var unavailableReplicas: Int?
    public var conditions: [Condition]?
}

// MARK: Secret and ConfigMap

public struct Secret: Codable, Sendable, Equatable, CustomStringConvertible {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Secret"
    public var metadata: ObjectMeta
    public var type: String?
    /// Base64 values as sent by the API (decode with ``decodedValue(_:)``).
    public var data: [String: String]?

    public init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    public func decodedValue(_ key: String) -> [UInt8]? {
        data?[key].flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }

    /// Never prints the values.
    public var description: String { "Secret \(metadata.namespace ?? "")/\(metadata.name ?? "") keys=\((data ?? [:]).keys.sorted())" }
}

public struct ConfigMap: Codable, Sendable, Equatable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }
}
