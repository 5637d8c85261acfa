// Faults the Kubernetes API cannot express, switched at start and at run time by MeshSim's fault control.
// A value type describes them; `RuntimeFaultControl` holds the current value for all threads.
import Synchronization

/// Error rate and slowness of one HelloWorld version.
public struct VersionFault: Equatable, Sendable {
    /// Fraction of /hello requests answered with `errorStatus`, in 0...1.
    public var errorRate: Double
    /// Added to the service time of every /hello response.
    public var extraDelay: Duration
    /// The failing answers' HTTP status: 503 is retried by the sidecars (Istio's default retry policy), so
    /// most of those errors never reach the client; 500 is not retried and every one shows.
    public var errorStatus: Int

    public init(errorRate: Double = 0, extraDelay: Duration = .zero, errorStatus: Int = 503) {
        self.errorRate = min(max(errorRate, 0), 1)
        self.extraDelay = extraDelay
        self.errorStatus = (500...599).contains(errorStatus) ? errorStatus : 503
    }
}

/// A directed (source cluster → serving cluster) pair.
public struct ClusterPair: Hashable, Sendable {
    public var source: String
    public var target: String

    public init(source: String, target: String) {
        self.source = source
        self.target = target
    }
}

public struct RuntimeFaults: Equatable, Sendable {
    /// Extra one-way latency the sidecar adds to requests from `source` served in `target`.
    public var pairLatency: [ClusterPair: Duration]
    /// Per HelloWorld version (e.g. "v2").
    public var versionFaults: [String: VersionFault]
    /// Exec stream fault for sessions in a given cluster; `allClustersExecStreamFault` applies elsewhere.
    public var execStreamFaults: [String: ExecStreamFault]
    public var allClustersExecStreamFault: ExecStreamFault?

    public init(
        pairLatency: [ClusterPair: Duration] = [:], versionFaults: [String: VersionFault] = [:],
        execStreamFaults: [String: ExecStreamFault] = [:], allClustersExecStreamFault: ExecStreamFault? = nil
    ) {
        self.pairLatency = pairLatency
        self.versionFaults = versionFaults
        self.execStreamFaults = execStreamFaults
        self.allClustersExecStreamFault = allClustersExecStreamFault
    }

    public static let none = RuntimeFaults()

    public func extraLatency(from source: String, to target: String) -> Duration {
        pairLatency[ClusterPair(source: source, target: target)] ?? .zero
    }

    public func versionFault(_ version: String) -> VersionFault {
        versionFaults[version] ?? VersionFault()
    }

    public func execStreamFault(cluster: String) -> ExecStreamFault? {
        execStreamFaults[cluster] ?? allClustersExecStreamFault
    }
}

/// The current faults, readable and replaceable from any thread. Listeners and sessions read it per request
/// (per session for exec), so a change applies to the next request.
public final class RuntimeFaultControl: Sendable {
    private let state: Mutex<RuntimeFaults>

    public init(_ initial: RuntimeFaults = .none) {
        state = Mutex(initial)
    }

    public var current: RuntimeFaults {
        state.withLock { $0 }
    }

    public func set(_ faults: RuntimeFaults) {
        state.withLock { $0 = faults }
    }

    /// Changes part of the faults atomically.
    public func update(_ change: (inout RuntimeFaults) -> Void) {
        state.withLock { change(&$0) }
    }
}
