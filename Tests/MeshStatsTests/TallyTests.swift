import MeshStats
import Testing

@Suite struct TallyTests {
    static func sample(status: UInt16 = 200, curlExit: UInt16 = 0, version: NameID = .absent, instance: NameID = .absent) -> RequestSample {
        RequestSample(burst: 0, worker: 0, sequence: 0, status: status, curlExit: curlExit, connectMicros: 1,
                      firstByteMicros: 2, totalMicros: 3, version: version, instance: instance)
    }

    @Test func outcomeTalliesGroupAndMerge() {
        var names = NameTable()
        let east = names.intern("cluster-1"), west = names.intern("cluster-2")
        let v1 = names.intern("v1"), v2 = names.intern("v2")
        let podA = names.intern("helloworld-v1-a"), podB = names.intern("helloworld-v2-b")
        var first = OutcomeTally(), second = OutcomeTally()
        first.add(OutcomeKey(source: east, serving: east, version: v1, instance: podA), count: 6)
        first.add(OutcomeKey(source: east, serving: west, version: v2, instance: podB), count: 4)
        second.add(OutcomeKey(source: east, serving: west, version: v2, instance: podB))
        second.add(OutcomeKey(source: west, serving: .absent, version: .absent, instance: .absent))
        first.merge(second)
        #expect(first.total == 12)
        #expect(first.servingCounts(from: east) == [east: 6, west: 5])
        #expect(first.servingCounts(from: west) == [.absent: 1])
        #expect(first.instanceCounts(from: west).isEmpty)
        #expect(first.sources == [east, west])
        #expect(first.sortedEntries.map(\.count) == [6, 5, 1])
    }

    @Test func mergingAcrossTablesTranslatesIds() {
        var runTable = NameTable()
        let east = runTable.intern("cluster-1")
        var streamTable = NameTable()
        let pod = streamTable.intern("pod-x"), streamEast = streamTable.intern("cluster-1")
        var streamTally = OutcomeTally()
        streamTally.add(OutcomeKey(source: streamEast, serving: streamEast, version: .absent, instance: pod), count: 3)
        var streamLatency = LatencyMatrix()
        streamLatency.record(1500, from: streamEast, servedBy: streamEast)
        var streamErrors = ErrorTally()
        streamErrors.add(.curlExit(28), from: streamEast)
        let translation = runTable.absorb(streamTable)
        var tally = OutcomeTally()
        tally.merge(streamTally, translation: translation)
        #expect(tally.counts == [OutcomeKey(source: east, serving: east, version: .absent, instance: runTable.id(of: "pod-x")!): 3])
        var latency = LatencyMatrix()
        latency.merge(streamLatency, translation: translation)
        #expect(latency[east, east]?.count == 1)
        var errors = ErrorTally()
        errors.merge(streamErrors, translation: translation)
        #expect(errors.counts == [ErrorTally.Key(source: east, kind: .curlExit(28)): 1])
    }

    @Test func errorKindsClassifySamples() {
        #expect(ErrorKind.classify(Self.sample()) == nil)
        #expect(ErrorKind.classify(Self.sample(status: 204)) == nil)
        #expect(ErrorKind.classify(Self.sample(status: 0, curlExit: 28)) == .curlExit(28))
        #expect(ErrorKind.classify(Self.sample(status: 503)) == .httpStatus(503))
        #expect(ErrorKind.classify(Self.sample(status: 0)) == .httpStatus(0))
        #expect(ErrorKind.classify(Self.sample(status: 999)) == .httpStatus(0))
        #expect(ErrorKind.classify(Self.sample(curlExit: 1000)) == .curlExit(255))
        #expect(ErrorKind.httpStatus(503).statusClass == "5xx")
        #expect(ErrorKind.httpStatus(0).statusClass == "000")
        #expect(ErrorKind.curlExit(7).statusClass == nil)
        var errors = ErrorTally()
        let source = NameID(rawValue: 1)
        errors.add(.httpStatus(503), from: source, count: 2)
        errors.add(.exec(.timeout), from: source)
        errors.add(.curlExit(7), from: NameID(rawValue: 2))
        errors.add(.malformedRecord(.notARecord), from: source)
        errors.add(.truncatedBurst, from: source)
        #expect(errors.total == 6)
        #expect(errors.byKind.map(\.kind) == [.curlExit(7), .httpStatus(503), .exec(.timeout), .malformedRecord(.notARecord), .truncatedBurst])
        #expect(errors.byKind.map(\.kind.description) == [
            "curl exit 7", "HTTP 503", "command timed out", "malformed record: not a record line", "truncated burst",
        ])
        var doubled = errors
        doubled.merge(errors)
        #expect(doubled.total == 12)
    }

    @Test func latencyMatrixCombinesRoutes() {
        let east = NameID(rawValue: 1), west = NameID(rawValue: 2)
        var matrix = LatencyMatrix()
        for micros: UInt64 in [100, 200, 300] { matrix.record(micros, from: east, servedBy: east) }
        for micros: UInt64 in [40_000, 50_000] { matrix.record(micros, from: east, servedBy: west) }
        matrix.record(7, from: west, servedBy: west)
        #expect(matrix.routes.map(\.serving) == [east, west, west])
        #expect(matrix[east, west]?.value(atPercentile: 100) == 50_000)
        #expect(matrix[west, east] == nil)
        let combined = matrix.combined(from: east)
        #expect(combined.count == 5 && combined.min == 100 && combined.max == 50_000)
        var twice = matrix
        twice.merge(matrix)
        #expect(twice[east, east]?.count == 6)
    }

    @Test func batchRecordEqualsRecordingOneByOne() {
        var generator = SeededGenerator(seed: 77)
        for _ in 0..<50 {
            let values = (0..<Int(generator.next() % 500)).map { _ in
                generator.next() % 8 == 0 ? generator.next() : Distribution.heavyTailed.draw(&generator)
            }
            var batch = LatencyHistogram(), single = LatencyHistogram()
            batch.record(contentsOf: values)
            for value in values { single.record(value) }
            #expect(batch == single)
        }
    }
}
