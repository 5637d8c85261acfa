// Shared pieces of the text renderers: column layout and the cell texts of the traffic matrix, so the
// terminal summary and summary.md show the same numbers the same way.

import MeshCheck

enum Alignment {
    case left, right
}

/// Pads cells into aligned columns (widths in Characters; every cell text here is ASCII or single-width).
func layoutTable(header: [String], rows: [[String]], alignments: [Alignment], separator: String = "  ") -> [String] {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        var parts: [String] = []
        for (index, cell) in cells.enumerated() {
            let padding = String(repeating: " ", count: widths[index] - cell.count)
            let isLast = index == cells.count - 1
            switch alignments[index] {
            case .left: parts.append(isLast ? cell : cell + padding)
            case .right: parts.append(padding + cell)
            }
        }
        return parts.joined(separator: separator)
    }
    return [line(header)] + rows.map(line)
}

/// Cell texts of one traffic row, shared by the terminal and Markdown matrices.
struct TrafficCells {
    let requests: String
    let share: String
    let expected: String
    let p50: String
    let p90: String
    let p99: String
    let errors: String

    init(_ row: TrafficRow) {
        requests = String(row.requests)
        share =
            row.requests - row.errors > 0
            ? "\(percent1(row.share)) (\(NumberFormat.fixed(row.shareInterval.low * 100, 1))–\(NumberFormat.fixed(row.shareInterval.high * 100, 1)) %)"
            : "0 %"
        expected = row.expectedShare.map(percent1) ?? "-"
        p50 = row.latencyMs.map { NumberFormat.milliseconds($0.p50) } ?? "-"
        p90 = row.latencyMs.map { NumberFormat.milliseconds($0.p90) } ?? "-"
        p99 = row.latencyMs.map { NumberFormat.milliseconds($0.p99) } ?? "-"
        errors = String(row.errors)
    }

    static let header = ["source", "served by", "requests", "share (95 % CI)", "expected", "p50 ms", "p90 ms", "p99 ms", "errors"]
    static let alignments: [Alignment] = [.left, .left, .right, .right, .right, .right, .right, .right, .right]

    func cells(source: String, target: String) -> [String] {
        [source, target, requests, share, expected, p50, p90, p99, errors]
    }
}

/// A share with one decimal, so a column of shares lines up (`45.0 %`).
func percent1(_ share: Double) -> String { "\(NumberFormat.fixed(share * 100, 1)) %" }

/// `1 object`, `3 objects`.
func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// `12.5 s`, `850 ms`, `3m 05s`.
func humanSeconds(_ seconds: Double) -> String {
    if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
    if seconds < 120 { return "\(NumberFormat.fixed(seconds, 1)) s" }
    let whole = Int(seconds.rounded())
    let remainder = whole % 60
    return "\(whole / 60)m \(remainder < 10 ? "0" : "")\(remainder)s"
}

/// Run-wide checks first, then per source in report order; names the check with its scope.
func checkLabel(_ check: CheckResult) -> String {
    switch (check.source, check.target) {
    case (let source?, let target?): return "\(check.name) [\(source) → \(target)]"
    case (let source?, nil): return "\(check.name) [\(source)]"
    default: return check.name
    }
}

/// The pair layers when some pair has a broken one: the text summaries show the matrix only then.
func brokenLayers(_ report: RunReport) -> [PairLayers]? {
    guard let layers = report.layers, layers.contains(where: { $0.firstBroken != nil }) else { return nil }
    return layers
}

/// What the layer matrix's columns and cells mean.
let layerLegend = "in the order a request depends on them; FAIL = broken, n/v = not visible, – = not applicable"

/// Sources with traffic, in report order.
func sourcesInOrder(_ report: RunReport) -> [String] {
    var seen: [String] = []
    for name in report.traffic.map(\.source) + report.sources.map(\.source) where !seen.contains(name) { seen.append(name) }
    return seen
}
