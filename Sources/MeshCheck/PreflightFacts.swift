// What preflight learns from each cluster's API, as plain values. The fetching edge (PreflightFetch)
// fills them; the checks (PreflightChecks) judge them without I/O, so every rule is unit-tested with
// hand-made facts.

/// A question for SelfSubjectAccessReview: may the current user do `verb` on `resource`?
package struct AccessQuestion: Sendable, Hashable, Codable, CustomStringConvertible {
    package var verb: String
    package var group: String
    package var resource: String
    package var subresource: String?

    package init(verb: String, group: String = "", resource: String, subresource: String? = nil) {
        self.verb = verb
        self.group = group
        self.resource = resource
        self.subresource = subresource
    }

    /// `create pods/exec`, `create deployments.apps`.
    package var description: String {
        let qualified = group.isEmpty ? resource : "\(resource).\(group)"
        return "\(verb) \(qualified)\(subresource.map { "/\($0)" } ?? "")"
    }

    /// What a run does: create and delete its namespace, create deployments, exec into the Sleep pods.
    package static let runNeeds: [AccessQuestion] = [
        AccessQuestion(verb: "create", resource: "namespaces"),
        AccessQuestion(verb: "delete", resource: "namespaces"),
        AccessQuestion(verb: "create", group: "apps", resource: "deployments"),
        AccessQuestion(verb: "create", resource: "pods", subresource: "exec"),
    ]
}

/// The answer to one access question: allowed, denied (with the server's reason), or not asked
/// successfully (the review itself failed).
package enum AccessAnswer: Sendable, Equatable {
    case allowed
    case denied(String)
    case unknown(String)
}

package struct IstiodPodFact: Sendable, Equatable {
    package var name: String
    package var revision: String
    package var ready: Bool

    package init(name: String, revision: String, ready: Bool) {
        self.name = name
        self.revision = revision
        self.ready = ready
    }
}

package struct ControlPlaneRevisionFact: Sendable, Equatable {
    package var name: String
    /// `status.conditions[type=Reconciled].status == "True"`; nil when there is no such condition.
    package var reconciled: Bool?
    /// The Reconciled (or Stalled) condition's message, for the evidence line.
    package var message: String?

    package init(name: String, reconciled: Bool?, message: String? = nil) {
        self.name = name
        self.reconciled = reconciled
        self.message = message
    }
}

/// One cluster entry of a remote secret (`data[<key>]` decoded as a kubeconfig).
package struct RemoteSecretEntry: Sendable, Equatable {
    package var secretName: String
    /// The data key (istioctl uses the peer's cluster name).
    package var key: String
    /// Name of the cluster inside the kubeconfig (nil when the value could not be read).
    package var clusterName: String?
    /// The kubeconfig's `server`, normalised (`https://host:port[/prefix]`); nil when unreadable.
    package var server: String?
    /// Why the value is not a usable kubeconfig, when it is not.
    package var problem: String?
    /// The certificates of its `certificate-authority-data`: what identifies the cluster it points at,
    /// whichever of that cluster's endpoints `server` names (empty when it carries none).
    package var certificateAuthority: APIServerIdentity

    package init(
        secretName: String, key: String, clusterName: String?, server: String?, problem: String? = nil,
        certificateAuthority: APIServerIdentity = APIServerIdentity()
    ) {
        self.secretName = secretName
        self.key = key
        self.clusterName = clusterName
        self.server = server
        self.problem = problem
        self.certificateAuthority = certificateAuthority
    }
}

/// A cluster's identity as TLS clients know it: the DER certificates of the CA its API server's
/// certificate chains to. Each cluster has its own CA, so two kubeconfigs whose CAs share a certificate
/// reach the same cluster even through different endpoints (a public and a private one).
package struct APIServerIdentity: Sendable, Equatable {
    package var certificates: Set<[UInt8]>

    package init(certificates: Set<[UInt8]> = []) {
        self.certificates = certificates
    }

    /// The certificates of a PEM bundle; empty when there is none or it does not decode.
    package init(pem: [UInt8]?) {
        guard let pem, let text = String(bytes: pem, encoding: .utf8),
            let blocks = try? CertificateReader.derBlocks(pem: text)
        else {
            self.init()
            return
        }
        self.init(certificates: Set(blocks))
    }

    package var isKnown: Bool { !certificates.isEmpty }

    /// Whether both are known and name a common CA certificate.
    package func matches(_ other: APIServerIdentity) -> Bool {
        !certificates.isDisjoint(with: other.certificates)
    }
}

/// A sidecar injector webhook (a MutatingWebhookConfiguration whose webhooks end in
/// `sidecar-injector.istio.io`): a primary's calls its in-cluster istiod Service, a remote's calls a URL,
/// the primary's istiod through its east-west gateway.
package struct InjectorWebhookFact: Sendable, Equatable {
    package var name: String
    /// `istio.io/rev` on the configuration: the revision it injects.
    package var revision: String?
    /// `clientConfig.url` of its first injector webhook.
    package var url: String?
    /// `clientConfig.service` of its first injector webhook, as `namespace/name`.
    package var service: String?

    package init(name: String, revision: String? = nil, url: String? = nil, service: String? = nil) {
        self.name = name
        self.revision = revision
        self.url = url
        self.service = service
    }
}

/// The istio-system namespace's mesh metadata.
package struct IstioSystemNamespaceFact: Sendable, Equatable {
    /// `topology.istio.io/network` label; nil when unset or empty.
    package var network: String?
    /// `topology.istio.io/controlPlaneClusters` annotation: the clusters whose istiod configures this one.
    package var controlPlaneClusters: String?

    package init(network: String? = nil, controlPlaneClusters: String? = nil) {
        self.network = network
        self.controlPlaneClusters = controlPlaneClusters
    }
}

package struct GatewayDeploymentFact: Sendable, Equatable {
    package var replicas: Int
    package var availableReplicas: Int
    /// `topology.istio.io/network` on the Deployment, if any.
    package var networkLabel: String?

    package init(replicas: Int, availableReplicas: Int, networkLabel: String?) {
        self.replicas = replicas
        self.availableReplicas = availableReplicas
        self.networkLabel = networkLabel
    }
}

package struct GatewayServiceFact: Sendable, Equatable {
    package var type: String
    /// `status.loadBalancer.ingress[].ip|hostname`.
    package var addresses: [String]

    package init(type: String, addresses: [String]) {
        self.type = type
        self.addresses = addresses
    }
}

/// A `networking.istio.io` Gateway that can carry cross-network traffic.
package struct CrossNetworkGatewayFact: Sendable, Equatable {
    package var name: String
    /// A server on 15443 with `tls.mode: AUTO_PASSTHROUGH`.
    package var passthrough15443: Bool

    package init(name: String, passthrough15443: Bool) {
        self.name = name
        self.passthrough15443 = passthrough15443
    }
}

/// A DestinationRule whose host is the test service.
package struct DestinationRuleFact: Sendable, Equatable {
    package var namespace: String
    package var name: String
    package var host: String
    /// Which settings change the split: `localityLbSetting`, `subsets`, `consistentHash`, ...
    package var splitChanges: [String]

    package init(namespace: String, name: String, host: String, splitChanges: [String]) {
        self.namespace = namespace
        self.name = name
        self.host = host
        self.splitChanges = splitChanges
    }
}

/// A fetch that may fail on its own (missing CRD, forbidden) without making the cluster unreachable.
package enum Fetched<Value: Sendable & Equatable>: Sendable, Equatable {
    case value(Value)
    case failed(String)

    package var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    package func map<Other: Sendable & Equatable>(_ transform: (Value) -> Other) -> Fetched<Other> {
        switch self {
        case .value(let value): .value(transform(value))
        case .failed(let why): .failed(why)
        }
    }
}

/// Everything preflight learned about one cluster.
package struct ClusterFacts: Sendable, Equatable {
    /// The scenario's name for the cluster (`cluster-1`).
    package var name: String
    package var context: String
    /// The API server as this kubeconfig reaches it (normalised).
    package var server: String
    /// The CA this kubeconfig trusts for it (`certificate-authority[-data]`); unknown when the context
    /// relies on the system's trust store or skips verification.
    package var certificateAuthority = APIServerIdentity()
    /// `gitVersion` from `/version`; nil when the cluster did not answer.
    package var version: String?
    /// Why the cluster did not answer; set exactly when `version` is nil.
    package var unreachable: String?
    /// What kind of failure that was; set with `unreachable`.
    package var failure: ClusterFailure?
    package var access: [AccessQuestion: AccessAnswer] = [:]
    package var istiodPods: Fetched<[IstiodPodFact]> = .value([])
    package var controlPlaneRevisions: Fetched<[ControlPlaneRevisionFact]> = .value([])
    package var remoteSecrets: Fetched<[RemoteSecretEntry]> = .value([])
    /// nil: no `istio-eastwestgateway` Deployment.
    package var eastWestDeployment: Fetched<GatewayDeploymentFact?> = .value(nil)
    package var eastWestService: Fetched<GatewayServiceFact?> = .value(nil)
    package var crossNetworkGateways: Fetched<[CrossNetworkGatewayFact]> = .value([])
    /// `topology.istio.io/network` on istio-system; nil when unset or istio-system is missing.
    package var networkLabel: Fetched<String?> = .value(nil)
    /// `topology.istio.io/controlPlaneClusters` on istio-system: set on a primary-remote mesh's remotes.
    package var controlPlaneClusters: Fetched<String?> = .value(nil)
    /// Sidecar injector webhooks (MutatingWebhookConfigurations).
    package var injectorWebhooks: Fetched<[InjectorWebhookFact]> = .value([])
    /// `multicluster_mode` of istio-system's ConfigMap `asm-options` (managed Cloud Service Mesh's endpoint
    /// discovery: `connected` or `manual`); nil when the ConfigMap or the key is absent.
    package var multiclusterMode: Fetched<String?> = .value(nil)
    /// `root-cert.pem` of `istio-system/istio-ca-root-cert`; nil when the ConfigMap or key is missing.
    package var rootCertificatePEM: Fetched<String?> = .value(nil)
    package var destinationRules: Fetched<[DestinationRuleFact]> = .value([])
    /// Injected pods (`security.istio.io/tlsMode=istio`): classic `istio-proxy` containers and native
    /// sidecars (restartable `istio-proxy` init containers).
    package var sidecars: Fetched<SidecarCount> = .value(SidecarCount())
    /// istiod's `/debug/clusterz`: the clusters it watches and whether each synced.
    package var controlPlaneView = ControlPlaneView.notFetched

    package init(
        name: String, context: String, server: String, version: String?, unreachable: String? = nil,
        failure: ClusterFailure? = nil
    ) {
        self.name = name
        self.context = context
        self.server = server
        self.version = version
        self.unreachable = unreachable
        self.failure = failure
    }
}

/// Why preflight could not examine a cluster at all (its `/version` failed), as `meshcheck run` tells
/// the same failures apart.
package enum ClusterFailure: String, Codable, Sendable, Equatable {
    /// The kubeconfig or its credential plugin could not produce credentials: bad input (exit 2).
    case credentials
    /// The API server answered with an error (401, 403, …): an environment problem (exit 3).
    case rejected
    /// No connection: refused, DNS, connect timeout, or TLS failed (an untrusted server): exit 3.
    case unreachable
    /// Connected, but nothing answered within the request timeout: exit 3.
    case noAnswer = "no-answer"
    /// An answer started but did not finish within the request timeout: exit 3.
    case tooSlow = "too-slow"
    /// The answer passed its size limit and was stopped: exit 3.
    case tooLarge = "too-large"

    /// How the checklist names a cluster with this failure.
    package var label: String {
        switch self {
        case .credentials: "no credentials"
        case .rejected: "rejected"
        case .unreachable: "unreachable"
        case .noAnswer: "no answer"
        case .tooSlow: "answer too slow"
        case .tooLarge: "answer too large"
        }
    }
}

package struct SidecarCount: Sendable, Equatable {
    package var classic = 0
    package var native = 0

    package init(classic: Int = 0, native: Int = 0) {
        self.classic = classic
        self.native = native
    }
}
