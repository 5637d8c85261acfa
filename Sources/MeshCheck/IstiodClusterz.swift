// istiod's view of the mesh: `/debug/clusterz` on its monitoring port, the JSON `istioctl remote-clusters`
// prints (docs/PROTOCOL-NOTES.md §D7). The parser is pure; PreflightFetch reads the answer through the API
// server's pod proxy and PreflightChecks judges it (`control-plane-sync`).

import Foundation

/// One cluster istiod watches: its own (no secret) or one named in a remote secret.
package struct RemoteClusterStatus: Sendable, Equatable, Codable {
    /// The cluster ID (the remote secret's data key; `CLUSTER_ID` for istiod's own cluster).
    package var id: String
    /// `istio-system/<secret>`; empty for istiod's own cluster.
    package var secretName: String
    /// `synced`, `syncing`, `timeout` or `closed` (istio `pkg/kube/multicluster/cluster.go`).
    package var syncStatus: String

    package init(id: String, secretName: String, syncStatus: String) {
        self.id = id
        self.secretName = secretName
        self.syncStatus = syncStatus
    }

    package var isSynced: Bool { syncStatus == "synced" }
}

/// What preflight learned of a cluster's control plane view.
package enum ControlPlaneView: Sendable, Equatable {
    /// Not asked (hand-made facts); no finding is made.
    case notFetched
    /// The view cannot be read here, and why (forbidden, managed control plane, an error).
    case notVisible(String)
    /// istiod `pod` answered with these clusters.
    case clusters(pod: String, [RemoteClusterStatus])
}

package enum ClusterzParser {
    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case notJSONArray
        case entry(Int, String)

        package var description: String {
            switch self {
            case .notJSONArray: "the answer is not a JSON array of clusters"
            case .entry(let index, let why): "cluster entry \(index): \(why)"
            }
        }
    }

    /// Parses istiod's `[]cluster.DebugInfo` (`{"id","secretName","syncStatus"}` per cluster). Unknown fields
    /// are ignored, as Go's decoder does; `id` and `syncStatus` must be strings, `secretName` may be absent.
    package static func parse(_ bytes: [UInt8]) throws(ParseError) -> [RemoteClusterStatus] {
        guard let array = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [Any] else { throw .notJSONArray }
        var clusters: [RemoteClusterStatus] = []
        for (index, element) in array.enumerated() {
            guard let object = element as? [String: Any] else { throw .entry(index, "not an object") }
            guard let id = object["id"] as? String, !id.isEmpty else { throw .entry(index, "no cluster id") }
            guard let status = object["syncStatus"] as? String else { throw .entry(index, "no syncStatus") }
            let secret = object["secretName"] as? String ?? ""
            clusters.append(RemoteClusterStatus(id: id, secretName: secret, syncStatus: status))
        }
        return clusters
    }
}
