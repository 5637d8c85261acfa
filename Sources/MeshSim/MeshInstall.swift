// The objects a multi-primary, multi-network Istio / Cloud Service Mesh install leaves in a cluster
// (docs/PROTOCOL-NOTES.md §D): istio-system with its network label, the control plane (istiod Deployment or a managed
// ControlPlaneRevision), the east-west gateway and its LoadBalancer Service, the cross-network Gateway, and
// the remote secrets that let each control plane discover its peers.

extension ClusterState {
    /// Creates the cluster's built-in namespaces and the mesh, as an installed cluster would have them.
    package mutating func installBaseAndMesh(now: Double) {
        for name in ["default", "kube-system", "kube-package", "kube-node-lease"] {
            createInstalled(.namespaces, ["metadata": ["name": .string(name)]], now: now)
        }
        installNode(now: now)
        var istioSystem: JSON = [
            "metadata": ["name": "istio-system", "labels": ["topology.istio.io/network": .string(identity.network)]]
        ]
        if let primary = identity.primaryCluster {
            // Istio's primary-remote guide: `kubectl annotate namespace istio-system topology.istio.io/controlPlaneClusters=<primary>`.
            istioSystem["metadata"]["annotations"] = ["topology.istio.io/controlPlaneClusters": .string(primary)]
        }
        createInstalled(.namespaces, istioSystem, now: now)
        createInstalled(
            .serviceAccounts,
            [
                "metadata": ["name": "istio-reader-service-account", "namespace": "istio-system"]
            ], now: now)
        if identity.managedControlPlane {
            installManagedControlPlane(now: now)
        } else if identity.primaryCluster == nil {
            installIstiod(now: now)
        }
        installEastWestGateway(now: now)
        createInstalled(
            .gateways,
            [
                "metadata": ["name": "cross-network-gateway", "namespace": "istio-system"],
                "spec": [
                    "selector": ["istio": "eastwestgateway"],
                    "servers": [
                        [
                            "port": ["number": 15443, "name": "tls", "protocol": "TLS"],
                            "tls": ["mode": "AUTO_PASSTHROUGH"], "hosts": ["*.local"],
                        ]
                    ],
                ],
            ], now: now)
    }

    /// The cluster's one node, labelled as GKE labels its nodes; `kubectl label node` may move it to another
    /// locality later, and its pods' endpoints move with it.
    mutating func installNode(now: Double) {
        createInstalled(
            .nodes,
            [
                "metadata": [
                    "name": .string(nodeName),
                    "labels": [
                        "kubernetes.io/hostname": .string(nodeName), "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                        "cloud.google.com/gke-nodepool": "default-pool", "node.kubernetes.io/instance-type": "e2-standard-4",
                        "topology.kubernetes.io/region": .string(identity.region), "topology.kubernetes.io/zone": .string(identity.zone),
                    ],
                ],
                "spec": ["providerID": .string("gce://meshcheck-sim/\(identity.zone)/\(nodeName)")],
                "status": [
                    "conditions": [["type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"]],
                    "addresses": [
                        ["type": "InternalIP", "address": .string("10.128.0.\(identity.index + 1)")],
                        ["type": "Hostname", "address": .string(nodeName)],
                    ],
                    "nodeInfo": [
                        "kubeletVersion": "v1.30.5-gke.1014001", "osImage": "Container-Optimized OS from Google",
                        "kernelVersion": "6.1.100+", "containerRuntimeVersion": "containerd://1.7.22",
                        "operatingSystem": "linux", "architecture": "amd64",
                    ],
                ],
            ], now: now)
    }

    mutating func createInstalled(_ resource: ResourceType, _ object: JSON, now: Double) {
        var object = object
        applyDefaults(&object, resource: resource)
        stampNewObject(&object, resource: resource, now: now)
        put(resource, object)
    }

    mutating func installIstiod(now: Double) {
        let revision = identity.revision
        let name = "istiod-\(revision)"
        let labels: JSON = ["app": "istiod", "istio": "istiod", "istio.io/rev": .string(revision)]
        var podLabels = labels
        podLabels["sidecar.istio.io/inject"] = "false"
        createInstalled(
            .deployments,
            [
                "metadata": ["name": .string(name), "namespace": "istio-system", "labels": labels],
                "spec": [
                    "replicas": 1, "selector": ["matchLabels": ["app": "istiod", "istio.io/rev": .string(revision)]],
                    "template": [
                        "metadata": ["labels": podLabels],
                        "spec": [
                            "serviceAccountName": "istiod",
                            "containers": [
                                [
                                    "name": "discovery", "image": "gcr.io/gke-release/asm/pilot:1.23.4-asm.1",
                                    "args": ["discovery", "--monitoringAddr=:15014", "--log_output_level=default:info"],
                                    "ports": [["containerPort": 8080], ["containerPort": 15010], ["containerPort": 15017]],
                                    "env": [
                                        ["name": "REVISION", "value": .string(revision)],
                                        ["name": "CLUSTER_ID", "value": .string(identity.name)],
                                    ],
                                ]
                            ],
                        ],
                    ],
                ],
            ], now: now)
        createInstalled(
            .services,
            [
                "metadata": ["name": .string(name), "namespace": "istio-system", "labels": labels],
                "spec": [
                    "selector": ["app": "istiod", "istio.io/rev": .string(revision)],
                    "ports": [
                        ["name": "grpc-xds", "port": 15010], ["name": "https-dns", "port": 15012],
                        ["name": "https-webhook", "port": 443, "targetPort": 15017],
                        ["name": "http-monitoring", "port": 15014],
                    ],
                ],
            ], now: now)
        createInstalled(.serviceAccounts, ["metadata": ["name": "istiod", "namespace": "istio-system"]], now: now)
        installInjectorWebhook(
            clientConfig: ["service": ["name": .string(name), "namespace": "istio-system", "path": "/inject", "port": 443]], now: now)
    }

    /// A remote's injector: the primary's istiod through the primary's east-west gateway (port 15017), at the
    /// path `istioctl install --set profile=remote` configures (`/inject/cluster/<name>/net/<network>`).
    package mutating func installRemoteInjectorWebhook(discoveryAddress: String, now: Double) {
        let url = "https://\(discoveryAddress):15017/inject/cluster/\(identity.name)/net/\(identity.network)"
        installInjectorWebhook(clientConfig: ["url": .string(url)], now: now)
    }

    /// The MutatingWebhookConfiguration `istio-sidecar-injector-<revision>` for namespaces labelled with the revision.
    mutating func installInjectorWebhook(clientConfig: JSON, now: Double) {
        let revision = identity.revision
        createInstalled(
            .mutatingWebhookConfigurations,
            [
                "metadata": [
                    "name": .string("istio-sidecar-injector-\(revision)"),
                    "labels": ["app": "sidecar-injector", "istio.io/rev": .string(revision)],
                ],
                "webhooks": [
                    [
                        "name": "rev.namespace.sidecar-injector.istio.io", "clientConfig": clientConfig,
                        "namespaceSelector": [
                            "matchExpressions": [
                                ["key": "istio.io/rev", "operator": "In", "values": [.string(revision)]],
                                ["key": "istio-injection", "operator": "DoesNotExist"],
                            ]
                        ],
                        "admissionReviewVersions": ["v1beta1", "v1"], "sideEffects": "None", "failurePolicy": "Fail",
                        "reinvocationPolicy": "Never", "timeoutSeconds": 10,
                    ]
                ],
            ], now: now)
    }

    /// The east-west gateway Service's load-balancer address, once the cloud controller gave it one.
    var eastWestGatewayAddress: String? {
        let service = store.get(.services, namespace: "istio-system", name: "istio-eastwestgateway")
        return service?["status"]["loadBalancer"]["ingress"].array?.first?["ip"].string
    }

    mutating func installManagedControlPlane(now: Double) {
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        var revision: JSON = [
            "metadata": [
                "name": .string(identity.revision), "namespace": "istio-system",
                "labels": ["mesh.cloud.google.com/managed-cni-enabled": "true"],
            ],
            "spec": ["type": "managed_service", "channel": "regular"],
        ]
        revision["status"] = [
            "conditions": [
                [
                    "type": "Reconciled", "status": "True", "reason": "ReconcileSucceeded",
                    "message": "Revision successfully reconciled", "lastTransitionTime": stamp,
                ],
                [
                    "type": "Stalled", "status": "False", "reason": "NotStalled",
                    "message": "Reconciliation succeeded", "lastTransitionTime": stamp,
                ],
                [
                    "type": "ProvisioningFinished", "status": "True", "reason": "Provisioned",
                    "message": "Provisioning finished", "lastTransitionTime": stamp,
                ],
            ]
        ]
        createInstalled(.controlPlaneRevisions, revision, now: now)
        createInstalled(
            .configMaps,
            [
                "metadata": ["name": "asm-options", "namespace": "istio-system"],
                "data": ["multicluster_mode": .string(identity.managedDiscovery)],
            ], now: now)
    }

    mutating func installEastWestGateway(now: Double) {
        let labels: JSON = [
            "app": "istio-eastwestgateway", "istio": "eastwestgateway",
            "topology.istio.io/network": .string(identity.network),
        ]
        var podLabels = labels
        podLabels["sidecar.istio.io/inject"] = "false"
        podLabels["service.istio.io/canonical-name"] = "istio-eastwestgateway"
        createInstalled(
            .deployments,
            [
                "metadata": ["name": "istio-eastwestgateway", "namespace": "istio-system", "labels": labels],
                "spec": [
                    "replicas": 1, "selector": ["matchLabels": ["app": "istio-eastwestgateway", "istio": "eastwestgateway"]],
                    "template": [
                        "metadata": ["labels": podLabels],
                        "spec": [
                            "containers": [
                                [
                                    "name": "istio-proxy", "image": .string(identity.proxyImage),
                                    "args": ["proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
                                    "ports": [
                                        ["containerPort": 15021], ["containerPort": 15443], ["containerPort": 15012],
                                        ["containerPort": 15017],
                                    ],
                                    "env": [
                                        ["name": "ISTIO_META_ROUTER_MODE", "value": "sni-dnat"],
                                        ["name": "ISTIO_META_REQUESTED_NETWORK_VIEW", "value": .string(identity.network)],
                                        ["name": "ISTIO_META_CLUSTER_ID", "value": .string(identity.name)],
                                    ],
                                ]
                            ]
                        ],
                    ],
                ],
            ], now: now)
        createInstalled(
            .services,
            [
                "metadata": ["name": "istio-eastwestgateway", "namespace": "istio-system", "labels": labels],
                "spec": [
                    "type": "LoadBalancer",
                    "selector": ["app": "istio-eastwestgateway", "istio": "eastwestgateway"],
                    "ports": [
                        ["name": "status-port", "port": 15021, "targetPort": 15021],
                        ["name": "tls", "port": 15443, "targetPort": 15443],
                        ["name": "tls-istiod", "port": 15012, "targetPort": 15012],
                        ["name": "tls-webhook", "port": 15017, "targetPort": 15017],
                    ],
                ],
            ], now: now)
    }

    /// The Secret `istioctl create-remote-secret --name <peer>` produces, holding a kubeconfig for the peer.
    package static func remoteSecret(peer: String, kubeconfig: String) -> JSON {
        [
            "metadata": [
                "name": .string("istio-remote-secret-\(peer)"), "namespace": "istio-system",
                "labels": ["istio/multiCluster": "true"],
                "annotations": ["networking.istio.io/cluster": .string(peer)],
            ],
            "type": "Opaque",
            "data": .object([peer: .string(Base64.encode(Array(kubeconfig.utf8)))]),
        ]
    }

    package mutating func installRemoteSecret(peer: String, kubeconfig: String, now: Double) {
        createInstalled(.secrets, Self.remoteSecret(peer: peer, kubeconfig: kubeconfig), now: now)
    }

    // MARK: Load balancers (the cloud controller's part)

    /// Gives LoadBalancer Services an address, as GKE's cloud controller does shortly after creation. The
    /// addresses come from TEST-NET-1 (192.0.2.0/24): reported only, never dialled.
    mutating func assignLoadBalancerAddresses() {
        var next = 10 * identity.index
        for service in store.list(.services, namespace: nil) where service["spec"]["type"].string == "LoadBalancer" {
            next += 1
            if !(service["status"]["loadBalancer"]["ingress"].array ?? []).isEmpty { continue }
            var updated = service
            updated["status"]["loadBalancer"]["ingress"] = [["ip": .string("192.0.2.\(next % 250 + 1)"), "ipMode": "VIP"]]
            put(.services, updated)
        }
    }

    // MARK: Per-namespace defaults

    /// The `default` ServiceAccount and `kube-root-ca.crt` every namespace gets from its controllers.
    mutating func publishNamespaceDefaults(now: Double, clusterCAPEM: String) {
        for namespace in store.list(.namespaces, namespace: nil) where namespace["status"]["phase"].string == "Active" {
            let name = namespace["metadata"]["name"].string ?? ""
            if store.get(.serviceAccounts, namespace: name, name: "default") == nil {
                createInstalled(.serviceAccounts, ["metadata": ["name": "default", "namespace": .string(name)]], now: now)
            }
            if !clusterCAPEM.isEmpty, store.get(.configMaps, namespace: name, name: "kube-root-ca.crt") == nil {
                createInstalled(
                    .configMaps,
                    [
                        "metadata": ["name": "kube-root-ca.crt", "namespace": .string(name)],
                        "data": ["ca.crt": .string(clusterCAPEM)],
                    ], now: now)
            }
        }
    }
}
