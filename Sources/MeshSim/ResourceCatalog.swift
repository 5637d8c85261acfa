// The kinds the simulated API server serves, with the facts discovery and the REST layer need about each.

package struct ResourceType: Sendable, Hashable {
    package let group: String
    package let version: String
    package let kind: String
    package let plural: String
    package let singular: String
    package let namespaced: Bool
    package let shortNames: [String]
    package let categories: [String]
    /// Verbs as discovery lists them; subresource-only kinds (reviews) accept create only.
    package let verbs: [String]
    package let subresources: [String]

    package var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    package var groupVersion: String { apiVersion }
    /// Key of the resource in the object store.
    package var storageKey: String { group.isEmpty ? plural : "\(plural).\(group)" }

    static let crudVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    init(
        group: String, version: String, kind: String, plural: String, namespaced: Bool = true,
        shortNames: [String] = [], categories: [String] = [], verbs: [String] = ResourceType.crudVerbs,
        subresources: [String] = []
    ) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lowercased()
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
        self.verbs = verbs
        self.subresources = subresources
    }
}

extension ResourceType {
    package static let namespaces = ResourceType(
        group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"],
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"], subresources: ["status"])
    /// Each simulated cluster has one node; its topology labels decide its pods' locality.
    package static let nodes = ResourceType(
        group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"],
        subresources: ["proxy", "status"])
    package static let pods = ResourceType(
        group: "", version: "v1", kind: "Pod", plural: "pods", shortNames: ["po"], categories: ["all"],
        subresources: ["exec", "log", "proxy", "status"])
    package static let services = ResourceType(
        group: "", version: "v1", kind: "Service", plural: "services", shortNames: ["svc"], categories: ["all"],
        subresources: ["proxy", "status"])
    package static let endpoints = ResourceType(
        group: "", version: "v1", kind: "Endpoints", plural: "endpoints", shortNames: ["ep"])
    package static let serviceAccounts = ResourceType(
        group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", shortNames: ["sa"])
    package static let configMaps = ResourceType(
        group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", shortNames: ["cm"])
    package static let secrets = ResourceType(group: "", version: "v1", kind: "Secret", plural: "secrets")
    package static let events = ResourceType(group: "", version: "v1", kind: "Event", plural: "events", shortNames: ["ev"])
    package static let deployments = ResourceType(
        group: "apps", version: "v1", kind: "Deployment", plural: "deployments", shortNames: ["deploy"],
        categories: ["all"], subresources: ["scale", "status"])
    package static let replicaSets = ResourceType(
        group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", shortNames: ["rs"],
        categories: ["all"], subresources: ["scale", "status"])
    package static let gateways = ResourceType(
        group: "networking.istio.io", version: "v1", kind: "Gateway", plural: "gateways", shortNames: ["gw"],
        categories: ["istio-io", "networking-istio-io"])
    package static let destinationRules = ResourceType(
        group: "networking.istio.io", version: "v1", kind: "DestinationRule", plural: "destinationrules",
        shortNames: ["dr"], categories: ["istio-io", "networking-istio-io"])
    package static let virtualServices = ResourceType(
        group: "networking.istio.io", version: "v1", kind: "VirtualService", plural: "virtualservices",
        shortNames: ["vs"], categories: ["istio-io", "networking-istio-io"])
    // The canary's RBAC and CronJob. Stored and served like a real API server without a controller manager:
    // nothing runs Jobs, and RBAC is not enforced (every simulated user is a cluster admin).
    package static let roles = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles")
    package static let clusterRoles = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false)
    package static let roleBindings = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings")
    package static let clusterRoleBindings = ResourceType(
        group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings",
        namespaced: false)
    package static let jobs = ResourceType(
        group: "batch", version: "v1", kind: "Job", plural: "jobs", categories: ["all"], subresources: ["status"])
    package static let cronJobs = ResourceType(
        group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", shortNames: ["cj"], categories: ["all"],
        subresources: ["status"])
    package static let controlPlaneRevisions = ResourceType(
        group: "mesh.cloud.google.com", version: "v1beta1", kind: "ControlPlaneRevision",
        plural: "controlplanerevisions", shortNames: ["cpr"], subresources: ["status"])
    package static let mutatingWebhookConfigurations = ResourceType(
        group: "admissionregistration.k8s.io", version: "v1", kind: "MutatingWebhookConfiguration",
        plural: "mutatingwebhookconfigurations", namespaced: false, categories: ["api-extensions"])
    package static let selfSubjectAccessReviews = ResourceType(
        group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectAccessReview",
        plural: "selfsubjectaccessreviews", namespaced: false, verbs: ["create"])
    package static let selfSubjectReviews = ResourceType(
        group: "authentication.k8s.io", version: "v1", kind: "SelfSubjectReview", plural: "selfsubjectreviews",
        namespaced: false, verbs: ["create"])

    package static let all: [ResourceType] = [
        .namespaces, .nodes, .pods, .services, .endpoints, .serviceAccounts, .configMaps, .secrets, .events,
        .deployments, .replicaSets, .jobs, .cronJobs, .roles, .clusterRoles, .roleBindings, .clusterRoleBindings,
        .gateways, .destinationRules, .virtualServices, .controlPlaneRevisions, .mutatingWebhookConfigurations,
        .selfSubjectAccessReviews, .selfSubjectReviews,
    ]

    /// Group versions in the order discovery lists them.
    package static var groupVersions: [(group: String, version: String)] {
        var seen: [String] = []
        var result: [(String, String)] = []
        for resource in all where !resource.group.isEmpty && !seen.contains(resource.groupVersion) {
            seen.append(resource.groupVersion)
            result.append((resource.group, resource.version))
        }
        return result
    }

    package static func find(group: String, version: String, plural: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }
}
