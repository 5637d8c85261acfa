// Level-triggered controllers of a simulated cluster: each pass compares desired and observed state and
// moves one step, returning when the next timed step is due (pod start, pod removal, namespace finalisation).

extension ClusterState {
    /// Runs every controller until nothing changes; returns the time of the next pending timed step.
    package mutating func reconcile(now: Double) -> Double? {
        for _ in 0..<8 {
            let before = store.resourceVersion
            reconcileNamespaces(now: now)
            garbageCollect(now: now)
            reconcileDeployments(now: now)
            reconcileReplicaSets(now: now)
            reconcilePods(now: now)
            reconcileEndpoints(now: now)
            publishRootCertificate(now: now)
            publishNamespaceDefaults(now: now, clusterCAPEM: clusterCACertificatePEM)
            assignLoadBalancerAddresses()
            if store.resourceVersion == before { break }
        }
        // Only future steps: a namespace held Terminating by a hang fault stays past due and must not spin.
        let due =
            Array(podRunningAt.values) + Array(podRemoveAt.values) + Array(namespaceFinalizeAt.values)
            + podFaultSteps.values.map(\.due) + Array(replicaSetRetryAt.values)
        return due.filter { $0 > now }.min()
    }

    // MARK: Namespaces

    mutating func reconcileNamespaces(now: Double) {
        for namespace in store.list(.namespaces, namespace: nil)
        where namespace["status"]["phase"].string == "Terminating" {
            let name = namespace["metadata"]["name"].string ?? ""
            var remaining = 0
            for resource in ResourceType.all where resource.namespaced {
                for object in store.list(resource, namespace: name) {
                    remaining += 1
                    if resource == .pods {
                        _ = beginPodDeletion(object, gracePeriod: nil, now: now)
                    } else {
                        removeObject(resource, namespace: name, name: object["metadata"]["name"].string ?? "")
                        remaining -= 1
                    }
                }
            }
            var updated = namespace
            let stamp = JSON.string(TimeFormat.rfc3339(now))
            let contentCondition: JSON =
                remaining > 0
                ? [
                    "type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
                    "message": .string("Some resources are remaining: pods. has \(remaining) resource instances"),
                    "lastTransitionTime": stamp,
                ]
                : [
                    "type": "NamespaceContentRemaining", "status": "False", "reason": "ContentRemoved",
                    "message": "All content successfully removed", "lastTransitionTime": stamp,
                ]
            let conditions: [JSON] = [
                [
                    "type": "NamespaceDeletionDiscoveryFailure", "status": "False", "reason": "ResourcesDiscovered",
                    "message": "All resources successfully discovered", "lastTransitionTime": stamp,
                ],
                [
                    "type": "NamespaceDeletionGroupVersionParsingFailure", "status": "False",
                    "reason": "ParsedGroupVersions", "message": "All legacy kube types successfully parsed",
                    "lastTransitionTime": stamp,
                ],
                [
                    "type": "NamespaceDeletionContentFailure", "status": "False", "reason": "ContentDeleted",
                    "message": "All content successfully deleted, may be waiting on finalization",
                    "lastTransitionTime": stamp,
                ],
                contentCondition,
                [
                    "type": "NamespaceFinalizersRemaining", "status": "False", "reason": "ContentHasNoFinalizers",
                    "message": "All content-preserving finalizers finished", "lastTransitionTime": stamp,
                ],
            ]
            let sameConditions =
                (namespace["status"]["conditions"].array ?? []).map { $0["reason"] } == conditions.map { $0["reason"] }
            if !sameConditions {
                updated["status"]["conditions"] = .array(conditions)
                put(.namespaces, updated)
            }
            let finalizeAt = namespaceFinalizeAt[name] ?? now
            if remaining == 0 && !hangNamespaceDeletion && now >= finalizeAt {
                namespaceFinalizeAt.removeValue(forKey: name)
                removeObject(.namespaces, namespace: "", name: name)
            }
        }
    }

    // MARK: Garbage collection (background propagation)

    mutating func garbageCollect(now: Double) {
        for resource in [ResourceType.replicaSets, .pods] {
            for object in store.list(resource, namespace: nil) {
                guard let owners = object["metadata"]["ownerReferences"].array, !owners.isEmpty else { continue }
                let namespace = object["metadata"]["namespace"].string ?? ""
                let alive = owners.contains { owner in
                    let ownerResource: ResourceType = owner["kind"].string == "Deployment" ? .deployments : .replicaSets
                    guard let existing = store.get(ownerResource, namespace: namespace, name: owner["name"].string ?? "")
                    else { return false }
                    return existing["metadata"]["uid"] == owner["uid"]
                }
                if alive { continue }
                if resource == .pods {
                    _ = beginPodDeletion(object, gracePeriod: nil, now: now)
                } else {
                    removeObject(resource, namespace: namespace, name: object["metadata"]["name"].string ?? "")
                }
            }
        }
    }

    // MARK: Deployments → ReplicaSets

    static func templateHash(_ template: JSON) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in template.serialized().utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return String(String(hash).utf8.map { nameAlphabet[Int($0) % nameAlphabet.count] })
    }

    func owned(_ resource: ResourceType, by owner: JSON) -> [JSON] {
        let uid = owner["metadata"]["uid"]
        return store.list(resource, namespace: owner["metadata"]["namespace"].string).filter { object in
            (object["metadata"]["ownerReferences"].array ?? []).contains { $0["uid"] == uid }
        }
    }

    static func ownerReference(_ owner: JSON) -> JSON {
        [
            "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
        ]
    }

    mutating func reconcileDeployments(now: Double) {
        for deployment in store.list(.deployments, namespace: nil) where deployment["metadata"]["deletionTimestamp"].isNull {
            let namespace = deployment["metadata"]["namespace"].string ?? ""
            let name = deployment["metadata"]["name"].string ?? ""
            let desired = deployment["spec"]["replicas"].int ?? 1
            let template = deployment["spec"]["template"]
            let hash = Self.templateHash(template)
            let replicaSets = owned(.replicaSets, by: deployment)
            var current = replicaSets.first { $0["metadata"]["labels"]["pod-template-hash"].string == hash }
            if current == nil {
                var replicaSet: JSON = [
                    "metadata": [
                        "name": .string("\(name)-\(hash)"), "namespace": .string(namespace),
                        "labels": template["metadata"]["labels"], "ownerReferences": [Self.ownerReference(deployment)],
                        "annotations": [
                            "deployment.kubernetes.io/desired-replicas": .string(String(desired)),
                            "deployment.kubernetes.io/max-replicas": .string(String(desired + 1)),
                            "deployment.kubernetes.io/revision": .string(String(replicaSets.count + 1)),
                        ],
                    ],
                    "spec": [
                        "replicas": .int(desired), "selector": deployment["spec"]["selector"], "template": template,
                    ],
                ]
                replicaSet["metadata"]["labels"]["pod-template-hash"] = .string(hash)
                replicaSet["spec"]["selector"]["matchLabels"]["pod-template-hash"] = .string(hash)
                replicaSet["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = .string(hash)
                stampNewObject(&replicaSet, resource: .replicaSets, now: now)
                replicaSet["status"] = ["replicas": 0]
                current = put(.replicaSets, replicaSet)
            }
            for replicaSet in owned(.replicaSets, by: deployment) {
                let isCurrent = replicaSet["metadata"]["name"] == current?["metadata"]["name"]
                let want = isCurrent ? desired : 0
                if replicaSet["spec"]["replicas"].int != want {
                    var updated = replicaSet
                    updated["spec"]["replicas"] = .int(want)
                    updated["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = .string(
                        String(desired))
                    updated["metadata"]["generation"] = .int((replicaSet["metadata"]["generation"].int ?? 1) + 1)
                    put(.replicaSets, updated)
                }
            }
            updateDeploymentStatus(deployment, currentName: current?["metadata"]["name"].string ?? "", now: now)
        }
    }

    mutating func updateDeploymentStatus(_ deployment: JSON, currentName: String, now: Double) {
        let desired = deployment["spec"]["replicas"].int ?? 1
        var replicas: Int64 = 0
        var updated: Int64 = 0
        var ready: Int64 = 0
        for replicaSet in owned(.replicaSets, by: deployment) {
            let count = replicaSet["status"]["replicas"].int ?? 0
            replicas += count
            ready += replicaSet["status"]["readyReplicas"].int ?? 0
            if replicaSet["metadata"]["name"].string == currentName { updated = count }
        }
        let maxUnavailable = desired / 4
        let available = ready >= desired - maxUnavailable
        let complete = updated == desired && replicas == desired && ready == desired
        let old = deployment["status"]
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        func condition(_ type: String, _ status: Bool, _ reason: String, _ message: String) -> JSON {
            let previous = (old["conditions"].array ?? []).first { $0["type"].string == type }
            let same = previous?["status"].string == (status ? "True" : "False") && previous?["reason"].string == reason
            return [
                "type": .string(type), "status": status ? "True" : "False", "reason": .string(reason),
                "message": .string(message), "lastUpdateTime": same ? previous!["lastUpdateTime"] : stamp,
                "lastTransitionTime": previous?["status"].string == (status ? "True" : "False")
                    ? previous!["lastTransitionTime"] : stamp,
            ]
        }
        var status: JSON = [
            "observedGeneration": deployment["metadata"]["generation"], "replicas": .int(replicas),
            "updatedReplicas": .int(updated), "readyReplicas": .int(ready), "availableReplicas": .int(ready),
            "conditions": [
                available
                    ? condition("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.")
                    : condition(
                        "Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                complete
                    ? condition(
                        "Progressing", true, "NewReplicaSetAvailable",
                        "ReplicaSet \"\(currentName)\" has successfully progressed.")
                    : condition(
                        "Progressing", true, "ReplicaSetUpdated", "ReplicaSet \"\(currentName)\" is progressing."),
            ],
        ]
        // The deployment controller copies the new ReplicaSet's ReplicaFailure into the Deployment.
        let currentConditions =
            owned(.replicaSets, by: deployment).first { $0["metadata"]["name"].string == currentName }?["status"]["conditions"]
        let replicaSetFailure = (currentConditions?.array ?? []).first { $0["type"].string == "ReplicaFailure" }
        if let replicaSetFailure {
            let previous = (old["conditions"].array ?? []).first { $0["type"].string == "ReplicaFailure" }
            var copied = replicaSetFailure
            copied["lastUpdateTime"] = previous?["lastUpdateTime"] ?? .string(TimeFormat.rfc3339(now))
            status["conditions"] = .array((status["conditions"].array ?? []) + [copied])
        }
        if replicas - ready > 0 { status["unavailableReplicas"] = .int(replicas - ready) }
        if ready == 0 {
            status["readyReplicas"] = .null
            status["availableReplicas"] = .null
        }
        if updated == 0 { status["updatedReplicas"] = .null }
        if replicas == 0 { status["replicas"] = .null }
        if status != old {
            var changed = deployment
            changed["status"] = status
            put(.deployments, changed)
        }
    }

    // MARK: ReplicaSets → Pods

    mutating func reconcileReplicaSets(now: Double) {
        if !replicaSetRetryAt.isEmpty {
            let live = Set(store.list(.replicaSets, namespace: nil).compactMap { $0["metadata"]["uid"].string })
            replicaSetRetryAt = replicaSetRetryAt.filter { live.contains($0.key) }
        }
        for replicaSet in store.list(.replicaSets, namespace: nil) {
            let namespace = replicaSet["metadata"]["namespace"].string ?? ""
            guard namespacePhase(namespace) == "Active" else { continue }
            let desired = Int(replicaSet["spec"]["replicas"].int ?? 1)
            let pods = owned(.pods, by: replicaSet).filter { $0["metadata"]["deletionTimestamp"].isNull }
            // Cleared by any pass that is not refused, as the ReplicaSet controller does.
            var replicaFailure: JSON?
            if pods.count < desired, let reason = podFaults.denyPods {
                replicaFailure = refusePodCreates(replicaSet, reason: reason, now: now)
            } else if pods.count < desired {
                replicaSetRetryAt.removeValue(forKey: replicaSet["metadata"]["uid"].string ?? "")
                for _ in pods.count..<desired {
                    let template = replicaSet["spec"]["template"]
                    let base = replicaSet["metadata"]["name"].string ?? "pod"
                    var pod: JSON = [
                        "metadata": [
                            "name": .string("\(base)-\(randomSuffix(5))"), "namespace": .string(namespace),
                            "generateName": .string("\(base)-"), "labels": template["metadata"]["labels"],
                            "annotations": template["metadata"]["annotations"],
                            "ownerReferences": [Self.ownerReference(replicaSet)],
                        ],
                        "spec": template["spec"],
                    ]
                    admitNewPod(&pod, now: now)
                    storeNewPod(pod, now: now)
                }
            } else if pods.count > desired {
                let newestFirst = pods.sorted {
                    ($0["metadata"]["creationTimestamp"].string ?? "", $0["metadata"]["name"].string ?? "")
                        > ($1["metadata"]["creationTimestamp"].string ?? "", $1["metadata"]["name"].string ?? "")
                }
                for pod in newestFirst.prefix(pods.count - desired) {
                    _ = beginPodDeletion(pod, gracePeriod: nil, now: now)
                }
            }
            let live = owned(.pods, by: replicaSet).filter { $0["metadata"]["deletionTimestamp"].isNull }
            let ready = live.filter(Self.isReady).count
            var status: JSON = [
                "replicas": .int(Int64(live.count)), "fullyLabeledReplicas": .int(Int64(live.count)),
                "readyReplicas": .int(Int64(ready)), "availableReplicas": .int(Int64(ready)),
                "observedGeneration": replicaSet["metadata"]["generation"],
            ]
            if ready == 0 {
                status["readyReplicas"] = .null
                status["availableReplicas"] = .null
            }
            if live.isEmpty { status["fullyLabeledReplicas"] = .null }
            if let replicaFailure { status["conditions"] = [replicaFailure] }
            if status != replicaSet["status"] {
                var changed = store.get(.replicaSets, namespace: namespace, name: replicaSet["metadata"]["name"].string ?? "") ?? replicaSet
                changed["status"] = status
                put(.replicaSets, changed)
            }
        }
    }

    static func isReady(_ pod: JSON) -> Bool {
        pod["status"]["phase"].string == "Running" && pod["metadata"]["deletionTimestamp"].isNull
            && (pod["status"]["conditions"].array ?? []).contains {
                $0["type"].string == "Ready" && $0["status"].string == "True"
            }
    }

    // MARK: Pod lifecycle

    mutating func reconcilePods(now: Double) {
        retryUnschedulablePods(now: now)
        for (uid, due) in podRunningAt where due <= now {
            podRunningAt.removeValue(forKey: uid)
            guard let pod = store.list(.pods, namespace: nil).first(where: { $0["metadata"]["uid"].string == uid }),
                pod["metadata"]["deletionTimestamp"].isNull
            else { continue }
            startContainers(pod, now: now)
        }
        advancePodFaults(now: now)
        for (uid, due) in podRemoveAt where due <= now {
            if let pod = store.list(.pods, namespace: nil).first(where: { $0["metadata"]["uid"].string == uid }) {
                finishPodDeletion(pod)
            } else {
                podRemoveAt.removeValue(forKey: uid)
            }
        }
    }

    // MARK: Endpoints (derived from Services and ready Pods)

    mutating func reconcileEndpoints(now: Double) {
        for service in store.list(.services, namespace: nil) {
            let namespace = service["metadata"]["namespace"].string ?? ""
            let name = service["metadata"]["name"].string ?? ""
            guard let selector = service["spec"]["selector"].object, !selector.isEmpty else { continue }
            let wanted = JSON(stringMap: selector.mapValues { $0.string ?? "" }).stringMap
            let pods = store.list(.pods, namespace: namespace).filter { pod in
                let labels = pod["metadata"]["labels"].stringMap
                return wanted.allSatisfy { labels[$0.key] == $0.value } && pod["status"]["podIP"].string != nil
            }
            func address(_ pod: JSON) -> JSON {
                [
                    "ip": pod["status"]["podIP"], "nodeName": pod["spec"]["nodeName"],
                    "targetRef": [
                        "kind": "Pod", "namespace": .string(namespace), "name": pod["metadata"]["name"],
                        "uid": pod["metadata"]["uid"],
                    ],
                ]
            }
            let ready = pods.filter(Self.isReady).map(address)
            let notReady = pods.filter { !Self.isReady($0) }.map(address)
            let ports: [JSON] = (service["spec"]["ports"].array ?? []).map { port in
                let target = port["targetPort"].int ?? port["port"].int ?? 0
                return ["name": port["name"], "port": .int(target), "protocol": port["protocol"]]
            }
            var subset: JSON = ["ports": .array(ports)]
            if !ready.isEmpty { subset["addresses"] = .array(ready) }
            if !notReady.isEmpty { subset["notReadyAddresses"] = .array(notReady) }
            let subsets: JSON = ready.isEmpty && notReady.isEmpty ? .null : [subset]
            let existing = store.get(.endpoints, namespace: namespace, name: name)
            if let existing, existing["subsets"] == subsets { continue }
            var endpoints =
                existing ?? [
                    "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": service["metadata"]["labels"]]
                ]
            if existing == nil { stampNewObject(&endpoints, resource: .endpoints, now: now) }
            endpoints["subsets"] = subsets
            put(.endpoints, endpoints)
        }
        for endpoints in store.list(.endpoints, namespace: nil) {
            let namespace = endpoints["metadata"]["namespace"].string ?? ""
            let name = endpoints["metadata"]["name"].string ?? ""
            if store.get(.services, namespace: namespace, name: name) == nil {
                removeObject(.endpoints, namespace: namespace, name: name)
            }
        }
    }

    // MARK: Plug-in CA

    static func isIstiod(_ pod: JSON) -> Bool {
        pod["metadata"]["namespace"].string == "istio-system" && pod["metadata"]["labels"]["app"].string == "istiod"
    }

    /// The root of istio-system's `cacerts`, which istiod reads once, when it starts (Istio's plug-in CA):
    /// creating or changing the Secret takes effect at the next istiod start (`kubectl rollout restart
    /// deployment/<istiod> -n istio-system`). Without a complete `cacerts` istiod keeps the CA it has.
    func pluggedInRootCertificate() -> String? {
        guard let data = store.get(.secrets, namespace: "istio-system", name: "cacerts")?["data"],
            ["ca-cert.pem", "ca-key.pem", "cert-chain.pem"].allSatisfy({ !data[$0].isNull }),
            let encoded = data["root-cert.pem"].string, let root = Base64.decode(encoded),
            let pem = String(bytes: root, encoding: .utf8), pem.contains("-----BEGIN CERTIFICATE-----")
        else { return nil }
        return pem
    }

    // MARK: istio-ca-root-cert in every namespace

    mutating func publishRootCertificate(now: Double) {
        for namespace in store.list(.namespaces, namespace: nil) where namespace["status"]["phase"].string == "Active" {
            let name = namespace["metadata"]["name"].string ?? ""
            let existing = store.get(.configMaps, namespace: name, name: "istio-ca-root-cert")
            if existing?["data"]["root-cert.pem"].string == meshRootCertificatePEM { continue }
            var configMap =
                existing ?? [
                    "metadata": [
                        "name": "istio-ca-root-cert", "namespace": .string(name),
                        "labels": ["istio.io/config": "true"],
                    ]
                ]
            if existing == nil { stampNewObject(&configMap, resource: .configMaps, now: now) }
            configMap["data"] = ["root-cert.pem": .string(meshRootCertificatePEM)]
            put(.configMaps, configMap)
        }
    }
}
