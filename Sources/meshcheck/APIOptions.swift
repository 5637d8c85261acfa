import ArgumentParser
import MeshCheck

/// `--api-timeout` and `--max-response-size`, shared by `run` and `preflight`: the bounds on every request
/// meshcheck sends to an API server, overriding the scenario's `api` section.
struct APIOptions: ParsableArguments {
    @Option(
        name: .customLong("api-timeout"),
        help: ArgumentHelp("Longest one API request may take, answer included (default 30s; scenario api.requestTimeout).", valueName: "DURATION"))
    var requestTimeout: String?

    @Option(
        name: .customLong("max-response-size"),
        help: ArgumentHelp(
            "Largest API answer accepted, e.g. 64Mi or 1Gi (default 64Mi; scenario api.maxResponseSize); a larger one is stopped there.",
            valueName: "SIZE"))
    var maxResponseSize: String?

    /// `settings` with the flags given applied, checked as the scenario's own values are.
    func applied(to settings: APISettings) throws(RunAbort) -> APISettings {
        var settings = settings
        if let requestTimeout {
            guard let value = parseDuration(requestTimeout) else {
                throw RunAbort(.badInput, "--api-timeout: must be a duration such as 30s, 500ms or 2m, got \"\(requestTimeout)\"")
            }
            settings.requestTimeout = value
        }
        if let maxResponseSize {
            guard let value = parseByteSize(maxResponseSize) else {
                throw RunAbort(.badInput, "--max-response-size: must be a size such as 64Mi, 512Ki or 1Gi (or a number of bytes), got \"\(maxResponseSize)\"")
            }
            settings.maxResponseBytes = value
        }
        let flags = ["api.requestTimeout": "--api-timeout", "api.maxResponseSize": "--max-response-size"]
        let problems = ScenarioValidator.apiProblems(settings)
        if !problems.isEmpty {
            throw RunAbort(.badInput, problems.map { "\(flags[$0.path] ?? $0.path): \($0.message)" }.joined(separator: "\n"))
        }
        return settings
    }
}
