// core/v1 Events as the components of a real cluster record them: one Event per (object, source, type,
// reason, message), whose count and lastTimestamp grow on repetition, as client-go's event correlator does.
// `kubectl describe` finds them by involvedObject; `kubectl get events` prints them through Tables.

/// Who records an event, as `source` and `reportingComponent` / `reportingInstance` name it.
struct EventSource: Equatable {
    var component: String
    var host: String?

    static let replicaSetController = EventSource(component: "replicaset-controller")
    static let scheduler = EventSource(component: "default-scheduler")
    static func kubelet(node: String) -> EventSource { EventSource(component: "kubelet", host: node) }
}

extension ClusterState {
    /// Records `reason`/`message` about `object` (a Pod or ReplicaSet); `fieldPath` names a container
    /// (`spec.containers{istio-proxy}`) as the kubelet does.
    mutating func recordEvent(
        about object: JSON, fieldPath: String? = nil, type: String = "Warning", reason: String, message: String,
        source: EventSource, now: Double
    ) {
        let namespace = object["metadata"]["namespace"].string ?? "default"
        let stamp = JSON.string(TimeFormat.rfc3339(now))
        var involved: JSON = [
            "kind": object["kind"], "namespace": .string(namespace), "name": object["metadata"]["name"],
            "uid": object["metadata"]["uid"], "apiVersion": object["apiVersion"],
            "resourceVersion": object["metadata"]["resourceVersion"],
        ]
        if let fieldPath { involved["fieldPath"] = .string(fieldPath) }
        let repeated = store.list(.events, namespace: namespace).first { event in
            event["involvedObject"]["uid"] == involved["uid"] && event["involvedObject"]["fieldPath"] == involved["fieldPath"]
                && event["reason"].string == reason && event["message"].string == message && event["type"].string == type
                && event["source"]["component"].string == source.component
        }
        if var event = repeated {
            event["count"] = .int((event["count"].int ?? 1) + 1)
            event["lastTimestamp"] = stamp
            put(.events, event)
            return
        }
        var sourceJSON: JSON = ["component": .string(source.component)]
        if let host = source.host { sourceJSON["host"] = .string(host) }
        let objectName = object["metadata"]["name"].string ?? ""
        var event: JSON = [
            "metadata": ["name": .string("\(objectName).\(eventNameSuffix(now: now))"), "namespace": .string(namespace)],
            "involvedObject": involved, "reason": .string(reason), "message": .string(message), "source": sourceJSON,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1, "type": .string(type), "eventTime": .null,
            "reportingComponent": .string(source.component), "reportingInstance": .string(source.host ?? ""),
        ]
        stampNewObject(&event, resource: .events, now: now)
        put(.events, event)
    }

    /// client-go names events `<object>.<hex nanoseconds>`, so names sort in the order events were recorded;
    /// the count keeps events of one instant apart and in that order.
    mutating func eventNameSuffix(now: Double) -> String {
        recordedEvents += 1
        return String(UInt64(now * 1e9) &+ recordedEvents, radix: 16)
    }
}

extension Tables {
    /// The columns of the apiserver's Event printer (it prints wide; kubectl hides priority 1).
    static let eventColumns = [
        Column(name: "Last Seen", description: "The time at which the most recent occurrence of this event was recorded."),
        Column(name: "Type", description: "Type of this event (Normal, Warning), new types could be added in the future"),
        Column(
            name: "Reason",
            description: "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
        Column(name: "Object", description: "The object that this event is about."),
        Column(name: "Subobject", priority: 1, description: "If the object reference is to a container within a pod, this is the path of the container."),
        Column(name: "Source", priority: 1, description: "The component reporting this event. Should be a short machine understandable string."),
        Column(name: "Message", description: "A human-readable description of the status of this operation."),
        Column(name: "First Seen", priority: 1, description: "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
        Column(name: "Count", priority: 1, description: "The number of times this event has occurred."),
        Column(name: "Name", format: "name", priority: 1, description: "Name must be unique within a namespace."),
    ]

    static func eventCells(_ event: JSON, now: Double) -> [JSON] {
        func since(_ field: String) -> String? {
            event[field].string.flatMap(TimeFormat.parse).map { TimeFormat.age(now - $0) }
        }
        let firstSeen = since("firstTimestamp") ?? since("eventTime") ?? "<unknown>"
        let lastSeen = since("lastTimestamp") ?? firstSeen
        let involved = event["involvedObject"]
        let kind = (involved["kind"].string ?? "").lowercased()
        let target = (involved["name"].string ?? "").isEmpty ? kind : "\(kind)/\(involved["name"].string ?? "")"
        let component = event["source"]["component"].string ?? event["reportingComponent"].string ?? ""
        let host = event["source"]["host"].string ?? event["reportingInstance"].string ?? ""
        let source = host.isEmpty ? component : "\(component), \(host)"
        return [
            .string(lastSeen), event["type"], event["reason"], .string(target), .string(involved["fieldPath"].string ?? ""),
            .string(source), .string((event["message"].string ?? "").trimmingSpaces), .string(firstSeen),
            .int(max(1, event["count"].int ?? 1)), event["metadata"]["name"],
        ]
    }
}
