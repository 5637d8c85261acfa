import Testing

@testable import MeshStats

/// A slow, obviously-correct reading of Contract 1 (docs/ARCHITECTURE.md) written with Strings, to compare the byte-level
/// parser against.
enum ReferenceParser {
    enum Parsed: Equatable {
        case sample(
            burst: UInt32, worker: UInt32, sequence: UInt32, status: UInt16, curlExit: UInt16,
            connect: UInt64, firstByte: UInt64, total: UInt64, version: String?, instance: String?)
        case begin(UInt32, UInt32)
        case end(UInt32, UInt32, UInt32)
        case late(UInt32, UInt32, UInt32, UInt32)
        case malformed(MalformedLineReason)
    }

    static func counter(_ text: Substring) -> UInt32? {
        guard (1...10).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(text)
    }

    static func seconds(_ text: Substring) -> UInt64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, (1...9).contains(whole.count),
            whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var micros = UInt64(whole)! * 1_000_000
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...6).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            micros += UInt64(fraction + String(repeating: "0", count: 6 - fraction.count))!
        }
        return micros
    }

    static func token(_ text: Substring) -> String?? {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        guard (1...253).contains(text.utf8.count), text.allSatisfy({ allowed.contains($0) }) else { return nil }
        return text == "-" ? .some(nil) : .some(String(text))
    }

    /// Parses one line given without its newline.
    static func parse(_ rawLine: String) -> Parsed {
        let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : rawLine
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        // The prefix includes its space: "MC1" alone is not a record line.
        let kind = fields.count > 1 ? fields[0] : ""
        switch kind {
        case "MC1-BEGIN":
            guard fields.count >= 2, let burst = counter(fields[1]) else { return .malformed(.invalidField(.burst)) }
            guard fields.count == 3, let worker = counter(fields[2]) else { return .malformed(.invalidField(.worker)) }
            return .begin(burst, worker)
        case "MC1-END":
            guard fields.count >= 2, let burst = counter(fields[1]) else { return .malformed(.invalidField(.burst)) }
            guard fields.count >= 3, let worker = counter(fields[2]) else { return .malformed(.invalidField(.worker)) }
            guard fields.count == 4, let count = counter(fields[3]) else { return .malformed(.invalidField(.count)) }
            return .end(burst, worker, count)
        case "MC1-LATE":
            guard fields.count >= 2, let burst = counter(fields[1]) else { return .malformed(.invalidField(.burst)) }
            guard fields.count >= 3, let worker = counter(fields[2]) else { return .malformed(.invalidField(.worker)) }
            guard fields.count >= 4, let late = counter(fields[3]) else { return .malformed(.invalidField(.count)) }
            guard fields.count == 5, let lag = counter(fields[4]) else { return .malformed(.invalidField(.count)) }
            return .late(burst, worker, late, lag)
        case "MC1":
            let order: [RecordField] = [.burst, .worker, .sequence, .status, .curlExit, .connect, .firstByte, .total, .version, .instance]
            var values: [Any] = []
            for (position, field) in order.enumerated() {
                guard position + 1 < fields.count else { return .malformed(.invalidField(field)) }
                let text = fields[position + 1]
                switch field {
                case .burst, .worker, .sequence:
                    guard let value = counter(text) else { return .malformed(.invalidField(field)) }
                    values.append(value)
                case .status:
                    guard text.count == 3, let value = UInt16(text), text.allSatisfy(\.isNumber) else { return .malformed(.invalidField(field)) }
                    values.append(value)
                case .curlExit:
                    guard let value = counter(text), value <= 255 else { return .malformed(.invalidField(field)) }
                    values.append(UInt16(value))
                case .connect, .firstByte, .total:
                    guard let value = seconds(text) else { return .malformed(.invalidField(field)) }
                    values.append(value)
                case .version, .instance:
                    guard let value = token(text) else { return .malformed(.invalidField(field)) }
                    values.append(value as Any)
                case .count:
                    break
                }
            }
            if fields.count > order.count + 1 { return .malformed(.trailingBytes) }
            return .sample(
                burst: values[0] as! UInt32, worker: values[1] as! UInt32, sequence: values[2] as! UInt32,
                status: values[3] as! UInt16, curlExit: values[4] as! UInt16, connect: values[5] as! UInt64,
                firstByte: values[6] as! UInt64, total: values[7] as! UInt64,
                version: values[8] as? String, instance: values[9] as? String)
        default:
            return .malformed(.notARecord)
        }
    }

    static func translate(_ event: RecordEvent, _ names: NameTable) -> Parsed {
        switch event {
        case .sample(let s):
            return .sample(
                burst: s.burst, worker: s.worker, sequence: s.sequence, status: s.status, curlExit: s.curlExit,
                connect: s.connectMicros, firstByte: s.firstByteMicros, total: s.totalMicros,
                version: names.name(of: s.version), instance: names.name(of: s.instance))
        case .begin(let burst, let worker): return .begin(burst, worker)
        case .end(let burst, let worker, let count): return .end(burst, worker, count)
        case .late(let burst, let worker, let late, let lag): return .late(burst, worker, late, lag)
        case .malformed(let reason): return .malformed(reason)
        }
    }
}

/// Random Contract 1 output: valid records and framing, plus corrupted variants.
struct LineGenerator {
    var generator: SeededGenerator

    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(generator.next() % UInt64(choices.count))] }

    mutating func seconds() -> String {
        let micros = generator.next() % 3_000_000
        return "\(micros / 1_000_000).\(String(String(1_000_000 + micros % 1_000_000).dropFirst()))"
    }

    mutating func validLine() -> String {
        switch generator.next() % 10 {
        case 0: return "MC1-BEGIN \(generator.next() % 100) \(generator.next() % 64)"
        case 1:
            if generator.next() % 4 == 0 {
                return "MC1-LATE \(generator.next() % 100) \(generator.next() % 64) \(generator.next() % 50) \(generator.next() % 100_000)"
            }
            return "MC1-END \(generator.next() % 100) \(generator.next() % 64) \(generator.next() % 1000)"
        default:
            let version = pick(["v1", "v2", "v3", "-"])
            let instance = version == "-" ? "-" : "helloworld-\(version)-7d9f8c6b5-\(pick(["abcde", "fghij", "klmno"]))"
            return "MC1 \(generator.next() % 100) \(generator.next() % 64) \(generator.next() % 10_000) "
                + "\(pick(["200", "503", "000", "404"])) \(pick(["0", "7", "28", "56"])) "
                + "\(seconds()) \(seconds()) \(seconds()) \(version) \(instance)"
        }
    }

    /// A valid line with one random byte-level corruption (or, sometimes, untouched).
    mutating func line() -> String {
        var bytes = Array(validLine().utf8)
        switch generator.next() % 8 {
        case 0: bytes[Int(generator.next() % UInt64(bytes.count))] = pick(Array(" .-0x\r\t:/".utf8) + [0xFF, 0])
        case 1: bytes.remove(at: Int(generator.next() % UInt64(bytes.count)))
        case 2: bytes.insert(pick(Array(" 9.a".utf8)), at: Int(generator.next() % UInt64(bytes.count + 1)))
        case 3: bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
        case 4: return pick(["", "error: command terminated", "curl: (28) timed out", "MC1", "MC1-", "MC1-BEGIN", "\r"])
        default: break
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@Suite struct RecordParserTests {
    static func parseAll(_ chunks: [[UInt8]], names: inout NameTable) -> (events: [RecordEvent], parser: RecordStreamParser) {
        var parser = RecordStreamParser()
        var collector = RecordEventCollector()
        for chunk in chunks { parser.feed(chunk, names: &names, into: &collector) }
        parser.finish(into: &collector)
        return (collector.events, parser)
    }

    @Test func parsesRecordsAndFraming() {
        let text = """
            MC1-BEGIN 3 1
            MC1 3 1 0 200 0 0.001234 0.005 1.25 v2 helloworld-v2-5f7d-abcde
            MC1 3 1 1 000 28 0.000000 0 10.000001 - -
            MC1-END 3 1 2

            """
        var names = NameTable()
        let (events, parser) = Self.parseAll([Array(text.utf8)], names: &names)
        let v2 = names.id(of: "v2")!
        let pod = names.id(of: "helloworld-v2-5f7d-abcde")!
        #expect(
            events == [
                .begin(burst: 3, worker: 1),
                .sample(
                    RequestSample(
                        burst: 3, worker: 1, sequence: 0, status: 200, curlExit: 0, connectMicros: 1234,
                        firstByteMicros: 5000, totalMicros: 1_250_000, version: v2, instance: pod)),
                .sample(
                    RequestSample(
                        burst: 3, worker: 1, sequence: 1, status: 0, curlExit: 28, connectMicros: 0,
                        firstByteMicros: 0, totalMicros: 10_000_001, version: .absent, instance: .absent)),
                .end(burst: 3, worker: 1, count: 2),
            ])
        #expect(parser.malformedLines.total == 0)
        #expect(parser.lineCount == 4)
        #expect(names.name(of: v2) == "v2" && names.name(of: .absent) == nil)
        #expect(Array(names.names) == ["v2", "helloworld-v2-5f7d-abcde"])
    }

    @Test func malformedLinesAreCountedByReason() {
        let lines = [
            "", "garbage", "MC1 1 2", "MC1 1 2 3 20 0 0 0 0 v1 p", "MC1 1 2 3 200 0 0.1234567 0 0 v1 p",
            "MC1 1 2 3 200 0 0 0 0 v1 p extra", "MC1 99999999999 2 3 200 0 0 0 0 v1 p", "MC1 1 2 3 200 0 0 0 0 v1 p\u{7F}",
            "MC1-BEGIN 1", "MC1-END 1 2", "MC1 1 2 3 200 0 0 0 0 v/1 p", "MC1 1 2 3 200 0 . 0 0 v1 p",
        ]
        var names = NameTable()
        let (events, parser) = Self.parseAll([Array(lines.joined(separator: "\n").utf8) + [0x0A]], names: &names)
        #expect(
            events == [
                .malformed(.notARecord), .malformed(.notARecord), .malformed(.invalidField(.sequence)),
                .malformed(.invalidField(.status)), .malformed(.invalidField(.connect)), .malformed(.trailingBytes),
                .malformed(.invalidField(.burst)), .malformed(.invalidField(.instance)), .malformed(.invalidField(.worker)),
                .malformed(.invalidField(.count)), .malformed(.invalidField(.version)), .malformed(.invalidField(.connect)),
            ])
        #expect(parser.malformedLines.total == 12)
        #expect(parser.malformedLines[.notARecord] == 2)
        #expect(parser.malformedLines[.invalidField(.connect)] == 2)
        #expect(names.count == 0, "names of malformed lines are not interned")
    }

    /// Random streams (valid and corrupted lines) agree with the reference reading, whatever the
    /// chunking.
    @Test func agreesWithReferenceUnderRandomChunking() {
        var lines = LineGenerator(generator: SeededGenerator(seed: 1234))
        var chunker = SeededGenerator(seed: 99)
        for _ in 0..<60 {
            let stream = (0..<200).map { _ in lines.line() }
            let bytes = Array(stream.map { $0 + "\n" }.joined().utf8)
            let expected = stream.map(ReferenceParser.parse)
            var chunks: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let size = Int(chunker.next() % 3 == 0 ? chunker.next() % 4 : chunker.next() % 200)
                chunks.append(Array(bytes[offset..<min(bytes.count, offset + size)]))
                offset += size
            }
            var names = NameTable()
            let (events, parser) = Self.parseAll(chunks, names: &names)
            let parsed = events.map { ReferenceParser.translate($0, names) }
            #expect(parsed.count == expected.count)
            for (index, (got, want)) in zip(parsed, expected).enumerated() where got != want {
                Issue.record("line \(index) \(stream[index].debugDescription): got \(got), want \(want)")
            }
            let malformed = expected.filter { if case .malformed = $0 { true } else { false } }.count
            #expect(parser.malformedLines.total == UInt64(malformed))
        }
    }

    /// Every split point of a small stream gives the same events.
    @Test func everySplitPointGivesTheSameEvents() {
        let text = "MC1-BEGIN 0 0\nMC1 0 0 0 200 0 0.000100 0.000200 0.000300 v1 pod-a\r\nnoise\nMC1-END 0 0 1\n"
        let bytes = Array(text.utf8)
        var names = NameTable()
        let whole = Self.parseAll([bytes], names: &names).events
        for first in 0...bytes.count {
            for second in first...bytes.count where second == first || second == bytes.count || (second - first) % 7 == 0 {
                let chunks = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                #expect(Self.parseAll(chunks, names: &names).events == whole, "split at \(first), \(second)")
            }
        }
        #expect(names.count == 2)
    }

    @Test func overlongLineUsesBoundedMemory() {
        var parser = RecordStreamParser()
        var names = NameTable()
        var collector = RecordEventCollector()
        let junk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        for _ in 0..<64 { // 4 MiB without a newline
            parser.feed(junk, names: &names, into: &collector)
            #expect(parser.pending.count < RecordStreamParser.maximumLineLength)
        }
        parser.feed(Array("xyz\nMC1-BEGIN 1 2\n".utf8), names: &names, into: &collector)
        #expect(collector.events == [.malformed(.overlongLine), .begin(burst: 1, worker: 2)])
        parser.feed(Array("MC1-END 1 2".utf8), names: &names, into: &collector)
        parser.finish(into: &collector)
        #expect(collector.events.last == .malformed(.truncatedAtEndOfStream))
        #expect(parser.malformedLines.nonZero.map(\.reason) == [.overlongLine, .truncatedAtEndOfStream])
    }

    /// A line longer than the cap is `overlongLine` whether it arrives whole or split.
    @Test func overlongLinesAreClassifiedTheSameWholeOrSplit() {
        let maximum = RecordStreamParser.maximumLineLength
        for contentLength in [maximum - 2, maximum - 1, maximum, maximum + 1, 5000] {
            let line = Array(repeating: UInt8(ascii: "y"), count: contentLength) + [0x0A]
            var names = NameTable()
            let whole = Self.parseAll([line], names: &names).events
            let split = Self.parseAll([Array(line[..<7]), Array(line[7...])], names: &names).events
            #expect(whole == split, "content length \(contentLength)")
            #expect(whole == [.malformed(contentLength + 1 > maximum ? .overlongLine : .notARecord)], "content length \(contentLength)")
        }
    }

    @Test func tokensAtTheLengthLimit() {
        let longest = String(repeating: "a", count: 253)
        var names = NameTable()
        let ok = "MC1 0 0 0 200 0 0 0 0 v1 \(longest)\nMC1 0 0 0 200 0 0 0 0 v1 \(longest)b\n"
        let events = Self.parseAll([Array(ok.utf8)], names: &names).events
        #expect(events.count == 2)
        if case .sample(let sample) = events[0] {
            #expect(names.name(of: sample.instance) == longest)
        } else {
            Issue.record("expected a sample, got \(events[0])")
        }
        #expect(events[1] == .malformed(.invalidField(.instance)))
    }
}

@Suite struct NameTableTests {
    /// Names of every length up to 40 that differ only in their last or first byte get distinct ids
    /// and are found again (exercises the word-wise hash and comparison tails).
    @Test func namesDifferingInOneByteStayDistinct() {
        var table = NameTable()
        var expected: [String: NameID] = [:]
        for length in 1...40 {
            let stem = String(repeating: "x", count: length - 1)
            for variant in ["a" + stem, "b" + stem, stem + "a", stem + "b"] where expected[variant] == nil {
                expected[variant] = table.intern(variant)
            }
        }
        // Every one-byte variant of a 40-byte name, including bytes the hash does not sample.
        let stem = Array(repeating: UInt8(ascii: "x"), count: 40)
        for position in stem.indices {
            var variant = stem
            variant[position] = UInt8(ascii: "y")
            expected[String(decoding: variant, as: UTF8.self)] = table.intern(String(decoding: variant, as: UTF8.self))
        }
        #expect(Set(expected.values).count == expected.count)
        for (name, id) in expected {
            #expect(table.intern(name) == id)
            #expect(table.name(of: id) == name)
        }
    }

    /// The fast path (a line with at least `fastPathWindow` bytes of complete lines from its start,
    /// names already interned) gives the same event as the byte scanner (the same line at the end
    /// of a chunk) for lines built to hit each of its branches, and for random lines.
    @Test func fastPathAgreesWithTheScanner() {
        let seconds = ["0.001234", "1.000000", "9.999999", "0.5", "12.345678", "0.1234567", "1", "0.00123x", "0,001234", ".001234", "0.00123"]
        let counters = ["0", "7", "42", "1234567", "12345678", "4294967295", "4294967296", "", "01", "1a", "-1"]
        var lines: [String] = []
        for counter in counters {
            lines.append("MC1 \(counter) 1 2 200 0 0.001000 0.002000 0.003000 v1 pod-a")
            lines.append("MC1 1 \(counter) 2 200 0 0.001000 0.002000 0.003000 v1 pod-a")
            lines.append("MC1 1 2 \(counter) 200 0 0.001000 0.002000 0.003000 v1 pod-a")
            lines.append("MC1 1 2 3 200 \(counter) 0.001000 0.002000 0.003000 v1 pod-a")
        }
        for value in seconds {
            lines.append("MC1 1 2 3 200 0 \(value) 0.002000 0.003000 v1 pod-a")
            lines.append("MC1 1 2 3 200 0 0.001000 \(value) 0.003000 v1 pod-a")
            lines.append("MC1 1 2 3 200 0 0.001000 0.002000 \(value) v1 pod-a")
        }
        for status in ["200", "000", "20", "2000", "2x0", "65535"] {
            lines.append("MC1 1 2 3 \(status) 0 0.001000 0.002000 0.003000 v1 pod-a")
        }
        for curlExit in ["7", "255", "256", "65535"] {
            lines.append("MC1 1 2 3 200 \(curlExit) 0.001000 0.002000 0.003000 v1 pod-a")
        }
        for tail in [
            "v1 pod-a", "- -", "v1 -", "v/1 pod-a", "v1 pod/a", "v1 pod-a ", "v1  pod-a", "v1 pod-a\r", "v1 unseen",
            "unseen pod-a", "v1", "v1 pod-a extra", "v1\tpod-a", "v1 pod-\u{e9}", String(repeating: "v", count: 120) + " pod-a",
        ] {
            lines.append("MC1 1 2 3 200 0 0.001000 0.002000 0.003000 \(tail)")
        }
        lines += ["MC1 1 2 3 200 0 0.001000 0.002000", "MC1 1 2 3 200 0 0.001000 0.002000 0.003000", "MC1 ", "MC1 1 2 3 4 5 6 7 8 9 10 11 12"]
        var random = LineGenerator(generator: SeededGenerator(seed: 77))
        lines += (0..<3000).map { _ in random.line() }
        // Both tables know the names (the fast path only looks names up); "v/1" and "pod/a" are
        // interned through the String API without being valid record tokens.
        var known = NameTable()
        for name in ["v1", "v2", "v3", "pod-a", "v/1", "pod/a", "pod-\u{e9}"] { known.intern(name) }
        for version in ["v1", "v2", "v3"] {
            for suffix in ["abcde", "fghij", "klmno"] { known.intern("helloworld-\(version)-7d9f8c6b5-\(suffix)") }
        }
        let padding = Array((String(repeating: "x", count: RecordStreamParser.LineScanner.fastPathWindow) + "\n").utf8)
        for line in lines {
            let bytes = Array((line + "\n").utf8)
            var scannerNames = known
            var fastNames = known
            let byScanner = RecordParserTests.parseAll([bytes], names: &scannerNames).events
            let byFastPath = RecordParserTests.parseAll([bytes + padding], names: &fastNames).events
            #expect(byFastPath.count == 2 && byFastPath.first == byScanner.first, "\(line.debugDescription)")
            #expect(Array(fastNames.names) == Array(scannerNames.names), "\(line.debugDescription)")
        }
    }

    @Test func internsDenseIds() {
        var first = NameTable()
        var ids: [NameID] = []
        for index in 0..<500 { ids.append(first.intern("pod-\(index)")) }
        #expect(ids.map(\.rawValue) == Array(1...500))
        #expect(first.intern("pod-7") == ids[7])
        #expect(first.id(of: "pod-499") == ids[499])
        #expect(first.id(of: "missing") == nil)
        #expect(first.intern("") == NameID(rawValue: 501))
    }
}
