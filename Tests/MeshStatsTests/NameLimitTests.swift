import Testing

@testable import MeshStats

/// A pod printing well-formed records with endless distinct names cannot grow the name table.
@Suite struct NameLimitTests {
    static func record(version: String, instance: String, sequence: Int = 0) -> String {
        "MC1 0 0 \(sequence) 200 0 0.001000 0.002000 0.003000 \(version) \(instance)\n"
    }

    @Test func distinctInstancesBeyondTheLimitAreCountedNotStored() {
        var names = NameTable()
        let known = names.intern("helloworld-v1-known")
        _ = names.intern("v1")
        var parser = RecordStreamParser()
        var collector = RecordEventCollector()
        let flood = 3 * NameTable.maximumRecordInstances
        for index in 0..<flood {
            parser.feed(Array(Self.record(version: "v1", instance: "pod-\(index)").utf8), names: &names, into: &collector)
        }
        #expect(names.count == 2 + NameTable.maximumRecordInstances)
        #expect(names.isFull(.instance) && !names.isFull(.version))
        let refused = UInt64(flood - NameTable.maximumRecordInstances)
        #expect(parser.malformedLines[.tooManyNames(.instance)] == refused)
        #expect(parser.malformedLines.total == refused)
        // Names already in the table still count, whole or split across chunks, and the line after a
        // refused one is read as its own line.
        let tail = Self.record(version: "v1", instance: "pod-new") + Self.record(version: "v1", instance: "helloworld-v1-known")
        let bytes = Array(tail.utf8)
        parser.feed(bytes[..<30], names: &names, into: &collector)
        parser.feed(bytes[30...], names: &names, into: &collector)
        parser.finish(into: &collector)
        #expect(collector.events.suffix(2).first == .malformed(.tooManyNames(.instance)))
        guard case .sample(let sample) = collector.events.last else {
            Issue.record("expected a sample, got \(String(describing: collector.events.last))")
            return
        }
        #expect(sample.instance == known)
        #expect(names.count == 2 + NameTable.maximumRecordInstances)
    }

    @Test func distinctVersionsHaveTheirOwnLimit() {
        var names = NameTable()
        var parser = RecordStreamParser()
        var collector = RecordEventCollector()
        for index in 0..<(NameTable.maximumRecordVersions + 10) {
            parser.feed(Array(Self.record(version: "v\(index)", instance: "-").utf8), names: &names, into: &collector)
        }
        #expect(names.count == NameTable.maximumRecordVersions)
        #expect(parser.malformedLines[.tooManyNames(.version)] == 10)
        #expect(MalformedLineReason.tooManyNames(.version).description == "more than 16 distinct version names")
        #expect(MalformedLineReason.tooManyNames(.instance).description == "more than 128 distinct instance names")
    }

    /// An exit status is 0…255: larger curl exit codes are invalid, so a session tallies at most
    /// 256 curl and 1,000 HTTP error kinds however many distinct codes a pod prints.
    @Test func curlExitCodesAboveAByteAreInvalid() {
        var names = NameTable()
        var parser = RecordStreamParser()
        var collector = RecordEventCollector()
        for code in [255, 256, 65535] {
            let line = "MC1 0 0 0 000 \(code) 0.001000 0.002000 0.003000 - -\n"
            parser.feed(Array(line.utf8), names: &names, into: &collector)
        }
        #expect(parser.malformedLines[.invalidField(.curlExit)] == 2)
        guard case .sample(let sample) = collector.events.first else {
            Issue.record("expected a sample, got \(String(describing: collector.events.first))")
            return
        }
        #expect(sample.curlExit == 255)
    }

    @Test func knownNamesDoNotCountAgainstTheLimit() {
        var names = NameTable()
        for index in 0..<(2 * NameTable.maximumRecordInstances) { names.intern("listed-\(index)") }
        #expect(!names.isFull(.instance))
        var raw = Array("fresh".utf8)
        let id = raw.withUnsafeMutableBytes { names.internRecordToken(UnsafeRawBufferPointer($0), field: .instance) }
        #expect(id == NameID(rawValue: UInt32(2 * NameTable.maximumRecordInstances + 1)))
    }
}
