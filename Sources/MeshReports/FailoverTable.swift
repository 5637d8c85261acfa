// The failover figures as one small table, shared by the terminal summary, summary.md and report.html so they
// show the same numbers the same way. Times are window-grained (the report states the window).

import MeshCheck

enum FailoverTable {
    static let header = ["Disruption", "Source", "Before", "Failover", "Errors", "Error rate (95 % CI)", "Recovery"]
    static let alignments: [Alignment] = [.left, .left, .right, .right, .right, .right, .right]

    static func rows(_ report: RunReport) -> [[String]] {
        (report.failover ?? []).map { figure in
            let rate =
                figure.requestsDuringFailover == 0
                ? "–"
                : "\(NumberFormat.percent(Double(figure.errorsDuringFailover) / Double(figure.requestsDuringFailover))) (\(NumberFormat.percent(figure.errorRate.low))–\(NumberFormat.percent(figure.errorRate.high)))"
            let failover: String
            if figure.kind == "abort" {
                failover = figure.errorWindowStartSeconds.map { "errors \(seconds($0))–\(seconds(figure.errorWindowEndSeconds ?? $0))" } ?? "no errors"
            } else {
                failover = figure.failoverSeconds.map(seconds) ?? "never"
            }
            let recovery: String
            if !figure.recoveryApplicable {
                recovery = figure.restored ? "n/a" : "not restored"
            } else {
                recovery = figure.recoverySeconds.map(seconds) ?? "never"
            }
            return [
                "\(figure.disruption) (\(figure.kind))", figure.source, figure.baselineShare.map(NumberFormat.percent) ?? "–", failover,
                "\(figure.errorsDuringFailover)/\(figure.requestsDuringFailover)", rate, recovery,
            ]
        }
    }

    /// "window 1 s": the resolution every time in the table has.
    static func resolution(_ report: RunReport) -> String {
        guard let window = report.failover?.first?.windowSeconds else { return "" }
        return "times to the nearest \(seconds(window)) window"
    }

    static func seconds(_ value: Double) -> String { FailoverFigure.secondsText(value) }
}
