// `meshcheck preflight` against a hostile "API server" on 127.0.0.1 (Tests/scripts/hostile-api-server.py): every
// answer is bounded, and a server that answered badly is named for what it did, never "unreachable".

import Foundation
import MeshTestSupport
import XCTest

final class BoundsEndToEndTests: XCTestCase {
    static let contexts = ["hostile-1", "hostile-2"]

    /// Runs `meshcheck preflight` for `contexts` against `server` and returns the result, the seconds it took, and
    /// meshcheck's own peak resident memory (wait4).
    private func preflight(
        _ server: HostileServer, _ extra: [String] = [], contexts: [String] = BoundsEndToEndTests.contexts, timeout: TimeInterval = 120
    ) throws -> (CLIResult, TimeInterval, Int) {
        let kubeconfig = try server.directory.write("kubeconfig", server.kubeconfig(contexts: contexts))
        let started = Date()
        let (result, peak) = try PeakMemory.run(
            CLI.binary, ["preflight", "--kubeconfig", kubeconfig] + contexts.flatMap { ["--context", $0] } + extra,
            environment: CLI.environment(), timeout: .deadline(timeout))
        XCTAssertFalse(result.timedOut, "meshcheck preflight did not finish within \(Int(timeout)) s")
        return (CLIResult(result), Date().timeIntervalSince(started), peak)
    }

    /// The issue's acceptance: an endless body ends as "answer too large" for each context, exit 3, under 256 MB,
    /// with the default limit (64 MiB).
    func testEndlessBodyIsTooLargeForEachContextWithinTheMemoryCeiling() throws {
        let server = try HostileServer(.endlessBody)
        // A long request timeout, so that only the size limit can end it even when a loaded machine streams slowly.
        let (result, seconds, peak) = try preflight(server, ["--api-timeout", "5m"])
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.exitCode, 3, output)
        for context in Self.contexts {
            XCTAssertTrue(result.stdout.contains("answer too large: context \(context)\n"), output)
            XCTAssertTrue(
                result.stdout.contains("context \(context): GET /version: the answer from https://127.0.0.1:\(server.port) is too large"), output)
        }
        // The limit ended it: a timeout would read "answer too slow". No stopwatch assertion.
        XCTAssertTrue(result.stdout.contains("passed the response limit of 64 MiB"), output)
        XCTAssertFalse(output.contains("unreachable"), output)
        XCTAssertFalse(output.contains("not-a-real-token"), output)
        print("endless body: preflight ended in \(String(format: "%.1f", seconds)) s, peak resident \(peak >> 20) MiB")
        XCTAssertLessThan(peak, 256 << 20, "peak resident \(peak >> 20) MiB")
    }

    /// More contexts do not multiply the memory: the answers in flight share one budget (128 MiB), so eight contexts
    /// on the same endless body stay under the same ceiling as two.
    func testManyContextsShareOneBudget() throws {
        let server = try HostileServer(.endlessBody)
        let contexts = (1...8).map { "hostile-\($0)" }
        let (result, _, peak) = try preflight(server, ["--api-timeout", "5m"], contexts: contexts)
        XCTAssertEqual(result.exitCode, 3, result.stdout + result.stderr)
        for context in contexts { XCTAssertTrue(result.stdout.contains("answer too large: context \(context)\n"), result.stdout) }
        XCTAssertTrue(result.stdout.contains("the most meshcheck holds at once"), result.stdout)
        print("endless body, 8 contexts: peak resident \(peak >> 20) MiB")
        XCTAssertLessThan(peak, 256 << 20, "peak resident \(peak >> 20) MiB")
    }

    /// A lower limit from the command line is the one the message names; JSON says the failure kind.
    func testMaxResponseSizeFlagSetsTheLimit() throws {
        let server = try HostileServer(.endlessBody)
        let (result, _, _) = try preflight(server, ["--max-response-size", "2Mi", "-o", "json"])
        XCTAssertEqual(result.exitCode, 3, result.stderr)
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document.array("clusters").compactMap { $0.string("failure") }, ["too-large", "too-large"], result.stdout)
        XCTAssertTrue(result.stdout.contains("passed the response limit of 2 MiB"), result.stdout)
    }

    /// One byte a second: "too slow", naming the bytes received, within the request timeout plus a margin.
    func testTrickleIsTooSlowAndNamesTheBytesReceived() throws {
        let server = try HostileServer(.trickle)
        let (result, seconds, _) = try preflight(server, ["--api-timeout", "3s"])
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.exitCode, 3, output)
        for context in Self.contexts { XCTAssertTrue(result.stdout.contains("answer too slow: context \(context)\n"), output) }
        XCTAssertNotNil(result.stdout.range(of: #"was too slow: \d+ bytes received before the request timeout of 3s"#, options: .regularExpression), output)
        XCTAssertFalse(output.contains("unreachable"), output)
        XCTAssertLessThan(seconds, 3 + 20)
    }

    /// Connected, then silence: "no answer", not "unreachable".
    func testSilentServerIsNoAnswer() throws {
        let server = try HostileServer(.silent)
        let (result, seconds, _) = try preflight(server, ["--api-timeout", "2s"])
        XCTAssertEqual(result.exitCode, 3, result.stdout + result.stderr)
        for context in Self.contexts { XCTAssertTrue(result.stdout.contains("no answer: context \(context)\n"), result.stdout) }
        XCTAssertLessThan(seconds, 2 + 20)
    }

    /// A proxy that accepts the connection and never opens the tunnel: the connect timeout ends it, and the message
    /// names the proxy rather than the API server.
    func testSilentProxyEndsAtTheConnectTimeoutNamingTheProxy() throws {
        let proxy = try HostileServer(.silentProxy)
        let server = "https://127.0.0.1:1"
        let kubeconfig = try proxy.directory.write("kubeconfig", proxy.kubeconfig(contexts: Self.contexts, proxyFor: server))
        let started = Date()
        let (result, _) = try PeakMemory.run(
            CLI.binary, ["preflight", "--kubeconfig", kubeconfig, "--api-timeout", "3s"] + Self.contexts.flatMap { ["--context", $0] },
            environment: CLI.environment(), timeout: .deadline(120))
        let seconds = Date().timeIntervalSince(started)
        let cli = CLIResult(result)
        let stdout = cli.stdout
        XCTAssertEqual(cli.exitCode, 3, stdout + cli.stderr)
        for context in Self.contexts { XCTAssertTrue(stdout.contains("unreachable: context \(context)\n"), stdout) }
        XCTAssertTrue(
            stdout.contains("no connection to \(server) through the proxy within the connect timeout of 3s"), stdout)
        XCTAssertTrue(stdout.contains("check proxy-url / HTTPS_PROXY / NO_PROXY"), stdout)
        XCTAssertLessThan(seconds, 3 + 20)
    }

    /// `meshcheck run` stops at its connect phase with the same words and exit code, having created nothing.
    func testRunStopsOnAnAnswerTooLarge() throws {
        let server = try HostileServer(.endlessBody)
        let kubeconfig = try server.directory.write("kubeconfig", server.kubeconfig(contexts: Self.contexts))
        let output = try CLI.temporaryDirectory("bounds-run")
        let result = try CLI.run(
            ["run", "--kubeconfig", kubeconfig, "--output-dir", output, "--max-response-size", "4Mi"]
                + Self.contexts.flatMap { ["--context", $0] }, timeout: 120)
        XCTAssertEqual(result.exitCode, 3, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("GET /version: the answer from https://127.0.0.1:\(server.port) is too large"), result.stderr)
        XCTAssertTrue(result.stderr.contains("passed the response limit of 4 MiB"), result.stderr)
        XCTAssertFalse(result.stderr.contains("unreachable"), result.stderr)
        XCTAssertTrue(result.stdout.contains("nothing created"), result.stdout)
    }

    /// Bad values of the flags are bad input (exit 2) with a message naming the flag.
    func testBadBoundFlagsAreBadInput() throws {
        let server = try HostileServer(.garbage)
        for (flags, expected) in [
            (["--max-response-size", "lots"], "--max-response-size: must be a size such as 64Mi"),
            (["--max-response-size", "512Ki"], "--max-response-size: must be between 1Mi and 4Gi, got 512Ki"),
            (["--api-timeout", "0s"], "--api-timeout: must be greater than 0 and at most 10m, got 0ms"),
        ] {
            let (result, _, _) = try preflight(server, flags)
            XCTAssertEqual(result.exitCode, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains(expected), result.stderr)
        }
    }
}
