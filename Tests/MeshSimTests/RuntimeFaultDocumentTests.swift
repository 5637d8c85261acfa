import MeshSimRuntime
import Testing

@testable import MeshSim

/// The fault endpoint's `runtime` section: what it accepts, what it refuses, and that rendering reads back the same.
@Suite struct RuntimeFaultDocumentTests {
    @Test func blockedGatewaysRoundTripAndBadEntriesAreRefused() throws {
        let faults = try FaultDocument.parseRuntime(["blockedGateways": ["cluster-1>cluster-2", "cluster-3>cluster-1"]])
        #expect(
            faults.blockedGateways == [ClusterPair(source: "cluster-1", target: "cluster-2"), ClusterPair(source: "cluster-3", target: "cluster-1")])
        #expect(FaultDocument.render(faults)["blockedGateways"] == ["cluster-1>cluster-2", "cluster-3>cluster-1"])
        for bad: JSON in [["cluster-1"], [">cluster-2"], [1]] {
            #expect(throws: SimulatedMeshError.self) { try FaultDocument.parseRuntime(["blockedGateways": bad]) }
        }
    }

    @Test func hostileExecKindsRoundTripAndUnknownKindsAreRefused() throws {
        let faults = try FaultDocument.parseRuntime(["exec": ["cluster-1": ["hostile": "endless-frame"], "*": ["hostile": "flood"]]])
        #expect(faults.execStreamFaults["cluster-1"] == .hostile(.endlessFrame))
        #expect(faults.allClustersExecStreamFault == .hostile(.flood))
        #expect(FaultDocument.render(faults)["exec"]["cluster-1"] == ["hostile": "endless-frame"])
        #expect(throws: SimulatedMeshError.self) { try FaultDocument.parseRuntime(["exec": ["cluster-1": ["hostile": "nice"]]]) }
    }
}
