import Foundation
import Testing

@testable import MeshStats

/// Replays the record parser's fuzz seeds and every input kept in
/// Fuzz/regressions/RecordParserFuzz (inputs that once crashed or broke an invariant) with the
/// fuzz target's checks: no crash, events independent of chunking, one event per line.
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(in subdirectory: String) -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(subdirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test func seedsAndRegressionsKeepTheFuzzInvariants() throws {
        let files = Self.inputs(in: "corpus/RecordParserFuzz") + Self.inputs(in: "regressions/RecordParserFuzz")
        #expect(!files.isEmpty, "the seed corpus is part of the repository")
        for file in files {
            let data = Array(try Data(contentsOf: file))
            guard let first = data.first else { continue }
            let stream = Array(data.dropFirst())
            var names = NameTable()
            let whole = RecordParserTests.parseAll([stream], names: &names).events
            let chunkSize = Int(first) % 97 + 1
            let chunks = stride(from: 0, to: stream.count, by: chunkSize).map { Array(stream[$0..<min($0 + chunkSize, stream.count)]) }
            #expect(RecordParserTests.parseAll(chunks, names: &names).events == whole, "\(file.lastPathComponent)")
            let lines = stream.filter { $0 == 0x0A }.count + (stream.last.map { $0 == 0x0A ? 0 : 1 } ?? 0)
            #expect(whole.count == lines, "\(file.lastPathComponent)")
        }
    }
}
