import Foundation // memchr for the baseline
import MeshStats

/// A sink doing what the harness does with every sample: keep it (here, fold it into totals).
private struct SampleTotals: RecordSink {
    var samples = 0
    var microseconds: UInt64 = 0
    var other = 0

    mutating func receive(_ event: RecordEvent) {
        if case .sample(let sample) = event {
            samples += 1
            microseconds &+= sample.totalMicros &+ UInt64(sample.instance.rawValue)
        } else {
            other += 1
        }
    }
}

/// About 16 MB of Contract 1 (docs/ARCHITECTURE.md) output from 64 workers over 6 instances, with framing lines.
private func recordStream() -> [UInt8] {
    var generator = SeededGenerator(seed: 4)
    var text = ""
    let instances = [
        "helloworld-v1-7d9f8c6b5-abcde", "helloworld-v1-7d9f8c6b5-fghij", "helloworld-v1-7d9f8c6b5-klmno",
        "helloworld-v2-5c8d7f9a1-pqrst", "helloworld-v2-5c8d7f9a1-uvwxy", "helloworld-v2-5c8d7f9a1-zabcd",
    ]
    func seconds(_ micros: UInt64) -> String {
        "\(micros / 1_000_000).\(String(String(1_000_000 + micros % 1_000_000).dropFirst()))"
    }
    var bytes: [UInt8] = []
    var burst = 0
    while bytes.count < 16_000_000 {
        text = ""
        for worker in 0..<64 {
            text += "MC1-BEGIN \(burst) \(worker)\n"
            for sequence in 0..<50 {
                let instance = instances[Int(generator.next() % 6)]
                let connect = 200 + generator.next() % 2000
                let firstByte = connect + generator.next() % 50_000
                text +=
                    "MC1 \(burst) \(worker) \(sequence) 200 0 \(seconds(connect)) \(seconds(firstByte)) "
                    + "\(seconds(firstByte + generator.next() % 500)) \(instance.contains("-v1-") ? "v1" : "v2") \(instance)\n"
            }
            text += "MC1-END \(burst) \(worker) 50\n"
        }
        bytes += Array(text.utf8)
        burst += 1
    }
    return bytes
}

extension Benchmark {
    /// MB/s parsing the stream into samples (fed in 64 KiB chunks, as exec frames arrive) against
    /// counting its newlines with memchr over the same buffer.
    static let recordParse = Benchmark(name: "record-parse") {
        let stream = recordStream()
        let chunk = 64 * 1024
        let (ours, baseline) = alternatingBestSeconds(
            ours: {
                var parser = RecordStreamParser()
                var names = NameTable()
                var totals = SampleTotals()
                stream.withUnsafeBytes { buffer in
                    var offset = 0
                    while offset < buffer.count {
                        let end = min(offset + chunk, buffer.count)
                        parser.feed(UnsafeRawBufferPointer(rebasing: buffer[offset..<end]), names: &names, into: &totals)
                        offset = end
                    }
                }
                parser.finish(into: &totals)
                precondition(parser.malformedLines.total == 0 && totals.samples > 0, "the benchmark stream must parse cleanly")
                consume(totals)
            },
            baseline: {
                var newlines = 0
                stream.withUnsafeBytes { buffer in
                    var cursor = buffer.baseAddress!
                    var remaining = buffer.count
                    while remaining > 0, let found = memchr(cursor, 0x0A, remaining) {
                        newlines += 1
                        let next = UnsafeRawPointer(found) + 1
                        remaining -= next - cursor
                        cursor = next
                    }
                }
                consume(newlines)
            })
        let megabytes = Double(stream.count) / 1e6
        return Comparison(name: "record-parse", ours: megabytes / ours, baseline: megabytes / baseline, unit: .megabytesPerSecond)
    }
}
