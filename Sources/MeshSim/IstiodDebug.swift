// istiod's debug endpoint `/debug/clusterz` on its monitoring port 15014, the JSON `istioctl remote-clusters` prints
// (docs/PROTOCOL-NOTES.md §D7), two ways in: `pilot-discovery request GET /debug/clusterz` exec'd in the istiod pod
// (from localhost, so istiod answers), and the API server's proxy subresource (`pods/<pod>[:<port>]/proxy/<path>`,
// and `services/<svc>[:<port>]/proxy/<path>` through a ready endpoint), which istiod refuses with 401 as a real one
// does. Other pods and ports answer the proxy as a real API server does when nothing listens there: 503 with the
// dial error.

import MeshSimRuntime

/// A validated `pods/<name>/proxy` request (a Service's resolved to one of its pods); the server layer answers
/// it with the whole mesh in view.
package struct ProxyTarget: Sendable, Equatable {
    package var namespace: String
    package var pod: String
    package var port: Int
    /// The path after `/proxy`, starting with `/`.
    package var path: String
}

enum IstiodDebug {
    /// istiod's monitoring port, where its debug handlers live (`--monitoringAddr=:15014`).
    static let monitoringPort = 15014

    /// Splits the proxy name `pod`, `pod:port` or `scheme:pod:port` (the scheme is `http` or `https`); a
    /// missing port means 80, as for the real subresource.
    static func parseName(_ name: String) -> (pod: String, port: Int)? {
        var parts = name.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 3 {
            guard parts[0] == "http" || parts[0] == "https" else { return nil }
            parts.removeFirst()
        }
        switch parts.count {
        case 1: return parts[0].isEmpty ? nil : (parts[0], 80)
        case 2:
            guard !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
            return (parts[0], port)
        default: return nil
        }
    }

    /// What the proxied pod answers: istiod's `/debug/clusterz` from the cluster's state, Go's 404 for other
    /// paths on the monitoring port, and the API server's dial error for every other pod or port.
    static func answer(_ target: ProxyTarget, state: ClusterState, peerServers: [String: String]) -> APIResponse {
        let pod = state.store.get(.pods, namespace: target.namespace, name: target.pod)
        let ip = pod?["status"]["podIP"].string ?? ""
        guard let pod, ClusterState.isIstiod(pod), ClusterState.isReady(pod), target.port == monitoringPort else {
            return .error(
                APIError(
                    code: 503, reason: "ServiceUnavailable",
                    message: "error trying to reach service: dial tcp \(ip):\(target.port): connect: connection refused"))
        }
        guard target.path == "/debug/clusterz" else {
            return APIResponse(status: 404, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array("404 page not found\n".utf8))
        }
        // allowAuthenticatedOrLocalhost: the proxied request comes from the API server without a credential.
        if state.istiodDebugRequiresAuthentication { return APIResponse(status: 401, headers: [], body: []) }
        return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: clusterz(state, peerServers: peerServers).serializedBytes())
    }

    /// `pilot-discovery request <method> <path> [<body>]` in an istiod pod's `discovery` container: the way in to its
    /// debug handlers that works on a real cluster, since the request comes from localhost (istio
    /// `pilot/cmd/pilot-discovery/app/request.go`; the proxy subresource gets 401 instead).
    static func isRequestCommand(_ target: ExecTarget) -> Bool {
        target.namespace == "istio-system" && target.container == discoveryContainer && target.command.count >= 4
            && target.command[0] == "pilot-discovery" && target.command[1] == "request"
    }

    static let discoveryContainer = "discovery"

    /// What the command prints (istio `pilot/pkg/request/command.go`): the body and a newline, exit 0, for any
    /// answer below 400 and for 404; otherwise the error on stderr and exit status 255, as its `main` exits.
    static func answerRequestCommand(_ target: ExecTarget, state: ClusterState, peerServers: [String: String]) -> ExecBuiltinAnswer {
        let method = target.command[2]
        let path = "/" + target.command[3].drop { $0 == "/" }
        guard let pod = state.store.get(.pods, namespace: target.namespace, name: target.pod), ClusterState.isIstiod(pod) else {
            return ExecBuiltinAnswer(
                stdout: [], stderr: Array("Error: Get \"http://127.0.0.1:15014\(path)\": dial tcp 127.0.0.1:15014: connect: connection refused\n".utf8),
                exitCode: 255)
        }
        guard method == "GET", path == "/debug/clusterz" else {
            return ExecBuiltinAnswer(stdout: Array("404 page not found\n\n".utf8))
        }
        return ExecBuiltinAnswer(stdout: clusterz(state, peerServers: peerServers).serializedBytes() + [UInt8(ascii: "\n")])
    }

    /// `[]cluster.DebugInfo` as istiod's secret controller lists it (`ListRemoteClusters`): its own cluster
    /// first with no secret, then one entry per cluster of every remote secret it holds, named
    /// `istio-system/<secret>`. A remote cluster syncs when istiod can reach its API server: the secret
    /// must point at the peer's real server and no fault may cut istiod off from it; otherwise its
    /// informers never sync and `PILOT_REMOTE_CLUSTER_TIMEOUT` turns it into `timeout`.
    static func clusterz(_ state: ClusterState, peerServers: [String: String]) -> JSON {
        var entries: [JSON] = [["id": .string(state.identity.name), "secretName": "", "syncStatus": "synced"]]
        for secret in RemoteSecretScan.entries(state.store, peerServers: peerServers) {
            let reachable = secret.serverMatchesPeer && !state.istiodUnreachablePeers.contains(secret.peer)
            entries.append([
                "id": .string(secret.peer), "secretName": .string("istio-system/\(secret.secretName)"),
                "syncStatus": .string(reachable ? "synced" : "timeout"),
            ])
        }
        return .array(entries)
    }
}

/// The remote secrets a cluster's istiod holds (label `istio/multiCluster=true` in istio-system), one entry
/// per data key: what routing and `/debug/clusterz` both read, so they cannot disagree.
enum RemoteSecretScan {
    struct Entry: Equatable {
        var secretName: String
        /// The data key: the peer's cluster name.
        var peer: String
        /// The kubeconfig inside names the peer's real API server.
        var serverMatchesPeer: Bool
    }

    static func entries(_ store: ObjectStore, peerServers: [String: String]) -> [Entry] {
        var entries: [Entry] = []
        let secrets = store.list(.secrets, namespace: "istio-system").filter {
            $0["metadata"]["labels"]["istio/multiCluster"].string == "true"
        }
        for secret in secrets.sorted(by: { ($0["metadata"]["name"].string ?? "") < ($1["metadata"]["name"].string ?? "") }) {
            for (peer, value) in (secret["data"].object ?? [:]).sorted(by: { $0.key < $1.key }) {
                let kubeconfig = value.string.flatMap(Base64.decode).map { String(decoding: $0, as: UTF8.self) } ?? ""
                let matches = peerServers[peer].map { kubeconfig.contains("server: \($0)\n") } ?? false
                entries.append(Entry(secretName: secret["metadata"]["name"].string ?? "", peer: peer, serverMatchesPeer: matches))
            }
        }
        return entries
    }
}
