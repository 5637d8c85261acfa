import ArgumentParser

/// The `meshcheck` command line: thin argument parsing over the MeshCheck module.
@main
struct Meshcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshcheck",
        abstract: "Verify and measure cross-cluster load balancing in a multi-cluster service mesh.",
        version: "0.1.0",
        subcommands: [SimCommand.self]
    )
}
