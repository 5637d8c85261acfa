import MeshSimRuntime
import Testing

@testable import MeshSim

/// Drives one cluster's state through its REST handler with a manual clock.
struct ClusterHarness {
    var state: ClusterState
    var now: Double = 1_795_432_819

    /// `configure` changes the identity before the install (a remote's primary, a managed discovery mode).
    init(managed: Bool = false, logCapacity: Int? = nil, name: String = "cluster-1", configure: (inout ClusterIdentity) -> Void = { _ in }) {
        var identity = ClusterIdentity(
            name: name, index: Int(name.split(separator: "-").last ?? "1") ?? 1, revision: managed ? "asm-managed" : "asm-1-23",
            managedControlPlane: managed)
        configure(&identity)
        state = ClusterState(identity: identity, timings: ClusterTimings(), meshRootCertificatePEM: "ROOT-PEM", seed: 42)
        if let logCapacity { state.store = ObjectStore(logCapacity: logCapacity) }
        state.installBaseAndMesh(now: now)
        advance(1)
        advance(1)
    }

    /// Moves the clock and runs the controllers; pods the runtime would start become ready at once.
    mutating func advance(_ seconds: Double) {
        now += seconds
        settle()
    }

    mutating func settle() {
        for _ in 0..<4 {
            _ = state.reconcile(now: now)
            let started = state.takeRuntimeActions().compactMap { action -> String? in
                if case .start(let launch) = action { return launch.uid }
                return nil
            }
            if started.isEmpty { return }
            for uid in started { state.markPodReady(uid: uid, now: now) }
        }
    }

    @discardableResult
    mutating func call(
        _ method: String, _ path: String, _ body: JSON? = nil, contentType: String = "application/json",
        accept: String = "application/json"
    ) -> APIResponse {
        let request = APIRequest(
            method: method, uri: path, headers: ["content-type": contentType, "accept": accept],
            body: body?.serializedBytes() ?? [], user: "admin")
        let outcome = state.handle(request, now: now, serverAddress: "127.0.0.1:1")
        settle()
        guard case .response(let response) = outcome else {
            Issue.record("\(method) \(path) did not produce a plain response")
            return APIResponse(status: 0, headers: [], body: [])
        }
        return response
    }

    func object(_ resource: ResourceType, _ namespace: String, _ name: String) -> JSON? {
        state.store.get(resource, namespace: namespace, name: name)
    }

    func pods(_ namespace: String) -> [JSON] { state.store.list(.pods, namespace: namespace) }

    static func namespace(_ name: String, labels: [String: String] = [:]) -> JSON {
        ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name), "labels": JSON(stringMap: labels)]]
    }

    static func deployment(
        _ name: String, labels: [String: String], image: String = "registry.istio.io/release/examples-helloworld-v1:1.0",
        replicas: Int64 = 1
    ) -> JSON {
        [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name)],
            "spec": [
                "replicas": .int(replicas), "selector": ["matchLabels": JSON(stringMap: labels)],
                "template": [
                    "metadata": ["labels": JSON(stringMap: labels)],
                    "spec": ["containers": [["name": "app", "image": .string(image)]]],
                ],
            ],
        ]
    }
}

@Suite struct ClusterLifecycleTests {
    @Test func installedMeshObjectsArePresentAndRunning() {
        let cluster = ClusterHarness()
        #expect(cluster.object(.namespaces, "", "istio-system")?["metadata"]["labels"]["topology.istio.io/network"] == "network-1")
        #expect(cluster.object(.deployments, "istio-system", "istiod-asm-1-23")?["status"]["availableReplicas"] == 1)
        #expect(cluster.object(.gateways, "istio-system", "cross-network-gateway") != nil)
        #expect(cluster.object(.configMaps, "default", "istio-ca-root-cert")?["data"]["root-cert.pem"] == "ROOT-PEM")
        let gateway = cluster.object(.services, "istio-system", "istio-eastwestgateway")
        #expect(gateway?["status"]["loadBalancer"]["ingress"].array?.first?["ip"].string?.hasPrefix("192.0.2.") == true)
        let pods = cluster.pods("istio-system")
        #expect(pods.count == 2 && pods.allSatisfy { $0["status"]["phase"] == "Running" })
    }

    @Test func managedControlPlaneHasARevisionObjectAndNoIstiod() {
        let cluster = ClusterHarness(managed: true)
        let revision = cluster.object(.controlPlaneRevisions, "istio-system", "asm-managed")
        #expect(revision?["status"]["conditions"].array?.contains { $0["type"] == "Reconciled" && $0["status"] == "True" } == true)
        #expect(
            cluster.state.store.list(.deployments, namespace: "istio-system").map { $0["metadata"]["name"] }
                == ["istio-eastwestgateway"])
    }

    @Test func createConflictsAndOptimisticConcurrency() {
        var cluster = ClusterHarness()
        #expect(cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample")).status == 201)
        let again = cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        #expect(again.status == 409 && again.json?["reason"] == "AlreadyExists")
        #expect(again.json?["message"] == #"namespaces "sample" already exists"#)
        let configMap: JSON = ["metadata": ["name": "c"], "data": ["k": "v"]]
        let created = cluster.call("POST", "/api/v1/namespaces/sample/configmaps", configMap).json ?? .null
        var stale = created
        stale["data"]["k"] = "w"
        #expect(cluster.call("PUT", "/api/v1/namespaces/sample/configmaps/c", stale).status == 200)
        let conflict = cluster.call("PUT", "/api/v1/namespaces/sample/configmaps/c", stale)
        #expect(conflict.status == 409 && conflict.json?["reason"] == "Conflict")
        let withVersion = cluster.call("POST", "/api/v1/namespaces/sample/configmaps", created)
        #expect(withVersion.status == 400)
        #expect(
            cluster.call("GET", "/api/v1/namespaces/sample/configmaps/missing").json?["message"]
                == #"configmaps "missing" not found"#)
        #expect(cluster.call("POST", "/api/v1/namespaces/nowhere/configmaps", configMap).status == 404)
        #expect(
            cluster.call("GET", "/apis/apps/v1/namespaces/sample/deployments/x").json?["message"]
                == #"deployments.apps "x" not found"#)
    }

    @Test func deploymentRollsOutPodsAndScales() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let created = cluster.call(
            "POST", "/apis/apps/v1/namespaces/sample/deployments",
            ClusterHarness.deployment("helloworld-v1", labels: ["app": "helloworld", "version": "v1"]))
        #expect(created.status == 201)
        let pending = cluster.pods("sample")
        #expect(pending.count == 1 && pending[0]["status"]["phase"] == "Pending")
        let name = pending[0]["metadata"]["name"].string ?? ""
        #expect(name.hasPrefix("helloworld-v1-") && name.split(separator: "-").last?.count == 5)
        cluster.advance(0.5)
        #expect(cluster.pods("sample").first?["status"]["phase"] == "Running")
        let status = cluster.object(.deployments, "sample", "helloworld-v1")?["status"] ?? .null
        #expect(status["observedGeneration"] == 1 && status["readyReplicas"] == 1 && status["updatedReplicas"] == 1)
        #expect(status["conditions"].array?.contains { $0["type"] == "Available" && $0["status"] == "True" } == true)

        let scaled = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/sample/deployments/helloworld-v1/scale",
            ["spec": ["replicas": 3]], contentType: "application/merge-patch+json")
        #expect(scaled.json?["spec"]["replicas"] == 3 && scaled.json?["kind"] == "Scale")
        #expect(cluster.object(.deployments, "sample", "helloworld-v1")?["metadata"]["generation"] == 2)
        cluster.advance(0.5)
        #expect(cluster.pods("sample").filter { $0["status"]["phase"] == "Running" }.count == 3)
        cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/sample/deployments/helloworld-v1/scale",
            ["spec": ["replicas": 0]], contentType: "application/merge-patch+json")
        #expect(cluster.pods("sample").allSatisfy { !$0["metadata"]["deletionTimestamp"].isNull })
        cluster.advance(2)
        #expect(cluster.pods("sample").isEmpty)
        #expect(cluster.object(.deployments, "sample", "helloworld-v1")?["status"]["replicas"].isNull == true)
    }

    @Test func deletingADeploymentCollectsItsReplicaSetsAndPods() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        cluster.call(
            "POST", "/apis/apps/v1/namespaces/sample/deployments",
            ClusterHarness.deployment("d", labels: ["app": "d"]))
        cluster.advance(0.5)
        #expect(cluster.call("DELETE", "/apis/apps/v1/namespaces/sample/deployments/d").json?["status"] == "Success")
        cluster.advance(2)
        #expect(cluster.state.store.list(.replicaSets, namespace: "sample").isEmpty)
        #expect(cluster.pods("sample").isEmpty)
    }

    @Test func podDeletionHonoursTheGracePeriod() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let pod: JSON = ["metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "busybox:1"]]]]
        #expect(cluster.call("POST", "/api/v1/namespaces/sample/pods", pod).status == 201)
        cluster.advance(0.5)
        let deleted = cluster.call("DELETE", "/api/v1/namespaces/sample/pods/p")
        #expect(deleted.status == 200 && deleted.json?["metadata"]["deletionGracePeriodSeconds"] == 30)
        #expect(cluster.object(.pods, "sample", "p") != nil)
        cluster.advance(1.1)
        #expect(cluster.object(.pods, "sample", "p") == nil)
        #expect(cluster.call("POST", "/api/v1/namespaces/sample/pods", pod).status == 201)
        cluster.advance(0.5)
        cluster.call("DELETE", "/api/v1/namespaces/sample/pods/p?gracePeriodSeconds=0")
        #expect(cluster.object(.pods, "sample", "p") == nil)
    }

    @Test func namespaceTerminationLifecycle() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("d", labels: ["a": "b"]))
        cluster.advance(0.5)
        let deleted = cluster.call("DELETE", "/api/v1/namespaces/sample")
        #expect(deleted.status == 200 && deleted.json?["status"]["phase"] == "Terminating")
        let inside = cluster.call("POST", "/api/v1/namespaces/sample/configmaps", ["metadata": ["name": "x"]])
        #expect(inside.status == 403)
        #expect(inside.json?["details"]["causes"].array?.first?["reason"] == "NamespaceTerminating")
        let recreate = cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        #expect(recreate.status == 409)
        #expect(recreate.json?["message"].string?.hasPrefix("object is being deleted: ") == true)
        #expect(cluster.object(.namespaces, "", "sample")?["status"]["conditions"].array?.isEmpty == false)
        cluster.advance(1.5)
        #expect(cluster.object(.namespaces, "", "sample") == nil)
        #expect(cluster.pods("sample").isEmpty)
        #expect(cluster.call("DELETE", "/api/v1/namespaces/default").status == 403)
    }

    @Test func namespaceDeletionCanBeMadeToHang() {
        var cluster = ClusterHarness()
        cluster.state.hangNamespaceDeletion = true
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("stuck"))
        cluster.call("DELETE", "/api/v1/namespaces/stuck")
        cluster.advance(5)
        #expect(cluster.object(.namespaces, "", "stuck")?["status"]["phase"] == "Terminating")
        // Nothing is due any more: a hanging namespace must not keep the controller timer firing.
        #expect(cluster.state.reconcile(now: cluster.now) == nil)
        cluster.state.hangNamespaceDeletion = false
        cluster.advance(0.1)
        #expect(cluster.object(.namespaces, "", "stuck") == nil)
    }

    @Test func sidecarInjectionFollowsIstioRules() {
        let revision = "asm-1-23"
        let cases: [([String: String], [String: String], Bool)] = [
            (["istio.io/rev": revision], [:], true), (["istio.io/rev": "asm-1-22"], [:], false),
            (["istio-injection": "enabled"], [:], true), (["istio-injection": "disabled"], ["sidecar.istio.io/inject": "true"], false),
            (["istio-injection": "enabled"], ["sidecar.istio.io/inject": "false"], false),
            (["istio-injection": "enabled", "istio.io/rev": "other"], [:], true),
            ([:], ["sidecar.istio.io/inject": "true"], true), ([:], [:], false), ([:], ["istio.io/rev": revision], true),
        ]
        for (namespaceLabels, podLabels, expected) in cases {
            #expect(
                ClusterState.injectionApplies(podLabels: podLabels, namespaceLabels: namespaceLabels, revision: revision)
                    == expected, "\(namespaceLabels) \(podLabels)")
        }
    }

    @Test func injectedPodsShowTwoOfTwoInTheTable() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("d", labels: ["app": "d"]))
        let pod = cluster.pods("sample").first ?? .null
        #expect(pod["metadata"]["annotations"]["sidecar.istio.io/status"].isNull == false)
        #expect(pod["spec"]["containers"].array?.map { $0["name"] } == ["app", "istio-proxy"])
        cluster.advance(0.5)
        let table =
            cluster.call(
                "GET", "/api/v1/namespaces/sample/pods",
                accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
            ).json ?? .null
        #expect(table["kind"] == "Table")
        let cells = table["rows"].array?.first?["cells"].array ?? []
        #expect(cells.count == 9 && cells[1] == "2/2" && cells[2] == "Running")
    }

    @Test func readyColumnCountsNativeSidecars() {
        let pod: JSON = [
            "spec": [
                "containers": [["name": "app"]],
                "initContainers": [["name": "istio-proxy", "restartPolicy": "Always"], ["name": "init"]],
            ],
            "status": [
                "containerStatuses": [["name": "app", "ready": true]],
                "initContainerStatuses": [
                    ["name": "istio-proxy", "ready": true, "started": true],
                    ["name": "init", "ready": false],
                ],
            ],
        ]
        #expect(Tables.podReadiness(pod) == (2, 2))
    }

    @Test func patchesAsKubectlSendsThem() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio-injection": "enabled"]))
        let labelled = cluster.call(
            "PATCH", "/api/v1/namespaces/sample",
            try! JSON.parse(#"{"metadata":{"labels":{"istio-injection":null,"istio.io/rev":"asm-1-23"}}}"#),
            contentType: "application/merge-patch+json")
        #expect(
            labelled.json?["metadata"]["labels"].stringMap
                == ["istio.io/rev": "asm-1-23", "kubernetes.io/metadata.name": "sample"])
        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("d", labels: ["app": "d"]))
        let strategic = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/sample/deployments/d",
            ["spec": ["template": ["spec": ["containers": [["name": "app", "image": "other:2"]]]]]],
            contentType: "application/strategic-merge-patch+json")
        #expect(strategic.json?["spec"]["template"]["spec"]["containers"].array?.first?["image"] == "other:2")
        let json = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/sample/deployments/d",
            [["op": "replace", "path": "/spec/replicas", "value": 2]], contentType: "application/json-patch+json")
        #expect(json.json?["spec"]["replicas"] == 2)
        let immutable = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/sample/deployments/d",
            ["spec": ["selector": ["matchLabels": ["app": "e"]]]], contentType: "application/merge-patch+json")
        #expect(immutable.status == 422)
        #expect(cluster.call("PATCH", "/apis/apps/v1/namespaces/sample/deployments/d", ["x": 1]).status == 415)
    }

    /// What the Python clients found: server-side apply without `fieldManager` and `force` on a non-apply patch are
    /// refused with 422 and apimachinery's PatchOptions messages before the body is looked at.
    @Test func patchOptionsAreValidatedAsARealServerDoes() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let configMap: JSON = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "c"], "data": ["k": "v"]]
        let apply = "application/apply-patch+yaml"
        let unnamed = cluster.call("PATCH", "/api/v1/namespaces/sample/configmaps/c", configMap, contentType: apply)
        #expect(unnamed.status == 422)
        #expect(unnamed.json?["message"] == "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        #expect(unnamed.json?["details"]["kind"] == "PatchOptions" && unnamed.json?["details"]["group"] == "meta.k8s.io")
        #expect(unnamed.json?["details"]["causes"].array?.first?["reason"] == "FieldValueRequired")
        #expect(cluster.call("PATCH", "/api/v1/namespaces/sample/configmaps/c?fieldManager=", configMap, contentType: apply).status == 422)
        let applied = cluster.call("PATCH", "/api/v1/namespaces/sample/configmaps/c?fieldManager=test&force=true", configMap, contentType: apply)
        #expect(applied.status == 201 || applied.status == 200)
        let forced = cluster.call(
            "PATCH", "/api/v1/namespaces/sample/configmaps/c?force=false", ["data": ["k": "w"]], contentType: "application/merge-patch+json")
        #expect(forced.status == 422)
        #expect(forced.json?["message"] == "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch")
        #expect(forced.json?["details"]["causes"].array?.first?["reason"] == "FieldValueForbidden")
        let merged = cluster.call(
            "PATCH", "/api/v1/namespaces/sample/configmaps/c?fieldManager=test", ["data": ["k": "w"]], contentType: "application/merge-patch+json")
        #expect(merged.status == 200 && merged.json?["data"]["k"] == "w")
    }

    @Test func listsFilterBySelectorsAndPaginate() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        for (name, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
            cluster.call("POST", "/api/v1/namespaces/sample/configmaps", ["metadata": ["name": .string(name), "labels": ["tier": .string(tier)]]])
        }
        let front = cluster.call("GET", "/api/v1/namespaces/sample/configmaps?labelSelector=tier%3Dfront").json
        #expect(front?["items"].array?.map { $0["metadata"]["name"] } == ["a", "c"])
        #expect(front?["kind"] == "ConfigMapList")
        let byName = cluster.call("GET", "/api/v1/namespaces/sample/configmaps?fieldSelector=metadata.name%3Db").json
        #expect(byName?["items"].array?.count == 1)
        let page = cluster.call("GET", "/api/v1/namespaces/sample/configmaps?limit=2&labelSelector=tier").json
        #expect(page?["items"].array?.count == 2 && page?["metadata"]["continue"] == "2")
        let rest = cluster.call("GET", "/api/v1/namespaces/sample/configmaps?limit=2&labelSelector=tier&continue=2").json
        #expect(rest?["items"].array?.count == 1 && rest?["metadata"]["continue"].isNull == true)
        #expect(cluster.call("GET", "/api/v1/namespaces/sample/configmaps?labelSelector=tier%20in%20front").status == 400)
    }

    @Test func watchesReplayFromAResourceVersionAndExpireOldOnes() {
        var cluster = ClusterHarness(logCapacity: 64)
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let version = cluster.state.store.resourceVersion
        cluster.call("POST", "/api/v1/namespaces/sample/configmaps", ["metadata": ["name": "x", "labels": ["w": "1"]]])
        cluster.call(
            "PATCH", "/api/v1/namespaces/sample/configmaps/x", ["metadata": ["labels": ["w": "2"]]],
            contentType: "application/merge-patch+json")
        let replay = cluster.state.addWatch(
            resource: .configMaps, namespace: "sample",
            labelSelector: try! LabelSelector.parse("w=1"), fieldSelector: .everything,
            resourceVersion: String(version), send: { _ in })
        guard case .success(let (_, initial)) = replay else {
            Issue.record("watch was refused")
            return
        }
        #expect(initial.map { $0["type"] } == ["ADDED", "DELETED"])
        for index in 0..<80 {
            cluster.call("POST", "/api/v1/namespaces/sample/configmaps", ["metadata": ["name": .string("c\(index)")]])
        }
        let expired = cluster.state.addWatch(
            resource: .configMaps, namespace: nil, labelSelector: .everything,
            fieldSelector: .everything, resourceVersion: String(version), send: { _ in })
        guard case .failure(let error) = expired else {
            Issue.record("a compacted resourceVersion was accepted")
            return
        }
        #expect(error.code == 410 && error.reason == "Expired")
    }

    @Test func execTargetsAreValidatedBeforeTheUpgrade() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        let pod: JSON = ["metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "curl:8", "env": [["name": "A", "value": "1"]]]]]]
        cluster.call("POST", "/api/v1/namespaces/sample/pods", pod)
        func exec(_ query: String) -> APIOutcome {
            cluster.state.handle(
                APIRequest(
                    method: "GET", uri: "/api/v1/namespaces/sample/pods/\(query)", headers: [:],
                    body: [], user: "admin"), now: cluster.now, serverAddress: "")
        }
        guard case .exec(let target) = exec("p/exec?command=sh&command=-c&command=echo%20a%2Bb&container=c&stdout=true&stdin=")
        else {
            Issue.record("valid exec refused")
            return
        }
        #expect(target.command == ["sh", "-c", "echo a+b"] && target.stdin && target.stdout && !target.stderr)
        #expect(target.containerEnvironment == [ContainerVariable(name: "A", value: "1")] && target.injected)
        for (query, code, message) in [
            ("q/exec?command=true&stdout=true", 404, #"pods "q" not found"#),
            ("p/exec?command=true&stdout=true&container=zz", 400, "container zz is not valid for pod p"),
            (
                "p/exec?command=true&stdout=true", 400,
                "a container name must be specified for pod p, choose one of: [c istio-proxy] or one of the init containers: [istio-init]"
            ),
        ] {
            guard case .response(let response) = exec(query) else {
                Issue.record("\(query) was accepted")
                continue
            }
            #expect(response.status == code && response.json?["message"].string == message)
        }
    }

    @Test func discoveryAndOpenAPIAnswerWhatKubectlAsks() {
        var cluster = ClusterHarness()
        let core = cluster.call("GET", "/api/v1").json ?? .null
        #expect(core["resources"].array?.contains { $0["name"] == "pods/exec" } == true)
        let apps = cluster.call("GET", "/apis/apps/v1").json ?? .null
        #expect(apps["resources"].array?.contains { $0["name"] == "deployments/scale" && $0["group"] == "autoscaling" } == true)
        let groups = cluster.call("GET", "/apis").json?["groups"].array?.compactMap { $0["name"].string } ?? []
        #expect(groups.contains("networking.istio.io") && groups.contains("mesh.cloud.google.com"))
        #expect(cluster.call("GET", "/openapi/v2").status == 404)
        let index = cluster.call("GET", "/openapi/v3").json ?? .null
        let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].string ?? ""
        let spec = cluster.call("GET", url).json ?? .null
        let patch = spec["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
        #expect(patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment")
        #expect(patch["parameters"].array?.first?["name"] == "fieldValidation")
        let review = cluster.call(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            ["spec": ["resourceAttributes": ["verb": "create", "resource": "pods"]]])
        #expect(review.json?["status"]["allowed"] == true)
    }

    @Test func servicesGetClusterIPsAndEndpointsFollowReadyPods() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample"))
        let service: JSON = ["metadata": ["name": "helloworld"], "spec": ["selector": ["app": "hw"], "ports": [["port": 5000, "name": "http"]]]]
        let created = cluster.call("POST", "/api/v1/namespaces/sample/services", service).json ?? .null
        #expect(created["spec"]["clusterIP"].string?.hasPrefix("10.101.") == true)
        #expect(created["spec"]["ports"].array?.first?["targetPort"] == 5000)
        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("hw", labels: ["app": "hw"], replicas: 2))
        #expect(cluster.object(.endpoints, "sample", "helloworld")?["subsets"].isNull == true)
        cluster.advance(0.5)
        #expect(cluster.object(.endpoints, "sample", "helloworld")?["subsets"].array?.first?["addresses"].array?.count == 2)
        cluster.call("DELETE", "/api/v1/namespaces/sample/services/helloworld")
        #expect(cluster.object(.endpoints, "sample", "helloworld") == nil)
    }
}

@Suite struct MeshViewDerivationTests {
    @Test func clusterViewFollowsTheAPIObjects() {
        var cluster = ClusterHarness()
        let peerServer = "https://127.0.0.1:6443"
        cluster.state.installRemoteSecret(
            peer: "cluster-2",
            kubeconfig: KubeconfigWriter.remoteSecretKubeconfig(
                clusterName: "cluster-2", server: peerServer, certificateAuthorityPEM: "CA", token: "t"), now: cluster.now)
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        cluster.call(
            "POST", "/api/v1/namespaces/sample/services",
            ["metadata": ["name": "helloworld"], "spec": ["selector": ["app": "hw"], "ports": [["port": 5000]]]])
        cluster.call(
            "POST", "/apis/apps/v1/namespaces/sample/deployments",
            ClusterHarness.deployment("hw", labels: ["app": "hw"], replicas: 2))
        cluster.advance(0.5)
        let endpoint: (String) -> MeshEndpoint? = { uid in
            MeshEndpoint(pod: uid, cluster: "cluster-1", host: "127.0.0.1", port: 1, version: "v1", hasSidecar: true)
        }
        var view = ClusterMeshView.clusterView(cluster.state, peerServers: ["cluster-2": peerServer], endpoint: endpoint)
        #expect(view.network == "network-1")
        #expect(view.remoteSecrets["cluster-2"]?.serverMatchesPeer == true)
        #expect(view.eastWestGatewayReadyPods == 1)
        #expect(view.rootCAFingerprint?.count == 64)
        #expect(view.services[ServiceKey(namespace: "sample", name: "helloworld")]?.endpoints.count == 2)
        #expect(view.services[ServiceKey(namespace: "sample", name: "helloworld")]?.ports == [5000])

        let moved = ClusterMeshView.clusterView(cluster.state, peerServers: ["cluster-2": "https://127.0.0.1:1"], endpoint: endpoint)
        #expect(moved.remoteSecrets["cluster-2"]?.serverMatchesPeer == false)

        cluster.call("DELETE", "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-cluster-2")
        cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway/scale",
            ["spec": ["replicas": 0]], contentType: "application/merge-patch+json")
        cluster.advance(2)
        view = ClusterMeshView.clusterView(cluster.state, peerServers: ["cluster-2": peerServer], endpoint: endpoint)
        #expect(view.remoteSecrets.isEmpty)
        #expect(view.eastWestGatewayReadyPods == 0)
        let before = view.rootCAFingerprint
        cluster.state.meshRootCertificatePEM = "OTHER-ROOT"
        cluster.advance(0.1)
        view = ClusterMeshView.clusterView(cluster.state, peerServers: [:], endpoint: endpoint)
        #expect(view.rootCAFingerprint != before)
    }
}
