/// The best times in seconds of our side and the baseline's, measured in alternation (`rounds`
/// times, two runs each) so both see the same load on the shared machine.
func alternatingBestSeconds(rounds: Int = 5, ours: () -> Void, baseline: () -> Void) -> (ours: Double, baseline: Double) {
    var best = (ours: Double.infinity, baseline: Double.infinity)
    for _ in 0..<rounds {
        best.ours = min(best.ours, bestSeconds(rounds: 2, ours))
        best.baseline = min(best.baseline, bestSeconds(rounds: 2, baseline))
    }
    return best
}
