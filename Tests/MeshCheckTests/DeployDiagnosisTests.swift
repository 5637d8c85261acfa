import Foundation
import KubeClient
import Testing

@testable import MeshCheck

/// The deploy classifier over objects as a real API server returns them (`kubectl get -o json`).
@Suite struct DeployDiagnosisTests {
    static let helloworld = ExpectedWorkload(name: "helloworld-v1", selector: ["app": "helloworld", "version": "v1"], replicas: 1)
    static let sleep = ExpectedWorkload(name: "sleep", selector: ["app": "sleep"], replicas: 1)
    static let namespace = "meshcheck-7f3a"

    func decode<T: Decodable>(_ json: String, as type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    func observe(pods: [String] = [], replicaSets: [String] = [], events: [String] = []) throws -> DeployObservation {
        DeployObservation(
            cluster: "cluster-1", context: "kind-cluster-1", expected: [Self.helloworld],
            pods: try pods.map { try decode($0) }, replicaSets: try replicaSets.map { try decode($0) },
            events: try events.map { try decode($0) })
    }

    func blockers(_ observation: DeployObservation) -> [DeployBlocker] {
        DeployDiagnosis.progress(observation).flatMap(\.blockers)
    }

    /// A HelloWorld pod owned by ReplicaSet `helloworld-v1-7d9f8c`, with sidecar injected.
    static func pod(
        name: String = "helloworld-v1-7d9f8c-abcde", phase: String = "Pending", nodeName: String? = "node-1", conditions: String = "[]",
        initStatuses: String = "[]", statuses: String = "[]"
    ) -> String {
        """
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "\(name)", "namespace": "\(namespace)",
           "labels": {"app": "helloworld", "version": "v1", "pod-template-hash": "7d9f8c"},
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "helloworld-v1-7d9f8c", "uid": "u-rs", "controller": true}]},
         "spec": {\(nodeName.map { "\"nodeName\": \"\($0)\"," } ?? "")
           "initContainers": [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.24.0"}],
           "containers": [{"name": "helloworld", "image": "docker.io/istio/examples-helloworld-v1:1.0"},
                          {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0"}]},
         "status": {"phase": "\(phase)", "conditions": \(conditions),
           "initContainerStatuses": \(initStatuses), "containerStatuses": \(statuses)}}
        """
    }

    static let initDone = """
        [{"name": "istio-init", "ready": true, "restartCount": 0, "image": "docker.io/istio/proxyv2:1.24.0",
          "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2026-12-02T09:00:03Z"}}}]
        """

    /// A HelloWorld pod past istio-init whose helloworld container waits for `reason`.
    static func waitingPod(_ reason: String, _ message: String) -> String {
        pod(initStatuses: initDone, statuses: helloworldWaiting(reason, message))
    }

    static func helloworldWaiting(_ reason: String, _ message: String, restarts: Int = 0, lastState: String = "{}") -> String {
        """
        [{"name": "helloworld", "ready": false, "restartCount": \(restarts), "image": "docker.io/istio/examples-helloworld-v1:1.0",
          "state": {"waiting": {"reason": "\(reason)", "message": \(jsonString(message))}}, "lastState": \(lastState)},
         {"name": "istio-proxy", "ready": true, "restartCount": 0, "started": true,
          "state": {"running": {"startedAt": "2026-12-02T09:00:04Z"}}}]
        """
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    static func event(kind: String, name: String, reason: String, message: String, fieldPath: String? = nil, last: String = "2026-12-02T09:00:30Z") -> String {
        """
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "\(name).181d2f3a\(reason.count)", "namespace": "\(namespace)"},
         "involvedObject": {"kind": "\(kind)", "namespace": "\(namespace)", "name": "\(name)"\(fieldPath.map { ", \"fieldPath\": \"\($0)\"" } ?? "")},
         "reason": "\(reason)", "message": \(jsonString(message)), "type": "Warning", "count": 4,
         "firstTimestamp": "2026-12-02T09:00:05Z", "lastTimestamp": "\(last)",
         "source": {"component": "kubelet", "host": "node-1"}}
        """
    }

    static let backOff = #"Back-off pulling image "docker.io/istio/examples-helloworld-v1:1.0""#
    static let pullError =
        #"failed to pull and unpack image "docker.io/istio/examples-helloworld-v1:1.0": failed to resolve reference "docker.io/istio/examples-helloworld-v1:1.0": docker.io/istio/examples-helloworld-v1:1.0: not found"#

    // MARK: Image pull

    @Test func imagePullBackOffNamesTheContainerTheImageAndTheRegistrysError() throws {
        let observation = try observe(
            pods: [
                Self.waitingPod("ImagePullBackOff", Self.backOff)
            ],
            events: [
                Self.event(
                    kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "Failed",
                    message: #"Failed to pull image "docker.io/istio/examples-helloworld-v1:1.0": rpc error: code = NotFound desc = "# + Self.pullError,
                    fieldPath: "spec.containers{helloworld}"),
                Self.event(
                    kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "BackOff", message: "Back-off pulling image",
                    fieldPath: "spec.containers{helloworld}"),
                // Newer, and says nothing the waiting reason does not: the registry's answer above is the detail.
                Self.event(
                    kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "Failed", message: "Error: ImagePullBackOff",
                    fieldPath: "spec.containers{helloworld}", last: "2026-12-02T09:00:40Z"),
            ])
        let found = blockers(observation)
        #expect(found.count == 1)
        let blocker = try #require(found.first)
        #expect(blocker.kind == .imagePull)
        #expect(blocker.reason == "ImagePullBackOff")
        #expect(blocker.object == "pod/helloworld-v1-7d9f8c-abcde")
        #expect(blocker.container == "helloworld")
        #expect(blocker.image == "docker.io/istio/examples-helloworld-v1:1.0")
        #expect(blocker.message == Self.backOff)
        #expect(blocker.detail?.hasSuffix(Self.pullError) == true)
        #expect(blocker.grace(PhaseTimeouts()) == .seconds(60))
    }

    /// The kubelet's events after a failed pull, in order: the registry's error, then `Failed` events that
    /// only repeat the reason. The newest of those must not stand in for the registry's error.
    @Test func theRegistrysErrorOutlivesTheKubeletsReasonOnlyEvents() throws {
        func failed(_ message: String, at second: Int) -> String {
            Self.event(
                kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "Failed", message: message, fieldPath: "spec.containers{helloworld}",
                last: "2026-12-02T09:00:\(second)Z")
        }
        let observation = try observe(
            pods: [Self.waitingPod("ImagePullBackOff", Self.backOff)],
            events: [
                failed(#"Failed to pull image "docker.io/istio/examples-helloworld-v1:1.0": rpc error: code = NotFound desc = "# + Self.pullError, at: 11),
                failed("Error: ErrImagePull", at: 11),
                failed("Error: ImagePullBackOff", at: 12),
            ])
        let blocker = try #require(blockers(observation).first)
        #expect(blocker.detail?.hasSuffix(Self.pullError) == true, "\(blocker.detail ?? "no detail")")
    }

    @Test func errImagePullCarriesTheMessageVerbatim() throws {
        let observation = try observe(pods: [Self.waitingPod("ErrImagePull", Self.pullError)])
        let blocker = try #require(blockers(observation).first)
        #expect(blocker.kind == .imagePull)
        #expect(blocker.reason == "ErrImagePull")
        #expect(blocker.message == Self.pullError)
        #expect(blocker.detail == nil)
    }

    @Test func anInvalidImageNameIsCertainAtOnce() throws {
        let observation = try observe(
            pods: [
                Self.waitingPod("InvalidImageName", #"Failed to apply default image tag "Docker.io/x:1": couldn't parse image name"#)
            ])
        #expect(blockers(observation).first?.grace(PhaseTimeouts()) == .zero)
    }

    // MARK: Scheduling

    static let insufficientCPU =
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."

    @Test func unschedulableComesFromThePodScheduledCondition() throws {
        let conditions = """
            [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "\(Self.insufficientCPU)",
              "lastTransitionTime": "2026-12-02T09:00:02Z"}]
            """
        let observation = try observe(pods: [Self.pod(nodeName: nil, conditions: conditions)])
        let found = blockers(observation)
        #expect(found.map(\.kind) == [.unschedulable])
        #expect(found.first?.reason == "Unschedulable")
        #expect(found.first?.message == Self.insufficientCPU)
        #expect(found.first?.grace(PhaseTimeouts()) == .seconds(30))
    }

    @Test func aFailedSchedulingEventExplainsAPodWithoutConditions() throws {
        let observation = try observe(
            pods: [Self.pod(nodeName: nil)],
            events: [Self.event(kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "FailedScheduling", message: Self.insufficientCPU)])
        let found = blockers(observation)
        #expect(found.map(\.kind) == [.unschedulable])
        #expect(found.first?.reason == "FailedScheduling")
        #expect(found.first?.message == Self.insufficientCPU)
    }

    // MARK: Admission

    static let podSecurityDenial =
        #"Error creating: pods "helloworld-v1-7d9f8c-abcde" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "istio-init" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "istio-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)"#

    static func replicaSet(conditions: String = "[]", statusReplicas: Int = 0) -> String {
        """
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": "helloworld-v1-7d9f8c", "namespace": "\(namespace)",
           "labels": {"app": "helloworld", "version": "v1", "pod-template-hash": "7d9f8c"},
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "helloworld-v1", "uid": "u-d", "controller": true}]},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "helloworld", "version": "v1"}}},
         "status": {"replicas": \(statusReplicas), "observedGeneration": 1, "conditions": \(conditions)}}
        """
    }

    @Test func aPodSecurityDenialFromTheReplicaFailureConditionIsCertainAtOnce() throws {
        let conditions = """
            [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": \(Self.jsonString(Self.podSecurityDenial)),
              "lastTransitionTime": "2026-12-02T09:00:01Z"}]
            """
        let observation = try observe(replicaSets: [Self.replicaSet(conditions: conditions)])
        let found = blockers(observation)
        #expect(found.count == 1)
        let blocker = try #require(found.first)
        #expect(blocker.kind == .failedCreate)
        #expect(blocker.object == "replicaset/helloworld-v1-7d9f8c")
        #expect(blocker.message == Self.podSecurityDenial)
        #expect(AdmissionDenial(blocker.message) == .podSecurity(level: "restricted:latest"))
        #expect(blocker.grace(PhaseTimeouts()) == .zero)
    }

    @Test func aFailedCreateEventAloneIsEnough() throws {
        let quota =
            #"Error creating: pods "helloworld-v1-7d9f8c-x2x9q" is forbidden: exceeded quota: compute-resources, requested: requests.cpu=200m, used: requests.cpu=1, limited: requests.cpu=1"#
        let observation = try observe(
            replicaSets: [Self.replicaSet()],
            events: [Self.event(kind: "ReplicaSet", name: "helloworld-v1-7d9f8c", reason: "FailedCreate", message: quota)])
        let blocker = try #require(blockers(observation).first)
        #expect(blocker.kind == .failedCreate)
        #expect(blocker.message == quota)
        #expect(AdmissionDenial(quota) == .resourceQuota(name: "compute-resources"))
        #expect(blocker.grace(PhaseTimeouts()) == .zero)
    }

    @Test func aWebhookThatDeniesIsCertainOneThatCannotBeCalledGetsAGrace() {
        let denied = #"Error creating: admission webhook "validate.kyverno.svc-fail" denied the request: policy Pod/meshcheck/x for resource violation"#
        let unreachable =
            #"Internal error occurred: failed calling webhook "namespace.sidecar-injector.istio.io": failed to call webhook: Post "https://istiod.istio-system.svc:443/inject?timeout=10s": dial tcp 10.96.0.12:443: connect: connection refused"#
        #expect(AdmissionDenial(denied) == .webhook(name: "validate.kyverno.svc-fail"))
        #expect(AdmissionDenial(unreachable) == nil)
        #expect(
            AdmissionDenial(#"Error creating: pods "x" is forbidden: error looking up service account meshcheck/sleep: serviceaccount "sleep" not found"#)
                == nil)
    }

    @Test func aFailedCreateTheReplicaSetRecoveredFromIsNotABlocker() throws {
        let recovered = try observe(
            pods: [Self.waitingPod("ContainerCreating", "")],
            replicaSets: [Self.replicaSet(statusReplicas: 1)],
            events: [Self.event(kind: "ReplicaSet", name: "helloworld-v1-7d9f8c", reason: "FailedCreate", message: Self.podSecurityDenial)])
        #expect(blockers(recovered).map(\.kind) == [.pending])
    }

    // MARK: Crash loop and sidecar

    @Test func crashLoopBackOffIsCertainAndTellsTheLastExit() throws {
        let message =
            "back-off 10s restarting failed container=helloworld pod=helloworld-v1-7d9f8c-abcde_\(Self.namespace)(0c9a7e4e-1b2c-4d5e-8f90-123456789abc)"
        let last = #"{"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-12-02T09:00:20Z"}}"#
        let observation = try observe(
            pods: [
                Self.pod(
                    phase: "Running", initStatuses: Self.initDone, statuses: Self.helloworldWaiting("CrashLoopBackOff", message, restarts: 3, lastState: last))
            ])
        let blocker = try #require(blockers(observation).first)
        #expect(blocker.kind == .crashLoop)
        #expect(blocker.message == message)
        #expect(blocker.detail == "last exit: Error, exit code 1, 3 restarts")
        #expect(blocker.grace(PhaseTimeouts()) == .zero)
    }

    @Test func anInitContainerInCrashLoopIsNamed() throws {
        let initStatuses = """
            [{"name": "istio-init", "ready": false, "restartCount": 2,
              "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container=istio-init pod=helloworld-v1-7d9f8c-abcde_x(u)"}},
              "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]
            """
        let statuses = Self.helloworldWaiting("PodInitializing", "")
        let observation = try observe(pods: [Self.pod(initStatuses: initStatuses, statuses: statuses)])
        let found = blockers(observation)
        #expect(found.map(\.kind) == [.crashLoop])
        #expect(found.first?.container == "istio-init")
        #expect(DeployDiagnosis.hint(try #require(found.first), namespace: Self.namespace).contains("istio-cni"))
    }

    @Test func aRunningSidecarThatIsNotReadyIsASidecarBlockerWithAGrace() throws {
        let statuses = """
            [{"name": "helloworld", "ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-12-02T09:00:04Z"}}},
             {"name": "istio-proxy", "ready": false, "restartCount": 0, "started": true, "state": {"running": {"startedAt": "2026-12-02T09:00:04Z"}}}]
            """
        let conditions = #"[{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [istio-proxy]"}]"#
        let observation = try observe(
            pods: [Self.pod(phase: "Running", conditions: conditions, initStatuses: Self.initDone, statuses: statuses)],
            events: [
                Self.event(
                    kind: "Pod", name: "helloworld-v1-7d9f8c-abcde", reason: "Unhealthy",
                    message: "Readiness probe failed: HTTP probe failed with statuscode: 503", fieldPath: "spec.containers{istio-proxy}")
            ])
        let found = blockers(observation)
        #expect(found.map(\.kind) == [.sidecarNotReady])
        #expect(found.first?.detail == "Readiness probe failed: HTTP probe failed with statuscode: 503")
        #expect(found.first?.grace(PhaseTimeouts()) == .seconds(90))
        #expect(DeployDiagnosis.hint(try #require(found.first), namespace: Self.namespace).contains("istioctl proxy-status"))
    }

    @Test func aNativeSidecarThatIsNotReadyCountsToo() throws {
        let initStatuses = """
            [{"name": "istio-init", "ready": true, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
             {"name": "istio-proxy", "ready": false, "started": true, "state": {"running": {}}}]
            """
        let observation = try observe(pods: [Self.pod(phase: "Pending", initStatuses: initStatuses, statuses: Self.helloworldWaiting("PodInitializing", ""))])
        #expect(blockers(observation).map(\.kind) == [.sidecarNotReady])
    }

    // MARK: Waiting that is progress

    @Test func containerCreatingAndMissingPodsArePendingAndNeverCertain() throws {
        let creating = try observe(pods: [Self.waitingPod("ContainerCreating", "")])
        #expect(blockers(creating).map(\.reason) == ["ContainerCreating"])
        let nothing = try observe()
        #expect(blockers(nothing).map(\.reason) == ["NoPods"])
        #expect(blockers(nothing).map { $0.grace(PhaseTimeouts()) } == [nil])
    }

    @Test func aWorkloadShortOfPodsSaysHowManyExist() throws {
        var observation = try observe(pods: [Self.waitingPod("ContainerCreating", "")])
        observation.expected = [ExpectedWorkload(name: "helloworld-v1", selector: Self.helloworld.selector, replicas: 2)]
        observation.pods[0].status = nil
        #expect(blockers(observation).map(\.message) == ["1 of 2 pods created so far"])
    }

    @Test func readyPodsAndPodsOfOtherWorkloadsAreNotBlockers() throws {
        let ready = """
            [{"name": "helloworld", "ready": true, "state": {"running": {}}}, {"name": "istio-proxy", "ready": true, "state": {"running": {}}}]
            """
        let conditions = #"[{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}]"#
        let observation = try observe(
            pods: [
                Self.pod(phase: "Running", conditions: conditions, initStatuses: Self.initDone, statuses: ready),
                Self.pod(name: "sleep-5d8f-zzzzz", statuses: Self.helloworldWaiting("ErrImagePull", "x")).replacingOccurrences(
                    of: #""app": "helloworld", "version": "v1""#, with: #""app": "sleep""#),
            ])
        let progress = DeployDiagnosis.progress(observation)
        #expect(progress.map(\.ready) == [1])
        #expect(progress.map(\.isReady) == [true])
        #expect(DeployDiagnosis.progressLine(cluster: "cluster-1", progress).isEmpty)
    }

    @Test func objectsWithMissingFieldsDecodeAndClassify() throws {
        let bare = #"{"metadata": {"name": "helloworld-v1-7d9f8c-abcde", "labels": {"app": "helloworld", "version": "v1"}}}"#
        let observation = try observe(pods: [bare], replicaSets: [#"{"metadata": {"name": "rs"}}"#], events: [#"{"metadata": {}}"#])
        #expect(blockers(observation).map(\.kind) == [.pending])
    }

    // MARK: Grace

    func imagePullBlocker(pod: String = "helloworld-v1-7d9f8c-abcde", reason: String = "ImagePullBackOff") -> DeployBlocker {
        DeployBlocker(
            kind: .imagePull, cluster: "cluster-1", context: "kind-cluster-1", workload: "helloworld-v1", object: "pod/\(pod)",
            container: "helloworld", image: "docker.io/istio/examples-helloworld-v1:1.0", reason: reason, message: "Back-off pulling image")
    }

    @Test func aGraceRunsFromTheFirstRoundThatShowedTheBlocker() {
        var clock = DeployBlockerClock(timeouts: PhaseTimeouts(imagePullGrace: .seconds(60)))
        #expect(clock.judge([], at: .seconds(0)).isEmpty)
        #expect(clock.judge([imagePullBlocker(reason: "ErrImagePull")], at: .seconds(10)).map(\.certain) == [false])
        // ErrImagePull and ImagePullBackOff alternate: the grace keeps running.
        #expect(clock.judge([imagePullBlocker()], at: .seconds(69)).map(\.seenFor) == [.seconds(59)])
        let judged = clock.judge([imagePullBlocker()], at: .seconds(70))
        #expect(judged.map(\.certain) == [true])
        #expect(judged.map(\.seenFor) == [.seconds(60)])
    }

    @Test func aBlockerThatWentAwayStartsItsGraceAgain() {
        var clock = DeployBlockerClock(timeouts: PhaseTimeouts(imagePullGrace: .seconds(60)))
        _ = clock.judge([imagePullBlocker()], at: .seconds(0))
        _ = clock.judge([], at: .seconds(50))
        #expect(clock.judge([imagePullBlocker()], at: .seconds(70)).map(\.certain) == [false])
        #expect(clock.judge([imagePullBlocker()], at: .seconds(130)).map(\.certain) == [true])
    }

    @Test func pendingIsNeverCertainAndCrashLoopIsAtOnce() {
        var clock = DeployBlockerClock(timeouts: PhaseTimeouts())
        var pending = imagePullBlocker()
        pending.kind = .pending
        var crash = imagePullBlocker(pod: "other")
        crash.kind = .crashLoop
        _ = clock.judge([pending], at: .zero)
        #expect(clock.judge([pending, crash], at: .seconds(3600)).map(\.certain) == [false, true])
    }

    // MARK: Lines and rows

    @Test func theProgressLineNamesEachReasonPerWorkload() throws {
        let observation = try observe(
            pods: [
                Self.waitingPod("ImagePullBackOff", Self.backOff)
            ])
        #expect(
            DeployDiagnosis.progressLine(cluster: "cluster-1", DeployDiagnosis.progress(observation)) == [
                #"cluster-1 helloworld-v1 0/1 (ImagePullBackOff: Back-off pulling image "docker.io/istio/examples-helloworld-v1:1.0")"#
            ])
        let long = String(repeating: "x", count: 400)
        let shortened = DeployDiagnosis.progressLine(
            cluster: "cluster-1",
            DeployDiagnosis.progress(try observe(pods: [Self.waitingPod("ErrImagePull", long)])))
        #expect(shortened.first?.count ?? 0 < 220)
        #expect(shortened.first?.hasSuffix("…)") == true)
    }

    @Test func aFailedDeployRowCarriesClusterObjectReasonMessageAndHint() {
        var blocker = imagePullBlocker()
        blocker.detail = "Failed to pull image: not found"
        let rows = DeployDiagnosis.checks([JudgedBlocker(blocker: blocker, seenFor: .seconds(61), certain: true)], namespace: Self.namespace)
        #expect(rows.count == 1)
        let row = rows[0]
        #expect(row.name == CheckName.deploy)
        #expect(row.source == "cluster-1", "reports group the row under its cluster")
        #expect(row.status == .fail)
        #expect(
            row.message
                == "cluster-1 (context kind-cluster-1): pod/helloworld-v1-7d9f8c-abcde container helloworld image docker.io/istio/examples-helloworld-v1:1.0: ImagePullBackOff for 1m1s, will not become ready by waiting"
        )
        #expect(row.cause == "pod/helloworld-v1-7d9f8c-abcde container helloworld: ImagePullBackOff: Back-off pulling image (Failed to pull image: not found)")
        for setting in ["images.registry", "images.pullSecrets", "images.helloworld.<version>", "images.sleep"] {
            #expect(row.hint?.contains(setting) == true)
        }
    }

    @Test func eachKindHasAHintThatSaysWhatToDo() {
        func hint(_ kind: DeployBlocker.Kind, _ message: String = "", container: String? = "helloworld") -> String {
            var blocker = imagePullBlocker()
            blocker.kind = kind
            blocker.message = message
            blocker.container = container
            return DeployDiagnosis.hint(blocker, namespace: Self.namespace)
        }
        #expect(hint(.unschedulable).contains("add nodes"))
        #expect(hint(.unschedulable).contains("requests"))
        #expect(hint(.failedCreate, Self.podSecurityDenial).contains("pod-security.kubernetes.io/enforce"))
        #expect(hint(.failedCreate, Self.podSecurityDenial).contains("NET_ADMIN"))
        #expect(hint(.failedCreate, Self.podSecurityDenial).contains("istio-cni"))
        #expect(hint(.failedCreate, "exceeded quota: pods-limit, requested: pods=1").contains("ResourceQuota pods-limit"))
        #expect(hint(.failedCreate, #"admission webhook "deny.example.com" denied the request: no"#).contains("deny.example.com"))
        let blocker = imagePullBlocker()
        #expect(
            hint(.crashLoop).contains(
                "kubectl --context \(blocker.context) -n \(Self.namespace) logs --previous helloworld-v1-7d9f8c-abcde -c helloworld"))
        #expect(hint(.sidecarNotReady).contains("istiod"))
    }

    /// An early end reports as the deploy timeout does: verdict `error`, exit 3, and the `deploy` rows
    /// after preflight's (RunState hands them to the one report builder this way).
    @Test func aCertainFailureIsReportedWithTheDeployTimeoutsExitCode() throws {
        let scenario = try Scenario.guideCheck(contexts: ["ctx-1", "ctx-2"])
        let facts = RunFacts(
            runId: "r", startedAt: "2026-12-02T09:00:00Z", durationSeconds: 70, namespace: Self.namespace, revision: "default",
            scenario: scenario, readyEndpoints: [:], phases: [PhaseTiming(name: "deploy", seconds: 62)], convergeSeconds: nil, retries: [],
            exec: ExecStats(sessions: 0, failed: 0, roundTripMs: nil), cleanup: CleanupReport(status: .done, leftovers: []))
        let rows = DeployDiagnosis.checks([JudgedBlocker(blocker: imagePullBlocker(), seenFor: .seconds(61), certain: true)], namespace: Self.namespace)
        let preflight = [CheckResult(name: "api", status: .pass, message: "ok")]
        let abort = RunAbort(.environment, "workloads not ready and will not be by waiting")
        let outcome = RunReportBuilder.report(
            facts: facts, judged: nil, unjudgedChecks: preflight + rows, end: .failed(message: abort.message, exitCode: abort.exitCode))
        #expect(outcome.exitCode == 3)
        #expect(outcome.report.verdict == .error)
        #expect(outcome.report.checks.map(\.name) == ["api", CheckName.deploy])
        #expect(outcome.report.checks.last?.hint?.contains("images.registry") == true)
    }

    /// When one blocker ends the wait, the others still get rows, worded as cut short rather than timed out.
    @Test func blockersStillWithinTheirGraceAreReportedAsCutShort() {
        var crash = imagePullBlocker()
        crash.kind = .crashLoop
        crash.reason = "CrashLoopBackOff"
        var starting = imagePullBlocker()
        starting.kind = .pending
        starting.reason = "ContainerCreating"
        let rows = DeployDiagnosis.checks(
            [
                JudgedBlocker(blocker: crash, seenFor: .seconds(3), certain: true),
                JudgedBlocker(blocker: imagePullBlocker(), seenFor: .seconds(3), certain: false),
                JudgedBlocker(blocker: starting, seenFor: .seconds(3), certain: false),
            ],
            namespace: Self.namespace, stoppedEarly: true)
        #expect(rows.count == 2, "a pod on its way to ready is no fault: \(rows.map(\.message))")
        #expect(rows[0].message.hasSuffix("will not become ready by waiting"))
        #expect(rows[1].message.hasSuffix("not ready yet when the wait stopped"))
        #expect(rows.allSatisfy { $0.status == .fail })
    }
}
