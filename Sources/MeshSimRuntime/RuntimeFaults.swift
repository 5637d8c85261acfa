// Faults the Kubernetes API cannot express, switched at start and at run time by MeshSim's fault control.
// A value type describes them; `RuntimeFaultControl` holds the current value for all threads.
import Synchronization

/// Error rate and slowness of one HelloWorld version.
package struct VersionFault: Equatable, Sendable {
    /// Fraction of /hello requests answered with `errorStatus`, in 0...1.
    package var errorRate: Double
    /// Added to the service time of every /hello response.
    package var extraDelay: Duration
    /// The failing answers' HTTP status: 503 is retried by the sidecars (Istio's default retry policy), so
    /// most of those errors never reach the client; 500 is not retried and every one shows.
    package var errorStatus: Int

    package init(errorRate: Double = 0, extraDelay: Duration = .zero, errorStatus: Int = 503) {
        self.errorRate = min(max(errorRate, 0), 1)
        self.extraDelay = extraDelay
        self.errorStatus = (500...599).contains(errorStatus) ? errorStatus : 503
    }
}

/// A directed (source cluster → serving cluster) pair.
package struct ClusterPair: Hashable, Sendable {
    package var source: String
    package var target: String

    package init(source: String, target: String) {
        self.source = source
        self.target = target
    }

    /// `cluster-1>cluster-2`, the form flags and the fault document use; nil unless both names are there.
    package init?(parsing text: some StringProtocol) {
        let ends = text.split(separator: ">", omittingEmptySubsequences: false)
        guard ends.count == 2, !ends[0].isEmpty, !ends[1].isEmpty else { return nil }
        self.init(source: String(ends[0]), target: String(ends[1]))
    }

    /// `cluster-1>cluster-2`.
    package var text: String { "\(source)>\(target)" }
}

package struct RuntimeFaults: Equatable, Sendable {
    /// Extra one-way latency the sidecar adds to requests from `source` served in `target`.
    package var pairLatency: [ClusterPair: Duration]
    /// Per HelloWorld version (e.g. "v2").
    package var versionFaults: [String: VersionFault]
    /// Exec stream fault for sessions in a given cluster; `allClustersExecStreamFault` applies elsewhere.
    package var execStreamFaults: [String: ExecStreamFault]
    package var allClustersExecStreamFault: ExecStreamFault?
    /// (source → target) pairs where the target's east-west gateway address does not answer the source's sidecars
    /// (a firewall on port 15443 between the networks): the endpoint is still listed and healthy, connections to it
    /// time out, and the sidecar retries on other hosts.
    package var blockedGateways: Set<ClusterPair>

    package init(
        pairLatency: [ClusterPair: Duration] = [:], versionFaults: [String: VersionFault] = [:],
        execStreamFaults: [String: ExecStreamFault] = [:], allClustersExecStreamFault: ExecStreamFault? = nil,
        blockedGateways: Set<ClusterPair> = []
    ) {
        self.blockedGateways = blockedGateways
        self.pairLatency = pairLatency
        self.versionFaults = versionFaults
        self.execStreamFaults = execStreamFaults
        self.allClustersExecStreamFault = allClustersExecStreamFault
    }

    package static let none = RuntimeFaults()

    package func extraLatency(from source: String, to target: String) -> Duration {
        pairLatency[ClusterPair(source: source, target: target)] ?? .zero
    }

    package func versionFault(_ version: String) -> VersionFault {
        versionFaults[version] ?? VersionFault()
    }

    package func execStreamFault(cluster: String) -> ExecStreamFault? {
        execStreamFaults[cluster] ?? allClustersExecStreamFault
    }
}

/// The current faults, readable and replaceable from any thread. Listeners and sessions read it per request
/// (per session for exec), so a change applies to the next request.
package final class RuntimeFaultControl: Sendable {
    private let state: Mutex<RuntimeFaults>

    package init(_ initial: RuntimeFaults = .none) {
        state = Mutex(initial)
    }

    package var current: RuntimeFaults {
        state.withLock { $0 }
    }

    package func set(_ faults: RuntimeFaults) {
        state.withLock { $0 = faults }
    }

    /// Changes part of the faults atomically.
    package func update(_ change: (inout RuntimeFaults) -> Void) {
        state.withLock { change(&$0) }
    }
}
