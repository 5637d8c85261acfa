import MeshSimRuntime
import Testing

@testable import MeshSim

/// VirtualServices reach the data plane's view; the canary's RBAC and batch kinds are served, defaulted and
/// validated like a real API server does.
@Suite struct TrafficAndBatchKindsTests {
    static let fqdn = "helloworld.sample.svc.cluster.local"

    static let destinationRule: JSON = [
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": ["name": "helloworld"],
        "spec": [
            "host": .string(fqdn),
            "subsets": [
                ["name": "v1", "labels": ["version": "v1"]],
                ["name": "v2", "labels": ["version": "v2"]],
            ],
        ],
    ]

    static func virtualService(weights: [Int64], hosts: [String] = [fqdn]) -> JSON {
        let route: [JSON] = weights.enumerated().map { index, weight in
            ["destination": ["host": .string(fqdn), "subset": .string("v\(index + 1)"), "port": ["number": 5000]], "weight": .int(weight)]
        }
        return [
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": ["name": "helloworld"],
            "spec": [
                "hosts": .array(hosts.map { .string($0) }),
                "http": [["match": [["uri": ["prefix": "/hello"], "queryParams": ["a": ["exact": "b"]]]], "route": .array(route)]],
            ],
        ]
    }

    static func sampleCluster() -> ClusterHarness {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        return cluster
    }

    @Test func virtualServicesAndSubsetsReachTheClusterView() {
        var cluster = Self.sampleCluster()
        cluster.call(
            "POST", "/api/v1/namespaces/sample/services",
            ["metadata": ["name": "helloworld"], "spec": ["selector": ["app": "hw"], "ports": [["port": 5000]]]])
        cluster.call(
            "POST", "/apis/apps/v1/namespaces/sample/deployments",
            ClusterHarness.deployment("hw-v2", labels: ["app": "hw", "version": "v2"]))
        #expect(cluster.call("POST", "/apis/networking.istio.io/v1/namespaces/sample/destinationrules", Self.destinationRule).status == 201)
        #expect(
            cluster.call(
                "POST", "/apis/networking.istio.io/v1/namespaces/sample/virtualservices",
                Self.virtualService(weights: [25, 75])
            ).status == 201)
        cluster.advance(0.5)
        let view = ClusterMeshView.clusterView(cluster.state, peerServers: [:]) { uid in
            MeshEndpoint(pod: uid, cluster: "cluster-1", host: "127.0.0.1", port: 1, version: "v2", hasSidecar: true)
        }
        let endpoints = view.services[ServiceKey(namespace: "sample", name: "helloworld")]?.endpoints ?? []
        #expect(endpoints.count == 1 && endpoints.first?.labels["version"] == "v2")
        #expect(
            view.destinationRules == [
                DestinationRuleView(
                    namespace: "sample", name: "helloworld", creationTimestamp: TimeFormat.rfc3339(cluster.now - 0.5), host: Self.fqdn,
                    subsets: [SubsetRule(name: "v1", labels: ["version": "v1"]), SubsetRule(name: "v2", labels: ["version": "v2"])])
            ])
        let rule = view.virtualServices.first
        #expect(rule?.hosts == [Self.fqdn] && rule?.namespace == "sample")
        let route = rule?.http.first
        #expect(
            route?.destinations == [
                RouteDestinationRule(host: Self.fqdn, subset: "v1", port: 5000, weight: 25),
                RouteDestinationRule(host: Self.fqdn, subset: "v2", port: 5000, weight: 75),
            ])
        #expect(route?.matches == [HTTPMatchRule(uri: .prefix("/hello"), unmodelledConditions: ["queryParams"])])
    }

    @Test func istioWebhookRefusesRoutesItsValidationRejects() {
        var cluster = Self.sampleCluster()
        let path = "/apis/networking.istio.io/v1/namespaces/sample/virtualservices"
        for (body, expected) in [
            (Self.virtualService(weights: [0, 0]), "total destination weight = 0"),
            (Self.virtualService(weights: [-1, 101]), "weight -1 < 0"),
            (Self.virtualService(weights: [100], hosts: []), "virtual service must have at least one host"),
        ] {
            let response = cluster.call("POST", path, body)
            #expect(response.status == 400)
            let message = response.json?["message"].string ?? ""
            #expect(message.hasPrefix("admission webhook \"validation.istio.io\" denied the request: configuration is invalid: "))
            #expect(message.contains(expected), "\(message)")
        }
        // Weights are relative in current Istio: any total above 0 is accepted.
        #expect(cluster.call("POST", path, Self.virtualService(weights: [60, 75])).status == 201)
        let table = cluster.call("GET", path, accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json ?? .null
        #expect(table["columnDefinitions"].array?.compactMap { $0["name"].string } == ["Name", "Gateways", "Hosts", "Age"])
        #expect(table["rows"].array?.first?["cells"].array?.prefix(3) == ["helloworld", .null, .string("[\"\(Self.fqdn)\"]")])
    }

    @Test func discoveryServesBatchRBACAndVirtualServices() {
        var cluster = ClusterHarness()
        func resources(_ path: String) -> [String: JSON] {
            let list = cluster.call("GET", path).json?["resources"].array ?? []
            return Dictionary(list.map { ($0["name"].string ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        }
        let batch = resources("/apis/batch/v1")
        #expect(batch["cronjobs"]?["shortNames"] == ["cj"] && batch["cronjobs"]?["categories"] == ["all"])
        #expect(batch["jobs"]?["namespaced"] == true && batch["cronjobs/status"] != nil && batch["jobs/status"] != nil)
        let rbac = resources("/apis/rbac.authorization.k8s.io/v1")
        #expect(rbac["clusterroles"]?["namespaced"] == false && rbac["clusterrolebindings"]?["namespaced"] == false)
        #expect(rbac["roles"]?["namespaced"] == true && rbac["rolebindings"]?["kind"] == "RoleBinding")
        #expect(resources("/apis/networking.istio.io/v1")["virtualservices"]?["shortNames"] == ["vs"])

        let index = cluster.call("GET", "/openapi/v3").json ?? .null
        let url = index["paths"]["apis/rbac.authorization.k8s.io/v1"]["serverRelativeURL"].string ?? ""
        let spec = cluster.call("GET", url).json ?? .null
        #expect(spec["paths"]["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]["patch"]["x-kubernetes-group-version-kind"]["kind"] == "ClusterRole")
        #expect(spec["paths"]["/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}"]["patch"].isNull == false)
        // Cluster-scoped kinds have no namespaced path.
        #expect(cluster.call("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/clusterroles").status == 404)
    }

    static let cronJob: JSON = [
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": ["name": "canary"],
        "spec": [
            "schedule": "*/15 * * * *", "concurrencyPolicy": "Forbid",
            "jobTemplate": [
                "spec": [
                    "template": [
                        "spec": [
                            "restartPolicy": "Never", "containers": [["name": "meshcheck", "image": "meshcheck-canary:0.1.0"]],
                        ]
                    ]
                ]
            ],
        ],
    ]

    @Test func cronJobsAreDefaultedValidatedAndPrinted() {
        var cluster = Self.sampleCluster()
        let path = "/apis/batch/v1/namespaces/sample/cronjobs"
        let created = cluster.call("POST", path, Self.cronJob).json ?? .null
        #expect(created["spec"]["suspend"] == false && created["spec"]["successfulJobsHistoryLimit"] == 3)
        #expect(created["spec"]["failedJobsHistoryLimit"] == 1 && created["spec"]["concurrencyPolicy"] == "Forbid")
        #expect(created["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst")
        #expect(created["metadata"]["generation"] == 1)
        let table = cluster.call("GET", path, accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json ?? .null
        let cells = table["rows"].array?.first?["cells"].array ?? []
        #expect(Array(cells.prefix(6)) == ["canary", "*/15 * * * *", "<none>", "False", 0, "<none>"])
        #expect(Array(cells.suffix(3)) == ["meshcheck", "meshcheck-canary:0.1.0", "<none>"])

        func fields(_ change: (inout JSON) -> Void) -> [String] {
            var body = Self.cronJob
            body["metadata"]["name"] = "other"
            change(&body)
            let response = cluster.call("POST", path, body)
            #expect(response.status == 422)
            return response.json?["details"]["causes"].array?.compactMap { $0["field"].string } ?? []
        }
        #expect(fields { $0["spec"]["schedule"] = "61 * * * *" } == ["spec.schedule"])
        #expect(fields { $0["spec"]["schedule"] = .null } == ["spec.schedule"])
        #expect(fields { $0["spec"]["concurrencyPolicy"] = "Sometimes" } == ["spec.concurrencyPolicy"])
        #expect(fields { $0["spec"]["timeZone"] = "Mars/Olympus_Mons" } == ["spec.timeZone"])
        #expect(
            fields { $0["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = .null }
                == ["spec.jobTemplate.spec.template.spec.restartPolicy"])
        #expect(fields { $0["metadata"]["name"] = .string(String(repeating: "c", count: 53)) } == ["metadata.name"])
        #expect(fields { $0["spec"]["failedJobsHistoryLimit"] = -1 } == ["spec.failedJobsHistoryLimit"])
    }

    @Test(arguments: ["*/15 * * * *", "0 0 * * MON-FRI", "30 2 1,15 * ?", "0 */6 * jan-jun 0", "@hourly", "@every 1h30m", "5-10/2 * * * *"])
    func validCronSchedules(schedule: String) {
        #expect(CronSchedule.problem(schedule) == nil)
    }

    @Test(arguments: [
        ("x", "expected exactly 5 fields, found 1: [x]"), ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"), ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"), ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("0 0 * * FUN", "failed to parse int from FUN"), ("CRON_TZ=UTC 0 * * * *", "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ("@fortnightly", "unrecognized descriptor: @fortnightly"), ("@every soon", "failed to parse duration @every soon"),
    ])
    func invalidCronSchedules(schedule: String, problem: String) {
        #expect(CronSchedule.problem(schedule) == problem)
    }

    @Test func jobsGetAGeneratedSelectorAndKeepTheirTemplate() {
        var cluster = Self.sampleCluster()
        var job = Self.cronJob["spec"]["jobTemplate"]
        job["apiVersion"] = "batch/v1"
        job["kind"] = "Job"
        job["metadata"] = ["name": "manual-1"]
        job["spec"]["template"]["metadata"] = ["labels": ["app": "canary"]]
        let created = cluster.call("POST", "/apis/batch/v1/namespaces/sample/jobs", job).json ?? .null
        let uid = created["metadata"]["uid"]
        #expect(created["spec"]["selector"]["matchLabels"] == ["batch.kubernetes.io/controller-uid": uid])
        let labels = created["spec"]["template"]["metadata"]["labels"]
        #expect(labels["job-name"] == "manual-1" && labels["controller-uid"] == uid && labels["app"] == "canary")
        #expect(created["metadata"]["labels"] == ["app": "canary"])
        #expect(created["spec"]["completions"] == 1 && created["spec"]["parallelism"] == 1 && created["spec"]["backoffLimit"] == 6)
        let row = cluster.call(
            "GET", "/apis/batch/v1/namespaces/sample/jobs/manual-1",
            accept: "application/json;as=Table;v=v1;g=meta.k8s.io"
        ).json?["rows"].array?.first?["cells"].array
        #expect(row?.prefix(4) == ["manual-1", "Running", "0/1", ""])

        var changed = created
        changed[path: ["spec", "template", "spec", "containers"]] = [["name": "other", "image": "busybox:1.36"]]
        let response = cluster.call("PUT", "/apis/batch/v1/namespaces/sample/jobs/manual-1", changed)
        #expect(response.status == 422)
        #expect(response.json?["details"]["causes"].array?.compactMap { $0["field"].string } == ["spec.template"])
    }

    @Test func rbacObjectsAreValidatedAndPrinted() {
        var cluster = Self.sampleCluster()
        let role: JSON = ["metadata": ["name": "reader"], "rules": [["apiGroups": [""], "resources": ["pods"], "verbs": ["get"]]]]
        #expect(cluster.call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/sample/roles", role).status == 201)
        #expect(cluster.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role).status == 201)
        let bad: JSON = ["metadata": ["name": "bad"], "rules": [["nonResourceURLs": ["/healthz"], "verbs": []], ["verbs": ["get"]]]]
        let refused = cluster.call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/sample/roles", bad).json ?? .null
        #expect(
            refused["details"]["causes"].array?.compactMap { $0["field"].string }
                == ["rules[0].verbs", "rules[0].nonResourceURLs", "rules[1].apiGroups", "rules[1].resources"])
        #expect(refused["message"].string?.contains("rules[0].verbs: Required value: verbs must contain at least one value") == true)

        let subject: JSON = ["kind": "ServiceAccount", "name": "canary", "namespace": "sample"]
        let binding: JSON = [
            "metadata": ["name": "canary"], "subjects": [subject],
            "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "reader"],
        ]
        let bindings = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
        #expect(cluster.call("POST", bindings, binding).status == 201)
        var unscoped = binding
        unscoped["metadata"]["name"] = "unscoped"
        unscoped["subjects"] = [["kind": "ServiceAccount", "name": "canary"], ["kind": "Robot", "name": "r"]]
        unscoped["roleRef"]["kind"] = "Role"
        let causes = cluster.call("POST", bindings, unscoped).json?["details"]["causes"].array?.compactMap { $0["field"].string }
        #expect(causes == ["roleRef.kind", "subjects[0].namespace", "subjects[1].kind"])

        var moved = binding
        moved["roleRef"]["name"] = "writer"
        let patch = cluster.call("PUT", "\(bindings)/canary", moved).json ?? .null
        #expect(patch["details"]["causes"].array?.first?["message"].string?.hasSuffix("cannot change roleRef") == true)

        let table = cluster.call("GET", bindings, accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json ?? .null
        let cells = table["rows"].array?.first?["cells"].array ?? []
        #expect(cells.first == "canary" && cells.dropFirst().first == "ClusterRole/reader" && cells.last == "sample/canary")
    }

    @Test func namespaceDeletionRemovesTheNewNamespacedKinds() {
        var cluster = Self.sampleCluster()
        cluster.call("POST", "/apis/networking.istio.io/v1/namespaces/sample/virtualservices", Self.virtualService(weights: [25, 75]))
        cluster.call("POST", "/apis/batch/v1/namespaces/sample/cronjobs", Self.cronJob)
        cluster.call(
            "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/sample/roles",
            ["metadata": ["name": "r"], "rules": [["apiGroups": [""], "resources": ["pods"], "verbs": ["get"]]]])
        cluster.call("DELETE", "/api/v1/namespaces/sample")
        cluster.advance(5)
        #expect(cluster.object(.namespaces, "", "sample") == nil)
        #expect(cluster.object(.virtualServices, "sample", "helloworld") == nil)
        #expect(cluster.object(.cronJobs, "sample", "canary") == nil && cluster.object(.roles, "sample", "r") == nil)
    }
}
