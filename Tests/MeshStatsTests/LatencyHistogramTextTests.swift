import MeshStats
import Testing

@Suite struct LatencyHistogramTextTests {
    /// Layout and steps as HdrHistogram's `outputPercentileDistribution` writes them, for values
    /// 1…4 ms (recorded in µs, printed in ms, one tick per half distance). 3000 µs shares a
    /// 2 µs-wide bucket with 3001 µs, whose midpoint is reported.
    @Test func smallDistributionGolden() {
        var histogram = LatencyHistogram()
        for value: UInt64 in [1000, 2000, 3000, 4000] { histogram.record(value) }
        let text = histogram.percentileDistributionText(valueUnitScalingRatio: 1000, ticksPerHalfDistance: 1)
        let expected = """
                   Value     Percentile TotalCount 1/(1-Percentile)

                   1.000 0.000000000000          1           1.00
                   2.000 0.500000000000          2           2.00
                   3.001 0.750000000000          3           4.00
                   4.000 0.875000000000          4           8.00
                   4.000 1.000000000000          4
            #[Mean    =        2.500, StdDeviation   =        1.118]
            #[Max     =        4.000, Total count    =            4]
            #[Buckets =           22, SubBuckets     =         2048]

            """
        #expect(text == expected)
    }

    @Test func stepsCoverEveryValueAndEndAtHundred() {
        var histogram = LatencyHistogram()
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<10_000 { histogram.record(Distribution.logNormal.draw(&generator)) }
        let steps = histogram.percentileSteps()
        #expect(steps.last?.percentileLevel == 100)
        #expect(steps.last?.totalCount == histogram.count)
        #expect(steps.map(\.percentileLevel) == steps.map(\.percentileLevel).sorted())
        #expect(steps.map(\.value) == steps.map(\.value).sorted())
    }
}
