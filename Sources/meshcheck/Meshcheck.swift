import ArgumentParser
import Foundation
import MeshCheck

/// The `meshcheck` command line: thin argument parsing over the MeshCheck module.
@main
struct Meshcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: invokedName,
        abstract: "Verify and measure cross-cluster load balancing in a multi-cluster service mesh.",
        discussion: """
            Exit codes: 0 all checks passed, 1 a check failed, 2 bad input, 3 environment error, \
            4 cleanup failed, 130 interrupted.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ReportCommand.self, PreflightCommand.self, SimCommand.self]
    )

    /// Run through the `kubectl-meshcheck` link, kubectl has started it as the plugin `kubectl meshcheck`:
    /// usage and help name it so, as kubectl plugins do. Completion scripts keep `meshcheck`, the name
    /// their functions are keyed on.
    static let invokedName: String = {
        let arguments = CommandLine.arguments
        let base = arguments.first.flatMap { $0.split(separator: "/").last.map(String.init) }
        let completion = arguments.contains { $0.hasPrefix("--generate-completion-script") }
        return base == "kubectl-meshcheck" && !completion ? "kubectl meshcheck" : "meshcheck"
    }()

    /// `--simulate` may stand alone (`--simulate[=N]`); argument-parser options always take a value,
    /// so a bare one is spelled out as 0 ("as many clusters as the scenario needs").
    static func main() async {
        // A thousand concurrent bursts (and the in-process simulated mesh) need more than the usual soft limit of 1024.
        DescriptorBudget.raiseSoftLimit()
        let arguments = CommandLine.arguments.dropFirst().map { $0 == "--simulate" ? "--simulate=0" : $0 }
        do {
            var command = try parseAsRoot(Array(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            // Usage errors are bad input: exit 2 as documented, not argument-parser's 64.
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
