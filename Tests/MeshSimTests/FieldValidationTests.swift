import Testing

@testable import MeshSim

/// Unknown fields under each `fieldValidation` directive, as a real API server treats them.
@Suite struct FieldValidationTests {
    static func misspelledDeployment() -> JSON {
        var deployment = ClusterHarness.deployment("typo", labels: ["app": "typo"])
        deployment["metadata"]["labelz"] = ["a": "b"]
        deployment["spec"]["replicass"] = 3
        deployment[path: ["spec", "template", "spec", "containers"]] = [["name": "app", "image": "busybox", "imagePullPolic": "Never"]]
        return deployment
    }

    @Test func pathsAreSpelledLikeApimachineryAndDirectivesAreNotFields() {
        let schema = FieldSchemas.schema(for: .deployments)
        let unknown = schema.unknownFields(in: Self.misspelledDeployment())
        #expect(unknown == ["metadata.labelz", "spec.replicass", "spec.template.spec.containers[0].imagePullPolic"])
        let patch: JSON = [
            "spec": [
                "template": [
                    "spec": [
                        "$setElementOrder/containers": [["name": "app"]],
                        "containers": [["name": "app", "$patch": "replace", "image": "x"]],
                    ]
                ]
            ]
        ]
        #expect(schema.unknownFields(in: patch).isEmpty)
        #expect(
            schema.pruned(Self.misspelledDeployment())
                == ClusterHarness.deployment("typo", labels: ["app": "typo"])
                .replacing(path: ["spec", "template", "spec", "containers"], with: [["name": "app", "image": "busybox"]]))
        // Below a closed level everything is open: a container's probe can hold anything.
        #expect(schema.unknownFields(in: ["spec": ["template": ["spec": ["containers": [["livenessProbe": ["anything": 1]]]]]]]).isEmpty)
    }

    @Test func strictRefusesWithTheRealMessageAndCreatesNothing() {
        var cluster = ClusterHarness()
        let response = cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict", Self.misspelledDeployment())
        #expect(response.status == 400)
        let message = (try? JSON.parse(response.body))?["message"].string ?? ""
        #expect(
            message == #"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: "#
                + #"unknown field "metadata.labelz", unknown field "spec.replicass", unknown field "spec.template.spec.containers[0].imagePullPolic""#)
        #expect(cluster.object(.deployments, "default", "typo") == nil)
    }

    @Test func warnDropsTheFieldsWithAWarningHeaderEachAndIgnoreDropsThemSilently() {
        var cluster = ClusterHarness()
        let warned = cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments", Self.misspelledDeployment())
        #expect(warned.status == 201)
        #expect(
            warned.headers.filter { $0.0 == "Warning" }.map(\.1) == [
                #"299 - "unknown field \"metadata.labelz\"""#, #"299 - "unknown field \"spec.replicass\"""#,
                #"299 - "unknown field \"spec.template.spec.containers[0].imagePullPolic\"""#,
            ])
        let stored = cluster.object(.deployments, "default", "typo")
        #expect(stored?["metadata"]["labelz"] == .null && stored?["spec"]["replicass"] == .null)
        #expect(stored?["spec"]["replicas"] == 1, "the misspelled replicas leaves the default")
        #expect(stored?[path: ["spec", "template", "spec", "containers"]].array?.first?["imagePullPolicy"] == "Always")

        var ignored = Self.misspelledDeployment()
        ignored["metadata"]["name"] = "ignored"
        let silent = cluster.call("POST", "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Ignore", ignored)
        #expect(silent.status == 201 && !silent.headers.contains { $0.0 == "Warning" })
        #expect(cluster.object(.deployments, "default", "ignored")?["spec"]["replicass"] == .null)

        // A strategic merge patch is screened as a document of the object's own fields.
        let patch: JSON = ["spec": ["replicas": 2, "paused": false]]
        let patched = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/default/deployments/typo?fieldValidation=Strict", patch,
            contentType: "application/strategic-merge-patch+json")
        #expect(patched.status == 200)
        let misspelled = cluster.call(
            "PATCH", "/apis/apps/v1/namespaces/default/deployments/typo?fieldValidation=Strict",
            ["spec": ["replicass": 5]], contentType: "application/merge-patch+json")
        #expect(misspelled.status == 400)
    }

    /// Every object the simulator installs itself (the mesh, its gateways, secrets, RBAC) has only
    /// declared fields, so the closed schemas are not missing a field the simulator itself uses.
    @Test func installedObjectsHaveOnlyDeclaredFields() {
        let cluster = ClusterHarness()
        var checked = 0
        for resource in ResourceType.all {
            for object in cluster.state.store.list(resource, namespace: nil) {
                checked += 1
                #expect(
                    resource.undeclaredFields(in: object).isEmpty,
                    "\(resource.kind) \(object["metadata"]["name"].string ?? "?"): \(resource.undeclaredFields(in: object))")
            }
        }
        #expect(checked > 20)
    }
}

extension JSON {
    fileprivate func replacing(path: [String], with value: JSON) -> JSON {
        var copy = self
        copy[path: path] = value
        return copy
    }
}
