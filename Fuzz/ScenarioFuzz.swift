// libFuzzer target for the scenario loader (Sources/MeshCheck/Scenario*.swift with Yams, see
// ScenarioFuzz.sources and `make fuzz`): arbitrary bytes as scenario YAML give a scenario or a
// ScenarioError, never a crash. Checks:
//  - an accepted scenario passes the validator and can be echoed into report.json (finite numbers);
//  - a rejected one has problems, each naming the file, with a message and a line inside the input,
//    listed in line order;
//  - locations are real: the same input after one more comment line gives the same outcome, with
//    every known line one further down.

import Foundation

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

@_cdecl("LLVMFuzzerTestOneInput")
public func scenarioFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Lines as YAML counts them (LF, CR LF, lone CR), plus one for a problem reported at the end.
    let lineCount = text.unicodeScalars.reduce(1) { $0 + ($1 == "\n" || $1 == "\r" ? 1 : 0) } + 1
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
