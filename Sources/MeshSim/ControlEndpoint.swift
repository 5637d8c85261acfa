// The fault-control endpoint of `meshcheck sim`: plain HTTP/1.1 on 127.0.0.1, JSON in and out.
//
//   GET /v1/faults   → the current faults (document below)
//   PUT /v1/faults   → change faults; only the sections present are changed; answers the new document
//   GET /v1/clusters → the clusters with their contexts, API server URLs, networks, revisions and roles
//                      (`primary`, `remote of cluster-1`, `managed (connected discovery)`)
//
// Fault document:
//   {"api": {"<cluster>|*": {"throttleFraction": 0.2, "retryAfterSeconds": 1, "serverErrorFraction": 0,
//                             "serverErrorCode": 503, "dropFraction": 0}},
//    "namespaceDeletionHangs": {"<cluster>|*": true},
//    "rootCertificateMismatch": {"<cluster>": true},
//    "runtime": {"pairLatencyMs": {"cluster-1>cluster-2": 40},
//                "versions": {"v2": {"errorRate": 0.5, "extraDelayMs": 200, "errorStatus": 503}},
//                "exec": {"<cluster>|*": {"stallAfterBytes": 4096} or {"breakAfterBytes": 4096}}},
//    "images": {"pullErrors": ["*/helloworld:*", "docker.io/istio/examples-helloworld-v2*"]},
//    "pods": {"<cluster>|*": {"unschedulable": "0/3 nodes are available: …" or true or null,
//                             "crashLoop": ["helloworld"], "sidecarNotReady": true}},
//    "admission": {"<cluster>|*": {"denyPods": "violates PodSecurity …" or true or null}},
//    "controlPlane": {"<cluster>": {"unreachablePeers": ["cluster-2"], "debugAuthentication": true}},
//    "rbac": {"<cluster>": {"deny": ["pods/proxy"]}}}
//
// `images.pullErrors` replaces the patterns; in a `pods` or `admission` entry only the fields present change.
// `controlPlane.<cluster>.unreachablePeers` replaces the peers that cluster's istiod cannot reach (its
// `/debug/clusterz` shows them `timeout`, its sidecars lose their endpoints), and `debugAuthentication: true`
// makes its debug port refuse proxied callers with 401 as a real istiod does; `rbac.<cluster>.deny` replaces
// the resources RBAC refuses there (403 Forbidden and a SelfSubjectAccessReview that says no).
// A message of true takes the default one (PodFaults), null or false lifts the fault. Pod faults meet pods at
// their next step: a pending pod is scheduled, a failing pull or a crashing container retried with the new
// settings; new pods start with them.

import MeshSimRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

enum FaultDocument {
    static func render(_ control: FaultControl) -> JSON {
        var api: [String: JSON] = [:]
        var hangs: [String: JSON] = [:]
        var mismatch: [String: JSON] = [:]
        var pods: [String: JSON] = [:]
        var admission: [String: JSON] = [:]
        var pullErrors: [String] = []
        var controlPlane: [String: JSON] = [:]
        var rbac: [String: JSON] = [:]
        for name in control.clusterNames {
            let unreachable = (try? control.istiodUnreachablePeers(cluster: name)) ?? []
            controlPlane[name] = [
                "unreachablePeers": .array(unreachable.sorted().map(JSON.string)),
                "debugAuthentication": .bool((try? control.istiodDebugAuthentication(cluster: name)) ?? false),
            ]
            rbac[name] = ["deny": .array(((try? control.deniedResources(cluster: name)) ?? []).sorted().map(JSON.string))]
            if let faults = try? control.podFaults(cluster: name) {
                pods[name] = [
                    "unschedulable": faults.unschedulable.map(JSON.string) ?? .null,
                    "crashLoop": .array(faults.crashLoopApps.map(JSON.string)), "sidecarNotReady": .bool(faults.sidecarNotReady),
                ]
                admission[name] = ["denyPods": faults.denyPods.map(JSON.string) ?? .null]
                pullErrors = faults.imagePullErrors
            }
            if let faults = try? control.apiFaults(cluster: name) { api[name] = render(faults) }
            hangs[name] = .bool((try? control.namespaceDeletionHangs(cluster: name)) ?? false)
            mismatch[name] = .bool((try? control.rootCertificateMismatch(cluster: name)) ?? false)
        }
        return [
            "api": .object(api), "namespaceDeletionHangs": .object(hangs),
            "rootCertificateMismatch": .object(mismatch), "runtime": render(control.runtime.current),
            "images": ["pullErrors": .array(pullErrors.map(JSON.string))], "pods": .object(pods),
            "admission": .object(admission), "controlPlane": .object(controlPlane), "rbac": .object(rbac),
        ]
    }

    static func render(_ faults: APIFaults) -> JSON {
        [
            "throttleFraction": .double(faults.throttleFraction), "retryAfterSeconds": .int(Int64(faults.retryAfterSeconds)),
            "serverErrorFraction": .double(faults.serverErrorFraction),
            "serverErrorCode": .int(Int64(faults.serverErrorCode)), "dropFraction": .double(faults.dropFraction),
        ]
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000
    }

    static func render(_ faults: RuntimeFaults) -> JSON {
        var pairs: [String: JSON] = [:]
        for (pair, latency) in faults.pairLatency { pairs[pair.text] = .int(milliseconds(latency)) }
        var versions: [String: JSON] = [:]
        for (version, fault) in faults.versionFaults {
            versions[version] = [
                "errorRate": .double(fault.errorRate), "extraDelayMs": .int(milliseconds(fault.extraDelay)),
                "errorStatus": .int(Int64(fault.errorStatus)),
            ]
        }
        var exec: [String: JSON] = [:]
        for (cluster, fault) in faults.execStreamFaults { exec[cluster] = render(fault) }
        if let all = faults.allClustersExecStreamFault { exec["*"] = render(all) }
        let blocked = faults.blockedGateways.map(\.text).sorted().map(JSON.string)
        return ["pairLatencyMs": .object(pairs), "versions": .object(versions), "exec": .object(exec), "blockedGateways": .array(blocked)]
    }

    static func render(_ fault: ExecStreamFault) -> JSON {
        switch fault {
        case .stallAfter(let bytes): return ["stallAfterBytes": .int(Int64(bytes))]
        case .breakAfter(let bytes): return ["breakAfterBytes": .int(Int64(bytes))]
        case .hostile(let kind): return ["hostile": .string(kind.rawValue)]
        }
    }

    static func number(_ value: JSON, _ field: String) throws(SimulatedMeshError) -> Double {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw SimulatedMeshError.invalidOptions("\(field) must be a number")
        }
    }

    static func parseAPIFaults(_ json: JSON, field: String) throws(SimulatedMeshError) -> APIFaults {
        var faults = APIFaults()
        for (key, value) in json.object ?? [:] {
            switch key {
            case "throttleFraction": faults.throttleFraction = try number(value, "\(field).\(key)")
            case "retryAfterSeconds": faults.retryAfterSeconds = Int(try number(value, "\(field).\(key)"))
            case "serverErrorFraction": faults.serverErrorFraction = try number(value, "\(field).\(key)")
            case "serverErrorCode":
                let code = Int(try number(value, "\(field).\(key)"))
                guard code == 500 || code == 503 else {
                    throw SimulatedMeshError.invalidOptions("\(field).serverErrorCode must be 500 or 503")
                }
                faults.serverErrorCode = code
            case "dropFraction": faults.dropFraction = try number(value, "\(field).\(key)")
            default: throw SimulatedMeshError.invalidOptions("unknown field \(field).\(key)")
            }
        }
        return faults
    }

    static func parseExecFault(_ json: JSON, field: String) throws(SimulatedMeshError) -> ExecStreamFault? {
        if json.isNull || json == .emptyObject { return nil }
        if let bytes = json["stallAfterBytes"].int { return .stallAfter(bytes: Int(bytes)) }
        if let bytes = json["breakAfterBytes"].int { return .breakAfter(bytes: Int(bytes)) }
        if let name = json["hostile"].string {
            guard let kind = HostileExecKind(rawValue: name) else {
                let kinds = HostileExecKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw SimulatedMeshError.invalidOptions("\(field).hostile must be one of \(kinds)")
            }
            return .hostile(kind)
        }
        throw SimulatedMeshError.invalidOptions("\(field) needs stallAfterBytes, breakAfterBytes or hostile")
    }

    static func parseRuntime(_ json: JSON) throws(SimulatedMeshError) -> RuntimeFaults {
        var faults = RuntimeFaults()
        for (key, value) in json["pairLatencyMs"].object ?? [:] {
            guard let pair = ClusterPair(parsing: key) else {
                throw SimulatedMeshError.invalidOptions("runtime.pairLatencyMs keys look like cluster-1>cluster-2")
            }
            let milliseconds = try number(value, "runtime.pairLatencyMs.\(key)")
            faults.pairLatency[pair] = .milliseconds(Int64(milliseconds))
        }
        for (version, value) in json["versions"].object ?? [:] {
            let rate = value["errorRate"].isNull ? 0 : try number(value["errorRate"], "runtime.versions.\(version).errorRate")
            guard (0...1).contains(rate) else {
                throw SimulatedMeshError.invalidOptions("runtime.versions.\(version).errorRate must be in 0...1")
            }
            let delay = value["extraDelayMs"].isNull ? 0 : try number(value["extraDelayMs"], "runtime.versions.\(version).extraDelayMs")
            let status = value["errorStatus"].isNull ? 503 : Int(try number(value["errorStatus"], "runtime.versions.\(version).errorStatus"))
            guard (500...599).contains(status) else {
                throw SimulatedMeshError.invalidOptions("runtime.versions.\(version).errorStatus must be a 5xx status")
            }
            faults.versionFaults[version] = VersionFault(
                errorRate: rate, extraDelay: .milliseconds(Int64(delay)), errorStatus: status)
        }
        for value in json["blockedGateways"].array ?? [] {
            guard let pair = ClusterPair(parsing: value.string ?? "") else {
                throw SimulatedMeshError.invalidOptions("runtime.blockedGateways entries look like cluster-1>cluster-2")
            }
            faults.blockedGateways.insert(pair)
        }
        for (cluster, value) in json["exec"].object ?? [:] {
            let fault = try parseExecFault(value, field: "runtime.exec.\(cluster)")
            if cluster == "*" {
                faults.allClustersExecStreamFault = fault
            } else if let fault {
                faults.execStreamFaults[cluster] = fault
            }
        }
        return faults
    }

    /// Applies the sections present in `document`; `*` addresses every cluster.
    static func apply(_ document: JSON, to control: FaultControl) throws(SimulatedMeshError) {
        guard let sections = document.object else { throw SimulatedMeshError.invalidOptions("expected a JSON object") }
        let known = [
            "api", "namespaceDeletionHangs", "rootCertificateMismatch", "runtime", "images", "pods", "admission", "controlPlane",
            "rbac",
        ]
        for key in sections.keys where !known.contains(key) {
            throw SimulatedMeshError.invalidOptions("unknown section \(key)")
        }
        for (cluster, value) in document["api"].object ?? [:] {
            try control.setAPIFaults(try parseAPIFaults(value, field: "api.\(cluster)"), cluster: cluster == "*" ? nil : cluster)
        }
        for (cluster, value) in document["namespaceDeletionHangs"].object ?? [:] {
            guard let hangs = value.bool else {
                throw SimulatedMeshError.invalidOptions("namespaceDeletionHangs.\(cluster) must be true or false")
            }
            try control.setNamespaceDeletionHangs(hangs, cluster: cluster == "*" ? nil : cluster)
        }
        for (cluster, value) in document["rootCertificateMismatch"].object ?? [:] {
            guard let mismatched = value.bool else {
                throw SimulatedMeshError.invalidOptions("rootCertificateMismatch.\(cluster) must be true or false")
            }
            try control.setRootCertificateMismatch(mismatched, cluster: cluster)
        }
        if !document["runtime"].isNull { control.runtime.set(try parseRuntime(document["runtime"])) }
        try applyPodSections(document, to: control)
        for (cluster, entry) in document["controlPlane"].object ?? [:] {
            let field = "controlPlane.\(cluster)"
            let changes = try fields(entry, ["unreachablePeers", "debugAuthentication"], field: field)
            if let peers = changes["unreachablePeers"] {
                try control.setIstiodUnreachablePeers(Set(try list(peers, "\(field).unreachablePeers")), cluster: cluster)
            }
            if let value = changes["debugAuthentication"] {
                guard let flag = value.bool else {
                    throw SimulatedMeshError.invalidOptions("\(field).debugAuthentication must be true or false")
                }
                try control.setIstiodDebugAuthentication(flag, cluster: cluster)
            }
        }
        for (cluster, entry) in document["rbac"].object ?? [:] {
            if let denied = try fields(entry, ["deny"], field: "rbac.\(cluster)")["deny"] {
                try control.setDeniedResources(Set(try list(denied, "rbac.\(cluster).deny")), cluster: cluster)
            }
        }
    }

    /// The fields of a `section.<cluster>` entry (`controlPlane`, `rbac`); only those present change.
    static func fields(_ entry: JSON, _ known: [String], field: String) throws(SimulatedMeshError) -> [String: JSON] {
        guard let changes = entry.object else { throw SimulatedMeshError.invalidOptions("\(field) must be an object") }
        for key in changes.keys where !known.contains(key) {
            throw SimulatedMeshError.invalidOptions("unknown field \(field).\(key); known: \(known.joined(separator: ", "))")
        }
        return changes
    }

    /// A list of names; an empty one lifts the fault.
    static func list(_ value: JSON, _ field: String) throws(SimulatedMeshError) -> [String] {
        value.array?.isEmpty == true ? [] : try strings(value, field)
    }

    static func applyPodSections(_ document: JSON, to control: FaultControl) throws(SimulatedMeshError) {
        if let images = document["images"].object {
            for key in images.keys where key != "pullErrors" {
                throw SimulatedMeshError.invalidOptions("unknown field images.\(key); use images.pullErrors")
            }
            try control.setImagePullErrors(try strings(document["images"]["pullErrors"], "images.pullErrors"))
        }
        for (section, fields) in [("pods", ["unschedulable", "crashLoop", "sidecarNotReady"]), ("admission", ["denyPods"])] {
            for (cluster, entry) in document[section].object ?? [:] {
                guard let changes = entry.object else {
                    throw SimulatedMeshError.invalidOptions("\(section).\(cluster) must be an object")
                }
                for key in changes.keys where !fields.contains(key) {
                    throw SimulatedMeshError.invalidOptions(
                        "unknown field \(section).\(cluster).\(key); known: \(fields.joined(separator: ", "))")
                }
                for name in cluster == "*" ? control.clusterNames : [cluster] {
                    var faults = try control.podFaults(cluster: name)
                    try change(&faults, with: changes, field: "\(section).\(cluster)")
                    try control.setPodFaults(faults, cluster: name)
                }
            }
        }
    }

    static func change(_ faults: inout PodFaults, with changes: [String: JSON], field: String) throws(SimulatedMeshError) {
        if let value = changes["unschedulable"] {
            faults.unschedulable = try message(value, "\(field).unschedulable", default: PodFaults.defaultUnschedulableMessage)
        }
        if let value = changes["crashLoop"] { faults.crashLoopApps = try strings(value, "\(field).crashLoop") }
        if let value = changes["sidecarNotReady"] {
            guard let flag = value.bool else { throw SimulatedMeshError.invalidOptions("\(field).sidecarNotReady must be true or false") }
            faults.sidecarNotReady = flag
        }
        if let value = changes["denyPods"] {
            faults.denyPods = try message(value, "\(field).denyPods", default: PodFaults.defaultDenyPodsMessage)
        }
    }

    static func strings(_ value: JSON, _ field: String) throws(SimulatedMeshError) -> [String] {
        guard let items = value.array else { throw SimulatedMeshError.invalidOptions("\(field) must be an array of strings") }
        var result: [String] = []
        for item in items {
            guard let text = item.string, !text.isEmpty else {
                throw SimulatedMeshError.invalidOptions("\(field) must hold non-empty strings")
            }
            result.append(text)
        }
        return result
    }

    /// A fault message: a string, true for the default wording, null or false for none.
    static func message(_ value: JSON, _ field: String, default wording: String) throws(SimulatedMeshError) -> String? {
        if value.isNull || value.bool == false { return nil }
        if value.bool == true { return wording }
        guard let text = value.string, !text.isEmpty else {
            throw SimulatedMeshError.invalidOptions("\(field) must be a message, true (default message) or null")
        }
        return text
    }
}

final class ControlEndpoint: Sendable {
    let faults: FaultControl
    let clusters: [SimulatedClusterInfo]
    private let channel = NIOLockedValueBox<Channel?>(nil)

    init(faults: FaultControl, clusters: [SimulatedClusterInfo]) {
        self.faults = faults
        self.clusters = clusters
    }

    var port: Int { channel.withLockedValue { $0?.localAddress?.port ?? 0 } }

    var clusterDocument: JSON {
        .array(
            clusters.map {
                [
                    "name": .string($0.name), "context": .string($0.context), "server": .string($0.server),
                    "network": .string($0.network), "revision": .string($0.revision), "role": .string($0.role),
                ]
            })
    }

    func describe(kubeconfigPath: String) -> JSON {
        ["kubeconfig": .string(kubeconfigPath), "control": .string("http://127.0.0.1:\(port)"), "clusters": clusterDocument]
    }

    func start(group: EventLoopGroup) async throws {
        let endpoint = self
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ControlHandler(endpoint: endpoint))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLockedValue { $0 = bound }
    }

    func stop() async {
        let bound = channel.withLockedValue { $0 }
        try? await bound?.close()
    }

    func answer(method: HTTPMethod, path: String, body: [UInt8]) -> (Int, JSON) {
        switch (method, path) {
        case (.GET, "/v1/faults"): return (200, FaultDocument.render(faults))
        case (.PUT, "/v1/faults"), (.POST, "/v1/faults"), (.PATCH, "/v1/faults"):
            do {
                let document = try JSON.parse(body)
                try FaultDocument.apply(document, to: faults)
                return (200, FaultDocument.render(faults))
            } catch let error as SimulatedMeshError {
                return (400, ["error": .string(error.description)])
            } catch {
                return (400, ["error": .string("\(error)")])
            }
        case (.GET, "/v1/clusters"): return (200, clusterDocument)
        default: return (404, ["error": "unknown endpoint; use GET/PUT /v1/faults or GET /v1/clusters"])
        }
    }
}

final class ControlHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let endpoint: ControlEndpoint
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(endpoint: ControlEndpoint) { self.endpoint = endpoint }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
        case .body(let chunk):
            if body.count < 1 << 20 { body += chunk.readableBytesView }
        case .end:
            guard let requestHead = head else { return }
            let path = String(requestHead.uri.split(separator: "?").first ?? "")
            let (status, document) = endpoint.answer(method: requestHead.method, path: path, body: body)
            let bytes = document.serializedBytes() + [10]
            var response = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
            response.headers.add(name: "Content-Type", value: "application/json")
            response.headers.add(name: "Content-Length", value: String(bytes.count))
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            head = nil
        }
    }
}
