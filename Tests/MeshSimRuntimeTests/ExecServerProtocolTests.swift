import Testing

@testable import MeshSimRuntime

@Suite struct ExecServerProtocolTests {
    @Test func negotiationFollowsTheTranslatorThenTheKubelet() {
        #expect(ExecServerSubprotocol.negotiate(offered: "v5.channel.k8s.io, v4.channel.k8s.io") == .v5)
        #expect(ExecServerSubprotocol.negotiate(offered: "v4.channel.k8s.io,v5.channel.k8s.io") == .v5)
        #expect(ExecServerSubprotocol.negotiate(offered: "v5.channel.k8s.io,  v4.channel.k8s.io") == .v5)
        #expect(ExecServerSubprotocol.negotiate(offered: "channel.k8s.io, v4.channel.k8s.io") == .v4)
        #expect(ExecServerSubprotocol.negotiate(offered: "v5.CHANNEL.k8s.io") == nil)
        #expect(ExecServerSubprotocol.negotiate(offered: "v3.channel.k8s.io, channel.k8s.io") == nil)
        #expect(ExecServerSubprotocol.negotiate(offered: "") == nil)
    }

    @Test func successStatusIsTheExactGoEncoding() {
        #expect(
            ExecServerStatus.forOutcome(.exited(code: 0), command: ["true"], subprotocol: .v5).json
                == #"{"metadata":{},"status":"Success"}"#)
    }

    @Test func nonZeroExitCarriesTheCodeAsAReasonCause() {
        let v5 = ExecServerStatus.forOutcome(.exited(code: 3), command: ["sh", "-c", "exit 3"], subprotocol: .v5)
        #expect(
            v5.json
                == #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        )
        let v4 = ExecServerStatus.forOutcome(.exited(code: 137), command: ["sleep", "9"], subprotocol: .v4)
        #expect(
            v4.json
                == #"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sleep 9], exit code 137","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"137"}]}}"#
        )
    }

    @Test func startFailureIsAnInternalErrorWithGoEscaping() {
        let status = ExecServerStatus.forOutcome(.failedToStart(reason: #"exec: "a<b": not found"#), command: ["a<b"], subprotocol: .v5)
        #expect(
            status.json
                == #"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: exec: \"a\u003cb\": not found","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: exec: \"a\u003cb\": not found"}]},"code":500}"#
        )
    }

    @Test func goQuotingEscapesControlAndHTMLCharacters() {
        #expect(GoJSON.quote("a\"b\\c\n\t\u{01}&>\u{2028}é") == #""a\"b\\c\n\t\u0001\u0026\u003e\u2028é""#)
    }

    @Test func podEnvironmentAddsHostnamePathAndProxy() {
        let env = PodEnvironment.make(
            containerEnv: [EnvironmentVariable("SERVICE_VERSION", "v1")], podName: "sleep-abc",
            httpProxy: "http://127.0.0.1:4000")
        #expect(env.contains(EnvironmentVariable("HOSTNAME", "sleep-abc")))
        #expect(env.contains(EnvironmentVariable("PATH", PodEnvironment.defaultPath)))
        #expect(env.contains(EnvironmentVariable("http_proxy", "http://127.0.0.1:4000")))
        #expect(env.contains(EnvironmentVariable("HTTP_PROXY", "http://127.0.0.1:4000")))
        #expect(env.contains(EnvironmentVariable("no_proxy", "")))
        #expect(env.last == EnvironmentVariable("SERVICE_VERSION", "v1"))
        let ownPath = PodEnvironment.make(containerEnv: [EnvironmentVariable("PATH", "/opt")], podName: "p", httpProxy: nil)
        #expect(ownPath.filter { $0.name == "PATH" } == [EnvironmentVariable("PATH", "/opt")])
        #expect(!ownPath.contains { $0.name == "http_proxy" })
    }

    @Test func executableLookupMirrorsTheRuntimesErrors() throws {
        #expect(try ProcessLauncher.resolveExecutable("sh", path: "/nonexistent:/bin").get() == "/bin/sh")
        #expect(
            ProcessLauncher.resolveExecutable("no-such-tool-xyz", path: "/bin:/usr/bin")
                == .failure(LaunchFailure(reason: #"exec: "no-such-tool-xyz": executable file not found in $PATH"#)))
        #expect(
            ProcessLauncher.resolveExecutable("/bin/no-such-tool-xyz", path: "/bin")
                == .failure(LaunchFailure(reason: #"exec: "/bin/no-such-tool-xyz": stat /bin/no-such-tool-xyz: no such file or directory"#)))
        #expect(
            ProcessLauncher.resolveExecutable("/etc/passwd", path: "/bin")
                == .failure(LaunchFailure(reason: #"exec: "/etc/passwd": permission denied"#)))
    }
}
