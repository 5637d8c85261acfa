import Testing

@testable import MeshCheck

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct DescriptorBudgetTests {
    private func scenario(clientPods: Int, concurrent: Int) -> Scenario {
        var scenario = try! Scenario.guideCheck(contexts: ["a", "b"])
        for index in scenario.clusters.indices { scenario.clusters[index].sleepReplicas = clientPods / 2 }
        scenario.load.concurrentBurstsPerClientPod = concurrent
        return scenario
    }

    @Test func budgetGrowsWithConcurrentSessionsAndTheSimulator() {
        let small = scenario(clientPods: 2, concurrent: 1)
        let burst = scenario(clientPods: 20, concurrent: 50)
        #expect(DescriptorBudget.required(for: small, simulated: false) == 256 + 2 * 2)
        #expect(DescriptorBudget.required(for: burst, simulated: false) == 256 + 1000 * 2)
        #expect(DescriptorBudget.required(for: burst, simulated: true) == 256 + 1000 * 8)
    }

    @Test func clustersWithoutClientsAddNothing() {
        var scenario = scenario(clientPods: 20, concurrent: 50)
        scenario.clusters[1].clients = false
        #expect(DescriptorBudget.required(for: scenario, simulated: false) == 256 + 500 * 2)
    }

    @Test func warnsOnlyWhenTheLimitIsTooLow() throws {
        let burst = scenario(clientPods: 20, concurrent: 50)
        #expect(DescriptorBudget.shortfall(for: burst, simulated: true, limit: 1 << 20) == nil)
        let warning = try #require(DescriptorBudget.shortfall(for: burst, simulated: true, limit: 1024))
        #expect(warning.contains("1024"))
        #expect(warning.contains("8256"))
        #expect(warning.contains("20 client pods × 50 concurrent bursts"))
        #expect(DescriptorBudget.shortfall(for: scenario(clientPods: 2, concurrent: 1), simulated: true, limit: 1024) == nil)
    }

    #if canImport(Glibc)
        /// Lowering the soft limit here would starve tests running in parallel; the end-to-end burst test starts
        /// meshcheck under `ulimit -Sn 1024` instead. Here: raising leaves soft = hard and says so.
        @Test func raisingTheSoftLimitReachesTheHardLimit() {
            let raised = DescriptorBudget.raiseSoftLimit()
            var limits = rlimit()
            #expect(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0)
            #expect(raised == UInt64(limits.rlim_cur))
            #expect(limits.rlim_cur == limits.rlim_max)
        }
    #endif
}
