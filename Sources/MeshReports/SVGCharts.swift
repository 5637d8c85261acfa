// The inline SVG charts of report.html. Each chart is a plain string of SVG with role="img", a <title>
// and a <desc> that says in words what it shows; colours come from classes styled by the page, and every
// series is told apart by more than colour (dash patterns, markers, printed numbers).

import Foundation
import MeshCheck

enum SVGCharts {
    // MARK: Shares

    /// Per serving cluster: the observed share as a bar, its 95 % interval as a whisker and the expected
    /// share as a diamond on a dashed line.
    static func shares(source: String, rows: [TrafficRow], id: String) -> String {
        let labelWidth = 140.0
        let plotWidth = 360.0
        let textWidth = 200.0
        let rowHeight = 36.0
        let top = 26.0
        let width = labelWidth + plotWidth + textWidth
        let height = top + Double(rows.count) * rowHeight + 40
        func x(_ share: Double) -> Double { labelWidth + min(max(share, 0), 1) * plotWidth }

        var body = ""
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            body += line(x(tick), top - 4, x(tick), top + Double(rows.count) * rowHeight, "grid")
            body += text(x(tick), top - 10, "\(Int(tick * 100)) %", "tick", anchor: "middle")
        }
        var described: [String] = []
        for (index, row) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            let middle = y + rowHeight / 2
            let answered = row.requests - row.errors > 0
            body += text(labelWidth - 8, middle + 4, row.target, "label", anchor: "end")
            body += "<rect class=\"bar s\(index % 8)\" x=\"\(f(x(0)))\" y=\"\(f(middle - 8))\" width=\"\(f(x(row.share) - x(0)))\" height=\"16\"/>"
            if answered {
                let low = x(row.shareInterval.low)
                let high = x(row.shareInterval.high)
                body += line(low, middle, high, middle, "whisker")
                body += line(low, middle - 7, low, middle + 7, "whisker")
                body += line(high, middle - 7, high, middle + 7, "whisker")
            }
            var sentence = "\(row.target): \(percent1(row.share))"
            if answered { sentence += " (95 % interval \(percent1(row.shareInterval.low)) to \(percent1(row.shareInterval.high)))" }
            if let expected = row.expectedShare {
                body += line(x(expected), y + 3, x(expected), y + rowHeight - 3, "expected")
                body += diamond(x(expected), middle, 6, "expected-marker")
                sentence += ", expected \(percent1(expected))"
            }
            let label = "\(percent1(row.share)) of \(row.requests - row.errors)" + (row.expectedShare.map { " · exp \(percent1($0))" } ?? "")
            body += text(labelWidth + plotWidth + 10, middle + 4, label, "value")
            described.append(sentence)
        }
        let legendY = top + Double(rows.count) * rowHeight + 24
        body += "<rect class=\"bar s0\" x=\"\(f(labelWidth))\" y=\"\(f(legendY - 9))\" width=\"18\" height=\"10\"/>"
        body += text(labelWidth + 24, legendY, "observed share", "legend")
        body += line(labelWidth + 130, legendY - 4, labelWidth + 160, legendY - 4, "whisker")
        body += line(labelWidth + 130, legendY - 9, labelWidth + 130, legendY + 1, "whisker")
        body += line(labelWidth + 160, legendY - 9, labelWidth + 160, legendY + 1, "whisker")
        body += text(labelWidth + 166, legendY, "95 % interval", "legend")
        body += diamond(labelWidth + 268, legendY - 4, 5, "expected-marker")
        body += text(labelWidth + 278, legendY, "expected share", "legend")

        let description =
            rows.isEmpty
            ? "No serving cluster answered \(source)."
            : "Share of \(source)'s successful requests served by each cluster: " + described.joined(separator: "; ") + "."
        return chart(id: id, width: width, height: height, title: "Requests from \(source) by serving cluster", description: description, body: body)
    }

    // MARK: Percentile curves

    struct CurveSeries {
        var label: String
        /// (percentile as a fraction, latency ms) corners of the step curve.
        var points: [(fraction: Double, milliseconds: Double)]
        var count: UInt64
        /// Drawn from the four summary percentiles only (a report without histograms).
        var approximate: Bool
    }

    /// The series of one traffic row: steps through the histogram's buckets, or the summary
    /// percentiles when the report has no histogram.
    static func curve(_ row: TrafficRow) -> CurveSeries? {
        let label = "\(row.source) → \(row.target)"
        if let histogram = row.latencyHistogram, histogram.count > 0 {
            var points: [(Double, Double)] = []
            var cumulative: UInt64 = 0
            for bucket in histogram.buckets {
                let value = Double(bucket[1]) / 1000
                points.append((Double(cumulative) / Double(histogram.count), value))
                cumulative += bucket[2]
                points.append((Double(cumulative) / Double(histogram.count), value))
            }
            return CurveSeries(label: label, points: points, count: histogram.count, approximate: false)
        }
        guard let latency = row.latencyMs else { return nil }
        let count = UInt64(max(row.requests - row.errors, 1))
        return CurveSeries(
            label: label, points: [(0.5, latency.p50), (0.9, latency.p90), (0.99, latency.p99), (1, latency.max)],
            count: count, approximate: true)
    }

    /// Latency (log scale) against percentile on the "nines" scale: 90 %, 99 %, 99.9 % equally spaced.
    static func percentileCurves(_ series: [CurveSeries], id: String) -> String {
        let left = 64.0
        let right = 230.0
        let top = 16.0
        let bottom = 46.0
        let plotWidth = 460.0
        let plotHeight = 250.0
        let width = left + plotWidth + right
        let height = top + plotHeight + bottom
        let largest = series.map(\.count).max() ?? 10
        // The curve cannot say more than 1 - 1/n; show at least up to 99 %.
        let nines = min(max(2, log10(Double(max(largest, 1)))), 5)
        func nine(_ fraction: Double, count: UInt64) -> Double {
            let capped = min(fraction, 1 - 1 / Double(max(count, 2)))
            return log10(1 / (1 - max(capped, 0)))
        }
        func x(_ nineValue: Double) -> Double { left + min(nineValue, nines) / nines * plotWidth }
        let values = series.flatMap { $0.points.map(\.milliseconds) }.filter { $0 > 0 }
        let lowDecade = floor(log10(values.min() ?? 1))
        let highDecade = max(ceil(log10(values.max() ?? 10)), lowDecade + 1)
        func y(_ milliseconds: Double) -> Double {
            let position = (log10(max(milliseconds, pow(10, lowDecade))) - lowDecade) / (highDecade - lowDecade)
            return top + plotHeight - position * plotHeight
        }

        var body = ""
        for decade in Int(lowDecade)...Int(highDecade) {
            for step in [1.0, 2, 5] {
                let value = step * pow(10, Double(decade))
                guard value <= pow(10, highDecade) * 1.0001 else { continue }
                body += line(left, y(value), left + plotWidth, y(value), step == 1 ? "grid" : "grid minor")
                body += text(left - 6, y(value) + 4, milliseconds(value), "tick", anchor: "end")
            }
        }
        var tick = 0.0
        while tick <= nines + 0.001 {
            let label = tick == 0 ? "0 %" : percentText(1 - pow(10, -tick))
            body += line(x(tick), top, x(tick), top + plotHeight, "grid")
            body += text(x(tick), top + plotHeight + 16, label, "tick", anchor: "middle")
            tick += 1
        }
        body += line(x(log10(2)), top, x(log10(2)), top + plotHeight, "grid minor")
        body += text(x(log10(2)), top + plotHeight + 16, "50 %", "tick", anchor: "middle")
        body += text(left + plotWidth / 2, height - 6, "percentile (log scale of 1 / (1 − p))", "axis", anchor: "middle")
        body += "<text class=\"axis\" transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">latency, ms (log)</text>"

        var described: [String] = []
        for (index, item) in series.enumerated() {
            let coordinates = item.points.map { "\(f(x(nine($0.fraction, count: item.count)))),\(f(y($0.milliseconds)))" }
            body += "<polyline class=\"curve s\(index % 8) d\(index % 4)\" points=\"\(coordinates.joined(separator: " "))\"/>"
            if let last = item.points.last {
                body += marker(index, x(nine(last.fraction, count: item.count)), y(last.milliseconds))
            }
            let legendY = top + 10 + Double(index) * 20
            body +=
                "<line class=\"curve s\(index % 8) d\(index % 4)\" x1=\"\(f(left + plotWidth + 14))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotWidth + 44))\" y2=\"\(f(legendY - 4))\"/>"
            body += marker(index, left + plotWidth + 44, legendY - 4)
            body += text(left + plotWidth + 52, legendY, "\(item.label) (n \(item.count))\(item.approximate ? " *" : "")", "legend")
            let median = item.points.first { $0.fraction >= 0.5 }?.milliseconds ?? item.points.last?.milliseconds ?? 0
            described.append(
                "\(item.label): median \(milliseconds(median)) ms, highest \(milliseconds(item.points.last?.milliseconds ?? 0)) ms over \(item.count) requests")
        }
        if series.contains(where: \.approximate) {
            body += text(left + plotWidth + 14, top + 10 + Double(series.count) * 20 + 6, "* from p50/p90/p99/max only", "legend")
        }
        let description =
            series.isEmpty
            ? "No successful requests, so no latency to show."
            : "In-pod latency percentiles per source and serving cluster. " + described.joined(separator: "; ") + "."
        return chart(id: id, width: width, height: height, title: "Latency percentiles per source → serving cluster", description: description, body: body)
    }

    // MARK: Heat map

    /// Sources as rows, serving clusters as columns; the cell's shade is its p50 (log scale, six steps),
    /// and the cell prints p50, p99 and the request count, so nothing depends on the colour.
    static func heatMap(sources: [String], targets: [String], traffic: [TrafficRow], id: String) -> String {
        let left = 140.0
        let top = 44.0
        let cellWidth = 150.0
        let cellHeight = 58.0
        // Wide enough for the shade legend's text also with one or two columns.
        let width = max(left + Double(targets.count) * cellWidth + 20, left + 520)
        let height = top + Double(sources.count) * cellHeight + 46
        let medians = traffic.compactMap { $0.latencyMs?.p50 }.filter { $0 > 0 }
        let low = log10(medians.min() ?? 1)
        let high = log10(medians.max() ?? 1)
        func shade(_ value: Double) -> Int {
            guard high > low else { return 2 }
            return min(5, max(0, Int(((log10(value) - low) / (high - low) * 6).rounded(.down))))
        }

        var body = text(left + Double(targets.count) * cellWidth / 2, 14, "served by", "axis", anchor: "middle")
        for (column, target) in targets.enumerated() {
            body += text(left + (Double(column) + 0.5) * cellWidth, top - 10, target, "label", anchor: "middle")
        }
        var described: [String] = []
        for (rowIndex, source) in sources.enumerated() {
            let y = top + Double(rowIndex) * cellHeight
            body += text(left - 8, y + cellHeight / 2 + 4, source, "label", anchor: "end")
            for (column, target) in targets.enumerated() {
                let x = left + Double(column) * cellWidth
                let row = traffic.first { $0.source == source && $0.target == target }
                if let row, let latency = row.latencyMs {
                    let level = shade(max(latency.p50, 0.001))
                    body += "<rect class=\"heat h\(level)\" x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cellWidth - 2))\" height=\"\(f(cellHeight - 2))\"/>"
                    let ink = level >= 3 ? "cell-text dark" : "cell-text"
                    body += text(x + cellWidth / 2, y + 24, "p50 \(milliseconds(latency.p50)) ms", ink + " strong", anchor: "middle")
                    body += text(x + cellWidth / 2, y + 42, "p99 \(milliseconds(latency.p99)) · n \(row.requests - row.errors)", ink, anchor: "middle")
                    described.append("\(source) → \(target): p50 \(milliseconds(latency.p50)) ms, p99 \(milliseconds(latency.p99)) ms")
                } else {
                    body += "<rect class=\"heat empty\" x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cellWidth - 2))\" height=\"\(f(cellHeight - 2))\"/>"
                    body += text(x + cellWidth / 2, y + cellHeight / 2 + 4, "no answers", "cell-text", anchor: "middle")
                    described.append("\(source) → \(target): no successful answers")
                }
            }
        }
        let legendY = top + Double(sources.count) * cellHeight + 20
        body += text(left, legendY + 4, "p50 shade:", "legend")
        for level in 0..<6 {
            body += "<rect class=\"heat h\(level)\" x=\"\(f(left + 70 + Double(level) * 22))\" y=\"\(f(legendY - 8))\" width=\"20\" height=\"14\"/>"
        }
        if !medians.isEmpty {
            body += text(
                left + 70 + 6 * 22 + 6, legendY + 4,
                "\(milliseconds(pow(10, low))) ms (light) to \(milliseconds(pow(10, high))) ms (dark), log scale", "legend")
        }
        let description = "Median and 99th-percentile latency for each source (row) and serving cluster (column): " + described.joined(separator: "; ") + "."
        return chart(id: id, width: width, height: height, title: "Latency matrix (p50 shade, p50 and p99 printed)", description: description, body: body)
    }

    // MARK: Timeline

    /// One row per phase, each bar starting where the previous phase ended.
    static func timeline(_ phases: [PhaseTiming], id: String) -> String {
        let left = 100.0
        let plotWidth = 500.0
        let right = 90.0
        let top = 10.0
        let rowHeight = 24.0
        let total = max(phases.reduce(0) { $0 + $1.seconds }, 0.001)
        let width = left + plotWidth + right
        let height = top + Double(phases.count) * rowHeight + 36
        func x(_ seconds: Double) -> Double { left + seconds / total * plotWidth }
        var body = ""
        let step = niceStep(total / 5)
        var tick = 0.0
        while tick <= total + step * 0.001 {
            body += line(x(tick), top, x(tick), top + Double(phases.count) * rowHeight, "grid")
            body += text(x(tick), top + Double(phases.count) * rowHeight + 16, seconds(tick), "tick", anchor: "middle")
            tick += step
        }
        var offset = 0.0
        for (index, phase) in phases.enumerated() {
            let y = top + Double(index) * rowHeight
            body += text(left - 8, y + 16, phase.name, "label", anchor: "end")
            body +=
                "<rect class=\"phase s\(index % 8)\" x=\"\(f(x(offset)))\" y=\"\(f(y + 4))\" width=\"\(f(max(x(offset + phase.seconds) - x(offset), 1.5)))\" height=\"16\"/>"
            body += text(min(x(offset + phase.seconds) + 6, left + plotWidth + 6), y + 16, humanSeconds(phase.seconds), "value")
            offset += phase.seconds
        }
        body += text(left + plotWidth / 2, height - 2, "seconds since the run started", "axis", anchor: "middle")
        let description =
            "Phases in order: " + phases.map { "\($0.name) \(humanSeconds($0.seconds))" }.joined(separator: ", ") + "; \(humanSeconds(total)) in all."
        return chart(id: id, width: width, height: height, title: "Phase timeline", description: description, body: body)
    }

    // MARK: Building blocks

    static func chart(id: String, width: Double, height: Double, title: String, description: String, body: String, cssClass: String = "chart") -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\" class=\"\(cssClass)\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" role=\"img\" "
            + "aria-labelledby=\"\(id)-title \(id)-desc\"><title id=\"\(id)-title\">\(HTMLReport.escape(title))</title>"
            + "<desc id=\"\(id)-desc\">\(HTMLReport.escape(description))</desc>\(body)</svg>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cssClass: String) -> String {
        "<line class=\"\(cssClass)\" x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\"/>"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, _ cssClass: String, anchor: String = "start") -> String {
        "<text class=\"\(cssClass)\" x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\">\(HTMLReport.escape(content))</text>"
    }

    static func diamond(_ x: Double, _ y: Double, _ size: Double, _ cssClass: String) -> String {
        "<polygon class=\"\(cssClass)\" points=\"\(f(x)),\(f(y - size)) \(f(x + size)),\(f(y)) \(f(x)),\(f(y + size)) \(f(x - size)),\(f(y))\"/>"
    }

    /// Series markers differ in shape as well as colour: circle, square, triangle, diamond.
    static func marker(_ index: Int, _ x: Double, _ y: Double) -> String {
        let style = "marker s\(index % 8)"
        switch index % 4 {
        case 0: return "<circle class=\"\(style)\" cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\"/>"
        case 1: return "<rect class=\"\(style)\" x=\"\(f(x - 4))\" y=\"\(f(y - 4))\" width=\"8\" height=\"8\"/>"
        case 2: return "<polygon class=\"\(style)\" points=\"\(f(x)),\(f(y - 5)) \(f(x + 5)),\(f(y + 4)) \(f(x - 5)),\(f(y + 4))\"/>"
        default: return diamond(x, y, 5, style)
        }
    }

    static func f(_ value: Double) -> String { NumberFormat.fixed(value, 1) }

    static func milliseconds(_ value: Double) -> String {
        if value >= 100 { return NumberFormat.fixed(value, 0) }
        if value >= 1 { return NumberFormat.shortest((value * 10).rounded() / 10) }
        return NumberFormat.shortest((value * 1000).rounded() / 1000)
    }

    static func seconds(_ value: Double) -> String { NumberFormat.shortest((value * 100).rounded() / 100) + " s" }

    /// `90 %`, `99 %`, `99.9 %`.
    static func percentText(_ fraction: Double) -> String {
        let percent = fraction * 100
        var decimals = 0
        while decimals < 4, abs(percent - (percent * pow(10, Double(decimals))).rounded() / pow(10, Double(decimals))) > 1e-9 { decimals += 1 }
        return "\(NumberFormat.fixed(percent, decimals)) %"
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0 else { return 1 }
        let power = pow(10, floor(log10(rough)))
        for multiple in [1.0, 2, 5, 10] where multiple * power >= rough { return multiple * power }
        return 10 * power
    }
}
