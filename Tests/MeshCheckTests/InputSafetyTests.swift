// Security: every scenario value that reaches a cluster (names, labels, URL paths) or the pod (the
// in-pod burst command) is validated before anything runs, and the in-pod command is a constant
// program whose run-specific values travel as positional arguments, never as program text.

import Foundation
import MeshTestSupport
import Testing

@testable import MeshCheck

@Suite struct InputSafetyTests {
    /// Shell metacharacters, quoting, whitespace, control bytes and non-ASCII, each appended to a
    /// value that is valid in every field below (`v1`).
    static let payloads = [
        ";id", "$(id)", "`id`", "'q'", "\"q\"", "\nid", "\rid", " id", "\tid", "|id", "&&id", ">x", "<x",
        "*", "?", "\\x", "#x", "${IFS}", "!x", "~x", "\u{0}", "\u{7f}", "é", "\u{ff11}",
    ]

    /// A field of the scenario and how to put a value into it.
    struct Field: CustomStringConvertible, Sendable {
        var path: String
        var set: @Sendable (inout Scenario, String) -> Void
        var description: String { path }
    }

    static let fields: [Field] = [
        Field(path: "name") { $0.name = $1 },
        Field(path: "namespace") { $0.namespace = $1 },
        Field(path: "clusters[0].name") { $0.clusters[0].name = $1 },
        Field(path: "clusters[1].serves") { $0.clusters[1].serves = $1 },
        Field(path: "images.registry") { $0.images.registry = $1 },
        Field(path: "images.sleep") { $0.images.sleep = $1 },
        Field(path: "images.helloworld.v1") { $0.images.helloworldOverrides["v1"] = $1 },
        Field(path: "images.pullSecrets[0]") { $0.images.pullSecrets = [$1] },
        Field(path: "images.pullSecretsFrom") {
            $0.images.pullSecrets = ["regcred"]
            $0.images.pullSecretsFrom = $1
        },
        Field(path: "mesh.revision") { $0.revision = .explicit($1) },
    ]

    static func base() throws -> Scenario {
        try Scenario.guideCheck(contexts: ["gke_p_z_cluster-1", "gke_p_z_cluster-2"])
    }

    @Test(arguments: fields)
    func everyHostileValueIsRejectedWhereItWouldReachAClusterOrThePod(field: Field) throws {
        var valid = try Self.base()
        field.set(&valid, "v1")
        let baseline = ScenarioValidator.problems(in: valid)
        #expect(baseline.isEmpty, "the control value must be valid in \(field): \(baseline)")
        for payload in Self.payloads {
            var scenario = try Self.base()
            field.set(&scenario, "v1" + payload)
            let paths = ScenarioValidator.problems(in: scenario).map(\.path)
            #expect(paths.contains(field.path), "\(NameRules.quoted("v1" + payload)) in \(field) was accepted")
        }
    }

    /// `--namespace` and the other overrides go through the same validation as the file.
    @Test func commandLineOverridesAreValidatedLikeTheFile() throws {
        for payload in Self.payloads {
            #expect(throws: ScenarioError.self) { try Self.base().applying(ScenarioOverrides(namespace: "ns" + payload)) }
        }
        // Out-of-range load values would crash the run after the namespaces exist; they are refused first.
        for load in [
            LoadSettings(bursts: -1), LoadSettings(bursts: 0), LoadSettings(requestsPerBurst: 0),
            LoadSettings(concurrentBurstsPerClientPod: 0), LoadSettings(concurrentBurstsPerClientPod: 1001),
        ] {
            var scenario = try Self.base()
            scenario.load = load
            #expect(!ScenarioValidator.problems(in: scenario).isEmpty, "\(load) was accepted")
        }
    }

    /// Context names are free-form kubeconfig keys (they never reach a shell, a URL or a label), so only
    /// control bytes are refused; the cluster names derived from them are always DNS-1123 labels.
    @Test func contextNamesOnlyNameKubeconfigEntriesAndDeriveSafeClusterNames() throws {
        for payload in Self.payloads {
            let context = "ctx" + payload
            let hasControl = context.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
            if hasControl {
                #expect(throws: ScenarioError.self) { try Scenario.guideCheck(contexts: [context, "other"]) }
                continue
            }
            let scenario = try Scenario.guideCheck(contexts: [context, "gke_p_z_" + context])
            for cluster in scenario.clusters {
                #expect(NameRules.dns1123LabelProblem(cluster.name) == nil, "derived \(NameRules.quoted(cluster.name)) from \(NameRules.quoted(context))")
            }
        }
    }

    /// For every accepted namespace and load shape the argv is the constant program followed by a URL
    /// built from validated names and decimal numbers; a namespace that was not validated is refused.
    @Test func theBurstCommandCarriesOnlyValidatedValuesAfterAConstantProgram() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-")
        let modes: [LoadMode] = [.sequential, .parallelInPod(parallelism: 4), .paced(ratePerSecond: 37.5, parallelism: 3)]
        let number = #/[0-9]+(\.[0-9]+)?/#
        for round in 0..<300 {
            let length = Int.random(in: 1...63, using: &generator)
            var namespace = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            if namespace.hasPrefix("-") || namespace.hasSuffix("-") { namespace = "a" + namespace.trimmingCharacters(in: ["-"]) + "z" }
            namespace = String(namespace.prefix(63))
            var scenario = try Self.base()
            scenario.namespace = namespace
            scenario.load = LoadSettings(
                requestsPerBurst: Int.random(in: 4...10_000, using: &generator), mode: modes[round % modes.count],
                requestTimeout: .milliseconds(Int.random(in: 1000...60_000, using: &generator)),
                connectTimeout: .milliseconds(Int.random(in: 1...1000, using: &generator)), connectionReuse: round % 2 == 1)
            guard ScenarioValidator.problems(in: scenario).isEmpty else { continue }
            let argv = try BurstCommand(target: .helloWorld(namespace: namespace), burst: round, load: scenario.load).argv()
            let program = scenario.load.connectionReuse ? BurstCommand.reuseScript : BurstCommand.script
            #expect(Array(argv.prefix(4)) == ["/bin/sh", "-c", program, "meshcheck"])
            #expect(argv[4] == "http://helloworld.\(namespace):5000/hello")
            for argument in argv.dropFirst(5).dropLast(2) {
                #expect(argument.wholeMatch(of: number) != nil, "non-numeric argument \(NameRules.quoted(argument))")
            }
            // The engine, and the reuse engine's marker: letters and digits only.
            #expect(argv[argv.count - 2] == (scenario.load.connectionReuse ? "reuse" : "fresh"))
            #expect(argv.last == "-" || argv.last?.wholeMatch(of: /[A-Za-z0-9]{8,64}/) != nil)
        }
        for payload in Self.payloads {
            let command = BurstCommand(target: .helloWorld(namespace: "ns" + payload), burst: 0, load: LoadSettings())
            #expect(throws: BurstCommandError.self, "namespace \(NameRules.quoted("ns" + payload)) reached the pod") { try command.argv() }
        }
    }

    /// Defence in depth: even an argument that skipped validation is data to the program, never code —
    /// nothing it contains is executed.
    @Test(arguments: TestShell.allCases)
    func positionalArgumentsAreNeverEvaluated(shell: TestShell) throws {
        let shellCommand = try #require(shell.command, "\(shell) is needed to run the in-pod script")
        let directory = try TemporaryDirectory(prefix: "meshcheck-input-safety")
        defer { withExtendedLifetime(directory) {} }
        let marker = directory.path("executed")
        let injections = ["$(touch \(marker))", "`touch \(marker)`", "; touch \(marker)", "\n touch \(marker)", "' ; touch \(marker) ; '"]
        let port = try refusedLoopbackPort()
        let valid = ["http://127.0.0.1:\(port)/hello", "0", "1", "1", "0", "0", "1", "1"]
        for injection in injections {
            for position in valid.indices {
                var arguments = valid
                arguments[position] = position == 0 ? valid[0] + injection : injection
                _ = try ChildProcess.run(
                    shellCommand[0], Array(shellCommand.dropFirst()) + ["-c", BurstCommand.script, "meshcheck"] + arguments,
                    environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"])
                #expect(
                    !FileManager.default.fileExists(atPath: marker),
                    "argument \(position + 1) = \(NameRules.quoted(arguments[position])) was executed by \(shell)")
                try? FileManager.default.removeItem(atPath: marker)
            }
        }
    }

    /// The manifests run no command built from input: the only container command is Sleep's constant one,
    /// and user values appear only as whole JSON string values (image, names, labels).
    @Test func manifestsCarryValuesOnlyAsWholeFields() throws {
        var scenario = try Self.base()
        scenario.images = ImageSettings(
            registry: "registry.example.com:5000/mirror", helloworldOverrides: ["v2": "example.com/hw@sha256:abc"],
            sleep: "example.com/curl:8.1", pullSecrets: ["regcred"])
        for cluster in scenario.clusters {
            let manifests = Workloads.manifests(for: cluster, scenario: scenario, namespace: "ns-1", runID: "20261123-112000-ab12cd", revision: "asm-1-23")
            for item in manifests.items {
                let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(item.body))
                for command in Self.values(forKey: "command", in: json) {
                    #expect(command as? [String] == ["/bin/sleep", "infinity"], "\(item.reference) runs \(command)")
                }
                #expect(Self.values(forKey: "args", in: json).isEmpty, "\(item.reference) passes args")
            }
        }
    }

    private static func values(forKey key: String, in json: Any) -> [Any] {
        if let object = json as? [String: Any] {
            return object.flatMap { entry in (entry.key == key ? [entry.value] : []) + values(forKey: key, in: entry.value) }
        }
        if let array = json as? [Any] { return array.flatMap { values(forKey: key, in: $0) } }
        return []
    }
}
