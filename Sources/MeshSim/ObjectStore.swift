// Object storage of one simulated cluster: objects per resource, a global resourceVersion counter and a bounded
// log of changes from which watches are served (older versions answer 410 Expired, as after compaction).

package struct StoreEvent: Sendable, Equatable {
    package enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }
    package var kind: Kind
    package var resource: ResourceType
    package var object: JSON
    package var resourceVersion: Int
    /// The object before a modification, so filtered watches can turn "stopped matching" into DELETED.
    package var previous: JSON?

    package var namespace: String { object["metadata"]["namespace"].string ?? "" }
}

package struct ObjectStore: Sendable {
    package private(set) var resourceVersion: Int = 1
    private var objects: [String: [String: JSON]] = [:]
    package private(set) var log: [StoreEvent] = []
    /// Oldest resourceVersion from which a watch can still be resumed.
    package private(set) var oldestWatchableVersion: Int = 1
    let logCapacity: Int

    package init(logCapacity: Int = 4096) { self.logCapacity = logCapacity }

    static func key(_ namespace: String, _ name: String) -> String { "\(namespace)/\(name)" }

    package func get(_ resource: ResourceType, namespace: String, name: String) -> JSON? {
        objects[resource.storageKey]?[Self.key(resource.namespaced ? namespace : "", name)]
    }

    /// Objects of a resource, in a namespace or (nil) all namespaces, ordered by namespace then name.
    package func list(_ resource: ResourceType, namespace: String?) -> [JSON] {
        guard let bucket = objects[resource.storageKey] else { return [] }
        let prefix = namespace.map { "\($0)/" }
        return bucket.keys.sorted().compactMap { key in
            if let prefix, !key.hasPrefix(prefix) { return nil }
            return bucket[key]
        }
    }

    package func count(_ resource: ResourceType) -> Int { objects[resource.storageKey]?.count ?? 0 }

    private mutating func nextVersion() -> Int {
        resourceVersion += 1
        return resourceVersion
    }

    private mutating func record(_ event: StoreEvent) {
        log.append(event)
        if log.count > logCapacity {
            let dropped = log.count - logCapacity
            oldestWatchableVersion = log[dropped - 1].resourceVersion + 1
            log.removeFirst(dropped)
        }
    }

    /// Stores a new or changed object, stamping metadata.resourceVersion; returns what was stored.
    @discardableResult
    package mutating func put(_ resource: ResourceType, _ object: JSON) -> (stored: JSON, event: StoreEvent) {
        var stored = object
        let version = nextVersion()
        stored["metadata"]["resourceVersion"] = .string(String(version))
        let namespace = resource.namespaced ? (stored["metadata"]["namespace"].string ?? "") : ""
        let key = Self.key(namespace, stored["metadata"]["name"].string ?? "")
        let previous = objects[resource.storageKey]?[key]
        objects[resource.storageKey, default: [:]][key] = stored
        let event = StoreEvent(
            kind: previous == nil ? .added : .modified, resource: resource, object: stored, resourceVersion: version,
            previous: previous)
        record(event)
        return (stored, event)
    }

    /// Removes an object; the DELETED event carries a fresh resourceVersion, as etcd's delete revision.
    @discardableResult
    package mutating func remove(_ resource: ResourceType, namespace: String, name: String) -> StoreEvent? {
        let key = Self.key(resource.namespaced ? namespace : "", name)
        guard var object = objects[resource.storageKey]?.removeValue(forKey: key) else { return nil }
        let version = nextVersion()
        object["metadata"]["resourceVersion"] = .string(String(version))
        let event = StoreEvent(kind: .deleted, resource: resource, object: object, resourceVersion: version)
        record(event)
        return event
    }

    /// Changes since a resourceVersion, or nil when that version has been compacted away.
    package func events(after version: Int) -> [StoreEvent]? {
        if version + 1 < oldestWatchableVersion { return nil }
        return log.filter { $0.resourceVersion > version }
    }
}
