// The cluster-facing half of a run: connect, detect the mesh revision, own the namespace, deploy,
// wait for readiness with sidecars, and clean up. Every call goes through KubeClient; nothing here
// decides pass or fail (that is the verdict's job) — it gathers the facts and enforces ownership.

import Foundation
import KubeClient

/// Why a run could not reach a verdict, with the exit code the README's exit-code list assigns to it.
package struct RunAbort: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable {
        /// Bad input or a refused namespace: exit 2, nothing was created.
        case badInput
        /// Cluster unreachable, control plane missing, deadline passed: exit 3.
        case environment
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var exitCode: Int32 { kind == .badInput ? 2 : 3 }
    package var description: String { message }
}

/// One cluster of the run and the client that reaches it.
final class RunCluster: Sendable {
    let index: Int
    let spec: ClusterSpec
    let client: KubeClient

    init(index: Int, spec: ClusterSpec, client: KubeClient) {
        self.index = index
        self.spec = spec
        self.client = client
    }

    var context: String { spec.context }
}

/// A pod as the run sees it.
struct RunPod: Sendable, Equatable {
    var name: String
    var app: String
    var ready: Bool
    var hasSidecar: Bool
    var terminating: Bool
    /// `status.podIP`: how the pod's cluster's sidecars list it as an endpoint.
    var podIP: String? = nil
}

/// Talks to one cluster on behalf of the run.
struct ClusterOperations: Sendable {
    let cluster: RunCluster
    let namespace: String
    let runID: String

    static let istioSystem = "istio-system"
    static let sidecarName = "istio-proxy"

    /// `GET /version`; any failure means the cluster is unusable for this run. A kubeconfig or
    /// credential-plugin problem is bad input (exit 2); a rejected credential or an unreachable or
    /// untrusted server is an environment error (exit 3), split as preflight splits them.
    func checkReachable() async throws -> String {
        do {
            let body = try await cluster.client.request(method: "GET", path: "/version")
            let version = try JSONDecoder().decode(JSONValue.self, from: Data(body))
            return version["gitVersion"]?.stringValue ?? "unknown"
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let (failure, message) = Preflight.classify(error, context: cluster.context)
            throw RunAbort(failure == .credentials ? .badInput : .environment, "context \(cluster.context): \(message)")
        }
    }

    /// The revision to label the namespace with: istiod's `istio.io/rev`, else a managed
    /// `ControlPlaneRevision`'s name, else (a primary-remote mesh's remote, which runs no istiod) the
    /// `istio.io/rev` of its sidecar injector webhook.
    func detectRevision() async throws -> String {
        let istiod: [Pod]
        do {
            istiod = try await cluster.client.list(ResourcePath.pods(in: Self.istioSystem).labelSelector("app=istiod"))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RunAbort(.environment, "context \(cluster.context): cannot list istiod pods in \(Self.istioSystem): \(error)")
        }
        if let revision = istiod.lazy.compactMap({ $0.metadata.labels?["istio.io/rev"] }).first {
            return revision
        }
        let revisions = ResourcePath(
            group: "mesh.cloud.google.com", version: "v1beta1", resource: "controlplanerevisions",
            namespace: Self.istioSystem)
        if let managed = try? await cluster.client.list(revisions, of: JSONValue.self),
            let name = managed.lazy.compactMap({ $0["metadata"]?["name"]?.stringValue }).first
        {
            return name
        }
        let injectors = ResourcePath(group: "admissionregistration.k8s.io", version: "v1", resource: "mutatingwebhookconfigurations")
        if let webhooks = try? await cluster.client.list(injectors.labelSelector("istio.io/rev"), of: JSONValue.self),
            let revision = webhooks.lazy.compactMap({ $0["metadata"]?["labels"]?["istio.io/rev"]?.stringValue }).first
        {
            return revision
        }
        throw RunAbort(
            .environment,
            "context \(cluster.context): no mesh control plane found (no istiod pod labelled "
                + "istio.io/rev in \(Self.istioSystem), no ControlPlaneRevision, no sidecar injector labelled istio.io/rev) — install the mesh, or set "
                + "mesh.revision in the scenario")
    }

    /// What is in the way of using the run's namespace in this cluster.
    enum NamespaceState: Sendable, Equatable {
        case absent
        /// Ours from an earlier run of the same scenario, kept for reuse (canary mode).
        case reusable
        /// Exists and may not be touched.
        case foreign(String)
    }

    func inspectNamespace(scenarioName: String, reuse: Bool) async throws -> NamespaceState {
        do {
            let existing: Namespace = try await cluster.client.get(.namespaces(namespace))
            let labels = existing.metadata.labels ?? [:]
            let ours = labels[Ownership.managedByKey] == Ownership.managedByValue
            if ours, reuse, labels[Ownership.scenarioKey] == scenarioName, existing.status?.phase != "Terminating" {
                return .reusable
            }
            let why =
                ours
                ? "it belongs to another meshcheck run (\(Ownership.runIDKey)=\(labels[Ownership.runIDKey] ?? "?")) and reuse is off for this scenario"
                : "meshcheck did not create it (no \(Ownership.managedByKey)=\(Ownership.managedByValue) label)"
            return .foreign(
                "context \(cluster.context): namespace \"\(namespace)\" already exists and \(why); meshcheck never "
                    + "adopts, changes or deletes a namespace it did not create — choose another --namespace")
        } catch let error as KubeAPIError where error.reason == .notFound {
            return .absent
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RunAbort(.environment, "context \(cluster.context): cannot read namespace \(namespace): \(error)")
        }
    }

    /// Creates the namespace and returns its UID (cleanup deletes that object and no other of the same
    /// name); waits (bounded) while an earlier namespace of that name is still terminating.
    func createNamespace(_ object: NamespaceObject, deadline: ContinuousClock.Instant) async throws -> String? {
        let body = try JSONEncoder().encode(object)
        while true {
            do {
                let created = try await cluster.client.request(
                    method: "POST", path: "/api/v1/namespaces", body: Array(body),
                    contentType: "application/json")
                return (try? JSONDecoder().decode(Namespace.self, from: Data(created)))?.metadata.uid
            } catch let error as KubeAPIError where error.reason == .alreadyExists && error.message.contains("being deleted") {
                guard ContinuousClock.now < deadline else {
                    throw RunAbort(
                        .environment,
                        "context \(cluster.context): namespace \(namespace) is still terminating from an "
                            + "earlier run; try again when it is gone")
                }
                try await Task.sleep(for: .milliseconds(500))
            } catch let error as KubeAPIError where error.reason == .alreadyExists {
                // Created by someone else between our check and our create: not ours, never touch it.
                throw RunAbort(
                    .badInput,
                    "context \(cluster.context): namespace \"\(namespace)\" appeared while meshcheck was "
                        + "creating it; it is not ours — choose another --namespace")
            }
        }
    }

    /// Creates every object of the cluster's manifests; with `reuse`, objects already there are kept.
    func apply(_ items: [ManifestItem], reuse: Bool) async throws {
        let encoder = JSONEncoder()
        for item in items {
            let body = try encoder.encode(item.body)
            do {
                _ = try await cluster.client.request(
                    method: "POST", path: item.collectionPath, body: Array(body),
                    contentType: "application/json")
            } catch let error as KubeAPIError where reuse && error.reason == .alreadyExists {
                continue
            } catch let error as KubeAPIError {
                throw RunAbort(.environment, "context \(cluster.context): creating \(item.reference) in \(namespace) failed: \(error)")
            }
        }
    }

    /// What `kubectl describe` would show about the run's workloads: their pods, ReplicaSets and the
    /// namespace's Events. Pods must be readable; the ReplicaSets and Events only explain, so a
    /// client the API server does not allow to list them still waits (with less to say).
    func observeDeploy() async throws -> DeployObservation {
        let selector = "app in (\(Workloads.helloworldApp),\(Workloads.sleepApp))"
        let pods: [Pod] = try await cluster.client.list(ResourcePath.pods(in: namespace).labelSelector(selector))
        func explaining<Item: Decodable & Sendable>(_ path: ResourcePath, _ type: Item.Type) async throws -> [Item] {
            do {
                return try await cluster.client.list(path, of: type)
            } catch is KubeAPIError {
                return []
            }
        }
        let replicaSets = try await explaining(ResourcePath.replicaSets(in: namespace).labelSelector(selector), ReplicaSet.self)
        let events = try await explaining(ResourcePath.events(in: namespace), Event.self)
        return DeployObservation(
            cluster: cluster.spec.name, context: cluster.context, expected: ExpectedWorkload.all(in: cluster.spec), pods: pods,
            replicaSets: replicaSets, events: events)
    }

    /// HelloWorld and Sleep pods as the run keeps them.
    static func runPods(_ pods: [Pod]) -> [RunPod] {
        pods.compactMap { pod in
            guard let name = pod.metadata.name, let app = pod.metadata.labels?["app"] else { return nil }
            return RunPod(
                name: name, app: app, ready: pod.isReady, hasSidecar: Self.hasSidecar(pod),
                terminating: pod.metadata.deletionTimestamp != nil, podIP: pod.status?.podIP)
        }
    }

    /// Classic injection (`istio-proxy` container) or a native sidecar (`istio-proxy` init container
    /// with `restartPolicy: Always`).
    static func hasSidecar(_ pod: Pod) -> Bool {
        guard let spec = pod.spec else { return false }
        if spec.containers.contains(where: { $0.name == sidecarName }) { return true }
        return spec.initContainers?.contains { $0.name == sidecarName && $0.restartPolicy == "Always" } ?? false
    }

    /// Deletes the namespace if — and only if — it carries this run's ownership labels and is the very
    /// object this run created (`uid`, when the API server returned one): a namespace deleted and
    /// re-created under the same name by someone else, even with copied labels, is never touched. The
    /// DELETE carries the UID as a precondition, so the API server itself refuses if the object changed
    /// between our check and the delete. Returns false when it is already gone.
    func deleteOwnedNamespace(uid: String?) async throws -> Bool {
        let existing: Namespace
        do {
            existing = try await cluster.client.get(.namespaces(namespace))
        } catch let error as KubeAPIError where error.reason == .notFound {
            return false
        }
        let labels = existing.metadata.labels ?? [:]
        guard labels[Ownership.managedByKey] == Ownership.managedByValue, labels[Ownership.runIDKey] == runID else {
            throw RunAbort(
                .environment,
                "context \(cluster.context): namespace \(namespace) does not carry this run's "
                    + "\(Ownership.runIDKey)=\(runID) label; not deleting it")
        }
        if let uid, existing.metadata.uid != uid {
            throw RunAbort(
                .environment,
                "context \(cluster.context): namespace \(namespace) is not the one this run created "
                    + "(it was deleted and created again by someone else); not deleting it")
        }
        var options: [String: JSONValue] = [
            "kind": .string("DeleteOptions"), "apiVersion": .string("v1"),
            "propagationPolicy": .string(DeletionPropagation.background.rawValue),
        ]
        if let found = existing.metadata.uid { options["preconditions"] = .object(["uid": .string(found)]) }
        do {
            _ = try await cluster.client.request(
                method: "DELETE", path: ResourcePath.namespaces(namespace).requestPath,
                body: Array(try JSONEncoder().encode(JSONValue.object(options))),
                contentType: "application/json")
        } catch let error as KubeAPIError where error.reason == .notFound {
            return false
        } catch let error as KubeAPIError where error.reason == .conflict {
            throw RunAbort(
                .environment,
                "context \(cluster.context): namespace \(namespace) was replaced while meshcheck was "
                    + "deleting it; not deleting the new one")
        }
        return true
    }

    /// Whether the namespace this run created still exists (Terminating counts as existing; a namespace
    /// of the same name with another UID is someone else's and does not count).
    func namespaceExists(uid: String?) async throws -> Bool {
        do {
            let found: Namespace = try await cluster.client.get(.namespaces(namespace))
            return uid == nil || found.metadata.uid == uid
        } catch let error as KubeAPIError where error.reason == .notFound {
            return false
        }
    }
}
