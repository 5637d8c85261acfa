import Testing

@testable import MeshSim

/// A cluster with an injected `sample` namespace, for pod faults and what kubectl shows of them.
extension ClusterHarness {
    static let helloworldImage = "docker.io/istio/examples-helloworld-v1:1.0"

    static func withSample(_ faults: PodFaults) -> ClusterHarness {
        var cluster = ClusterHarness()
        cluster.state.podFaults = faults
        cluster.call("POST", "/api/v1/namespaces", namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        cluster.call(
            "POST", "/apis/apps/v1/namespaces/sample/deployments",
            deployment("helloworld-v1", labels: ["app": "helloworld", "version": "v1"], image: helloworldImage))
        return cluster
    }

    var samplePod: JSON { pods("sample").first ?? .null }

    func container(_ name: String) -> JSON {
        (samplePod["status"]["containerStatuses"].array ?? []).first { $0["name"].string == name } ?? .null
    }

    func condition(_ type: String, of object: JSON) -> JSON {
        (object["status"]["conditions"].array ?? []).first { $0["type"].string == type } ?? .null
    }

    /// The pod's row as `kubectl get pods` receives it: NAME, READY, STATUS, RESTARTS, …
    mutating func podRow() -> [JSON] {
        let table = call("GET", "/api/v1/namespaces/sample/pods", accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json
        return table?["rows"].array?.first?["cells"].array ?? []
    }

    /// (reason, message, count) of the events about an object, as `kubectl describe` finds them.
    mutating func events(about object: JSON) -> [(String, String, Int64)] {
        let uid = object["metadata"]["uid"].string ?? ""
        let list = call("GET", "/api/v1/namespaces/sample/events?fieldSelector=involvedObject.uid%3D\(uid)").json
        return (list?["items"].array ?? []).map {
            ($0["reason"].string ?? "", $0["message"].string ?? "", $0["count"].int ?? 0)
        }
    }
}

@Suite struct PodFaultTests {
    @Test func imagePullFailuresShowErrImagePullThenImagePullBackOffAndRecover() {
        var faults = PodFaults()
        faults.imagePullErrors = ["*/examples-helloworld-v1:*"]
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(0.5)
        let pulled = "docker.io/istio/examples-helloworld-v1:1.0"
        #expect(cluster.samplePod["status"]["phase"] == "Pending")
        #expect(cluster.container("app")["state"]["waiting"]["reason"] == "ErrImagePull")
        let notFound =
            "rpc error: code = NotFound desc = failed to pull and unpack image \"\(pulled)\": failed to resolve reference \"\(pulled)\": \(pulled): not found"
        #expect(cluster.container("app")["state"]["waiting"]["message"].string == notFound)
        var row = cluster.podRow()
        #expect(row[1] == "1/2" && row[2] == "ErrImagePull")
        let pod = cluster.samplePod
        var events = cluster.events(about: pod).map { "\($0.0): \($0.1)" }
        #expect(events.contains("Pulling: Pulling image \"\(pulled)\""))
        #expect(events.contains("Failed: Failed to pull image \"\(pulled)\": \(notFound)"))
        #expect(events.contains("Failed: Error: ErrImagePull"))

        cluster.advance(1)
        #expect(cluster.container("app")["state"]["waiting"]["reason"] == "ImagePullBackOff")
        #expect(cluster.container("app")["state"]["waiting"]["message"].string == "Back-off pulling image \"\(pulled)\"")
        row = cluster.podRow()
        #expect(row[2] == "ImagePullBackOff")
        events = cluster.events(about: pod).map { "\($0.0): \($0.1)" }
        #expect(events.contains("BackOff: Back-off pulling image \"\(pulled)\""))
        #expect(events.contains("Failed: Error: ImagePullBackOff"))

        cluster.advance(10)
        #expect(cluster.events(about: pod).contains { $0.0 == "Pulling" && $0.2 == 2 })
        cluster.state.podFaults.imagePullErrors = []
        cluster.advance(1)
        cluster.advance(20)
        #expect(ClusterState.isReady(cluster.samplePod))
        #expect(cluster.podRow()[1] == "2/2")
    }

    @Test func failingInitContainerImagesHoldThePodInInit() {
        var faults = PodFaults()
        faults.imagePullErrors = ["gcr.io/gke-release/asm/proxyv2:*"]
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(0.5)
        #expect(cluster.podRow()[2] == "Init:ErrImagePull")
        #expect(cluster.condition("Initialized", of: cluster.samplePod)["reason"] == "ContainersNotInitialized")
        #expect(cluster.container("app")["state"]["waiting"]["reason"] == "PodInitializing")
    }

    @Test func unschedulablePodsStayPendingWithTheSchedulersMessageAndAreBoundOnceLifted() {
        var faults = PodFaults()
        faults.unschedulable = PodFaults.defaultUnschedulableMessage
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(1)
        let pod = cluster.samplePod
        #expect(pod["spec"]["nodeName"].isNull && pod["status"]["phase"] == "Pending")
        let scheduled = cluster.condition("PodScheduled", of: pod)
        #expect(scheduled["status"] == "False" && scheduled["reason"] == "Unschedulable")
        #expect(scheduled["message"].string == PodFaults.defaultUnschedulableMessage)
        #expect(cluster.podRow()[2] == "Pending" && cluster.podRow()[1] == "0/2")
        let list = cluster.call("GET", "/api/v1/namespaces/sample/events").json?["items"].array ?? []
        let event = list.first { $0["reason"] == "FailedScheduling" } ?? .null
        #expect(event["type"] == "Warning" && event["source"]["component"] == "default-scheduler")
        #expect(event["reportingComponent"] == "default-scheduler" && event["message"].string == PodFaults.defaultUnschedulableMessage)
        #expect(event["involvedObject"]["kind"] == "Pod" && event["involvedObject"]["uid"] == pod["metadata"]["uid"])

        cluster.state.podFaults.unschedulable = nil
        cluster.advance(1)
        #expect(cluster.samplePod["spec"]["nodeName"].string == cluster.state.nodeName)
        cluster.advance(1)
        #expect(ClusterState.isReady(cluster.samplePod))
    }

    @Test func crashingAppContainersGoIntoCrashLoopBackOff() {
        var faults = PodFaults()
        faults.crashLoopApps = ["helloworld"]
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(0.5)
        #expect(cluster.container("app")["state"]["running"].isNull == false)
        cluster.advance(1)
        #expect(cluster.container("app")["state"]["terminated"]["reason"] == "Error")
        #expect(cluster.podRow()[2] == "Error")
        cluster.advance(0.5)
        #expect(cluster.container("app")["restartCount"] == 1)
        cluster.advance(1)
        let pod = cluster.samplePod
        let app = cluster.container("app")
        #expect(pod["status"]["phase"] == "Running")
        #expect(app["state"]["waiting"]["reason"] == "CrashLoopBackOff")
        let podName = "\(pod["metadata"]["name"].string ?? "")_sample(\(pod["metadata"]["uid"].string ?? ""))"
        #expect(app["state"]["waiting"]["message"].string == "back-off 10s restarting failed container=app pod=\(podName)")
        #expect(app["lastState"]["terminated"]["exitCode"] == 1 && app["lastState"]["terminated"]["reason"] == "Error")
        let row = cluster.podRow()
        #expect(row[1] == "1/2" && row[2] == "CrashLoopBackOff" && row[3].string?.hasPrefix("1 (") == true)
        #expect(cluster.events(about: pod).contains { $0.0 == "BackOff" && $0.1 == "Back-off restarting failed container app in pod \(podName)" })
        cluster.advance(10.5)
        #expect(cluster.container("app")["restartCount"] == 2)
        cluster.advance(1)
        #expect(cluster.container("app")["state"]["waiting"]["message"].string?.hasPrefix("back-off 20s ") == true)

        cluster.state.podFaults.crashLoopApps = []
        cluster.advance(21)
        #expect(ClusterState.isReady(cluster.samplePod) && cluster.container("app")["restartCount"] == 3)
    }

    @Test func unreadySidecarsKeepThePodUnreadyWithProbeFailures() {
        var faults = PodFaults()
        faults.sidecarNotReady = true
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(0.5)
        let pod = cluster.samplePod
        #expect(pod["status"]["phase"] == "Running" && !ClusterState.isReady(pod))
        #expect(cluster.container("istio-proxy")["ready"] == false && cluster.container("istio-proxy")["state"]["running"].isNull == false)
        #expect(cluster.container("app")["ready"] == true)
        let ready = cluster.condition("Ready", of: pod)
        #expect(ready["reason"] == "ContainersNotReady" && ready["message"] == "containers with unready status: [istio-proxy]")
        let row = cluster.podRow()
        #expect(row[1] == "1/2" && row[2] == "Running")
        #expect(cluster.events(about: pod).contains { $0.0 == "Unhealthy" && $0.1 == "Readiness probe failed: HTTP probe failed with statuscode: 503" })
        let log = cluster.call("GET", "/api/v1/namespaces/sample/pods/\(pod["metadata"]["name"].string ?? "")/log?container=istio-proxy")
        #expect(String(decoding: log.body, as: UTF8.self).contains("config not received from XDS server (is Istiod running?)"))

        cluster.state.podFaults.sidecarNotReady = false
        cluster.advance(16)
        #expect(ClusterState.isReady(cluster.samplePod) && cluster.podRow()[1] == "2/2")
    }

    @Test func refusedPodCreatesGiveTheReplicaSetFailedCreateEvents() {
        var faults = PodFaults()
        faults.denyPods = PodFaults.defaultDenyPodsMessage
        var cluster = ClusterHarness.withSample(faults)
        cluster.advance(1)
        #expect(cluster.pods("sample").isEmpty)
        let replicaSet = cluster.state.store.list(.replicaSets, namespace: "sample").first ?? .null
        let rsName = replicaSet["metadata"]["name"].string ?? ""
        let forbidden = "pods \"\(rsName)-\" is forbidden: \(PodFaults.defaultDenyPodsMessage)"
        let failure = cluster.condition("ReplicaFailure", of: replicaSet)
        #expect(failure["status"] == "True" && failure["reason"] == "FailedCreate" && failure["message"].string == forbidden)
        let deployment = cluster.object(.deployments, "sample", "helloworld-v1") ?? .null
        #expect(cluster.condition("ReplicaFailure", of: deployment)["message"].string == forbidden)
        let events = cluster.call("GET", "/api/v1/namespaces/sample/events?fieldSelector=reason%3DFailedCreate").json?["items"].array ?? []
        #expect(events.count == 1)
        #expect(events.first?["message"].string == "Error creating: \(forbidden)")
        #expect(events.first?["involvedObject"]["kind"] == "ReplicaSet" && events.first?["source"]["component"] == "replicaset-controller")
        cluster.advance(11)
        #expect(cluster.call("GET", "/api/v1/namespaces/sample/events").json?["items"].array?.first?["count"] == 2)

        let direct = cluster.call(
            "POST", "/api/v1/namespaces/sample/pods",
            ["apiVersion": "v1", "kind": "Pod", "metadata": ["generateName": "probe-"], "spec": ["containers": [["name": "c", "image": "busybox"]]]])
        #expect(direct.status == 403)
        #expect(direct.json?["reason"] == "Forbidden")
        #expect(direct.json?["message"].string == "pods \"probe-\" is forbidden: \(PodFaults.defaultDenyPodsMessage)")

        cluster.state.podFaults.denyPods = nil
        cluster.advance(11)
        #expect(cluster.pods("sample").count == 1)
        let healed = cluster.state.store.list(.replicaSets, namespace: "sample").first ?? .null
        #expect(cluster.condition("ReplicaFailure", of: healed).isNull)
    }

    @Test func eventsPrintAsTheServersEventTable() {
        var faults = PodFaults()
        faults.unschedulable = "0/1 nodes are available: 1 Too many pods."
        var cluster = ClusterHarness.withSample(faults)
        let table = cluster.call("GET", "/api/v1/namespaces/sample/events", accept: "application/json;as=Table;v=v1;g=meta.k8s.io").json ?? .null
        #expect(
            table["columnDefinitions"].array?.map { $0["name"] } == [
                "Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name",
            ])
        let cells = table["rows"].array?.first?["cells"].array ?? []
        let podName = cluster.samplePod["metadata"]["name"].string ?? ""
        #expect(cells[1] == "Warning" && cells[2] == "FailedScheduling" && cells[3].string == "pod/\(podName)")
        #expect(cells[5] == "default-scheduler" && cells[6] == "0/1 nodes are available: 1 Too many pods." && cells[8] == 1)
    }

    @Test func statusColumnIsDerivedAsThePodPrinterDoes() {
        func pod(phase: String, initStatuses: [JSON] = [], statuses: [JSON], ready: Bool = false, deleting: Bool = false) -> JSON {
            [
                "metadata": ["deletionTimestamp": deleting ? "2026-01-01T00:00:00Z" : .null],
                "spec": ["initContainers": .array(initStatuses.map { ["name": $0["name"]] })],
                "status": [
                    "phase": .string(phase), "initContainerStatuses": .array(initStatuses), "containerStatuses": .array(statuses),
                    "conditions": [["type": "Ready", "status": ready ? "True" : "False"], ["type": "Initialized", "status": "True"]],
                ],
            ]
        }
        let running: JSON = ["name": "a", "ready": true, "state": ["running": ["startedAt": "x"]]]
        let completed: JSON = ["name": "b", "state": ["terminated": ["exitCode": 0, "reason": "Completed"]]]
        let failedInit: JSON = ["name": "i", "state": ["terminated": ["exitCode": 2]]]
        let waitingInit: JSON = ["name": "i", "state": ["waiting": ["reason": "PodInitializing"]]]
        #expect(Tables.podStatus(pod(phase: "Running", statuses: [running])) == "Running")
        #expect(Tables.podStatus(pod(phase: "Running", statuses: [running, completed])) == "NotReady")
        #expect(Tables.podStatus(pod(phase: "Running", statuses: [running, completed], ready: true)) == "Running")
        var initializing = pod(phase: "Pending", initStatuses: [waitingInit], statuses: [])
        initializing["status"]["conditions"] = []
        #expect(Tables.podStatus(initializing) == "Init:0/1")
        var initFailed = pod(phase: "Pending", initStatuses: [failedInit], statuses: [])
        initFailed["status"]["conditions"] = []
        #expect(Tables.podStatus(initFailed) == "Init:ExitCode:2")
        #expect(Tables.podStatus(pod(phase: "Running", statuses: [running], deleting: true)) == "Terminating")
        #expect(Tables.podStatus(pod(phase: "Succeeded", statuses: [completed], deleting: true)) == "Completed")
        #expect(Tables.restarts(pod(phase: "Running", statuses: [running]), now: 0) == "0")
    }

    @Test func globsMatchImageReferences() {
        #expect(Glob.matches("*/helloworld:*", "docker.io/istio/helloworld:1.0"))
        #expect(Glob.matches("docker.io/istio/examples-helloworld-v2*", "docker.io/istio/examples-helloworld-v2:1.0"))
        #expect(!Glob.matches("docker.io/istio/examples-helloworld-v2*", "docker.io/istio/examples-helloworld-v1:1.0"))
        #expect(Glob.matches("busybox:?.36", "busybox:1.36") && !Glob.matches("busybox", "busybox:1.36"))
        #expect(PodFaultWording.qualifiedImage("busybox") == "docker.io/library/busybox:latest")
        #expect(PodFaultWording.qualifiedImage("istio/helloworld:1.0") == "docker.io/istio/helloworld:1.0")
        #expect(PodFaultWording.qualifiedImage("localhost:5000/hello") == "localhost:5000/hello:latest")
        #expect(PodFaultWording.qualifiedImage("gcr.io/x/y@sha256:ab") == "gcr.io/x/y@sha256:ab")
    }

    @Test func podsAreDefaultedAsARealServerDoes() {
        var cluster = ClusterHarness()
        cluster.call("POST", "/api/v1/namespaces", ClusterHarness.namespace("sample", labels: ["istio.io/rev": "asm-1-23"]))
        let created =
            cluster.call(
                "POST", "/api/v1/namespaces/sample/pods",
                [
                    "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
                    "spec": [
                        "containers": [
                            ["name": "c", "image": "registry:5000/app", "readinessProbe": ["httpGet": ["path": "/", "port": 80]]]
                        ]
                    ],
                ]
            ).json ?? .null
        let spec = created["spec"]
        let app = spec["containers"].array?.first ?? .null
        #expect(app["imagePullPolicy"] == "Always" && app["terminationMessagePolicy"] == "File")
        #expect(app["readinessProbe"]["timeoutSeconds"] == 1 && app["readinessProbe"]["periodSeconds"] == 10)
        #expect(app["readinessProbe"]["successThreshold"] == 1 && app["readinessProbe"]["failureThreshold"] == 3)
        #expect(app["readinessProbe"]["httpGet"]["scheme"] == "HTTP")
        #expect(spec["enableServiceLinks"] == true && spec["serviceAccountName"] == "default" && spec["serviceAccount"] == "default")
        #expect(spec["tolerations"].array?.map { $0["key"] } == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
        #expect(spec["tolerations"].array?.allSatisfy { $0["tolerationSeconds"] == 300 && $0["effect"] == "NoExecute" } == true)
        #expect(spec["priority"] == 0 && spec["preemptionPolicy"] == "PreemptLowerPriority")
        let volumes = Set((spec["volumes"].array ?? []).compactMap { $0["name"].string })
        let status = (try? JSON.parse(created["metadata"]["annotations"]["sidecar.istio.io/status"].string ?? "")) ?? .null
        let listed = (status["volumes"].array ?? []).compactMap(\.string)
        #expect(!listed.isEmpty && listed.allSatisfy(volumes.contains))
        #expect(volumes.contains { $0.hasPrefix("kube-api-access-") })
        let proxyMounts = (spec["containers"].array?.last?["volumeMounts"].array ?? []).compactMap { $0["name"].string }
        #expect(proxyMounts.allSatisfy(volumes.contains) && proxyMounts.contains("istio-token"))
        #expect(ClusterState.imageHasLatestTag("busybox") && !ClusterState.imageHasLatestTag("registry:5000/app:1.0"))

        cluster.call("POST", "/apis/apps/v1/namespaces/sample/deployments", ClusterHarness.deployment("d", labels: ["app": "d"]))
        let template = cluster.object(.deployments, "sample", "d")?["spec"]["template"]["spec"] ?? .null
        #expect(template["serviceAccountName"].isNull && template["tolerations"].isNull && template["enableServiceLinks"] == true)
        #expect(template["priority"].isNull, "priority is admission's, for Pods only")
    }
}
