// The Timeline section of report.html: per source, its windows as a chart and, folded away, as a table.

import MeshCheck

extension HTMLReport {
    static func timelineSection(_ report: RunReport) -> String {
        guard let timeline = report.timeline else { return "" }
        var out = "<section id=\"timeline\">\n<h2>Timeline</h2>\n"
        out += "<p>Each source's requests in windows of \(escape(SVGCharts.seconds(timeline.windowSeconds))) from the \(escape(timeline.origin)), "
        out += "placed by when they started: the share each serving cluster answered, stacked, with failed requests hatched on top"
        out += timeline.disruptions.isEmpty ? ".</p>\n" : "; a solid line where a disruption was applied, a dashed one where it was restored.</p>\n"
        if let beyond = timeline.requestsBeyondLimit {
            out += "<p>\(plural(beyond, "request")) started too long after the origin to be placed.</p>\n"
        }
        guard !timeline.sources.isEmpty else { return out + "<p>No request was placed on the timeline.</p>\n</section>\n" }
        let clusters = report.clusters.filter { $0.serves != nil }.map(\.name)
        for (index, series) in timeline.sources.enumerated() {
            out += "<figure>\n<figcaption>From <strong>\(escape(series.source))</strong></figcaption>\n"
            out += SVGCharts.timeline(series, in: timeline, clusters: clusters, id: "timeline-\(index)") + "\n"
            out += "<details><summary>Windows from \(escape(series.source)) as numbers</summary>\n<table class=\"numbers\">\n"
            out += "<caption>Requests from \(escape(series.source)) per window: answers per serving cluster, failures, latency in ms</caption>\n"
            out += "<thead><tr><th scope=\"col\">Start</th><th scope=\"col\">Requests</th><th scope=\"col\">Errors</th>"
            out +=
                clusters.map { "<th scope=\"col\">\(escape($0))</th>" }.joined()
                + "<th scope=\"col\">p50</th><th scope=\"col\">p99</th></tr></thead>\n<tbody>\n"
            for window in series.windows {
                out += "<tr><th scope=\"row\">\(escape(SVGCharts.seconds(window.startSeconds)))</th><td>\(window.requests)</td><td>\(window.errors)</td>"
                out += clusters.map { "<td>\(window.byCluster[$0] ?? 0)</td>" }.joined()
                out += "<td>\(window.p50Ms.map(NumberFormat.milliseconds) ?? "–")</td><td>\(window.p99Ms.map(NumberFormat.milliseconds) ?? "–")</td></tr>\n"
            }
            out += "</tbody>\n</table>\n</details>\n</figure>\n"
        }
        if !timeline.disruptions.isEmpty {
            out += "<table>\n<caption>Disruptions as applied (times from the \(escape(timeline.origin)))</caption>\n"
            out += "<thead><tr><th scope=\"col\">Disruption</th><th scope=\"col\">Action</th><th scope=\"col\">Clusters</th>"
            out += "<th scope=\"col\">Scheduled</th><th scope=\"col\">Applied</th><th scope=\"col\">Restored</th></tr></thead>\n<tbody>\n"
            for disruption in timeline.disruptions {
                var action = disruption.kind
                if let percent = disruption.percent { action += " \(NumberFormat.shortest(percent)) %" }
                if let status = disruption.httpStatus { action += " (HTTP \(status))" }
                let scheduled = SVGCharts.seconds(disruption.at) + (disruption.restoreAt.map { " – " + SVGCharts.seconds($0) } ?? "")
                let applied = disruption.appliedAtMs.map { SVGCharts.seconds(Double($0) / 1000) } ?? "not applied"
                let restored = disruption.restoredAtMs.map { SVGCharts.seconds(Double($0) / 1000) } ?? "not restored"
                out +=
                    "<tr><th scope=\"row\">\(escape(disruption.name))</th><td>\(escape(action))</td><td>\(escape(disruption.clusters.joined(separator: ", ")))</td>"
                out += "<td>\(escape(scheduled))</td><td>\(escape(applied))</td><td>\(escape(restored))"
                if let error = disruption.error { out += "<p class=\"cause\">\(inline(error))</p>" }
                out += "</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        return out + "</section>\n"
    }
}
