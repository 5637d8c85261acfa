import Foundation
import MeshSim
import Testing

@testable import MeshCheck

@Suite struct ManifestTests {
    /// The JSON a manifest item would be POSTed as, decoded back into a dictionary for inspection.
    func json(_ item: ManifestItem) throws -> [String: Any] {
        let data = try JSONEncoder().encode(item.body)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func scenario() throws -> Scenario {
        var scenario = try Scenario.guideCheck(contexts: ["ctx-1", "ctx-2"])
        scenario.clusters.append(ClusterSpec(context: "ctx-3", name: "edge", serves: nil, clients: true, helloworldReplicas: 1, sleepReplicas: 2))
        scenario.images.pullSecrets = ["regcred"]
        return scenario
    }

    /// Every object meshcheck creates has only fields its kind declares: a real API server would drop any
    /// other field without an error (or refuse it under strict validation), so a misspelled field would
    /// pass here and silently do nothing on GKE.
    @Test func everyObjectHasOnlyDeclaredFields() throws {
        var scenario = try scenario()
        for routing in [nil, RoutingSettings(weights: ["v1": 25, "v2": 75])] {
            scenario.routing = routing
            for cluster in scenario.clusters {
                let manifests = Workloads.manifests(for: cluster, scenario: scenario, namespace: "ns", runID: "r", revision: "default")
                var objects: [(String, any Encodable & Sendable, ResourceType?)] = [("Namespace", manifests.namespace, .namespaces)]
                for item in manifests.items {
                    let segments = item.collectionPath.split(separator: "/").map(String.init)
                    let (group, version) = segments[0] == "api" ? ("", segments[1]) : (segments[1], segments[2])
                    objects.append((item.reference, item.body, ResourceType.find(group: group, version: version, plural: segments.last!)))
                }
                #expect(objects.count > 4)
                for (reference, body, resource) in objects {
                    let resource = try #require(resource, "\(reference): no served kind")
                    let object = try JSON.parse(Array(try JSONEncoder().encode(body)))
                    #expect(resource.undeclaredFields(in: object).isEmpty, "\(reference): \(resource.undeclaredFields(in: object))")
                }
            }
        }
    }

    @Test func namespaceCarriesOwnershipAndInjectionLabels() throws {
        let scenario = try scenario()
        let revisioned = Workloads.manifests(
            for: scenario.clusters[0], scenario: scenario, namespace: "meshcheck-ab12cd",
            runID: "20261123-112000-ab12cd", revision: "asm-managed")
        #expect(revisioned.namespace.metadata.name == "meshcheck-ab12cd")
        #expect(
            revisioned.namespace.metadata.labels == [
                "app.kubernetes.io/managed-by": "meshcheck", "meshcheck.io/run-id": "20261123-112000-ab12cd",
                "meshcheck.io/scenario": "smoke", "istio.io/rev": "asm-managed",
            ])
        let defaulted = Workloads.manifests(for: scenario.clusters[0], scenario: scenario, namespace: "ns", runID: "r", revision: "default")
        #expect(defaulted.namespace.metadata.labels["istio-injection"] == "enabled")
        #expect(defaulted.namespace.metadata.labels["istio.io/rev"] == nil)
    }

    @Test func servingClusterGetsHelloWorldAndSleep() throws {
        let scenario = try scenario()
        let manifests = Workloads.manifests(for: scenario.clusters[1], scenario: scenario, namespace: "ns", runID: "run-1", revision: "default")
        #expect(
            manifests.items.map(\.reference) == ["Service/helloworld", "Deployment/helloworld-v2", "ServiceAccount/sleep", "Service/sleep", "Deployment/sleep"])
        #expect(
            manifests.items.map(\.collectionPath) == [
                "/api/v1/namespaces/ns/services", "/apis/apps/v1/namespaces/ns/deployments",
                "/api/v1/namespaces/ns/serviceaccounts", "/api/v1/namespaces/ns/services",
                "/apis/apps/v1/namespaces/ns/deployments",
            ])
        for item in manifests.items {
            let object = try json(item)
            let metadata = try #require(object["metadata"] as? [String: Any])
            let labels = try #require(metadata["labels"] as? [String: String])
            #expect(labels["app.kubernetes.io/managed-by"] == "meshcheck")
            #expect(labels["meshcheck.io/run-id"] == "run-1")
            #expect(metadata["namespace"] as? String == "ns")
        }

        let service = try json(manifests.items[0])
        let serviceSpec = try #require(service["spec"] as? [String: Any])
        #expect(serviceSpec["selector"] as? [String: String] == ["app": "helloworld"])
        let port = try #require((serviceSpec["ports"] as? [[String: Any]])?.first)
        #expect(port["name"] as? String == "http" && port["port"] as? Int == 5000 && port["targetPort"] as? Int == 5000)

        let deployment = try json(manifests.items[1])
        #expect(deployment["apiVersion"] as? String == "apps/v1")
        let spec = try #require(deployment["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 1)
        #expect((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] == ["app": "helloworld", "version": "v2"])
        let template = try #require(spec["template"] as? [String: Any])
        let templateLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        #expect(templateLabels["app"] == "helloworld" && templateLabels["version"] == "v2" && templateLabels["meshcheck.io/run-id"] == "run-1")
        let podSpec = try #require(template["spec"] as? [String: Any])
        #expect(podSpec["imagePullSecrets"] as? [[String: String]] == [["name": "regcred"]])
        let container = try #require((podSpec["containers"] as? [[String: Any]])?.first)
        #expect(container["image"] as? String == "registry.istio.io/release/examples-helloworld-v2:1.0")
        #expect(container["env"] as? [[String: String]] == [["name": "SERVICE_VERSION", "value": "v2"]])
        #expect((container["ports"] as? [[String: Any]])?.first?["containerPort"] as? Int == 5000)
        let probe = try #require((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])
        #expect(probe["path"] as? String == "/health" && probe["port"] as? Int == 5000)
        #expect(podSpec["terminationGracePeriodSeconds"] as? Int == 0)

        let sleep = try json(manifests.items[4])
        let sleepPod = try #require(((sleep["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(sleepPod["terminationGracePeriodSeconds"] as? Int == 0)
        #expect(sleepPod["serviceAccountName"] as? String == "sleep")
        let sleepContainer = try #require((sleepPod["containers"] as? [[String: Any]])?.first)
        #expect(sleepContainer["command"] as? [String] == ["/bin/sleep", "infinity"])
        #expect(sleepContainer["image"] as? String == "curlimages/curl:8.16.0")
        #expect(sleepContainer["name"] as? String == Workloads.sleepContainer)
    }

    @Test func clientOnlyClusterStillResolvesTheService() throws {
        let scenario = try scenario()
        let manifests = Workloads.manifests(for: scenario.clusters[2], scenario: scenario, namespace: "ns", runID: "r", revision: "default")
        #expect(manifests.items.map(\.reference) == ["Service/helloworld", "ServiceAccount/sleep", "Service/sleep", "Deployment/sleep"])
        let sleep = try json(manifests.items[3])
        #expect((sleep["spec"] as? [String: Any])?["replicas"] as? Int == 2)
    }

    /// `routing` adds a DestinationRule and a VirtualService for HelloWorld to every cluster (each cluster's
    /// istiod reads only its own), subsets before the routes that name them, owned like everything else.
    @Test func routingAddsSubsetsAndAWeightedRouteEverywhere() throws {
        var scenario = try scenario()
        scenario.routing = RoutingSettings(weights: ["v1": 25, "v2": 75])
        let fqdn = "helloworld.ns.svc.cluster.local"
        for cluster in scenario.clusters {
            let manifests = Workloads.manifests(for: cluster, scenario: scenario, namespace: "ns", runID: "run-1", revision: "default")
            #expect(Array(manifests.items.map(\.reference).prefix(3)) == ["Service/helloworld", "DestinationRule/helloworld", "VirtualService/helloworld"])
            #expect(manifests.items[1].collectionPath == "/apis/networking.istio.io/v1/namespaces/ns/destinationrules")
            #expect(manifests.items[2].collectionPath == "/apis/networking.istio.io/v1/namespaces/ns/virtualservices")
        }
        let manifests = Workloads.manifests(for: scenario.clusters[2], scenario: scenario, namespace: "ns", runID: "run-1", revision: "default")
        let rule = try json(manifests.items[1])
        #expect(rule["apiVersion"] as? String == "networking.istio.io/v1" && rule["kind"] as? String == "DestinationRule")
        let metadata = try #require(rule["metadata"] as? [String: Any])
        #expect(metadata["namespace"] as? String == "ns")
        #expect(
            metadata["labels"] as? [String: String] == [
                "app.kubernetes.io/managed-by": "meshcheck", "meshcheck.io/run-id": "run-1",
                "meshcheck.io/scenario": "smoke", "app": "helloworld",
            ])
        let ruleSpec = try #require(rule["spec"] as? [String: Any])
        #expect(ruleSpec["host"] as? String == fqdn)
        let subsets = try #require(ruleSpec["subsets"] as? [[String: Any]])
        #expect(subsets.compactMap { $0["name"] as? String } == ["v1", "v2"])
        #expect(subsets.compactMap { $0["labels"] as? [String: String] } == [["version": "v1"], ["version": "v2"]])

        let service = try json(manifests.items[2])
        #expect(service["kind"] as? String == "VirtualService")
        let spec = try #require(service["spec"] as? [String: Any])
        #expect(spec["hosts"] as? [String] == [fqdn])
        let http = try #require(spec["http"] as? [[String: Any]])
        #expect(http.count == 1 && http[0]["match"] == nil)
        let route = try #require(http[0]["route"] as? [[String: Any]])
        #expect(route.compactMap { $0["weight"] as? Int } == [25, 75])
        let destinations = route.compactMap { $0["destination"] as? [String: Any] }
        #expect(destinations.compactMap { $0["subset"] as? String } == ["v1", "v2"])
        #expect(destinations.allSatisfy { $0["host"] as? String == fqdn && ($0["port"] as? [String: Any])?["number"] as? Int == 5000 })

        scenario.routing = nil
        let plain = Workloads.manifests(for: scenario.clusters[0], scenario: scenario, namespace: "ns", runID: "r", revision: "default")
        #expect(!plain.items.contains { $0.kind == "DestinationRule" || $0.kind == "VirtualService" })
    }

    @Test func selectorsAndCopiedSecrets() throws {
        #expect(Ownership.runSelector(runID: "r1") == "app.kubernetes.io/managed-by=meshcheck,meshcheck.io/run-id=r1")
        #expect(Workloads.sleepSelector(runID: "r1") == "app=sleep,meshcheck.io/run-id=r1")
        #expect(Workloads.helloworldSelector(runID: "r1") == "app=helloworld,meshcheck.io/run-id=r1")
        let secret = Workloads.copiedPullSecret(
            name: "regcred", type: "kubernetes.io/dockerconfigjson", data: [".dockerconfigjson": "e30="],
            namespace: "ns", runID: "r1")
        #expect(secret.collectionPath == "/api/v1/namespaces/ns/secrets")
        let object = try json(secret)
        #expect(object["type"] as? String == "kubernetes.io/dockerconfigjson")
        #expect(object["data"] as? [String: String] == [".dockerconfigjson": "e30="])
    }

    @Test func runIdentity() {
        let identity = RunIdentity.make(startSeconds: 1_795_000_000, random: (0xab, 0x01, 0xcd))
        #expect(identity.runID == "20261118-110640-ab01cd")
        #expect(identity.defaultNamespace == "meshcheck-ab01cd")
        #expect(RunIdentity.utcStamp(0) == "19700101-000000")
        #expect(RunIdentity.utcStamp(951_782_400) == "20000229-000000")
        #expect(NameRules.dns1123LabelProblem(RunIdentity.fresh(now: 1_795_000_000).defaultNamespace) == nil)
    }
}
