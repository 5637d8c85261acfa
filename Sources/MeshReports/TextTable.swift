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
        // An empty last cell would leave the separator dangling at the end of the line.
        var text = parts.joined(separator: separator)
        while text.last == " " { text.removeLast() }
        return text
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
        share = row.requests - row.errors > 0 ? shareWithInterval(row.share, row.shareInterval) : "0 %"
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

/// `45.0 % (25.8–65.8 %)`: a share and its 95 % interval.
func shareWithInterval(_ share: Double, _ interval: WilsonInterval) -> String {
    "\(percent1(share)) (\(NumberFormat.fixed(interval.low * 100, 1))–\(NumberFormat.fixed(interval.high * 100, 1)) %)"
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

/// The per-pod table of the text summaries: every (source, serving cluster) split over two or more pods (a cluster's
/// only pod answers all of its share, which the traffic matrix already shows).
enum InstanceRows {
    static let header = ["source", "served by", "pod", "answers", "share (95 % CI)", "expected", "result"]
    static let alignments: [Alignment] = [.left, .left, .left, .right, .right, .right, .left]

    static func shown(_ report: RunReport) -> [InstanceSplit] { (report.instances ?? []).filter { $0.instances.count >= 2 } }

    /// One row per pod; the split's result (with its test) on its first row.
    static func rows(_ splits: [InstanceSplit]) -> [[String]] {
        splits.flatMap { split in
            split.instances.enumerated().map { index, pod in
                let share = split.requests > 0 ? shareWithInterval(pod.share, pod.interval) : "-"
                return [
                    split.source, split.target, pod.instance, String(pod.observed), share, percent1(pod.expectedShare),
                    index == 0 ? result(split) : "",
                ]
            }
        }
    }

    /// `pass (chi-square p = 0.65)`, `skip`.
    static func result(_ split: InstanceSplit) -> String {
        guard let pValue = split.pValue else { return split.status.rawValue }
        return "\(split.status.rawValue) (\(split.test) p = \(NumberFormat.scientific(pValue)))"
    }
}
