import Foundation
import Testing

@testable import MeshCheck

/// The scenario loader on the inputs kept by its fuzz target (Fuzz/ScenarioFuzz.swift): seeds and
/// regressions give a scenario or located problems, and a document nested deeper than Yams can compose
/// (its composer recursed until the stack overflowed) is a problem on the line where the nesting gets too deep.
@Suite struct ScenarioFuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    @Test func seedsAndRegressionsLoadOrGiveLocatedProblems() throws {
        var files: [URL] = []
        for kind in ["corpus", "regressions"] {
            let directory = Self.fuzzDirectory.appendingPathComponent("\(kind)/ScenarioFuzz")
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            files += names.sorted().map { directory.appendingPathComponent($0) }
        }
        #expect(files.contains { $0.path.contains("/regressions/") })
        for file in files {
            let text = String(decoding: try Data(contentsOf: file), as: UTF8.self)
            // libyaml also breaks lines at CR, NEL, LS and PS (an input kept by the fuzz target has NEL).
            let breaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
            let lines = text.unicodeScalars.filter { breaks.contains($0) }.count + 2
            do {
                _ = try ScenarioLoader.parse(yaml: text, file: file.lastPathComponent)
            } catch {
                #expect(!error.problems.isEmpty)
                for problem in error.problems {
                    #expect(problem.line.map { (1...lines).contains($0) } ?? true, "\(problem)")
                }
            }
        }
    }

    @Test func deepNestingIsALocatedProblem() {
        let text = "name: deep\nclusters: " + String(repeating: "[", count: 100_000)
        #expect(
            throws: ScenarioError(problems: [
                ScenarioProblem(
                    file: "deep.yaml", line: 2, path: "", message: "nests lists and mappings more than 100 levels deep; a scenario needs a handful")
            ])
        ) {
            try ScenarioLoader.parse(yaml: text, file: "deep.yaml")
        }
    }
}
