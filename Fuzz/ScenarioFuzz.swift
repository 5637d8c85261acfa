// libFuzzer target for the scenario loader (Sources/MeshCheck/Scenario*.swift with Yams, see
// ScenarioFuzz.sources and `make fuzz`): arbitrary bytes as scenario YAML give a scenario or a
// ScenarioError, never a crash. Checks:
//  - an accepted scenario passes the validator and can be echoed into report.json (finite numbers);
//  - a rejected one has problems, each naming the file, with a message and a line inside the input,
//    listed in line order;
//  - locations are real: the same input after one more comment line gives the same outcome, with
//    every known line one further down;
//  - the nesting bound the loader checks before composing (YAMLNesting, which keeps Yams' recursive
//    composer from overflowing the stack) is never below the depth of what Yams composes.

import Foundation
import Yams

let scenarioFile = "fuzz.yaml"

func outcome(of text: String) -> Result<Scenario, ScenarioError> {
    do {
        return .success(try ScenarioLoader.parse(yaml: text, file: scenarioFile))
    } catch {
        return .failure(error)
    }
}

func checkAccepted(_ scenario: Scenario) {
    fuzzCheck(ScenarioValidator.problems(in: scenario).isEmpty, "an accepted scenario has validation problems")
    fuzzCheck((try? JSONEncoder().encode(ScenarioEcho(scenario))) != nil, "an accepted scenario cannot be echoed in report.json")
}

func checkRejected(_ error: ScenarioError, lineCount: Int) {
    fuzzCheck(!error.problems.isEmpty, "a scenario error without problems")
    var previousLine = 0
    for problem in error.problems {
        fuzzCheck(problem.file == scenarioFile, "a problem names another file: \(problem.file)")
        fuzzCheck(!problem.message.isEmpty, "a problem without a message at \(problem.path)")
        if let line = problem.line {
            fuzzCheck((1...lineCount).contains(line), "problem line \(line) outside 1...\(lineCount): \(problem)")
            fuzzCheck(line >= previousLine, "problems out of line order: \(problem)")
            previousLine = line
        }
    }
}

func depth(of node: Node) -> Int {
    switch node {
    case .scalar: 0
    case .sequence(let sequence): 1 + (sequence.map(depth(of:)).max() ?? 0)
    case .mapping(let mapping): 1 + (mapping.map { max(depth(of: $0.key), depth(of: $0.value)) }.max() ?? 0)
    }
}

func checkNestingBound(_ text: String) {
    let bound = YAMLNesting.depthBound(of: text)
    // Deeper documents are refused before Yams sees them. An alias (`*name`) composes to its anchored
    // node without recursing, so the composed tree may be deeper than the recursion: skip those.
    guard bound <= YAMLNesting.limit, !text.contains("*"), let root = try? Yams.compose(yaml: text) else { return }
    fuzzCheck(depth(of: root) <= bound, "Yams composed \(depth(of: root)) levels, the nesting bound is \(bound)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func scenarioFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Lines as libyaml counts them (LF, CR, NEL, LS, PS; CR LF counted twice, an upper bound), plus one
    // for a problem reported at the end.
    let lineBreaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"]
    let lineCount = text.unicodeScalars.reduce(1) { $0 + (lineBreaks.contains($1) ? 1 : 0) } + 1
    checkNestingBound(text)
    let original = outcome(of: text)
    switch original {
    case .success(let scenario): checkAccepted(scenario)
    case .failure(let error): checkRejected(error, lineCount: lineCount)
    }
    // A byte-order mark only counts at the very start, so shifting such an input changes its meaning.
    guard !text.hasPrefix("\u{FEFF}") else { return 0 }
    switch (original, outcome(of: "# one more line\n" + text)) {
    case (.success(let before), .success(let after)):
        fuzzCheck(before == after, "a leading comment changed the scenario")
    case (.failure(let before), .failure(let after)):
        let expected = before.problems.map { problem in
            var moved = problem
            moved.line = problem.line.map { $0 + 1 }
            return moved
        }
        fuzzCheck(after.problems == expected, "a leading comment did not move every problem one line down:\n\(before)\n---\n\(after)")
    default:
        fuzzFailure("a leading comment changed whether the scenario is accepted")
    }
    return 0
}
