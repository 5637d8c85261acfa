// Scenario YAML → `Scenario`. Walks Yams' node tree (not Codable) so that every problem names the
// file, the line and the field path, and so that unknown keys are caught with a suggestion. All problems
// are collected and reported together; the CLI maps `ScenarioError` to exit code 2.

import Foundation
import Yams

// For YAMLNesting; conditional because Fuzz/ScenarioFuzz compiles that file and this one as one module.
#if canImport(KubeClient)
    import KubeClient
#endif

/// One thing wrong with a scenario, located as precisely as the input allows.
package struct ScenarioProblem: Sendable, Equatable, CustomStringConvertible {
    /// The scenario file as the user named it (or a label such as `--context` for flags).
    package var file: String
    /// 1-based line in `file`, when known.
    package var line: Int?
    /// Field path such as `load.requestsPerBurst` or `clusters[1].serves`; empty for the whole file.
    package var path: String
    package var message: String

    package init(file: String, line: Int?, path: String, message: String) {
        self.file = file
        self.line = line
        self.path = path
        self.message = message
    }

    /// `smoke.yaml:12: load.requestsPerBurst: must be a positive integer, got "x"`
    package var description: String {
        var location = file
        if let line { location += ":\(line)" }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// A scenario that cannot be used; nothing has touched a cluster. Exit code 2.
package struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    package var problems: [ScenarioProblem]

    package init(problems: [ScenarioProblem]) {
        self.problems = problems
    }

    package var description: String { problems.map(\.description).joined(separator: "\n") }
}

package enum ScenarioLoader {
    /// Reads and parses a scenario file (the one I/O edge of scenario handling).
    package static func load(path: String) throws(ScenarioError) -> Scenario {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ScenarioError(problems: [ScenarioProblem(file: path, line: nil, path: "", message: "is not UTF-8 text")])
            }
            text = decoded
        } catch let error as ScenarioError {
            throw error
        } catch {
            let reason = (error as NSError).localizedDescription
            throw ScenarioError(problems: [
                ScenarioProblem(
                    file: path, line: nil, path: "", message: "cannot be read (\(reason)); check the path and its permissions")
            ])
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates scenario text; `file` is only used in messages.
    package static func parse(yaml: String, file: String) throws(ScenarioError) -> Scenario {
        let log = ProblemLog(file: file)
        if let line = YAMLNesting.lineExceedingLimit(in: yaml) {
            throw ScenarioError(problems: [
                ScenarioProblem(
                    file: file, line: line, path: "", message: "nests lists and mappings more than \(YAMLNesting.limit) levels deep; a scenario needs a handful"
                )
            ])
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ScenarioError(problems: [yamlSyntaxProblem(error, file: file)])
        }
        guard let root else {
            throw ScenarioError(problems: [ScenarioProblem(file: file, line: nil, path: "", message: "is empty; a scenario needs at least `clusters`")])
        }
        let scenario = ScenarioReader(log: log).scenario(root)
        if let scenario {
            for problem in ScenarioValidator.problems(in: scenario) {
                log.add(line: log.line(forPath: problem.path), path: problem.path, problem.message)
            }
        }
        if let scenario, log.problems.isEmpty { return scenario }
        // In file order, so the first problem listed is the first one the reader meets.
        let ordered = log.problems.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
        throw ScenarioError(problems: ordered.map(\.element))
    }

    private static func yamlSyntaxProblem(_ error: Error, file: String) -> ScenarioProblem {
        if let yamlError = error as? YamlError {
            switch yamlError {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                return ScenarioProblem(file: file, line: mark.line, path: "", message: "is not valid YAML: \(problem)")
            case .reader(let problem, _, _, _):
                return ScenarioProblem(file: file, line: nil, path: "", message: "is not readable YAML: \(problem)")
            default:
                break
            }
        }
        return ScenarioProblem(file: file, line: nil, path: "", message: "is not valid YAML: \(error)")
    }
}

/// Collects problems and remembers where each field path was seen, so that cross-field problems found
/// after parsing still point at a line.
final class ProblemLog {
    let file: String
    private(set) var problems: [ScenarioProblem] = []
    private var lines: [String: Int] = [:]

    init(file: String) {
        self.file = file
    }

    func add(line: Int?, path: String, _ message: String) {
        problems.append(ScenarioProblem(file: file, line: line, path: path, message: message))
    }

    func add(_ node: Node, _ path: String, _ message: String) {
        add(line: node.mark?.line, path: path, message)
    }

    func remember(_ path: String, _ node: Node) {
        if let line = node.mark?.line, lines[path] == nil { lines[path] = line }
    }

    /// The line of `path` or of its nearest recorded parent.
    func line(forPath path: String) -> Int? {
        var candidate = path
        while !candidate.isEmpty {
            if let line = lines[candidate] { return line }
            guard let cut = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            candidate = String(candidate[..<cut])
        }
        return lines[""]
    }
}

/// A mapping node whose keys were checked against the allowed ones.
struct Fields {
    let node: Node
    let path: String
    let log: ProblemLog
    private var values: [String: Node] = [:]

    init?(_ node: Node, path: String, log: ProblemLog, allowed: [String]) {
        guard case .mapping(let mapping) = node else {
            log.add(node, path, "must be a mapping with keys \(allowed.joined(separator: ", ")), got \(describe(node))")
            return nil
        }
        self.node = node
        self.path = path
        self.log = log
        log.remember(path, node)
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                log.add(keyNode, path, "keys must be plain strings")
                continue
            }
            let keyPath = Fields.join(path, key.string)
            if values[key.string] != nil {
                log.add(keyNode, keyPath, "is given twice")
                continue
            }
            guard allowed.contains(key.string) else {
                var message = "unknown field"
                if let suggestion = NameRules.suggestion(for: key.string, among: allowed) {
                    message += "; did you mean `\(suggestion)`?"
                } else {
                    message += "; known fields here: \(allowed.joined(separator: ", "))"
                }
                log.add(keyNode, keyPath, message)
                continue
            }
            log.remember(keyPath, keyNode)
            if !isNull(value) { values[key.string] = value }
        }
    }

    /// The value under `key`, nil when absent or null.
    subscript(key: String) -> Node? { values[key] }

    func path(_ key: String) -> String { Fields.join(path, key) }

    static func join(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }
}

func isNull(_ node: Node) -> Bool {
    guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
    return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
}

func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar): return NameRules.quoted(scalar.string)
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
}

/// Typed readers of scalar values; each reports its own problem and returns nil on failure.
struct ValueReader {
    let log: ProblemLog

    func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            log.add(node, path, "must be a string, got \(describe(node))")
            return nil
        }
        return scalar.string
    }

    func integer(_ node: Node, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any,
            !scalar.string.isEmpty, scalar.string.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let value = Int(scalar.string)
        else {
            log.add(node, path, "must be \(range.lowerBound >= 1 ? "a positive integer" : "a whole number"), got \(describe(node))")
            return nil
        }
        guard range.contains(value) else {
            log.add(node, path, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            return nil
        }
        return value
    }

    /// A decimal number within `range`; `openLower` excludes the lower bound.
    func number(_ node: Node, _ path: String, in range: ClosedRange<Double>, openLower: Bool = false) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any,
            let value = Double(scalar.string), value.isFinite
        else {
            log.add(node, path, "must be a number, got \(describe(node))")
            return nil
        }
        let tooLow = openLower ? value <= range.lowerBound : value < range.lowerBound
        guard !tooLow, value <= range.upperBound else {
            let lower = openLower ? "greater than \(NumberFormat.shortest(range.lowerBound))" : "at least \(NumberFormat.shortest(range.lowerBound))"
            log.add(node, path, "must be \(lower) and at most \(NumberFormat.shortest(range.upperBound)), got \(scalar.string)")
            return nil
        }
        return value
    }

    func boolean(_ node: Node, _ path: String) -> Bool? {
        if case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        log.add(node, path, "must be true or false, got \(describe(node))")
        return nil
    }

    func duration(_ node: Node, _ path: String, max: Duration) -> Duration? {
        guard let text = string(node, path) else { return nil }
        guard let value = parseDuration(text) else {
            log.add(node, path, "must be a duration such as 30s, 500ms, 5m or 1h30m, got \(NameRules.quoted(text))")
            return nil
        }
        guard value > .zero, value <= max else {
            log.add(node, path, "must be greater than 0 and at most \(formatDuration(max)), got \(text)")
            return nil
        }
        return value
    }

    func size(_ node: Node, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let value = parseByteSize(text) else {
            log.add(node, path, "must be a size such as 64Mi, 512Ki or 1Gi (or a number of bytes), got \(NameRules.quoted(text))")
            return nil
        }
        if let problem = byteSizeRangeProblem(value, in: range) {
            log.add(node, path, "\(problem), got \(text)")
            return nil
        }
        return value
    }

    func choice(_ node: Node, _ path: String, among options: [String]) -> String? {
        guard let text = string(node, path) else { return nil }
        guard options.contains(text) else {
            var message = "must be one of \(options.joined(separator: ", ")), got \(NameRules.quoted(text))"
            if let suggestion = NameRules.suggestion(for: text, among: options) { message += "; did you mean `\(suggestion)`?" }
            log.add(node, path, message)
            return nil
        }
        return text
    }

    func list(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            log.add(node, path, "must be a list, got \(describe(node))")
            return nil
        }
        log.remember(path, node)
        return Array(sequence)
    }

    func stringMap(_ node: Node, _ path: String) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            log.add(node, path, "must be a mapping, got \(describe(node))")
            return nil
        }
        log.remember(path, node)
        var out: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                log.add(keyNode, path, "keys must be plain strings")
                continue
            }
            if out.contains(where: { $0.0 == key.string }) {
                log.add(keyNode, "\(path).\(key.string)", "is given twice")
                continue
            }
            log.remember("\(path).\(key.string)", keyNode)
            out.append((key.string, keyNode, value))
        }
        return out
    }
}

/// Parses `1h30m`, `90s`, `250ms`, `2m`, or a bare number of seconds (`1.5`).
package func parseDuration(_ text: String) -> Duration? {
    if let seconds = Double(text) {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
    var total: Duration = .zero
    var rest = Substring(text)
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
        let digits = rest.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let amount = Double(digits), amount.isFinite else { return nil }
        rest = rest.dropFirst(digits.count)
        let unit = rest.prefix { $0.isLetter }
        rest = rest.dropFirst(unit.count)
        let milliseconds: Double
        switch unit {
        case "ms": milliseconds = amount
        case "s": milliseconds = amount * 1000
        case "m": milliseconds = amount * 60_000
        case "h": milliseconds = amount * 3_600_000
        default: return nil
        }
        guard milliseconds < 1e12 else { return nil }
        total += .milliseconds(Int64(milliseconds.rounded()))
    }
    return total
}

/// `90s` → `1m30s`, `0.25s` → `250ms`.
/// A size as Kubernetes quantities write bytes: a plain number of bytes, or a number with Ki, Mi or Gi.
package func parseByteSize(_ text: String) -> Int? {
    let units: [(suffix: String, shift: Int)] = [("Ki", 10), ("Mi", 20), ("Gi", 30)]
    let unit = units.first { text.hasSuffix($0.suffix) }
    let digits = unit.map { String(text.dropLast($0.suffix.count)) } ?? text
    guard !digits.isEmpty, digits.count <= 12, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(digits) else { return nil }
    return number << (unit?.shift ?? 0)
}

/// `64Mi`, `1536Ki`, `1000` (bytes): the largest unit that divides the size.
package func formatByteSize(_ bytes: Int) -> String {
    for (suffix, shift) in [("Gi", 30), ("Mi", 20), ("Ki", 10)] where bytes > 0 && bytes % (1 << shift) == 0 {
        return "\(bytes >> shift)\(suffix)"
    }
    return "\(bytes)"
}

/// Why `value` is outside `range`, in the units people write; nil when it is inside.
package func byteSizeRangeProblem(_ value: Int, in range: ClosedRange<Int>) -> String? {
    range.contains(value) ? nil : "must be between \(formatByteSize(range.lowerBound)) and \(formatByteSize(range.upperBound))"
}

extension Duration {
    /// Whole milliseconds, truncated: how scenarios, curl's options and Istio's fields state durations.
    package var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
    /// Whole microseconds, truncated: the unit of the load's timeline.
    package var wholeMicroseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}

package func formatDuration(_ duration: Duration) -> String {
    let milliseconds = duration.wholeMilliseconds
    if milliseconds < 1000 { return "\(milliseconds)ms" }
    if milliseconds % 1000 != 0 { return "\(NumberFormat.shortest(Double(milliseconds) / 1000))s" }
    var seconds = milliseconds / 1000
    var out = ""
    if seconds >= 3600 {
        out += "\(seconds / 3600)h"
        seconds %= 3600
    }
    if seconds >= 60 {
        out += "\(seconds / 60)m"
        seconds %= 60
    }
    if seconds > 0 || out.isEmpty { out += "\(seconds)s" }
    return out
}
