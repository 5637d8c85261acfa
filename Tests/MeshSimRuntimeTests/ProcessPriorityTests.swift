#if canImport(Glibc)
    import Glibc
    import Testing
    @testable import MeshSimRuntime

    /// In-pod processes run nicer than the simulator, so that a thousand concurrent bursts' shells and curls cannot
    /// starve the event loops serving the API, exec streams and sidecars.
    @Suite struct ProcessPriorityTests {
        private func nice(of pid: pid_t) -> Int32? {
            errno = 0
            let value = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid))
            return errno == 0 ? value : nil
        }

        @Test func containerProcessesAndTheirChildrenRunNicer() throws {
            let own = try #require(nice(of: 0))
            let expected = min(19, own + ProcessLauncher.niceIncrement)
            // The shell forks `sleep` after it was reniced; the child must inherit the priority.
            let launched = try ProcessLauncher.launch(
                argv: ["/bin/sh", "-c", "sleep 30 & wait"], environment: [EnvironmentVariable("PATH", "/usr/bin:/bin")],
                workingDirectory: nil, connectStdin: false, mergeStderrIntoStdout: true, execIdentifier: "priority-test"
            ).get()
            defer {
                ProcessLauncher.killGroup(launched.pid)
                for _ in 0..<200 where ProcessLauncher.reap(launched.pid) == nil { usleep(10_000) }
                close(launched.stdoutReader)
            }
            #expect(nice(of: launched.pid) == expected)
            var child: pid_t?
            for _ in 0..<200 {
                let path = "/proc/\(launched.pid)/task/\(launched.pid)/children"
                if let file = fopen(path, "r") {
                    var buffer = [CChar](repeating: 0, count: 64)
                    if fgets(&buffer, 64, file) != nil {
                        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        child = text.split(separator: " ").first.flatMap { pid_t($0) }
                    }
                    fclose(file)
                }
                if child != nil { break }
                usleep(10_000)
            }
            let forked = try #require(child, "the shell never forked its child")
            #expect(nice(of: forked) == expected)
        }
    }
#endif
