import Foundation
import KubeClient
import MeshCheck
import MeshSim

// guide-procedure: the multi-cluster install guide's verification as people do it today — kubectl
// commands typed one after the other — against `meshcheck run scenarios/smoke.yaml`, on the same
// simulated mesh. Both sides create the namespaces, deploy HelloWorld v1/v2 and Sleep, wait until
// ready, send 20 requests from each cluster's Sleep pod and delete the namespaces, waiting until gone.

/// The repository root (the guide's manifests and the scenarios live there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// kubectl against the simulated mesh, one command at a time.
struct Kubectl: Sendable {
    var kubeconfig: String
    /// kubectl's discovery cache, kept apart from the user's.
    var cacheDirectory: String

    /// Runs kubectl to completion; its stdout, or nil (with stderr kept for the failure message) when it fails.
    func run(_ arguments: [String]) -> (output: String?, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kubectl")
        process.arguments = arguments
        process.environment = [
            "KUBECONFIG": kubeconfig, "KUBECACHEDIR": cacheDirectory, "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": NSTemporaryDirectory(),
        ]
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        do { try process.run() } catch { return (nil, "cannot start kubectl: \(error)") }
        // stdout first: it is the larger (20 answers at most); kubectl's stderr here is a line or two.
        let text = output.fileHandleForReading.readDataToEndOfFile()
        let errors = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: errors, as: UTF8.self)
        return process.terminationStatus == 0 ? (String(decoding: text, as: UTF8.self), stderr) : (nil, stderr)
    }

    /// Runs kubectl and stops the benchmark if it fails: the procedure must work for its time to count.
    @discardableResult
    func must(_ arguments: [String]) -> String {
        let (output, error) = run(arguments)
        guard let output else { fatalError("kubectl \(arguments.joined(separator: " ")) failed: \(error)") }
        return output
    }
}

/// The guide's sample (namespace `sample`, HelloWorld v<n> in cluster n, Sleep everywhere) driven with
/// kubectl from the manifests of the conformance script (Tests/scripts/manifests).
struct GuideSample: Sendable {
    static let namespace = "sample"
    let kubectl: Kubectl
    /// One context per cluster, in order.
    let contexts: [String]
    var manifests: String { repositoryRoot + "/Tests/scripts/manifests" }

    /// Create and label the namespaces, apply the manifests, wait until every pod is ready: the guide's steps.
    func deploy() {
        for context in contexts { kubectl.must(["--context", context, "create", "namespace", Self.namespace]) }
        let revision = kubectl.must([
            "--context", contexts[0], "get", "deployment", "-n", "istio-system", "-l", "app=istiod",
            "-o", #"jsonpath={.items[0].metadata.labels.istio\.io/rev}"#,
        ])
        for context in contexts {
            kubectl.must(["--context", context, "label", "namespace", Self.namespace, "istio.io/rev=\(revision)"])
        }
        for context in contexts {
            kubectl.must(["--context", context, "apply", "-f", manifests + "/helloworld.yaml", "-l", "service=helloworld", "-n", Self.namespace])
        }
        for (index, context) in contexts.enumerated() {
            kubectl.must(["--context", context, "apply", "-f", manifests + "/helloworld.yaml", "-l", "version=v\(index + 1)", "-n", Self.namespace])
        }
        for context in contexts { kubectl.must(["--context", context, "apply", "-f", manifests + "/sleep.yaml", "-n", Self.namespace]) }
        for context in contexts {
            for app in ["helloworld", "sleep"] { waitReady(context: context, app: app) }
        }
    }

    /// `kubectl wait` for the app's pods; retried (bounded) while the Deployment has not made them yet,
    /// as a person re-runs it after "no matching resources found".
    private func waitReady(context: String, app: String) {
        let arguments = ["--context", context, "wait", "--for=condition=Ready", "pod", "-l", "app=\(app)", "-n", Self.namespace, "--timeout=60s"]
        for _ in 0..<50 {
            if kubectl.run(arguments).output != nil { return }
            usleep(100_000)
        }
        kubectl.must(arguments)
    }

    func sleepPod(context: String) -> String {
        kubectl.must(["--context", context, "get", "pod", "-n", Self.namespace, "-l", "app=sleep", "-o", "jsonpath={.items[0].metadata.name}"])
    }

    /// The guide's check from one cluster: 20 requests from its Sleep pod, answers counted.
    func curlLoop(context: String) -> Int {
        let pod = sleepPod(context: context)
        let answers = kubectl.must([
            "--context", context, "exec", "-n", Self.namespace, "-c", "sleep", pod, "--",
            "/bin/sh", "-c", "for i in $(seq 1 20); do curl -sS helloworld.\(Self.namespace):5000/hello; done",
        ])
        return answers.split(separator: "\n").filter { $0.hasPrefix("Hello version: ") }.count
    }

    /// `kubectl delete namespace` waits until each namespace is gone.
    func deleteNamespaces() {
        for context in contexts { kubectl.must(["--context", context, "delete", "namespace", Self.namespace]) }
    }
}

/// Starts the default two-cluster simulated mesh (the contexts scenarios/smoke.yaml names).
func startGuideMesh() -> (SimulatedMesh, Kubectl) {
    let mesh: SimulatedMesh
    do { mesh = try blocking { try await SimulatedMesh.start(SimulatedMeshOptions()) } } catch { fatalError("cannot start the simulated mesh: \(error)") }
    let cache = NSTemporaryDirectory() + "meshbench-kubectl-cache-\(getpid())"
    return (mesh, Kubectl(kubeconfig: mesh.kubeconfigPath, cacheDirectory: cache))
}

extension Benchmark {
    static let guideProcedureRounds = 3

    /// Wall seconds of the procedure by hand with kubectl vs one `meshcheck run` of the smoke scenario,
    /// best of 3 each, alternated.
    static let guideProcedure = Benchmark(name: "guide-procedure") {
        let (mesh, kubectl) = startGuideMesh()
        defer {
            _ = try? blocking { await mesh.stop() }
            try? FileManager.default.removeItem(atPath: kubectl.cacheDirectory)
        }
        let sample = GuideSample(kubectl: kubectl, contexts: mesh.contexts)
        let clock = ContinuousClock()
        var ours = Double.infinity
        var baseline = Double.infinity
        for _ in 0..<guideProcedureRounds {
            let byHand = clock.measure {
                sample.deploy()
                for context in mesh.contexts {
                    let answers = sample.curlLoop(context: context)
                    precondition(answers == 20, "guide-procedure: \(answers) of 20 requests answered from \(context)")
                }
                sample.deleteNamespaces()
            }
            baseline = min(baseline, byHand.seconds)
            let run = clock.measure {
                let exitCode = ScenarioRunChild.spawn(kubeconfig: mesh.kubeconfigPath, scenario: repositoryRoot + "/scenarios/smoke.yaml")
                precondition(exitCode == 0, "guide-procedure: meshcheck run of the smoke scenario exited \(exitCode)")
            }
            ours = min(ours, run.seconds)
        }
        return Comparison(name: "guide-procedure", ours: ours, baseline: baseline, unit: .seconds)
    }
}

/// `meshcheck run SCENARIO` in a child process of this binary: the run API the CLI calls (the report
/// files, which MeshBench does not link, are left out; records.jsonl is written).
enum ScenarioRunChild {
    static let argument = "run-scenario"

    /// Runs the scenario in a child process and returns its exit code (the run's exit code).
    static func spawn(kubeconfig: String, scenario: String) -> Int32 {
        let records = NSTemporaryDirectory() + "meshbench-records-\(getpid()).jsonl"
        defer { unlink(records) }
        guard let pid = spawnDiscardingOutput(CommandLine.arguments[0], [argument, kubeconfig, scenario, records]) else { return -1 }
        return exitStatus(of: pid) ?? -1
    }

    static func run(_ arguments: [String]) -> Never {
        guard arguments.count == 3 else {
            print("usage: MeshBench \(argument) KUBECONFIG SCENARIO RECORDS")
            exit(2)
        }
        do {
            let scenario = try ScenarioLoader.load(path: arguments[1])
            let kubeconfig = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: arguments[0]))
            let settings = RunSettings(
                scenario: scenario, kubeconfig: kubeconfig, identity: .fresh(now: Int64(Date().timeIntervalSince1970)),
                recordsPath: arguments[2], progress: { _ in })
            let outcome = try blocking { await MeshCheckRun(settings: settings).execute() }
            exit(outcome.exitCode)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
