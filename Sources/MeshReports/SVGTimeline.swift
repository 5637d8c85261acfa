// The per-source timeline of report.html: one bar per window, stacked by the share of the window's requests each
// serving cluster answered, failed requests hatched on top, and a vertical marker where each disruption was applied
// (solid) and restored (dashed), named above the plot. Every source's chart spans the same axis, so charts line up.

import Foundation
import MeshCheck

extension SVGCharts {
    /// Geometry shared by the chart and the tests that check where marks land.
    struct TimelineGeometry {
        static let left = 50.0
        static let plotWidth = 620.0
        static let right = 20.0
        static let top = 34.0
        static let plotHeight = 140.0

        /// Seconds at the right edge: the last window's end, or a later disruption time.
        let endSeconds: Double

        init(_ timeline: RunTimeline) {
            let marks = timeline.disruptions.flatMap { [$0.appliedAtMs, $0.restoredAtMs].compactMap { $0 } }.map { Double($0) / 1000 }
            endSeconds = max(timeline.endSeconds, marks.max() ?? 0, 0.001)
        }

        func x(_ seconds: Double) -> Double { Self.left + min(max(seconds, 0), endSeconds) / endSeconds * Self.plotWidth }
        func y(_ share: Double) -> Double { Self.top + (1 - min(max(share, 0), 1)) * Self.plotHeight }
    }

    /// The timeline of one source. `clusters`: every serving cluster in report order (their colours).
    static func timeline(_ series: TimelineSourceSeries, in timeline: RunTimeline, clusters: [String], id: String) -> String {
        let geometry = TimelineGeometry(timeline)
        let left = TimelineGeometry.left
        let top = TimelineGeometry.top
        let bottom = top + TimelineGeometry.plotHeight
        let right = left + TimelineGeometry.plotWidth
        let legendTop = bottom + 44
        let legendRows = (clusters.count + 3 + 3) / 4
        let width = right + TimelineGeometry.right
        let height = legendTop + Double(legendRows) * 18 + 4

        var body = "<defs><pattern id=\"\(id)-hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
        body += "<rect class=\"hatch-ground\" width=\"6\" height=\"6\"/><line class=\"hatch\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\"/></pattern></defs>"
        body +=
            "<rect class=\"plot-area\" x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(TimelineGeometry.plotWidth))\" height=\"\(f(TimelineGeometry.plotHeight))\"/>"
        for share in [0.0, 0.5, 1.0] {
            body += line(left, geometry.y(share), right, geometry.y(share), "grid")
            body += text(left - 6, geometry.y(share) + 4, "\(Int(share * 100)) %", "tick", anchor: "end")
        }
        let step = niceStep(geometry.endSeconds / 8)
        for index in 0...Int((geometry.endSeconds / step).rounded(.down)) {
            let seconds = Double(index) * step
            body += line(geometry.x(seconds), bottom, geometry.x(seconds), bottom + 4, "grid")
            body += text(geometry.x(seconds), bottom + 16, SVGCharts.seconds(seconds), "tick", anchor: "middle")
        }
        body += text(left + TimelineGeometry.plotWidth / 2, bottom + 32, "seconds since the \(timeline.origin)", "axis", anchor: "middle")

        for (index, window) in series.windows.enumerated() where window.requests > 0 {
            let x0 = geometry.x(window.startSeconds)
            let barWidth = max(geometry.x(window.startSeconds + timeline.windowSeconds) - x0 - 0.5, 0.5)
            var stacked = 0.0
            func segment(_ count: Int, _ attributes: String) {
                guard count > 0 else { return }
                let share = Double(count) / Double(window.requests)
                body += "<rect \(attributes) data-window=\"\(index)\" x=\"\(f(x0))\" y=\"\(f(geometry.y(stacked + share)))\" width=\"\(f(barWidth))\" "
                body += "height=\"\(f(geometry.y(stacked) - geometry.y(stacked + share)))\"/>"
                stacked += share
            }
            for (cluster, name) in clusters.enumerated() { segment(window.byCluster[name] ?? 0, "class=\"bar s\(cluster % 8)\"") }
            segment(window.errors, "class=\"errors\" fill=\"url(#\(id)-hatch)\"")
        }

        var said: [String] = []
        for disruption in timeline.disruptions {
            let marks = [("applied", disruption.appliedAtMs, disruption.name), ("restored", disruption.restoredAtMs, "\(disruption.name) restored")]
            for case (let action, let milliseconds?, let label) in marks {
                let seconds = Double(milliseconds) / 1000
                let x = geometry.x(seconds)
                body += "<line class=\"disruption \(action)\" data-disruption=\"\(HTMLReport.escape(disruption.name))\" data-action=\"\(action)\" "
                body += "data-seconds=\"\(NumberFormat.shortest(seconds))\" x1=\"\(f(x))\" y1=\"\(f(top - 12))\" x2=\"\(f(x))\" y2=\"\(f(bottom))\"/>"
                let nearRight = x > left + TimelineGeometry.plotWidth * 0.7
                body += text(nearRight ? x - 3 : x + 3, top - (action == "applied" ? 16 : 4), label, "legend", anchor: nearRight ? "end" : "start")
                said.append("\(disruption.name) (\(disruption.kind)) \(action) at \(SVGCharts.seconds(seconds))")
            }
        }

        // Legend: a swatch per serving cluster, then errors and the two marker styles.
        var entries: [(swatch: String, label: String)] = clusters.enumerated().map { index, name in
            ("<rect class=\"bar s\(index % 8)\" width=\"14\" height=\"10\"/>", name)
        }
        entries.append(("<rect class=\"errors\" fill=\"url(#\(id)-hatch)\" width=\"14\" height=\"10\"/>", "failed requests"))
        entries.append(("<line class=\"disruption applied\" x1=\"7\" y1=\"-2\" x2=\"7\" y2=\"12\"/>", "disruption applied"))
        entries.append(("<line class=\"disruption restored\" x1=\"7\" y1=\"-2\" x2=\"7\" y2=\"12\"/>", "restored"))
        for (index, entry) in entries.enumerated() {
            let x = left + Double(index % 4) * 150
            let y = legendTop + Double(index / 4) * 18
            body += "<g transform=\"translate(\(f(x)),\(f(y - 9)))\">\(entry.swatch)</g>"
            body += text(x + 20, y, entry.label, "legend")
        }

        let description =
            timelineDescription(series, in: timeline, clusters: clusters) + (said.isEmpty ? "" : " Disruptions: " + said.joined(separator: "; ") + ".")
        return chart(
            id: id, width: width, height: height, title: "Requests from \(series.source) over time, by serving cluster",
            description: description, body: body, cssClass: "chart timeline")
    }

    /// The chart in words: the span, each cluster's share of all answers, and when requests failed.
    static func timelineDescription(_ series: TimelineSourceSeries, in timeline: RunTimeline, clusters: [String]) -> String {
        let requests = series.windows.reduce(0) { $0 + $1.requests }
        let failing = series.windows.filter { $0.errors > 0 }
        var text = "\(plural(requests, "request")) from \(series.source) in \(plural(series.windows.count, "window")) of "
        text += "\(SVGCharts.seconds(timeline.windowSeconds)), stacked by the share each serving cluster answered"
        if requests > 0 {
            let shares = clusters.map { name in
                "\(name) \(percent1(Double(series.windows.reduce(0) { $0 + ($1.byCluster[name] ?? 0) }) / Double(requests)))"
            }
            text += ": " + shares.joined(separator: ", ")
        }
        text += ". "
        if let first = failing.first, let last = failing.last {
            let errors = failing.reduce(0) { $0 + $1.errors }
            text += "\(plural(errors, "failed request")) in \(plural(failing.count, "window")), from \(SVGCharts.seconds(first.startSeconds)) "
            text += "to \(SVGCharts.seconds(last.startSeconds + timeline.windowSeconds))."
        } else {
            text += "No request failed."
        }
        return text
    }
}
