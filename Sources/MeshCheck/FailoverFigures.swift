// The failover figures of a run: for every applied disruption and every source it concerns, how the source's
// traffic left the disrupted clusters and came back, read from the timeline's windows. Pure.
//
// Resolution: every figure is stated at window granularity (`timeline.window`, 1 s by default). A window belongs to a
// phase by its index, not by the instants inside it, so a time is "from the instant of the action to the start of a
// window" and is exact to within one window; counts (errors, requests) are those of whole windows, so the window that
// holds the action also counts the requests that started in it just before the action.

import MeshStats

/// One (disruption, source) pair's figures (`report.json` `failover[]`).
package struct FailoverFigure: Codable, Sendable, Equatable {
    /// The disruption's name.
    package var disruption: String
    /// `scale-to-zero` or `abort`.
    package var kind: String
    package var source: String
    /// The clusters whose share is watched (scaled to zero), or whose sidecars got the fault (abort).
    package var affected: [String]
    /// Width of one timeline window in seconds: the resolution of every time below.
    package var windowSeconds: Double
    /// Share of the source's answers served by the affected clusters in the windows wholly before the action (and
    /// outside earlier disruptions); nil when no such window held an answer. Scale-to-zero only.
    package var baselineShare: Double?
    /// Answers those windows held.
    package var baselineAnswers: Int
    /// Share of the source's answers served by clusters in its own locality (zone or region, as
    /// `expectations.locality` says; zone when unset) in those windows; nil when localities are unknown.
    package var localShareBefore: Double?
    /// Seconds from the action to the start of the first window from which, until the restore (or the end), every
    /// window has the affected share at or below the threshold and no errors; 0 when the window holding the action was
    /// already clean; nil = never failed over. Scale-to-zero only.
    package var failoverSeconds: Double?
    /// Failed requests and all requests from the window holding the action up to failover (or the restore / end when
    /// it never failed over); for `abort`, up to the restore (or the end).
    package var errorsDuringFailover: Int
    package var requestsDuringFailover: Int
    /// 95 % Wilson interval of errorsDuringFailover / requestsDuringFailover.
    package var errorRate: WilsonInterval
    /// Whether the disruption was undone during the load.
    package var restored: Bool
    /// Whether recovery is judged: the disruption was restored and (scale-to-zero) the source used the affected
    /// clusters before (baseline above the threshold).
    package var recoveryApplicable: Bool
    /// Seconds from the restore to the start of the first window from which, until the next action (or the end), no
    /// request fails and (scale-to-zero) the affected share is back to at least half its baseline; nil when not
    /// applicable or it never recovered.
    package var recoverySeconds: Double?
    /// Whether the local share after recovery passes the locality test; nil unless `expectations.locality` is set,
    /// the source's own locality holds an affected cluster, and it recovered.
    package var localityReturned: Bool?
    /// `abort`: the configured share of aborted requests (percent / 100).
    package var configuredErrorRate: Double?
    /// `abort`: start of the first and end of the last window with errors from the action on, in seconds from the
    /// start of the load; nil when no request failed.
    package var errorWindowStartSeconds: Double?
    package var errorWindowEndSeconds: Double?

    /// `2.5 s`: a figure's seconds to the millisecond, as every report writes them.
    package static func secondsText(_ value: Double) -> String { "\(NumberFormat.shortest((value * 1000).rounded() / 1000)) s" }

    package init(disruption: String, kind: String, source: String, affected: [String], windowSeconds: Double) {
        self.disruption = disruption
        self.kind = kind
        self.source = source
        self.affected = affected
        self.windowSeconds = windowSeconds
        baselineAnswers = 0
        errorsDuringFailover = 0
        requestsDuringFailover = 0
        errorRate = WilsonInterval(low: 0, high: 1)
        restored = false
        recoveryApplicable = false
    }
}

package enum FailoverFigures {
    /// What the figures are computed from.
    package struct Input: Sendable {
        package var timeline: TimelineTally
        /// Cluster names by the timeline's cluster index.
        package var names: [String]
        /// Source cluster indexes, in report order.
        package var sources: [Int]
        package var disruptions: [DisruptionRecord]
        package var expectation: FailoverExpectation
        package var locality: LocalityExpectation?
        package var localities: [String: ClusterLocality]
        /// α of the locality test (`expectations.significance`).
        package var significance: Double

        package init(
            timeline: TimelineTally, names: [String], sources: [Int], disruptions: [DisruptionRecord], expectation: FailoverExpectation,
            locality: LocalityExpectation?, localities: [String: ClusterLocality], significance: Double
        ) {
            self.timeline = timeline
            self.names = names
            self.sources = sources
            self.disruptions = disruptions
            self.expectation = expectation
            self.locality = locality
            self.localities = localities
            self.significance = significance
        }
    }

    /// A half-open span of window indexes a disruption held a source in: from the window holding the action to the
    /// window its recovery starts (exclusive), or to the end.
    package struct Span: Sendable, Equatable {
        package var source: Int
        package var first: Int
        /// Exclusive; nil = to the end of the timeline.
        package var end: Int?

        package func contains(_ window: Int) -> Bool { window >= first && (end.map { window < $0 } ?? true) }
    }

    /// The figures of every applied disruption (in the order they were applied) and every source it concerns, with
    /// the spans they disrupted (for the checks that judge only healthy windows).
    package static func compute(_ input: Input) -> (figures: [FailoverFigure], spans: [Span]) {
        let applied = input.disruptions.filter { $0.appliedAtMs != nil }.sorted { $0.appliedAtMs! < $1.appliedAtMs! }
        var figures: [FailoverFigure] = []
        var spans: [Span] = []
        for (order, disruption) in applied.enumerated() {
            let nextActionMs = applied[(order + 1)...].lazy.compactMap(\.appliedAtMs).first
            for source in input.sources {
                guard
                    let (figure, span) = figure(
                        input, disruption: disruption, source: source, nextActionMs: nextActionMs, earlier: spans.filter { $0.source == source })
                else { continue }
                figures.append(figure)
                spans.append(span)
            }
        }
        return (figures, spans)
    }

    /// Window `index` of `source`, and the last window index of the whole timeline.
    struct Windows {
        let windows: [TimelineWindow]
        let empty: TimelineWindow
        let windowMs: Double
        let last: Int

        init(_ timeline: TimelineTally, source: Int) {
            windows = timeline.windows(source: source).map(\.window)
            empty = FailoverFigures.blank(clusterCount: timeline.clusterCount)
            windowMs = Double(timeline.windowMicros) / 1000
            last = timeline.lastWindowIndex ?? -1
        }

        func window(_ index: Int) -> TimelineWindow { windows.indices.contains(index) ? windows[index] : empty }
        /// The window holding the instant `ms`.
        func index(atMs ms: Int64) -> Int { Int((Double(ms) / windowMs).rounded(.down)) }
        /// Seconds from `ms` to the start of window `index`, at least 0.
        func seconds(from ms: Int64, toWindow index: Int) -> Double { max(0, Double(index) * windowMs - Double(ms)) / 1000 }
    }

    static func figure(
        _ input: Input, disruption: DisruptionRecord, source: Int, nextActionMs: Int64?, earlier: [Span]
    ) -> (FailoverFigure, Span)? {
        guard let appliedMs = disruption.appliedAtMs else { return nil }
        let affected = disruption.clusters.compactMap { input.names.firstIndex(of: $0) }
        let isAbort = disruption.kind == Disruption.Action.abort(percent: 0, httpStatus: 0, clusters: []).kind
        // A fault in a client cluster's sidecars reaches only that cluster's requests.
        if isAbort, !affected.contains(source) { return nil }
        let windows = Windows(input.timeline, source: source)
        var figure = FailoverFigure(
            disruption: disruption.name, kind: disruption.kind, source: input.names[source], affected: disruption.clusters,
            windowSeconds: windows.windowMs / 1000)
        let actionWindow = windows.index(atMs: appliedMs)
        // Windows wholly before the action, outside earlier disruptions.
        let before = (0..<max(0, min(actionWindow, windows.last + 1))).filter { index in !earlier.contains { $0.contains(index) } }
        let count = input.timeline.clusterCount
        let baselineCounts = sum(before.map(windows.window), clusterCount: count)
        figure.baselineAnswers = baselineCounts.succeeded
        let local = localClusters(input, source: source)
        if let local, baselineCounts.succeeded > 0 {
            figure.localShareBefore = Double(local.reduce(0) { $0 + baselineCounts.successes[$1] }) / Double(baselineCounts.succeeded)
        }
        let restoreWindow = disruption.restoredAtMs.map { windows.index(atMs: $0) }
        figure.restored = restoreWindow != nil
        // The disrupted phase ends at the restore (windows wholly before it), else at the end.
        let disruptedEnd = min(restoreWindow ?? (windows.last + 1), windows.last + 1)
        // The recovery phase ends at the next action (windows wholly before it), else at the end.
        let recoveryEnd = min(nextActionMs.map { windows.index(atMs: $0) } ?? (windows.last + 1), windows.last + 1)
        let threshold = input.expectation.shareThreshold
        var recoveryWindow: Int?

        if isAbort {
            if let percent = disruption.percent { figure.configuredErrorRate = percent / 100 }
            let during = Array(actionWindow..<max(actionWindow, disruptedEnd))
            let counts = sum(during.map(windows.window), clusterCount: count)
            figure.errorsDuringFailover = counts.errors
            figure.requestsDuringFailover = counts.requests
            let withErrors = (actionWindow..<max(actionWindow, recoveryEnd)).filter { windows.window($0).errors > 0 }
            if let first = withErrors.first, let last = withErrors.last {
                figure.errorWindowStartSeconds = Double(first) * windows.windowMs / 1000
                figure.errorWindowEndSeconds = Double(last + 1) * windows.windowMs / 1000
            }
            if let restoredMs = disruption.restoredAtMs, let restoreWindow {
                figure.recoveryApplicable = true
                recoveryWindow = firstSettled(windows, from: restoreWindow, end: recoveryEnd) { $0.errors == 0 }
                figure.recoverySeconds = recoveryWindow.map { windows.seconds(from: restoredMs, toWindow: $0) }
            }
        } else {
            let share: (TimelineWindow) -> Double? = { window in
                window.succeeded == 0 ? nil : Double(affected.reduce(0) { $0 + window.successes[$1] }) / Double(window.succeeded)
            }
            figure.baselineShare = baselineCounts.succeeded == 0 ? nil : share(baselineCounts)
            let failoverWindow = firstSettled(windows, from: actionWindow, end: disruptedEnd) { window in
                window.errors == 0 && (share(window) ?? 0) <= threshold
            }
            figure.failoverSeconds = failoverWindow.map { windows.seconds(from: appliedMs, toWindow: $0) }
            let counts = sum((actionWindow..<max(actionWindow, failoverWindow ?? disruptedEnd)).map(windows.window), clusterCount: count)
            figure.errorsDuringFailover = counts.errors
            figure.requestsDuringFailover = counts.requests
            if let baseline = figure.baselineShare, baseline > threshold, let restoredMs = disruption.restoredAtMs, let restoreWindow {
                figure.recoveryApplicable = true
                recoveryWindow = firstSettled(windows, from: restoreWindow, end: recoveryEnd) { window in
                    window.errors == 0 && (share(window) ?? 0) >= baseline / 2
                }
                figure.recoverySeconds = recoveryWindow.map { windows.seconds(from: restoredMs, toWindow: $0) }
            }
        }
        figure.errorRate = WilsonInterval(
            ShareInterval.wilson(successes: UInt64(figure.errorsDuringFailover), trials: UInt64(figure.requestsDuringFailover)))
        if let recoveryWindow, let locality = input.locality, let local, !Set(local).isDisjoint(with: affected) {
            let after = sum((recoveryWindow..<max(recoveryWindow, recoveryEnd)).map(windows.window), clusterCount: count)
            let kept = local.reduce(0) { $0 + after.successes[$1] }
            figure.localityReturned =
                after.succeeded > 0 && LocalityTest.keeps(local: kept, of: after.succeeded, minShare: locality.minShare, significance: input.significance)
        }
        // Held from the action to the recovery; a disruption never restored, not recovered, or whose recovery is not
        // judged holds the source to the restore window's end or the end of the timeline.
        let spanEnd: Int? =
            if let recoveryWindow { recoveryWindow } else if figure.restored && !figure.recoveryApplicable { restoreWindow.map { $0 + 1 } } else { nil }
        return (figure, Span(source: source, first: actionWindow, end: spanEnd))
    }

    /// The first window in `start..<end` that holds a request and from which every window up to `end` that holds a
    /// request satisfies `clean` (an empty window is no evidence either way); nil when there is none.
    static func firstSettled(_ windows: Windows, from start: Int, end: Int, clean: (TimelineWindow) -> Bool) -> Int? {
        guard start < end else { return nil }
        var candidate: Int?
        for index in stride(from: end - 1, through: start, by: -1) {
            let window = windows.window(index)
            guard window.requests > 0 else { continue }
            guard clean(window) else { break }
            candidate = index
        }
        return candidate
    }

    /// Windows added together (latency samples are not needed here).
    static func sum(_ windows: [TimelineWindow], clusterCount: Int) -> TimelineWindow {
        var total = blank(clusterCount: clusterCount)
        for window in windows {
            for index in total.successes.indices {
                total.successes[index] += window.successes[index]
                total.errorsByTarget[index] += window.errorsByTarget[index]
            }
            total.errors += window.errors
        }
        return total
    }

    /// A window of `clusterCount` clusters with no request (MeshStats makes windows only where requests fell).
    static func blank(clusterCount: Int) -> TimelineWindow {
        var tally = TimelineTally(clusterCount: max(clusterCount, 1), windowMicros: 1)
        tally.record(source: 0, target: nil, succeeded: false, atMicros: 0, totalMicros: 0)
        var window = tally.windows(source: 0)[0].window
        window.successes = Array(repeating: 0, count: clusterCount)
        window.errorsByTarget = Array(repeating: 0, count: clusterCount)
        window.errors = 0
        return window
    }

    /// The serving clusters in `source`'s own locality (zone, or region as `expectations.locality` says), by index;
    /// nil when the source's locality (or that part of it) is unknown.
    static func localClusters(_ input: Input, source: Int) -> [Int]? {
        LocalityTest.localClusters(
            of: input.names[source], names: input.names, localities: input.localities, scope: input.locality?.scope ?? .zone)
    }
}
