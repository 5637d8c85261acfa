// Security end to end (issue 8), with the built CLI against the simulated mesh: kubeconfig secrets never
// reach stdout, stderr or a report file (passing, failing and errored runs, --verbose); hostile scenario
// values are refused before anything is created; a wrong CA, a rejected token and an exec plugin that
// answers another apiVersion end the run with an error naming the context; a disabled TLS check is
// always announced; cleanup deletes only the namespace this run created.

import Foundation
import KubeClient
import MeshSim
import MeshTestSupport
import XCTest

final class SecurityEndToEndTests: XCTestCase {
    // MARK: Fixture

    typealias Bed = FaultMatrixTests.Bed

    /// Starts a mesh, runs `body`, stops the mesh, then rethrows what `body` threw.
    func withBed(_ label: String, _ body: (Bed) async throws -> Void) async throws {
        let bed = try await Bed.start("security-\(label)")
        let outcome = await Result { try await body(bed) }
        await bed.mesh.stop()
        try outcome.get()
    }

    /// A YAML double-quoted scalar holding `value` exactly (JSON strings are YAML).
    static func yamlQuoted(_ value: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Values of `key:` lines of a kubeconfig file, in file order.
    static func values(of key: String, in kubeconfig: String) -> [String] {
        kubeconfig.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return trimmed.hasPrefix(key + ": ") ? String(trimmed.dropFirst(key.count + 2)) : nil
        }
    }

    // MARK: Secrets never leak

    /// The strings that show `secret` leaked: itself, and the stable core of its base64 encoding at each
    /// of the three byte alignments (standard and URL alphabets), so that it is found also inside a
    /// larger base64 blob. A PEM key adds each of its body lines (its DER in base64).
    static func leakForms(of secret: String) -> [String] {
        let bytes = Array(secret.utf8)
        var forms = [secret]
        for offset in 0..<3 {
            let encoded = Data(bytes.dropFirst(offset)).base64EncodedString()
            let core = String(encoded.dropLast(4)) // the last group depends on the bytes that follow
            guard core.count >= 16 else { continue }
            forms += [core, core.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")]
        }
        forms += secret.split(separator: "\n").filter { !$0.hasPrefix("-----") && $0.count >= 16 }.map(String.init)
        return forms
    }

    /// Fails for every leak form of every secret found in any of the texts.
    static func assertNoSecrets(
        _ secrets: [(label: String, value: String)], in texts: [(source: String, text: String)],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        for (label, value) in secrets {
            for form in leakForms(of: value) {
                for (source, text) in texts where text.contains(form) {
                    XCTFail("\(label) leaked into \(source) (as \(form.prefix(12))…)", file: file, line: line)
                }
            }
        }
    }

    /// stdout, stderr and every file a run left in its output directory.
    static func outputs(_ name: String, _ result: CLIResult, directory: String?) -> [(source: String, text: String)] {
        var texts = [("\(name) stdout", result.stdout), ("\(name) stderr", result.stderr)]
        if let directory, let files = FileManager.default.enumerator(atPath: directory) {
            for case let file as String in files {
                if let data = FileManager.default.contents(atPath: directory + "/" + file) {
                    texts.append(("\(name) \(file)", String(decoding: data, as: UTF8.self)))
                }
            }
        }
        return texts
    }

    /// One passing, one failing and three errored runs (a plugin answering another apiVersion, a wrong CA,
    /// a rejected token with TLS verification off), and a preflight, all with the simulator's client keys
    /// and tokens and an exec plugin's token in play. (An unreachable server is covered by
    /// RunAgainstExternalMeshTests; its connection retries take half a minute.)
    func testKubeconfigSecretsNeverReachOutputsOrReports() async throws {
        try await withBed("secrets") { bed in
            let before = try await bed.namespaces()
            let simulated = try String(contentsOfFile: bed.mesh.kubeconfigPath, encoding: .utf8)
            let tokens = Self.values(of: "token", in: simulated)
            let keys = Self.values(of: "client-key-data", in: simulated).compactMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            let authorities = Self.values(of: "certificate-authority-data", in: simulated)
            XCTAssertEqual(tokens.count, 2)
            XCTAssertEqual(keys.count, 2)
            XCTAssertTrue(keys.allSatisfy { $0.contains("PRIVATE KEY") })
            let wrongVersionToken = "plugin-wrong-version-token-\(UUID().uuidString)"
            var secrets = [
                ("cluster-1 token", tokens[0]), ("cluster-2 token (also the exec plugin's output)", tokens[1]),
                ("cluster-1 client key", keys[0]), ("cluster-2 client key", keys[1]),
                ("the wrong-version plugin's token", wrongVersionToken),
            ]
            // Preflight decodes the remote secrets (kubeconfigs with tokens for the peer clusters).
            for client in bed.clients {
                let remote: [Secret] = try await client.list(ResourcePath.secrets(in: "istio-system").labelSelector("istio/multiCluster=true"))
                for secret in remote {
                    for key in (secret.data ?? [:]).keys {
                        let kubeconfig = String(decoding: secret.decodedValue(key) ?? [], as: UTF8.self)
                        secrets += Self.values(of: "token", in: kubeconfig).map { ("\(client.name) remote secret \(secret.metadata.name ?? "?") token", $0) }
                    }
                }
            }
            XCTAssertEqual(secrets.count, 7, "each cluster holds one remote secret with a token")

            // Contexts over the simulator's clusters and users, in a second kubeconfig merged through KUBECONFIG.
            let (context1, context2) = (bed.mesh.contexts[0], bed.mesh.contexts[1])
            let hostileContext = "leak ctx;$(touch \(bed.marker))`touch \(bed.marker)`'q'"
            func plugin(_ name: String, answers version: String, token: String) throws -> String {
                let path = bed.directory + "/" + name
                try """
                #!/bin/sh
                printf '%s' '{"apiVersion":"client.authentication.k8s.io/\(version)","kind":"ExecCredential","status":{"token":"\(token)"}}'
                """.write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
                return path
            }
            let variants = bed.directory + "/variants.yaml"
            try """
            apiVersion: v1
            kind: Config
            clusters:
            - name: wrong-ca
              cluster: {server: "\(bed.mesh.clusterInfo[1].server)", certificate-authority-data: \(authorities[0])}
            - name: insecure
              cluster: {server: "\(bed.mesh.clusterInfo[1].server)", insecure-skip-tls-verify: true}
            users:
            - name: plugin-v1
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1, command: \(try plugin("plugin-v1", answers: "v1", token: tokens[1])), interactiveMode: Never}
            - name: plugin-wrong-version
              user:
                exec: {apiVersion: client.authentication.k8s.io/v1, command: \(try plugin("plugin-v1beta1", answers: "v1beta1", token: wrongVersionToken)), interactiveMode: Never}
            contexts:
            - name: \(try Self.yamlQuoted(hostileContext))
              context: {cluster: \(context2), user: \(context2)-token}
            - name: plugin-v1
              context: {cluster: \(context2), user: plugin-v1}
            - name: plugin-wrong-version
              context: {cluster: \(context2), user: plugin-wrong-version}
            - name: wrong-ca
              context: {cluster: wrong-ca, user: \(context2)-token}
            - name: insecure-401
              context: {cluster: insecure, user: \(context1)-token}
            """.write(toFile: variants, atomically: true, encoding: .utf8)
            let environment = ["KUBECONFIG": "\(bed.mesh.kubeconfigPath):\(variants)"]
            let failing = bed.directory + "/failing.yaml"
            try """
            name: leak-failing
            clusters:
              - context: \(context1)
                serves: v1
              - context: plugin-v1
                serves: v2
            expectations:
              latencySLO:
                local: {p50: 0.001}
            """.write(toFile: failing, atomically: true, encoding: .utf8)

            var texts: [(source: String, text: String)] = []
            func run(_ name: String, _ arguments: [String], verbose: Bool = true, expect exitCode: Int32) throws -> CLIResult {
                let output = bed.directory + "/" + name
                let result = try CLI.run(
                    ["run"] + arguments + ["--output-dir", output] + (verbose ? ["--verbose"] : []),
                    environment: environment, timeout: 180)
                XCTAssertEqual(result.exitCode, exitCode, "\(name): \(result.stderr)")
                texts += Self.outputs(name, result, directory: output)
                return result
            }

            // Passing: client certificate + token (through a context whose name is shell syntax).
            _ = try run("passing", ["--context", context1, "--context", hostileContext], expect: 0)
            // Failing check: client certificate + the exec plugin's token.
            let failed = try run("failing", [failing], expect: 1)
            XCTAssertTrue(failed.stdout.contains("latency"), failed.stdout)
            // A plugin answering v1beta1 when v1 was asked for: refused, bad input, nothing created.
            let wrongVersion = try run("plugin-wrong-version", ["--context", context1, "--context", "plugin-wrong-version"], expect: 2)
            XCTAssertTrue(
                wrongVersion.stderr.contains(
                    "context plugin-wrong-version: user: exec plugin is configured to use API version "
                        + "client.authentication.k8s.io/v1, plugin returned version client.authentication.k8s.io/v1beta1"),
                wrongVersion.stderr)
            // A CA that did not sign the server's certificate: fails closed, naming the context and the field.
            let wrongCA = try run("wrong-ca", ["--context", context1, "--context", "wrong-ca"], expect: 3)
            XCTAssertTrue(
                wrongCA.stderr.contains(
                    "context wrong-ca: API server unreachable: TLS: certificate signed by unknown authority "
                        + "— check certificate-authority-data"), wrongCA.stderr)
            // Without --verbose (not a terminal): the disabled TLS check is still announced; the token is rejected.
            let insecure = try run("insecure-401", ["--context", context1, "--context", "insecure-401"], verbose: false, expect: 3)
            XCTAssertTrue(
                insecure.stderr.contains("warning: context insecure-401: TLS certificate verification is disabled (insecure-skip-tls-verify)"),
                insecure.stderr)
            XCTAssertTrue(insecure.stderr.contains("context insecure-401: API server refused the request: Unauthorized (HTTP 401)"), insecure.stderr)
            let preflight = try CLI.run(
                ["preflight", "--context", context1, "--context", hostileContext, "-o", "json"],
                environment: environment, timeout: 120)
            XCTAssertEqual(preflight.exitCode, 0, preflight.stderr)
            texts += Self.outputs("preflight", preflight, directory: nil)
            // Preflight tells the three failures apart as the run does: the plugin is bad input (2)
            // and outranks the refused token and the untrusted server (3).
            let broken = try CLI.run(
                ["preflight", "--context", "plugin-wrong-version", "--context", "wrong-ca", "--context", "insecure-401"],
                environment: environment, timeout: 120)
            XCTAssertEqual(broken.exitCode, 2, broken.stdout + broken.stderr)
            for line in [
                "  no credentials: context plugin-wrong-version", "  unreachable: context wrong-ca", "  rejected: context insecure-401",
                "context plugin-wrong-version: user: exec plugin is configured to use API version",
                "context wrong-ca: API server unreachable: TLS: certificate signed by unknown authority",
                "context insecure-401: API server refused the request: Unauthorized (HTTP 401)",
            ] {
                XCTAssertTrue(broken.stdout.contains(line), "\(line) missing from\n\(broken.stdout)")
            }
            let environmentOnly = try CLI.run(
                ["preflight", "--context", "wrong-ca", "--context", "insecure-401", "-o", "json"],
                environment: environment, timeout: 120)
            XCTAssertEqual(environmentOnly.exitCode, 3, environmentOnly.stdout + environmentOnly.stderr)
            XCTAssertTrue(environmentOnly.stdout.contains("\"failure\" : \"rejected\""), environmentOnly.stdout)
            texts += Self.outputs("preflight-broken", broken, directory: nil) + Self.outputs("preflight-environment", environmentOnly, directory: nil)

            XCTAssertGreaterThanOrEqual(texts.count, 6 * 2 + 2 * 6, "the passing and failing runs must have left their report files")
            Self.assertNoSecrets(secrets, in: texts)
            XCTAssertFalse(FileManager.default.fileExists(atPath: bed.marker), "a context name was run by a shell")
            let after = try await bed.namespaces()
            XCTAssertEqual(after, before, "runs must leave no namespace behind and errored runs must create none")
        }
    }

    // MARK: Hostile input is refused before anything runs

    func testHostileScenarioValuesAreRejectedBeforeAnythingIsCreated() async throws {
        try await withBed("hostile") { bed in
            let before = try await bed.namespaces()
            let touch = "touch \(bed.marker)"
            var written = 0
            /// A scenario file on this mesh with the field at `path` set to `value`.
            func scenario(_ path: String, _ value: String) throws -> String {
                var fields = [
                    "name": "hostile-check", "clusters[0].name": "cluster-a", "clusters[0].serves": "v1",
                    "clusters[1].context": bed.mesh.contexts[1], "namespace": "hostile-ns",
                    "images.registry": "registry.istio.io/release", "images.sleep": "curlimages/curl:8.16.0",
                    "images.helloworld.v1": "registry.istio.io/release/examples-helloworld-v1:1.0",
                    "images.pullSecrets[0]": "regcred", "mesh.revision": "asm-1-23",
                ]
                fields[path] = value
                let q = { try Self.yamlQuoted(fields[$0]!) }
                written += 1
                let file = bed.directory + "/scenario-\(written).yaml"
                try """
                name: \(try q("name"))
                clusters:
                  - context: \(bed.mesh.contexts[0])
                    name: \(try q("clusters[0].name"))
                    serves: \(try q("clusters[0].serves"))
                  - context: \(try q("clusters[1].context"))
                namespace: \(try q("namespace"))
                images:
                  registry: \(try q("images.registry"))
                  sleep: \(try q("images.sleep"))
                  helloworld: {v1: \(try q("images.helloworld.v1"))}
                  pullSecrets: [\(try q("images.pullSecrets[0]"))]
                mesh:
                  revision: \(try q("mesh.revision"))
                """.write(toFile: file, atomically: true, encoding: .utf8)
                return file
            }
            let cases: [(path: String, value: String)] = [
                ("name", "smoke;\(touch)"),
                ("clusters[0].name", "a$(\(touch))"),
                ("clusters[0].serves", "v1`\(touch)`"),
                ("clusters[1].context", "\(bed.mesh.contexts[1])\n\(touch)"),
                ("namespace", "ns\n\(touch)"),
                ("images.registry", "registry.example.com/x $(\(touch))"),
                ("images.sleep", "curlimages/curl:8';\(touch);'"),
                ("images.helloworld.v1", "hw\"; \(touch)"),
                ("images.pullSecrets[0]", "regcred|\(touch)"),
                ("mesh.revision", "asm-1-23&&\(touch)"),
            ]
            let base = bed.kubeconfigArguments + ["--output-dir", bed.directory + "/out"]
            // Control: the scenario these cases start from is valid (preflight reads it without touching anything).
            let valid = try scenario("name", "hostile-check")
            let control = try CLI.run(["preflight", valid, "--kubeconfig", bed.mesh.kubeconfigPath], timeout: 60)
            XCTAssertNotEqual(control.exitCode, 2, "the unmodified scenario must be valid: \(control.stderr)")
            for (path, value) in cases {
                let result = try CLI.run(["run", try scenario(path, value)] + base, timeout: 60)
                XCTAssertEqual(result.exitCode, 2, "\(path) = \(value): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(path), "\(path): the error must name the field: \(result.stderr)")
            }
            // Command-line values go through the same rules, also those that would have crashed the run.
            for flags in [["--namespace", "ns;\(touch)"], ["--namespace", "$(\(touch))"], ["--bursts=-1"], ["--requests=0"]] {
                let result = try CLI.run(["run", valid] + flags + base, timeout: 60)
                XCTAssertEqual(result.exitCode, 2, "\(flags): \(result.stderr)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: bed.marker), "a scenario value was run by a shell")
            let after = try await bed.namespaces()
            XCTAssertEqual(after, before, "refused input must create nothing")
        }
    }

    // MARK: Cleanup deletes only what this run created

    /// Between deploy and cleanup someone deletes the run's namespace and creates one of the same name:
    /// in cluster 1 without labels, in cluster 2 with meshcheck's labels copied. Cleanup deletes neither
    /// and reports both as left behind.
    func testCleanupNeverDeletesANamespaceThisRunDidNotCreate() async throws {
        try await withBed("cleanup-guard") { bed in
            // Converge cannot finish while cluster 1 lacks cluster 2's remote secret: the run waits there.
            try await bed.clients[0].delete(.secrets(in: "istio-system", "istio-remote-secret-cluster-2"))
            let namespace = "guard-check"
            let scenario = bed.directory + "/scenario.yaml"
            try """
            name: guard
            clusters:
              - context: \(bed.mesh.contexts[0])
              - context: \(bed.mesh.contexts[1])
            namespace: \(namespace)
            timeouts:
              converge: 120s
              cleanup: 20s
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
            let output = bed.directory + "/out"
            let child = try CLI.launch(["run", scenario, "--output-dir", output] + bed.kubeconfigArguments)
            let process = child.process
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

            // Wait (bounded) until both clusters hold the run's last manifest: deploy has applied everything.
            try await FaultMatrixTests.waitUntil("the run has deployed into both clusters", seconds: 60) {
                for client in bed.clients {
                    let deployed: Bool
                    do {
                        _ = try await client.get(.deployments(in: namespace, "sleep"), as: JSONValue.self)
                        deployed = true
                    } catch {
                        deployed = false
                    }
                    if !deployed { return false }
                }
                return true
            }
            var impostors: [String?] = []
            for (index, client) in bed.clients.enumerated() {
                let original: Namespace = try await client.get(.namespaces(namespace))
                try await client.delete(.namespaces(namespace))
                try await FaultMatrixTests.waitUntil("namespace \(namespace) is gone from cluster \(index + 1)") {
                    (try? await client.get(.namespaces(namespace), as: Namespace.self)) == nil
                }
                let labels = index == 0 ? [:] : original.metadata.labels ?? [:]
                let metadata = JSONValue.object(["name": .string(namespace), "labels": .object(labels.mapValues { .string($0) })])
                let created: Namespace = try await client.create(
                    .namespaces(),
                    JSONValue.object([
                        "apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": metadata,
                    ]))
                XCTAssertNotEqual(created.metadata.uid, original.metadata.uid)
                impostors.append(created.metadata.uid)
                let _: JSONValue = try await client.create(
                    .configMaps(in: namespace),
                    JSONValue.object([
                        "apiVersion": .string("v1"), "kind": .string("ConfigMap"), "metadata": .object(["name": .string("keep-me")]),
                        "data": .object(["owner": .string("someone else")]),
                    ]))
            }
            kill(process.processIdentifier, SIGINT)
            let signalled = Date()
            while process.isRunning && Date().timeIntervalSince(signalled) < 60 { try await Task.sleep(for: .milliseconds(100)) }
            XCTAssertFalse(process.isRunning, "meshcheck did not exit within 60 s of SIGINT")
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            let result = child.wait()
            XCTAssertEqual(result.status, 130, result.stderrText)

            for (index, client) in bed.clients.enumerated() {
                let survivor: Namespace = try await client.get(.namespaces(namespace))
                XCTAssertEqual(survivor.metadata.uid, impostors[index], "cluster \(index + 1)")
                XCTAssertNil(survivor.metadata.deletionTimestamp, "cluster \(index + 1): the other owner's namespace is being deleted")
                let kept: JSONValue = try await client.get(.configMaps(in: namespace, "keep-me"))
                XCTAssertEqual(kept["data"]?["owner"]?.stringValue, "someone else")
            }
            let cleanup = try XCTUnwrap(try CLI.report(in: output)["cleanup"] as? [String: Any])
            XCTAssertEqual(cleanup.string("status"), "failed")
            let reasons = cleanup.array("leftovers").compactMap { $0.string("reason") }
            XCTAssertEqual(reasons.count, 2, "\(cleanup)")
            XCTAssertTrue(reasons.contains { $0.contains("does not carry this run's meshcheck.io/run-id") }, "\(reasons)")
            XCTAssertTrue(reasons.contains { $0.contains("is not the one this run created") }, "\(reasons)")
        }
    }
}

extension FaultMatrixTests.Bed {
    var kubeconfigArguments: [String] { ["--kubeconfig", mesh.kubeconfigPath] }
    /// A file that must never appear: every hostile value in these tests tries to create it through a shell.
    var marker: String { directory + "/pwned" }

    /// Every namespace of every cluster, as `cluster/name`.
    func namespaces() async throws -> [String] {
        var names: [String] = []
        for client in clients {
            let list: [Namespace] = try await client.list(ResourcePath.namespaces())
            names += list.compactMap { $0.metadata.name.map { "\(client.name)/\($0)" } }
        }
        return names.sorted()
    }
}

extension Result where Failure == any Error {
    /// The outcome of async work, so that cleanup can run before it is rethrown.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
