// kubeconfig files for the simulated clusters: one context per cluster named as gcloud names GKE contexts,
// a client-certificate user per cluster and a bearer-token user (`<context>-token`) as the alternative.

package struct KubeconfigCluster: Sendable {
    package var contextName: String
    package var server: String
    package var certificateAuthorityPEM: String
    package var clientCertificatePEM: String
    package var clientKeyPEM: String
    package var token: String
}

enum KubeconfigWriter {
    static func render(_ clusters: [KubeconfigCluster], currentContext: String?) -> String {
        var text = "apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n"
        for cluster in clusters {
            text += "- name: \(cluster.contextName)\n  cluster:\n    server: \(cluster.server)\n"
            text += "    certificate-authority-data: \(Base64.encode(Array(cluster.certificateAuthorityPEM.utf8)))\n"
        }
        text += "users:\n"
        for cluster in clusters {
            text += "- name: \(cluster.contextName)\n  user:\n"
            text += "    client-certificate-data: \(Base64.encode(Array(cluster.clientCertificatePEM.utf8)))\n"
            text += "    client-key-data: \(Base64.encode(Array(cluster.clientKeyPEM.utf8)))\n"
            text += "- name: \(cluster.contextName)-token\n  user:\n    token: \(cluster.token)\n"
        }
        text += "contexts:\n"
        for cluster in clusters {
            text += "- name: \(cluster.contextName)\n  context:\n    cluster: \(cluster.contextName)\n"
            text += "    user: \(cluster.contextName)\n"
        }
        if let currentContext { text += "current-context: \(currentContext)\n" }
        return text
    }

    /// The kubeconfig inside a remote secret: one cluster, context and token user, all named after the
    /// cluster, as `istioctl create-remote-secret` writes it.
    static func remoteSecretKubeconfig(clusterName: String, server: String, certificateAuthorityPEM: String, token: String)
        -> String
    {
        """
        apiVersion: v1
        clusters:
        - cluster:
            certificate-authority-data: \(Base64.encode(Array(certificateAuthorityPEM.utf8)))
            server: \(server)
          name: \(clusterName)
        contexts:
        - context:
            cluster: \(clusterName)
            user: \(clusterName)
          name: \(clusterName)
        current-context: \(clusterName)
        kind: Config
        preferences: {}
        users:
        - name: \(clusterName)
          user:
            token: \(token)

        """
    }
}
