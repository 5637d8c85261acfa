// API clients for an in-process simulated mesh, and what the end-to-end tests ask it: which namespaces meshcheck
// still owns there.

import KubeClient
import MeshSim

enum MeshClients {
    /// One client per cluster, in the mesh's context order.
    static func clients(_ mesh: SimulatedMesh) throws -> [KubeClient] {
        let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: mesh.kubeconfigPath))
        return try mesh.contexts.map { try KubeClient(kubeconfig: kubeconfig, context: $0) }
    }

    /// `<client>/<namespace>` for every namespace labelled as meshcheck's, in every cluster.
    static func managedNamespaces(_ clients: [KubeClient]) async throws -> [String] {
        var names: [String] = []
        for client in clients {
            let namespaces: [Namespace] = try await client.list(ResourcePath.namespaces().labelSelector("app.kubernetes.io/managed-by=meshcheck"))
            names += namespaces.compactMap { $0.metadata.name.map { "\(client.name)/\($0)" } }
        }
        return names
    }
}
