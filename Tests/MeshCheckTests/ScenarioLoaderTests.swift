import Foundation
import KubeClient
import Testing

@testable import MeshCheck

@Suite struct ScenarioLoaderTests {
    static let contexts = ["gke_meshcheck-sim_us-central1-a_cluster-1", "gke_meshcheck-sim_us-central1-a_cluster-2"]

    func parse(_ yaml: String) throws -> Scenario {
        try ScenarioLoader.parse(yaml: yaml, file: "test.yaml")
    }

    /// The problems a document has, as the CLI would print them.
    func problems(_ yaml: String) -> [String] {
        do {
            _ = try ScenarioLoader.parse(yaml: yaml, file: "test.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func twoContextsAloneGiveTheInstallGuidesCheck() throws {
        let scenario = try Scenario.guideCheck(contexts: Self.contexts)
        #expect(scenario.clusters.map(\.name) == ["cluster-1", "cluster-2"])
        #expect(scenario.clusters.map(\.serves) == ["v1", "v2"])
        #expect(scenario.clusters.allSatisfy { $0.clients && $0.sleepReplicas == 1 && $0.helloworldReplicas == 1 })
        #expect(scenario.load.requestsPerBurst == 20)
        #expect(scenario.load.bursts == 1)
        #expect(scenario.load.mode == .sequential)
        #expect(scenario.expectations.balance == .proportionalToEndpoints)
        #expect(scenario.expectations.significance == 0.001)
        #expect(scenario.namespace == nil)
        #expect(scenario.revision == .auto)
        #expect(scenario.cleanup == .always)
        #expect(scenario.images.helloworldImage(version: "v1") == "registry.istio.io/release/examples-helloworld-v1:1.0")
        #expect(scenario.images.sleep == "curlimages/curl:8.16.0")
    }

    @Test func aFileWithOnlyContextsEqualsTheGuidesCheck() throws {
        let bare = try parse("clusters: [\(Self.contexts[0]), \(Self.contexts[1])]\n")
        let mapped = try parse(
            """
            clusters:
              - context: \(Self.contexts[0])
              - context: \(Self.contexts[1])
            """)
        var guide = try Scenario.guideCheck(contexts: Self.contexts)
        guide.name = "scenario"
        #expect(bare == guide)
        #expect(mapped == guide)
    }

    @Test func everyFieldIsRead() throws {
        let scenario = try parse(
            """
            name: full
            description: every field set
            clusters:
              - context: ctx-a
                name: east
                serves: v1
                clients: false
                replicas: {helloworld: 2}
              - context: ctx-b
                name: west
                serves: none
                replicas: {sleep: 3}
              - context: ctx-c
                serves: v1
            namespace: meshcheck-fixed
            images:
              registry: mirror.example.com:5000/istio/
              helloworld: {v1: mirror.example.com:5000/hw@sha256:abc123}
              sleep: mirror.example.com:5000/curl:8.16.0
              pullSecrets: [regcred]
              pullSecretsFrom: secrets-src
            mesh: {revision: asm-managed}
            load:
              requestsPerBurst: 100
              bursts: 3
              concurrentBurstsPerClientPod: 2
              clientReplicas: 2
              mode: paced
              ratePerSecond: 12.5
              parallelism: 2
              requestTimeout: 1500ms
              connectTimeout: 1s
            timeouts: {deploy: 1h30m, converge: 90s, bursts: 2m, cleanup: 45}
            expectations:
              balance: local-preferred
              minLocalShare: 0.8
              significance: 0.01
              maxErrorRate: 0.05
              latencySLO:
                local: {p50: 10, p99: 100}
                crossCluster: {p90: 250.5}
                pairs:
                  - {source: west, target: east, p99: 900}
            cleanup: on-success
            reuse: true
            """)
        #expect(scenario.name == "full")
        #expect(
            scenario.clusters == [
                ClusterSpec(context: "ctx-a", name: "east", serves: "v1", clients: false, helloworldReplicas: 2, sleepReplicas: 2),
                ClusterSpec(context: "ctx-b", name: "west", serves: nil, clients: true, helloworldReplicas: 1, sleepReplicas: 3),
                ClusterSpec(context: "ctx-c", name: "ctx-c", serves: "v1", clients: true, helloworldReplicas: 1, sleepReplicas: 2),
            ])
        #expect(scenario.versions == ["v1"])
        #expect(scenario.namespace == "meshcheck-fixed")
        #expect(scenario.images.registry == "mirror.example.com:5000/istio")
        #expect(scenario.images.helloworldImage(version: "v1") == "mirror.example.com:5000/hw@sha256:abc123")
        #expect(scenario.images.pullSecrets == ["regcred"])
        #expect(scenario.images.pullSecretsFrom == "secrets-src")
        #expect(scenario.revision == .explicit("asm-managed"))
        #expect(
            scenario.load
                == LoadSettings(
                    requestsPerBurst: 100, bursts: 3, concurrentBurstsPerClientPod: 2, clientReplicas: 2,
                    mode: .paced(ratePerSecond: 12.5, parallelism: 2),
                    requestTimeout: .milliseconds(1500), connectTimeout: .seconds(1)))
        #expect(scenario.timeouts == PhaseTimeouts(deploy: .seconds(5400), converge: .seconds(90), bursts: .seconds(120), cleanup: .seconds(45)))
        #expect(scenario.expectations.balance == .localPreferred(minLocalShare: 0.8))
        #expect(scenario.expectations.significance == 0.01)
        #expect(scenario.expectations.maxErrorRate == 0.05)
        #expect(
            scenario.expectations.latencySLO
                == LatencySLO(
                    local: LatencyBounds(p50: 10, p99: 100), crossCluster: LatencyBounds(p90: 250.5),
                    pairs: [PairLatencySLO(source: "west", target: "east", bounds: LatencyBounds(p99: 900))]))
        #expect(scenario.cleanup == .onSuccess)
        #expect(scenario.reuse)
    }

    @Test func weightsAndOtherBalanceForms() throws {
        let base = "clusters: [{context: a, name: c1}, {context: b, name: c2}]\n"
        #expect(try parse(base + "expectations: {balance: {weights: {c1: 1, c2: 3}}}").expectations.balance == .weights(["c1": 1, "c2": 3]))
        #expect(try parse(base + "expectations: {balance: any-cross-cluster}").expectations.balance == .anyCrossCluster)
        #expect(try parse(base + "expectations: {balance: local-preferred}").expectations.balance == .localPreferred(minLocalShare: 0.9))
        #expect(try parse(base + "load: {mode: parallel-in-pod}").load.mode == .parallelInPod(parallelism: 4))
        #expect(try parse(base + "reuse: true\nnamespace: keep-me").cleanup == .never)
    }

    @Test func wrongTypeNamesFileLineAndField() {
        let yaml = """
            clusters: [a, b]
            load:
              requestsPerBurst: x
            """
        #expect(problems(yaml) == [#"test.yaml:3: load.requestsPerBurst: must be a positive integer, got "x""#])
    }

    @Test func unknownKeysAreRejectedWithASuggestion() {
        let yaml = """
            clusters:
              - context: a
                serve: v1
            load:
              requests: 5
            expectation: {}
            """
        #expect(
            problems(yaml) == [
                "test.yaml:3: clusters[0].serve: unknown field; did you mean `serves`?",
                "test.yaml:5: load.requests: unknown field; did you mean `requestsPerBurst`?",
                "test.yaml:6: expectation: unknown field; did you mean `expectations`?",
            ])
        #expect(
            problems("clusters: [a]\nfoo: 1")
                == [
                    "test.yaml:2: foo: unknown field; known fields here: name, description, clusters, namespace, images, mesh, routing, load, timeouts, expectations, cleanup, reuse, api, disruptions, timeline"
                ])
    }

    @Test func choicesSuggestTheClosestValue() {
        #expect(
            problems("clusters: [a]\nload: {mode: paralel-in-pod}")
                == [#"test.yaml:2: load.mode: must be one of sequential, parallel-in-pod, paced, got "paralel-in-pod"; did you mean `parallel-in-pod`?"#])
        #expect(
            problems("clusters: [a]\ncleanup: onsuccess")
                == [#"test.yaml:2: cleanup: must be one of always, on-success, never, got "onsuccess"; did you mean `on-success`?"#])
    }

    @Test func shellMetacharactersAndBadNamesAreRejected() {
        let yaml = """
            clusters:
              - context: a
                name: Cluster_1
              - context: b
                serves: "v2; rm -rf /"
            namespace: "x$(id)"
            images:
              sleep: "curl:8 && reboot"
              registry: "reg|x"
            """
        let found = problems(yaml)
        #expect(found.contains(#"test.yaml:3: clusters[0].name: must be a DNS-1123 label (lowercase letters, digits and '-'), got "Cluster_1""#))
        #expect(
            found.contains(#"test.yaml:5: clusters[1].serves: must be a DNS-1123 label (lowercase letters, digits and '-'), got "v2; rm -rf /" (or `none`)"#))
        #expect(found.contains(#"test.yaml:6: namespace: must be a DNS-1123 label (lowercase letters, digits and '-'), got "x$(id)""#))
        #expect(found.contains(#"test.yaml:8: images.sleep: must not contain shell metacharacters or whitespace (found " "), got "curl:8 && reboot""#))
        #expect(found.contains(#"test.yaml:9: images.registry: must not contain shell metacharacters or whitespace (found "|"), got "reg|x""#))
        #expect(found.count == 5)
    }

    @Test func crossFieldRulesPointAtTheField() {
        let yaml = """
            clusters:
              - context: same
                serves: none
                clients: false
              - context: same
                serves: none
            namespace: kube-system
            load:
              requestsPerBurst: 2
              mode: parallel-in-pod
              parallelism: 3
              requestTimeout: 1s
              connectTimeout: 2s
            expectations:
              balance: {weights: {cluster-9: 1}}
            reuse: true
            cleanup: always
            """
        let found = problems(yaml)
        #expect(found.contains(#"test.yaml:5: clusters[1].context: "same" is already used by clusters[0]; each cluster needs its own context"#))
        #expect(found.contains("test.yaml:1: clusters: no cluster serves HelloWorld; give at least one cluster `serves: <version>`"))
        #expect(
            found.contains(#"test.yaml:7: namespace: "kube-system" is a system namespace; meshcheck creates and deletes its own namespace, pick a new name"#))
        #expect(found.contains("test.yaml:11: load.parallelism: is 3 but each burst has only 2 requests; use at most requestsPerBurst workers"))
        #expect(found.contains("test.yaml:13: load.connectTimeout: (2s) must not exceed load.requestTimeout (1s)"))
        #expect(found.contains("test.yaml:15: expectations.balance.weights.cluster-9: is not a cluster of this scenario; did you mean `cluster-1`?"))
        #expect(found.contains("test.yaml:15: expectations.balance.weights: must give at least one serving cluster a positive weight"))
        #expect(
            found.contains(
                "test.yaml:17: cleanup: `always` would delete the workloads that `reuse: true` keeps; use `never` (the default with reuse) or `on-success`"))
    }

    @Test func connectionReuseIsAChoiceAndPacesInWholeMilliseconds() throws {
        #expect(try parse("clusters: [a, b]").load.connectionReuse == false)
        #expect(try parse("clusters: [a, b]\nload: {connectionReuse: true}").load.connectionReuse == true)
        #expect(try parse("clusters: [a, b]\nload: {connectionReuse: true, mode: paced, ratePerSecond: 400, parallelism: 4}").load.connectionReuse)
        #expect(problems("clusters: [a, b]\nload: {connectionReuse: maybe}").count == 1)
        // 5000/s over 8 workers is 1.6 ms per worker; curl's --rate would make it 2 ms (4000/s).
        let found = problems("clusters: [a, b]\nload: {connectionReuse: true, mode: paced, ratePerSecond: 5000, parallelism: 8}")
        #expect(found.count == 1)
        #expect(found.first?.contains("load.ratePerSecond: 5000/s over 8 worker(s) needs 1.6 ms between a worker's starts") == true)
        #expect(found.first?.contains("(e.g. parallelism 5)") == true)
        #expect(problems("clusters: [a, b]\nload: {connectionReuse: false, mode: paced, ratePerSecond: 5000, parallelism: 8}").isEmpty)
    }

    @Test func rangesAndModeSpecificFields() {
        #expect(problems("clusters: [a]\nload: {requestsPerBurst: 0}") == ["test.yaml:2: load.requestsPerBurst: must be between 1 and 10000000, got 0"])
        #expect(problems("clusters: [a]\nload: {requestsPerBurst: -3}") == [#"test.yaml:2: load.requestsPerBurst: must be a positive integer, got "-3""#])
        #expect(problems("clusters: [a]\nload: {requestsPerBurst: \"20\"}") == [#"test.yaml:2: load.requestsPerBurst: must be a positive integer, got "20""#])
        #expect(
            problems("clusters: [a]\nload: {mode: paced}") == [
                "test.yaml:2: load.ratePerSecond: is required with mode: paced (target request starts per second per burst)"
            ])
        #expect(problems("clusters: [a]\nload: {parallelism: 2}") == ["test.yaml:2: load.parallelism: applies only to mode: parallel-in-pod or paced"])
        #expect(
            problems("clusters: [a]\nexpectations: {significance: 0}") == [
                "test.yaml:2: expectations.significance: must be greater than 0 and at most 0.5, got 0"
            ])
        #expect(
            problems("clusters: [a]\nexpectations: {maxErrorRate: 1.5}") == [
                "test.yaml:2: expectations.maxErrorRate: must be at least 0 and at most 1, got 1.5"
            ])
        #expect(
            problems("clusters: [a]\ntimeouts: {deploy: soon}") == [
                #"test.yaml:2: timeouts.deploy: must be a duration such as 30s, 500ms, 5m or 1h30m, got "soon""#
            ])
        #expect(problems("clusters: [a]\ntimeouts: {deploy: 48h}") == ["test.yaml:2: timeouts.deploy: must be greater than 0 and at most 24h, got 48h"])
        #expect(problems("clusters: [a]\nreuse: yes") == [#"test.yaml:2: reuse: must be true or false, got "yes""#])
        #expect(
            problems("clusters: [a]\nexpectations: {minLocalShare: 0.5}") == [
                "test.yaml:2: expectations.minLocalShare: applies only to balance: local-preferred"
            ])
    }

    @Test func routingWeightsAreReadAndEchoed() throws {
        let scenario = try parse("clusters: [{context: a}, {context: b}]\nrouting: {weights: {v1: 25, v2: 75}}")
        #expect(scenario.routing == RoutingSettings(weights: ["v1": 25, "v2": 75]))
        #expect(ScenarioEcho(scenario).routing?.weights == ["v1": 25, "v2": 75])
        #expect(try parse("clusters: [a, b]").routing == nil)
        #expect(ScenarioEcho(try parse("clusters: [a, b]")).routing == nil)
        // A version may take everything, or nothing.
        #expect(try parse("clusters: [a, b]\nrouting: {weights: {v1: 0, v2: 100}}").routing?.weights == ["v1": 0, "v2": 100])
    }

    @Test func routingWeightsAreCheckedAgainstServedVersions() {
        let base = "clusters: [{context: a}, {context: b}]\nrouting:\n  weights:\n"
        #expect(
            problems(base + "    v1: 25\n    v3: 75")
                == [
                    "test.yaml:3: routing.weights: gives no weight to v2; list every served version (0 sends it nothing)",
                    #"test.yaml:5: routing.weights.v3: no cluster serves version "v3"; served versions: v1, v2; did you mean `v1`?"#,
                ])
        #expect(problems(base + "    v1: 30\n    v2: 60") == ["test.yaml:3: routing.weights: must add up to 100 (percent of requests), got 90"])
        #expect(
            problems(base + "    v1: 25.5\n    v2: 74.5") == [
                #"test.yaml:4: routing.weights.v1: must be a whole number, got "25.5""#,
                #"test.yaml:5: routing.weights.v2: must be a whole number, got "74.5""#,
            ])
        #expect(
            problems(base + "    v1: -25\n    v2: 125") == [
                #"test.yaml:4: routing.weights.v1: must be a whole number, got "-25""#,
                "test.yaml:5: routing.weights.v2: must be between 0 and 100, got 125",
            ])
        #expect(problems("clusters: [a, b]\nrouting: {weights: [25, 75]}") == ["test.yaml:2: routing.weights: must be a mapping, got a list"])
        #expect(
            problems("clusters: [a, b]\nrouting: {}") == [
                "test.yaml:2: routing.weights: is required: percent of requests per version, e.g. `weights: {v1: 25, v2: 75}`"
            ])
        #expect(
            problems("clusters: [a, b]\nrouting: {weight: {v1: 100}}")
                == [
                    "test.yaml:2: routing.weight: unknown field; did you mean `weights`?",
                    "test.yaml:2: routing.weights: is required: percent of requests per version, e.g. `weights: {v1: 25, v2: 75}`",
                ])
    }

    @Test func latencySLOsAreChecked() {
        let yaml = """
            clusters: [{context: a, name: one}, {context: b, name: two, clients: false}]
            expectations:
              latencySLO:
                local: {p50: 100, p99: 50}
                crossCluster: {}
                pairs:
                  - {source: two, target: nowhere, p50: 5}
            """
        #expect(
            problems(yaml) == [
                "test.yaml:4: expectations.latencySLO.local.p99: (50 ms) must not be below p50 (100 ms)",
                "test.yaml:5: expectations.latencySLO.crossCluster: needs at least one of p50, p90, p99 (milliseconds)",
                #"test.yaml:7: expectations.latencySLO.pairs[0].source: "two" is not a cluster that runs clients (one)"#,
                #"test.yaml:7: expectations.latencySLO.pairs[0].target: "nowhere" is not a cluster that serves HelloWorld (one, two)"#,
            ])
    }

    @Test func syntaxErrorsAndEmptyInputsSayWhere() {
        let syntax = problems("clusters:\n  - context: a\n    serves: [v1\n")
        #expect(syntax.count == 1)
        #expect(syntax[0].hasPrefix("test.yaml:4: is not valid YAML:"))
        #expect(problems("") == ["test.yaml: is empty; a scenario needs at least `clusters`"])
        #expect(
            problems("name: x") == [
                "test.yaml:1: clusters: is required: list each cluster's kubeconfig context, e.g. `clusters: [{context: ctx-1}, {context: ctx-2}]`"
            ])
        #expect(
            problems("- a\n- b") == [
                "test.yaml:1: must be a mapping with keys name, description, clusters, namespace, images, mesh, routing, load, timeouts, expectations, cleanup, reuse, api, disruptions, timeline, got a list"
            ])
        #expect(problems("clusters: [{name: x}]") == ["test.yaml:1: clusters[0].context: is required (the kubeconfig context of this cluster)"])
        #expect(problems("clusters: [a]\nload: {bursts: 2, bursts: 3}") == ["test.yaml:2: load.bursts: is given twice"])
    }

    @Test func unreadableFileIsAProblemNotACrash() {
        do {
            _ = try ScenarioLoader.load(path: "/nonexistent/meshcheck/scenario.yaml")
            Issue.record("loading a missing file succeeded")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.description.hasPrefix("/nonexistent/meshcheck/scenario.yaml: cannot be read ("))
        }
    }

    @Test func clusterNamesDeriveFromContexts() {
        #expect(Scenario.defaultClusterNames(contexts: ["gke_p_us-east1_prod-a", "kind-Mesh_2", "@@@"]) == ["prod-a", "kind-mesh-2", "cluster-3"])
        #expect(Scenario.defaultClusterNames(contexts: ["x_", "x."]) == ["cluster-1", "cluster-2"])
    }

    @Test func overridesApplyAndRevalidate() throws {
        let scenario = try Scenario.guideCheck(contexts: ["a", "b"])
        let changed = try scenario.applying(ScenarioOverrides(contexts: ["c", "d"], namespace: "ns-x", requestsPerBurst: 50, parallelism: 5))
        #expect(changed.clusters.map(\.context) == ["c", "d"])
        #expect(changed.namespace == "ns-x")
        #expect(changed.load.requestsPerBurst == 50)
        #expect(changed.load.mode == .parallelInPod(parallelism: 5))
        #expect(throws: ScenarioError.self) { try scenario.applying(ScenarioOverrides(contexts: ["only-one"])) }
        do {
            _ = try scenario.applying(ScenarioOverrides(namespace: "Bad Name"))
            Issue.record("a bad namespace override was accepted")
        } catch {
            #expect(error.description == #"command line: namespace: must be a DNS-1123 label (lowercase letters, digits and '-'), got "Bad Name""#)
        }
        #expect(throws: ScenarioError.self) { try Scenario.guideCheck(contexts: []) }
        #expect(throws: ScenarioError.self) { try Scenario.guideCheck(contexts: ["a", "a"]) }
    }

    @Test(arguments: ["smoke", "three-clusters", "benchmark", "canary", "weighted-3-1", "weighted-3-1-proportional"])
    func shippedScenariosLoad(name: String) throws {
        let path = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scenarios/\(name).yaml").path
        let scenario = try ScenarioLoader.load(path: path)
        #expect(scenario.name == name)
        #expect(scenario.clusters.count >= 2)
    }

    /// Random byte edits of a real scenario never crash the loader; every failure names a file and says
    /// something.
    @Test func mutatedScenariosNeverCrash() throws {
        let path = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scenarios/benchmark.yaml").path
        let original = Array(try String(contentsOfFile: path, encoding: .utf8).utf8)
        let alphabet = Array("0123456789-:.,[]{}\"' \nxyz#&*!|>%@`\u{7f}".utf8) + [0xff, 0x00]
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + next(4)) {
                let position = next(bytes.count)
                switch next(3) {
                case 0: bytes[position] = alphabet[next(alphabet.count)]
                case 1: bytes.insert(alphabet[next(alphabet.count)], at: position)
                default: bytes.remove(at: position)
                }
            }
            do {
                _ = try ScenarioLoader.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "mutated.yaml")
            } catch {
                #expect(!error.problems.isEmpty)
                #expect(error.problems.allSatisfy { $0.file == "mutated.yaml" && !$0.message.isEmpty })
            }
        }
        #expect(
            problems("clusters: [a]\ntimeouts: {deploy: 1e300}") == [
                #"test.yaml:2: timeouts.deploy: must be a duration such as 30s, 500ms, 5m or 1h30m, got "1e300""#
            ])
    }

    @Test func deployAndConvergeGracesHaveDefaultsAndAreRead() throws {
        let defaults = try parse("clusters: [a]").timeouts
        #expect(defaults.imagePullGrace == .seconds(60))
        #expect(defaults.unschedulableGrace == .seconds(30))
        #expect(defaults.failedCreateGrace == .seconds(30))
        #expect(defaults.sidecarReadyGrace == .seconds(90))
        #expect(defaults.convergeFailedPairGrace == .seconds(15))
        let set = try parse(
            """
            clusters: [a]
            timeouts: {deploy: 10m, converge: 10m, imagePullGrace: 2m, unschedulableGrace: 45s, failedCreateGrace: 5s, sidecarReadyGrace: 3m, convergeFailedPairGrace: 20s}
            """
        ).timeouts
        #expect(
            set
                == PhaseTimeouts(
                    deploy: .seconds(600), converge: .seconds(600), imagePullGrace: .seconds(120), unschedulableGrace: .seconds(45),
                    failedCreateGrace: .seconds(5), sidecarReadyGrace: .seconds(180), convergeFailedPairGrace: .seconds(20)))
        // A short deploy timeout with the default graces is fine: the timeout simply decides first.
        #expect(try parse("clusters: [a]\ntimeouts: {deploy: 30s, converge: 10s}").timeouts.imagePullGrace == .seconds(60))
    }

    @Test func aGraceThatCouldNeverEndItsWaitIsRefused() {
        #expect(
            problems("clusters: [a]\ntimeouts: {deploy: 1m, imagePullGrace: 2m}") == [
                "test.yaml:2: timeouts.imagePullGrace: (2m) must be shorter than timeouts.deploy (1m), or the deploy timeout always ends the wait first; lower it or raise timeouts.deploy"
            ])
        #expect(
            problems("clusters: [a]\ntimeouts: {converge: 30s, convergeFailedPairGrace: 30s}") == [
                "test.yaml:2: timeouts.convergeFailedPairGrace: (30s) must be shorter than timeouts.converge (30s), or the converge timeout always ends the wait first; lower it or raise timeouts.converge"
            ])
        #expect(
            problems("clusters: [a]\ntimeouts: {sidecarReadyGrace: 0s}") == [
                "test.yaml:2: timeouts.sidecarReadyGrace: must be greater than 0 and at most 24h, got 0s"
            ])
        #expect(problems("clusters: [a]\ntimeouts: {imagePullGrce: 1m}").first?.contains("imagePullGrace") == true)
        var scenario = Scenario(
            name: "x", clusters: [ClusterSpec(context: "a", name: "a", serves: "v1", clients: true, helloworldReplicas: 1, sleepReplicas: 1)])
        scenario.timeouts.unschedulableGrace = .zero
        #expect(ScenarioValidator.problems(in: scenario).map(\.path) == ["timeouts.unschedulableGrace"])
    }

    @Test func gracesAreEchoedAndReplayed() throws {
        let scenario = try parse("clusters: [a]\ntimeouts: {imagePullGrace: 2m, convergeFailedPairGrace: 5s}")
        let echo = ScenarioEcho(scenario)
        #expect(echo.timeouts.imagePullGraceSeconds == 120)
        #expect(echo.timeouts.convergeFailedPairGraceSeconds == 5)
        #expect(try echo.scenario() == scenario)
        // A report written before the graces existed replays with the defaults.
        var old = echo
        old.timeouts.imagePullGraceSeconds = nil
        old.timeouts.convergeFailedPairGraceSeconds = nil
        #expect(try old.scenario().timeouts == PhaseTimeouts())
    }

    @Test func apiBoundsHaveDefaultsAreReadCheckedAndEchoed() throws {
        #expect(try parse("clusters: [a]").api == APISettings(requestTimeout: .seconds(30), maxResponseBytes: 64 << 20))
        // The scenario's defaults are KubeClient's (Scenario.swift is compiled without KubeClient by the fuzz target).
        #expect(APISettings.defaultMaxResponseBytes == KubeClientOptions.defaultMaxResponseBytes)
        #expect(APISettings.defaultRequestTimeout == KubeClientOptions().requestTimeout)
        let scenario = try parse("clusters: [a]\napi: {requestTimeout: 2m, maxResponseSize: 1Gi}")
        #expect(scenario.api == APISettings(requestTimeout: .seconds(120), maxResponseBytes: 1 << 30))
        let options = scenario.api.applied()
        #expect(options.requestTimeout == .seconds(120) && options.maxResponseBytes == 1 << 30)
        // A request timeout shorter than the connect timeout shortens that too.
        #expect(try parse("clusters: [a]\napi: {requestTimeout: 3s}").api.applied().connectTimeout == .seconds(3))
        #expect(
            problems("clusters: [a]\napi: {maxResponseSize: 512Ki}") == ["test.yaml:2: api.maxResponseSize: must be between 1Mi and 4Gi, got 512Ki"])
        #expect(
            problems("clusters: [a]\napi: {maxResponseSize: 64MB}") == [
                #"test.yaml:2: api.maxResponseSize: must be a size such as 64Mi, 512Ki or 1Gi (or a number of bytes), got "64MB""#
            ])
        #expect(problems("clusters: [a]\napi: {requestTimeout: 11m}") == ["test.yaml:2: api.requestTimeout: must be greater than 0 and at most 10m, got 11m"])
        #expect(problems("clusters: [a]\napi: {maxResponsSize: 1Gi}").first?.contains("maxResponseSize") == true)
        let echo = ScenarioEcho(scenario)
        #expect(echo.api == ScenarioEcho.API(requestTimeoutSeconds: 120, maxResponseBytes: 1 << 30))
        #expect(try echo.scenario() == scenario)
        // A report written before the setting existed replays with the defaults.
        var old = echo
        old.api = nil
        #expect(try old.scenario().api == APISettings())
    }

    @Test func sizesParseAndFormat() {
        #expect(parseByteSize("64Mi") == 64 << 20)
        #expect(parseByteSize("512Ki") == 512 << 10)
        #expect(parseByteSize("2Gi") == 2 << 30)
        #expect(parseByteSize("1048576") == 1 << 20)
        for bad in ["", "Mi", "1.5Mi", "-1Mi", "64MB", "1 Mi", "9999999999999Gi"] { #expect(parseByteSize(bad) == nil, "\(bad)") }
        #expect(formatByteSize(64 << 20) == "64Mi")
        #expect(formatByteSize(1536 << 10) == "1536Ki")
        #expect(formatByteSize(1000) == "1000")
    }

    @Test func durationsParseAndFormat() {
        #expect(parseDuration("1h30m") == .seconds(5400))
        #expect(parseDuration("250ms") == .milliseconds(250))
        #expect(parseDuration("1.5") == .milliseconds(1500))
        #expect(parseDuration("0.5s") == .milliseconds(500))
        #expect(parseDuration("") == nil)
        #expect(parseDuration("5x") == nil)
        #expect(parseDuration("s") == nil)
        #expect(formatDuration(.seconds(90)) == "1m30s")
        #expect(formatDuration(.milliseconds(250)) == "250ms")
        #expect(formatDuration(.milliseconds(1500)) == "1.5s")
        #expect(formatDuration(.seconds(7200)) == "2h")
    }

    @Test func suggestionsAndNameRules() {
        #expect(NameRules.suggestion(for: "requestTimeot", among: ScenarioReader.loadKeys) == "requestTimeout")
        #expect(NameRules.suggestion(for: "requests", among: ScenarioReader.loadKeys) == "requestsPerBurst")
        #expect(NameRules.suggestion(for: "zzzzzzzz", among: ["clusters", "load"]) == nil)
        #expect(NameRules.suggestion(for: "LOAD", among: ["clusters", "load"]) == "load")
        #expect(NameRules.editDistance("kitten", "sitting") == 3)
        #expect(NameRules.dns1123LabelProblem(String(repeating: "a", count: 63)) == nil)
        #expect(NameRules.dns1123LabelProblem(String(repeating: "a", count: 64)) != nil)
        #expect(NameRules.dns1123LabelProblem("-a") != nil)
        #expect(NameRules.dns1123SubdomainProblem("a.b-c") == nil)
        #expect(NameRules.dns1123SubdomainProblem("a..b") != nil)
        #expect(NameRules.imageReferenceProblem("registry.io:5000/a/b:1.0@sha256:ff") == nil)
        #expect(NameRules.imageReferenceProblem("a//b") != nil)
        #expect(NameRules.imageReferenceProblem("a\u{7}b") != nil)
        #expect(NameRules.contextNameProblem("") == "must not be empty")
        #expect(NameRules.contextNameProblem("a\nb") == "must not contain control characters")
        #expect(NameRules.registryPrefixProblem("reg.io/x@sha256:1") != nil)
    }
}
