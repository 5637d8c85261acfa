import MeshStats
import Testing

@testable import MeshCheck

@Suite struct FailoverWindowTests {
    func parameters(endpoints: Int = 1, workers: Int = 1, interval: Int64 = 100_000, baseEjection: Int64 = 30_000_000) -> FailoverWindow.Parameters {
        FailoverWindow.Parameters(
            consecutiveErrors: 5, attemptsPerRequest: 3, endpoints: endpoints, workers: workers, workerIntervalMicros: interval,
            windowMicros: 1_000_000, baseEjectionTimeMicros: baseEjection)
    }

    @Test func failingRequestsFromEjectionSettingsAndRetries() {
        #expect(parameters().failingRequests == 2, "5 consecutive errors over 3 attempts per request")
        #expect(parameters(endpoints: 2).failingRequests == 4)
        var noRetries = parameters(endpoints: 3)
        noRetries.attemptsPerRequest = 1
        #expect(noRetries.failingRequests == 15)
    }

    @Test func windowGrainedRange() {
        // The last failing start lies in 20.4–20.5 s: window 20, so traffic has failed over from window 21.
        #expect(FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: 40_000_000, parameters()) == 0.7...0.7)
        // Two workers, two endpoints: 4 failing requests are 2 rounds of 200 ms.
        #expect(
            FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: nil, parameters(endpoints: 2, workers: 2, interval: 200_000)) == 0.7...0.7)
        // Straddling a window boundary: 20.95–21.05 s.
        let straddling = FailoverWindow.expected(appliedAtMicros: 20_850_000, restoredAtMicros: nil, parameters())
        #expect(straddling.map { abs($0.lowerBound - 0.15) < 1e-9 && abs($0.upperBound - 1.15) < 1e-9 } == true)
        // Ejected hosts return after 10 s, long before the restore: no single window.
        #expect(FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: 40_000_000, parameters(baseEjection: 10_000_000)) == nil)
    }

    /// Envoy ejects past maxEjectionPercent only once: more disrupted endpoints than that leave only by removal.
    @Test func ejectionCapAndEndpointRemoval() {
        var capped = parameters(endpoints: 2)
        capped.totalEndpoints = 3
        #expect(!capped.ejectsAll, "10 % of 3 hosts: one ejection")
        #expect(FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: 40_000_000, capped) == nil)
        capped.maxEjectionPercent = 50
        #expect(capped.ejectsAll)
        capped.maxEjectionPercent = 10
        capped.endpointRemovalMicros = 2_000_000...3_000_000
        // The last failing start lies in 22.2–23.3 s.
        let removed = FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: 40_000_000, capped)
        #expect(removed.map { abs($0.lowerBound - 2.7) < 1e-9 && abs($0.upperBound - 3.7) < 1e-9 } == true)
        // Removal before ejection could finish: 5 failing requests a second apart would take until 24.3–25.3 s.
        var slow = parameters(interval: 1_000_000)
        slow.attemptsPerRequest = 1
        slow.endpointRemovalMicros = 1_000_000...1_500_000
        let early = FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: 60_000_000, slow)
        #expect(early.map { abs($0.lowerBound - 0.7) < 1e-9 && abs($0.upperBound - 1.7) < 1e-9 } == true)
        // Removed before any request after the action: possibly no failing request at all.
        slow.endpointRemovalMicros = 0...100_000
        #expect(FailoverWindow.expected(appliedAtMicros: 20_300_000, restoredAtMicros: nil, slow)?.lowerBound == 0)
    }

    @Test func parametersFromTheScenario() throws {
        let load = LoadSettings(requestsPerBurst: 100, mode: .paced(ratePerSecond: 20, parallelism: 2))
        let outlier = OutlierDetectionSettings(consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, baseEjectionTime: .seconds(60))
        let derived = try #require(FailoverWindow.Parameters(outlierDetection: outlier, load: load, timeline: TimelineSettings(), endpoints: 1))
        #expect(derived.consecutiveErrors == 3)
        #expect(derived.attemptsPerRequest == 3)
        #expect(derived.workers == 2)
        #expect(derived.workerIntervalMicros == 100_000)
        #expect(derived.windowMicros == 1_000_000)
        #expect(derived.baseEjectionTimeMicros == 60_000_000)
        let defaults = try #require(
            FailoverWindow.Parameters(outlierDetection: OutlierDetectionSettings(), load: load, timeline: TimelineSettings(), endpoints: 1))
        #expect(defaults.consecutiveErrors == OutlierDetectionSettings.defaultConsecutive5xxErrors)
        #expect(FailoverWindow.Parameters(outlierDetection: outlier, load: LoadSettings(), timeline: TimelineSettings(), endpoints: 1) == nil)
    }

    /// The model of the derivation played out request by request, at every phase of the workers: the figure the
    /// timeline yields always falls in the expected range.
    @Test func figuresOfTheModelFallInTheRange() throws {
        let model = parameters(endpoints: 2, workers: 2, interval: 300_000)
        let applied: Int64 = 10_450_000
        let range = try #require(FailoverWindow.expected(appliedAtMicros: applied, restoredAtMicros: 20_000_000, model))
        var seen: Set<Double> = []
        for phase in stride(from: Int64(0), to: 300_000, by: 25_000) {
            var failed = 0
            // Before the action every request reaches cluster-1; after it the first n fail, the rest reach cluster-2.
            var timeline = TimelineTally(clusterCount: 2, windowMicros: 1_000_000)
            var starts: [Int64] = []
            for worker in Int64(0)..<2 {
                let offset: Int64 = (phase + worker * 110_000) % 300_000
                for step in Int64(0)..<100 { starts.append(step * 300_000 + offset) }
            }
            starts.sort()
            for start in starts {
                if start < applied {
                    timeline.record(source: 0, target: 0, succeeded: true, atMicros: start, totalMicros: 1)
                } else if failed < model.failingRequests {
                    failed += 1
                    timeline.record(source: 0, target: nil, succeeded: false, atMicros: start, totalMicros: 1)
                } else {
                    timeline.record(source: 0, target: 1, succeeded: true, atMicros: start, totalMicros: 1)
                }
            }
            let figures = FailoverFigures.compute(
                FailoverFigures.Input(
                    timeline: timeline, names: ["cluster-1", "cluster-2"], sources: [0],
                    disruptions: [TimelineScript.scaleDown(appliedAtMs: applied / 1000)], expectation: FailoverExpectation(), locality: nil,
                    localities: [:], significance: 0.001))
            let figure = try #require(figures.figures.first?.failoverSeconds)
            #expect(range.contains(figure), "phase \(phase): \(figure) s outside \(range)")
            seen.insert(figure)
        }
        #expect(!seen.isEmpty)
    }
}
