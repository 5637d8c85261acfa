// Pod faults a first run meets on a real cluster (issue #14): images that cannot be pulled, pods no node can
// take, admission that refuses pods, app containers that crash, sidecars that never become ready. Each shows
// the way the kubelet, the scheduler and the ReplicaSet controller show it: container states, pod conditions
// and Events with their wording, so a client reads them as it would on a real cluster.

/// The pod faults of one cluster. Image pull errors are mesh-wide (a registry is shared), so every cluster
/// carries the same patterns.
package struct PodFaults: Sendable, Equatable {
    /// Globs over image references (`*` any run of characters, `?` one); a matching image cannot be pulled.
    package var imagePullErrors: [String] = []
    /// The scheduler's message when set: no node fits any new pod (`0/3 nodes are available: …`).
    package var unschedulable: String?
    /// Values of the `app` label whose app containers exit with code 1 at every start.
    package var crashLoopApps: [String] = []
    /// Sidecars run but their readiness probe fails (the proxy cannot reach istiod).
    package var sidecarNotReady = false
    /// The admission plugin's reason when set: pod creates are refused (`violates PodSecurity …`).
    package var denyPods: String?

    package init() {}

    package static let none = PodFaults()

    /// The message real schedulers give for a cluster whose nodes lack CPU for the pod's requests.
    package static let defaultUnschedulableMessage =
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        + "3 No preemption victims found for incoming pod."

    /// What PodSecurity `restricted` says about an injected pod (istio-init needs NET_ADMIN and NET_RAW).
    package static let defaultDenyPodsMessage =
        "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (containers \"istio-init\", "
        + "\"istio-proxy\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
        + "(container \"istio-init\" must not include \"NET_ADMIN\", \"NET_RAW\" in securityContext.capabilities.add), "
        + "runAsNonRoot != true (pod or container \"istio-init\" must set securityContext.runAsNonRoot=true), "
        + "seccompProfile (pod or containers must set securityContext.seccompProfile.type to \"RuntimeDefault\" or "
        + "\"Localhost\")"

    static func validate(imagePullErrors patterns: [String]) throws(SimulatedMeshError) {
        for pattern in patterns where pattern.isEmpty || pattern.contains(where: \.isWhitespace) {
            throw SimulatedMeshError.invalidOptions(
                "image pull error pattern \"\(pattern)\" must be a non-empty glob without spaces, e.g. */helloworld:*")
        }
    }

    /// The first image reference of `images` that a pull-error pattern matches.
    func failingImage(_ images: [String]) -> String? {
        images.first { image in imagePullErrors.contains { Glob.matches($0, image) } }
    }
}

/// Shell-style globs over image references: `*` matches any run of characters (slashes too), `?` one.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let pattern = Array(pattern.unicodeScalars)
        let text = Array(text.unicodeScalars)
        var patternIndex = 0
        var textIndex = 0
        var starPattern = -1
        var starText = 0
        while textIndex < text.count {
            if patternIndex < pattern.count, pattern[patternIndex] == "?" || pattern[patternIndex] == text[textIndex] {
                patternIndex += 1
                textIndex += 1
            } else if patternIndex < pattern.count, pattern[patternIndex] == "*" {
                starPattern = patternIndex
                starText = textIndex
                patternIndex += 1
            } else if starPattern >= 0 {
                patternIndex = starPattern + 1
                starText += 1
                textIndex = starText
            } else {
                return false
            }
        }
        while patternIndex < pattern.count, pattern[patternIndex] == "*" { patternIndex += 1 }
        return patternIndex == pattern.count
    }
}

/// The wording of the kubelet (with containerd) and of the control plane's controllers, in one place so
/// the simulator and its tests say the same thing a real cluster does.
enum PodFaultWording {
    /// containerd's fully qualified form of an image reference: Docker Hub's `docker.io/library/` for short
    /// names, `:latest` when neither tag nor digest is given.
    static func qualifiedImage(_ image: String) -> String {
        var reference = image
        let firstSegment = reference.split(separator: "/", maxSplits: 1).first.map(String.init) ?? reference
        let hasRegistry =
            reference.contains("/") && (firstSegment.contains(".") || firstSegment.contains(":") || firstSegment == "localhost")
        if !hasRegistry { reference = "docker.io/" + (reference.contains("/") ? "" : "library/") + reference }
        let lastSegment = reference.split(separator: "/").last.map(String.init) ?? reference
        if !lastSegment.contains(":") && !reference.contains("@") { reference += ":latest" }
        return reference
    }

    /// The CRI error of a pull of a reference the registry does not have.
    static func pullError(_ image: String) -> String {
        let reference = qualifiedImage(image)
        return "rpc error: code = NotFound desc = failed to pull and unpack image \"\(reference)\": "
            + "failed to resolve reference \"\(reference)\": \(reference): not found"
    }

    static func pullingEvent(_ image: String) -> String { "Pulling image \"\(image)\"" }
    static func pullFailedEvent(_ image: String) -> String { "Failed to pull image \"\(image)\": \(pullError(image))" }
    static func pullBackOff(_ image: String) -> String { "Back-off pulling image \"\(image)\"" }

    /// `name_namespace(uid)`, the kubelet's name for a pod in messages.
    static func podName(_ pod: JSON) -> String {
        "\(pod["metadata"]["name"].string ?? "")_\(pod["metadata"]["namespace"].string ?? "")(\(pod["metadata"]["uid"].string ?? ""))"
    }

    static func crashLoopWaiting(backOffSeconds: Int, container: String, pod: JSON) -> String {
        "back-off \(backOffText(backOffSeconds)) restarting failed container=\(container) pod=\(podName(pod))"
    }

    static func crashLoopEvent(container: String, pod: JSON) -> String {
        "Back-off restarting failed container \(container) in pod \(podName(pod))"
    }

    /// Go's `time.Duration` text for whole seconds: `10s`, `2m40s`, `5m0s`.
    static func backOffText(_ seconds: Int) -> String {
        seconds < 60 ? "\(seconds)s" : "\(seconds / 60)m\(seconds % 60)s"
    }

    /// pilot-agent answers its readiness endpoint 503 until Envoy has its configuration from istiod.
    static let sidecarProbeFailure = "Readiness probe failed: HTTP probe failed with statuscode: 503"

    /// What the sidecar's pilot-agent logs when istiod cannot be reached.
    static func sidecarUnreachableLog(revision: String) -> String {
        let istiod = "istiod-\(revision).istio-system.svc:15012"
        return "warn\txds\tEnvoy proxy is NOT ready: config not received from XDS server (is Istiod running?): "
            + "cds updates: 0 successful, 0 rejected; lds updates: 0 successful, 0 rejected\n"
            + "warn\tca\tca request failed, starting attempt 1 in 91.9ms\n"
            + "error\tcitadelclient\tfailed to create certificate: rpc error: code = Unavailable desc = connection error: "
            + "desc = \"transport: Error while dialing: dial tcp: lookup \(istiod): i/o timeout\"\n"
    }

    static func containersNotReady(_ names: [String]) -> String {
        "containers with unready status: [\(names.joined(separator: " "))]"
    }

    /// `pods "helloworld-v1-5d4b8c7f9-" is forbidden: …`: admission names a pod by its generateName, because
    /// the name is generated only after admission.
    static func forbiddenPod(_ name: String, _ reason: String) -> String { "pods \"\(name)\" is forbidden: \(reason)" }
}

/// Kubelet back-off: 10 s doubling up to 5 min, as for image pulls and container restarts.
enum BackOff {
    static func seconds(attempt: Int) -> Int { min(300, 10 << min(max(attempt, 0), 5)) }
}

/// Where a pod held back by a pod fault is, and when it moves on.
struct PodFaultStep: Equatable {
    enum Stage: Equatable {
        /// The pull failed (ErrImagePull); next the kubelet backs off.
        case pullFailed
        /// Backing off (ImagePullBackOff); next the kubelet pulls again.
        case pullBackOff
        /// The app containers run; next they exit with code 1.
        case crashRunning
        /// The app containers exited; next the kubelet starts them again.
        case crashed
        /// The sidecar's readiness probe fails; next it is probed again.
        case probeFailing
    }
    var stage: Stage
    var due: Double
    /// Pulls tried, or restarts made, so far (the back-off grows with it).
    var attempt = 0
}

extension ClusterState {
    static let sidecarName = "istio-proxy"
    /// How long a crashing app container runs before it exits, and an image pull takes to fail.
    static let faultStepSeconds = 1.0

    // MARK: Scheduling

    /// The scheduler binds pods that waited for a node once no fault keeps them out any more.
    mutating func retryUnschedulablePods(now: Double) {
        guard podFaults.unschedulable == nil else { return }
        for pod in store.list(.pods, namespace: nil)
        where pod["spec"]["nodeName"].isNull && pod["metadata"]["deletionTimestamp"].isNull {
            var bound = pod
            bind(&bound, now: now)
            recordScheduled(put(.pods, bound), now: now)
        }
    }

    // MARK: Starting containers

    /// The kubelet starts a bound pod: pulls its images, starts its containers, and hands a healthy pod to the
    /// runtime (whose listeners make it ready).
    mutating func startContainers(_ pod: JSON, now: Double) {
        guard let uid = pod["metadata"]["uid"].string else { return }
        let images = (pod["spec"]["initContainers"].array ?? []) + (pod["spec"]["containers"].array ?? [])
        if podFaults.failingImage(images.compactMap { $0["image"].string }) != nil {
            failImagePull(pod, attempt: podFaultSteps[uid]?.attempt ?? 0, now: now)
            return
        }
        var running = pod
        markRunning(&running, now: now)
        if crashes(running) {
            // Counting restarts starts here, whatever pulls it took to get here.
            podFaultSteps[uid] = PodFaultStep(stage: .crashRunning, due: now + Self.faultStepSeconds, attempt: 0)
            markAppContainersUnready(&running, now: now)
            put(.pods, running)
            return
        }
        podFaultSteps.removeValue(forKey: uid)
        // Istio's plug-in CA: istiod reads `cacerts` when it starts, never while it runs.
        if Self.isIstiod(running), let root = pluggedInRootCertificate() { meshRootCertificatePEM = root }
        let stored = put(.pods, running)
        startedPods.insert(uid)
        runtimeActions.append(.start(launch(for: stored)))
    }

    func crashes(_ pod: JSON) -> Bool {
        guard let app = pod["metadata"]["labels"]["app"].string else { return false }
        return podFaults.crashLoopApps.contains(app)
    }

    func appContainerNames(_ pod: JSON) -> [String] {
        (pod["spec"]["containers"].array ?? []).compactMap { $0["name"].string }.filter { $0 != Self.sidecarName }
    }

    /// Runs the pod fault steps that are due.
    mutating func advancePodFaults(now: Double) {
        for (uid, step) in podFaultSteps where step.due <= now {
            guard let pod = store.list(.pods, namespace: nil).first(where: { $0["metadata"]["uid"].string == uid }),
                pod["metadata"]["deletionTimestamp"].isNull
            else {
                podFaultSteps.removeValue(forKey: uid)
                continue
            }
            switch step.stage {
            case .pullFailed: backOffImagePull(pod, attempt: step.attempt, now: now)
            case .pullBackOff:
                podFaultSteps[uid]?.attempt += 1
                startContainers(pod, now: now)
            case .crashRunning: crashAppContainers(pod, restarts: step.attempt, now: now)
            case .crashed: restartAppContainers(pod, restarts: step.attempt + 1, now: now)
            case .probeFailing: probeSidecar(pod, now: now)
            }
        }
    }

    // MARK: Image pulls

    /// The containers (init containers first, as the kubelet starts them) whose image a pattern matches.
    func failingContainers(_ pod: JSON) -> (field: String, names: [String])? {
        for field in ["initContainers", "containers"] {
            let names = (pod["spec"][field].array ?? []).filter { container in
                podFaults.failingImage([container["image"].string ?? ""]) != nil
            }.compactMap { $0["name"].string }
            if !names.isEmpty { return (field, names) }
        }
        return nil
    }

    mutating func failImagePull(_ pod: JSON, attempt: Int, now: Double) {
        guard let failing = failingContainers(pod) else { return }
        showPull(pod, failing, reason: "ErrImagePull", waitingMessage: PodFaultWording.pullError, now: now) { image in
            [
                ("Normal", "Pulling", PodFaultWording.pullingEvent(image)),
                ("Warning", "Failed", PodFaultWording.pullFailedEvent(image)), ("Warning", "Failed", "Error: ErrImagePull"),
            ]
        }
        podFaultSteps[pod["metadata"]["uid"].string ?? ""] = PodFaultStep(
            stage: .pullFailed, due: now + Self.faultStepSeconds, attempt: attempt)
    }

    mutating func backOffImagePull(_ pod: JSON, attempt: Int, now: Double) {
        guard let failing = failingContainers(pod) else {
            startContainers(pod, now: now)
            return
        }
        showPull(pod, failing, reason: "ImagePullBackOff", waitingMessage: PodFaultWording.pullBackOff, now: now) { image in
            [("Normal", "BackOff", PodFaultWording.pullBackOff(image)), ("Warning", "Failed", "Error: ImagePullBackOff")]
        }
        podFaultSteps[pod["metadata"]["uid"].string ?? ""] = PodFaultStep(
            stage: .pullBackOff, due: now + Double(BackOff.seconds(attempt: attempt)), attempt: attempt)
    }

    /// Stores the pod with its failing containers waiting for `reason` and records the kubelet's events
    /// (type, reason, message) about each of their images.
    mutating func showPull(
        _ pod: JSON, _ failing: (field: String, names: [String]), reason: String, waitingMessage: (String) -> String,
        now: Double, events: (String) -> [(String, String, String)]
    ) {
        var pending = pod
        setPullState(&pending, field: failing.field, failing: failing.names, reason: reason, now: now, message: waitingMessage)
        let stored = put(.pods, pending)
        for name in failing.names {
            let image = container(stored, field: failing.field, name: name)["image"].string ?? ""
            for (type, reason, message) in events(image) {
                recordEvent(
                    about: stored, fieldPath: "spec.\(failing.field){\(name)}", type: type, reason: reason, message: message,
                    source: .kubelet(node: nodeName), now: now)
            }
        }
    }

    func container(_ pod: JSON, field: String, name: String) -> JSON {
        (pod["spec"][field].array ?? []).first { $0["name"].string == name } ?? .null
    }

    /// A pod whose pull failed stays Pending: a failing init container holds every container back; failing
    /// app images wait while the others run.
    mutating func setPullState(
        _ pod: inout JSON, field: String, failing: [String], reason: String, now: Double, message: (String) -> String
    ) {
        let initFails = field == "initContainers"
        let wasPending = pod["status"]["phase"].string == "Pending" && !pod["status"]["podIP"].isNull
        if !wasPending { markRunning(&pod, now: now) }
        pod["status"]["phase"] = "Pending"
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        func waiting(_ status: JSON, _ reason: String, _ message: String?) -> JSON {
            var changed = status
            changed["ready"] = false
            changed["started"] = false
            changed["containerID"] = .null
            changed["imageID"] = ""
            var state: JSON = ["reason": .string(reason)]
            if let message { state["message"] = .string(message) }
            changed["state"] = ["waiting": state]
            return changed
        }
        var passedFailing = false
        for statusField in ["initContainerStatuses", "containerStatuses"] {
            guard let statuses = pod["status"][statusField].array else { continue }
            let isInit = statusField == "initContainerStatuses"
            pod["status"][statusField] = .array(
                statuses.map { status in
                    let name = status["name"].string ?? ""
                    if failing.contains(name) && isInit == initFails {
                        passedFailing = true
                        return waiting(status, reason, message(status["image"].string ?? ""))
                    }
                    if initFails && (passedFailing || !isInit) { return waiting(status, "PodInitializing", nil) }
                    if !isInit { return status["ready"].bool == true ? status : readyRunning(status, stamp) }
                    return status
                })
        }
        let unready = initFails ? (pod["spec"]["containers"].array ?? []).compactMap { $0["name"].string } : failing
        setPodConditions(&pod, initializing: initFails ? failing : [], unready: unready, now: now)
    }

    func readyRunning(_ status: JSON, _ stamp: JSON) -> JSON {
        var changed = status
        changed["ready"] = true
        changed["started"] = true
        if changed["state"]["running"].isNull { changed["state"] = ["running": ["startedAt": stamp]] }
        return changed
    }

    /// Initialized / Ready / ContainersReady as the kubelet words them for the containers named.
    func setPodConditions(_ pod: inout JSON, initializing: [String], unready: [String], now: Double) {
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        pod["status"]["conditions"] = .array(
            (pod["status"]["conditions"].array ?? []).map { condition in
                let type = condition["type"].string ?? ""
                var wanted: JSON = ["type": .string(type), "status": "True"]
                if type == "Initialized" && !initializing.isEmpty {
                    wanted = [
                        "type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                        "message": .string("containers with incomplete status: [\(initializing.joined(separator: " "))]"),
                    ]
                } else if (type == "Ready" || type == "ContainersReady") && !unready.isEmpty {
                    wanted = [
                        "type": .string(type), "status": "False", "reason": "ContainersNotReady",
                        "message": .string(PodFaultWording.containersNotReady(unready)),
                    ]
                }
                let unchanged = condition["status"] == wanted["status"]
                wanted["lastProbeTime"] = .null
                wanted["lastTransitionTime"] = unchanged ? condition["lastTransitionTime"] : stamp
                return wanted
            })
    }

    // MARK: Crash loops

    /// Sidecars run and are ready (they have their configuration); the crashing app containers are not.
    mutating func markAppContainersUnready(_ pod: inout JSON, now: Double) {
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        let apps = appContainerNames(pod)
        pod["status"]["containerStatuses"] = .array(
            (pod["status"]["containerStatuses"].array ?? []).map { status in
                apps.contains(status["name"].string ?? "") ? status : readyRunning(status, stamp)
            })
        setPodConditions(&pod, initializing: [], unready: apps, now: now)
    }

    mutating func crashAppContainers(_ pod: JSON, restarts: Int, now: Double) {
        let uid = pod["metadata"]["uid"].string ?? ""
        let apps = appContainerNames(pod)
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        // The first exit is restarted at once; from the second on the kubelet backs off (CrashLoopBackOff).
        let backOff: Int? = restarts == 0 ? nil : BackOff.seconds(attempt: restarts - 1)
        var crashed = pod
        crashed["status"]["containerStatuses"] = .array(
            (pod["status"]["containerStatuses"].array ?? []).map { status in
                let name = status["name"].string ?? ""
                guard apps.contains(name) else { return status }
                var changed = status
                let terminated: JSON = [
                    "exitCode": 1, "reason": "Error", "startedAt": status["state"]["running"]["startedAt"],
                    "finishedAt": stamp, "containerID": status["containerID"],
                ]
                changed["ready"] = false
                changed["started"] = false
                if let backOff {
                    changed["lastState"] = ["terminated": terminated]
                    changed["state"] = [
                        "waiting": [
                            "reason": "CrashLoopBackOff",
                            "message": .string(PodFaultWording.crashLoopWaiting(backOffSeconds: backOff, container: name, pod: pod)),
                        ]
                    ]
                } else {
                    changed["state"] = ["terminated": terminated]
                }
                return changed
            })
        let stored = put(.pods, crashed)
        if backOff != nil {
            for name in apps {
                recordEvent(
                    about: stored, fieldPath: "spec.containers{\(name)}", reason: "BackOff",
                    message: PodFaultWording.crashLoopEvent(container: name, pod: stored), source: .kubelet(node: nodeName), now: now)
            }
        }
        podFaultSteps[uid] = PodFaultStep(stage: .crashed, due: now + Double(backOff ?? 0) + Self.faultStepSeconds / 2, attempt: restarts)
    }

    /// The kubelet starts the app containers again; a pod whose fault was lifted then runs normally.
    mutating func restartAppContainers(_ pod: JSON, restarts: Int, now: Double) {
        let uid = pod["metadata"]["uid"].string ?? ""
        let apps = appContainerNames(pod)
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        var restarted = pod
        restarted["status"]["containerStatuses"] = .array(
            (pod["status"]["containerStatuses"].array ?? []).map { status in
                guard apps.contains(status["name"].string ?? "") else { return status }
                var changed = status
                if !status["state"]["terminated"].isNull { changed["lastState"] = status["state"] }
                changed["restartCount"] = .int(Int64(restarts))
                changed["containerID"] = .string("containerd://" + newUID().replacing("-", with: ""))
                changed["state"] = ["running": ["startedAt": stamp]]
                return changed
            })
        let stored = put(.pods, restarted)
        let kubelet = EventSource.kubelet(node: nodeName)
        for name in apps {
            let path = "spec.containers{\(name)}"
            let image = container(stored, field: "containers", name: name)["image"].string ?? ""
            recordEvent(
                about: stored, fieldPath: path, type: "Normal", reason: "Pulled",
                message: "Container image \"\(image)\" already present on machine", source: kubelet, now: now)
            recordEvent(about: stored, fieldPath: path, type: "Normal", reason: "Created", message: "Created container \(name)", source: kubelet, now: now)
            recordEvent(about: stored, fieldPath: path, type: "Normal", reason: "Started", message: "Started container \(name)", source: kubelet, now: now)
        }
        if crashes(stored) {
            podFaultSteps[uid] = PodFaultStep(stage: .crashRunning, due: now + Self.faultStepSeconds, attempt: restarts)
        } else {
            podFaultSteps.removeValue(forKey: uid)
            startedPods.insert(uid)
            runtimeActions.append(.start(launch(for: stored)))
        }
    }

    // MARK: Sidecar readiness

    /// The period of the sidecar's readiness probe (the API default when the spec leaves it out).
    func sidecarProbePeriod(_ pod: JSON) -> Double {
        Double(container(pod, field: "containers", name: Self.sidecarName)["readinessProbe"]["periodSeconds"].int ?? 10)
    }

    /// The sidecar runs but is not ready: its probe fails, and the pod is not Ready.
    mutating func failSidecarProbe(_ pod: inout JSON, now: Double) {
        pod["status"]["containerStatuses"] = .array(
            (pod["status"]["containerStatuses"].array ?? []).map { status in
                var changed = status
                if status["name"].string == Self.sidecarName { changed["ready"] = false }
                return changed
            })
        setPodConditions(&pod, initializing: [], unready: [Self.sidecarName], now: now)
    }

    mutating func probeSidecar(_ pod: JSON, now: Double) {
        let uid = pod["metadata"]["uid"].string ?? ""
        guard podFaults.sidecarNotReady else {
            podFaultSteps.removeValue(forKey: uid)
            markPodReady(uid: uid, now: now)
            return
        }
        recordEvent(
            about: pod, fieldPath: "spec.containers{\(Self.sidecarName)}", reason: "Unhealthy",
            message: PodFaultWording.sidecarProbeFailure, source: .kubelet(node: nodeName), now: now)
        podFaultSteps[uid] = PodFaultStep(stage: .probeFailing, due: now + sidecarProbePeriod(pod))
    }

    /// Whether the pod's sidecar is held unready by the fault (its log then says why).
    func sidecarProbeFails(podUID: String) -> Bool { podFaultSteps[podUID]?.stage == .probeFailing }

    // MARK: Admission

    /// How often a ReplicaSet whose creates are refused tries again (the real controller's rate limiter
    /// backs off further; a fixed pace keeps the event count moving in tests and demos).
    static let refusedCreateRetrySeconds = 10.0

    /// A ReplicaSet whose pod creates admission refuses: a `FailedCreate` event per try, and the ReplicaFailure
    /// condition carrying the error.
    mutating func refusePodCreates(_ replicaSet: JSON, reason: String, now: Double) -> JSON {
        let uid = replicaSet["metadata"]["uid"].string ?? ""
        let message = PodFaultWording.forbiddenPod("\(replicaSet["metadata"]["name"].string ?? "")-", reason)
        if let retry = replicaSetRetryAt[uid], retry > now { return Self.replicaFailure(replicaSet, message: message, now: now) }
        replicaSetRetryAt[uid] = now + Self.refusedCreateRetrySeconds
        recordEvent(
            about: replicaSet, reason: "FailedCreate", message: "Error creating: \(message)", source: .replicaSetController, now: now)
        return Self.replicaFailure(replicaSet, message: message, now: now)
    }

    static func replicaFailure(_ replicaSet: JSON, message: String, now: Double) -> JSON {
        let previous = (replicaSet["status"]["conditions"].array ?? []).first { $0["type"].string == "ReplicaFailure" }
        return [
            "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": .string(message),
            "lastTransitionTime": previous?["lastTransitionTime"] ?? .string(TimeFormat.rfc3339(now)),
        ]
    }
}
