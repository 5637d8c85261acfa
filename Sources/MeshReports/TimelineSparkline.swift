// The timeline in one line of text per source, for the terminal summary and summary.md: per column, the share of the
// source's requests its watched cluster answered, as a block from ▁ (none) to █ (all); `!` where requests failed,
// `·` where none started, `|` where a disruption was applied or restored. Long runs fold several windows into a
// column so the line stays short. The summaries already print Unicode (→, ×, ·) whatever the terminal, so the
// blocks need no ASCII variant; colour is never what tells a mark apart.

import MeshCheck

package struct TimelineSparkline: Sendable, Equatable {
    /// Columns at most: windows are folded in equal groups beyond it.
    package static let maxColumns = 60
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    package var source: String
    /// The cluster whose share is drawn: the source's own when it serves HelloWorld (locality keeps traffic there),
    /// else the first serving cluster.
    package var watched: String
    package var line: String
    /// Seconds each column covers.
    package var secondsPerColumn: Double
    /// Columns in which a request failed.
    package var errorColumns: Int

    /// One sparkline per timeline source, in the timeline's order; empty without a timeline.
    package static func all(_ report: RunReport) -> [TimelineSparkline] {
        guard let timeline = report.timeline, timeline.windowSeconds > 0 else { return [] }
        let serving = report.clusters.filter { $0.serves != nil }.map(\.name)
        let windowCount = Int((timeline.endSeconds / timeline.windowSeconds).rounded())
        let perColumn = max(1, (windowCount + maxColumns - 1) / maxColumns)
        // A mark goes before the column in which its instant falls.
        var marksBefore: [Int: Int] = [:]
        for disruption in timeline.disruptions {
            for milliseconds in [disruption.appliedAtMs, disruption.restoredAtMs].compactMap({ $0 }) where milliseconds >= 0 {
                let window = Int(Double(milliseconds) / 1000 / timeline.windowSeconds)
                marksBefore[min(window, windowCount) / perColumn, default: 0] += 1
            }
        }
        let columnCount = (windowCount + perColumn - 1) / perColumn
        return timeline.sources.map { series in
            let watched = serving.contains(series.source) ? series.source : serving.first ?? series.source
            var line = ""
            var errorColumns = 0
            for column in 0...columnCount {
                line += String(repeating: "|", count: marksBefore[column] ?? 0)
                guard column < columnCount else { break }
                let windows = series.windows.dropFirst(column * perColumn).prefix(perColumn)
                let requests = windows.reduce(0) { $0 + $1.requests }
                let errors = windows.reduce(0) { $0 + $1.errors }
                let answered = windows.reduce(0) { $0 + ($1.byCluster[watched] ?? 0) }
                if errors > 0 {
                    line += "!"
                    errorColumns += 1
                } else if requests == 0 {
                    line += "·"
                } else {
                    line.append(block(Double(answered) / Double(requests)))
                }
            }
            return TimelineSparkline(
                source: series.source, watched: watched, line: line, secondsPerColumn: Double(perColumn) * timeline.windowSeconds,
                errorColumns: errorColumns)
        }
    }

    /// ▁ for a share below 1/8, █ from 7/8: the eight blocks split [0, 1] evenly.
    static func block(_ share: Double) -> Character {
        blocks[min(max(Int((share * Double(blocks.count)).rounded(.down)), 0), blocks.count - 1)]
    }

    /// What the marks mean, for the heading line.
    package static func legend(secondsPerColumn: Double) -> String {
        "share of each source's requests its own (or the first serving) cluster answered, ▁ none to █ all, "
            + "one mark per \(NumberFormat.shortest((secondsPerColumn * 1000).rounded() / 1000)) s; ! errors, · no requests, | disruption applied or restored"
    }
}
