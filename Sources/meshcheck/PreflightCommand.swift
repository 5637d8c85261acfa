import ArgumentParser
import Foundation
import KubeClient
import MeshCheck

/// `meshcheck preflight`: every cluster's mesh setup checked at once, without deploying anything.
struct PreflightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Check every cluster's mesh setup (API, RBAC, control plane, remote secrets, gateways, networks, root CA) without deploying anything.",
        discussion: """
            Clusters come from the scenario, from --context options (one per cluster), or else the current context.

            Exit codes:
              0  no check failed (warnings allowed)
              1  a check failed
              2  bad input (usage, scenario, kubeconfig, context, a failing credential plugin)
              3  a cluster's API server is unreachable or refused the credentials
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Scenario file (YAML): its clusters, namespace and mesh revision are checked.")
    var scenario: String?

    @Option(help: "Path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).")
    var kubeconfig: String?

    @Option(name: .customLong("context"), help: "A kubeconfig context, one per cluster, in order (repeatable).")
    var contexts: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Output format: text (a checklist) or json.")
    var format: Format = .text

    @OptionGroup var api: APIOptions

    mutating func run() async throws {
        let problem = { (message: String) -> ExitCode in
            FileHandle.standardError.write(Data("meshcheck: \(message)\n".utf8))
            return ExitCode(2)
        }
        let loaded: Kubeconfig
        var clusters: [(name: String, context: String?)]
        var expectations = PreflightExpectations(now: Date().timeIntervalSince1970)
        var bounds = APISettings()
        do {
            loaded = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: kubeconfig))
            if let scenario {
                let parsed = try ScenarioLoader.load(path: scenario)
                if !contexts.isEmpty && contexts.count != parsed.clusters.count {
                    throw problem("the scenario has \(parsed.clusters.count) clusters but \(contexts.count) --context options were given")
                }
                clusters = parsed.clusters.enumerated().map { index, cluster in
                    (cluster.name, contexts.isEmpty ? cluster.context : contexts[index])
                }
                if case .explicit(let revision) = parsed.revision { expectations.revision = revision }
                expectations.namespace = parsed.namespace
                bounds = parsed.api
            } else if !contexts.isEmpty {
                clusters = zip(Scenario.defaultClusterNames(contexts: contexts), contexts).map { ($0, $1) }
            } else {
                clusters = [(loaded.currentContext ?? "current", nil)]
            }
            bounds = try api.applied(to: bounds)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw problem("\(error)")
        }
        var targets: [PreflightTarget] = []
        for cluster in clusters {
            do {
                var options = bounds.applied()
                options.serverWarningHandler = { context, text in
                    FileHandle.standardError.write(Data("meshcheck: warning: \(ServerWarning.line(context: context, text: text))\n".utf8))
                }
                let client = try KubeClient(kubeconfig: loaded, context: cluster.context, options: options)
                // Always shown: a disabled TLS check must not pass unnoticed in CI logs.
                for warning in client.warnings { FileHandle.standardError.write(Data("meshcheck: warning: \(warning)\n".utf8)) }
                targets.append(PreflightTarget(name: cluster.name, client: client))
            } catch {
                throw problem("\(error)")
            }
        }
        let report = await Preflight.run(targets, expectations: expectations)
        switch format {
        case .json:
            FileHandle.standardOutput.write(Data(try PreflightOutput.json(report).utf8))
        case .text:
            FileHandle.standardOutput.write(Data(PreflightOutput.checklist(report, width: Self.terminalWidth()).utf8))
        }
        throw ExitCode(report.exitCode)
    }

    /// Columns of the terminal on stdout; nil when stdout is not a terminal (lines are kept whole).
    static func terminalWidth() -> Int? {
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 100
    }
}
