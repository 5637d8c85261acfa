import Synchronization

// Starting a simulated container's process: PATH lookup with the container's PATH and the runtime's error
// texts, posix_spawn in a new process group (so the whole group can be killed), pipes for the standard
// streams, signals reset to their defaults (the simulator ignores SIGPIPE; a container process must not).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A started process and the parent's ends of its pipes (non-blocking, close-on-exec).
struct LaunchedProcess {
    var pid: pid_t
    /// Write end of the process's stdin; nil when stdin is /dev/null.
    var stdinWriter: CInt?
    var stdoutReader: CInt
    /// Read end of stderr; nil when stderr shares the stdout pipe (TTY requested).
    var stderrReader: CInt?
}

/// Why the runtime could not start a process, with the texts containerd + runc report.
struct LaunchFailure: Error, Equatable {
    var reason: String
}

enum ProcessLauncher {
    /// Finds the executable as runc does (Go's exec.LookPath with the container's PATH) and returns its
    /// path, or the error text that follows `exec: "<name>": `.
    static func resolveExecutable(_ name: String, path: String) -> Result<String, LaunchFailure> {
        if name.isEmpty {
            return .failure(LaunchFailure(reason: #"exec: "": executable file not found in $PATH"#))
        }
        if name.contains("/") {
            switch checkExecutable(name) {
            case .ok: return .success(name)
            case .missing:
                return .failure(LaunchFailure(reason: "exec: \(GoJSON.quote(name)): stat \(name): no such file or directory"))
            case .notExecutable:
                return .failure(LaunchFailure(reason: "exec: \(GoJSON.quote(name)): permission denied"))
            }
        }
        for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
            let base = directory.isEmpty ? "." : String(directory)
            let candidate = base + "/" + name
            if checkExecutable(candidate) == .ok { return .success(candidate) }
        }
        return .failure(LaunchFailure(reason: "exec: \(GoJSON.quote(name)): executable file not found in $PATH"))
    }

    private enum ExecutableCheck { case ok, missing, notExecutable }

    private static func checkExecutable(_ path: String) -> ExecutableCheck {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if isDirectory || access(path, X_OK) != 0 { return .notExecutable }
        return .ok
    }

    /// Serialises pipe creation and spawning within the simulator: where pipe2 is unavailable pipes become
    /// close-on-exec in two steps, and a concurrent spawn could otherwise inherit another session's pipe
    /// end and hold its EOF back until that unrelated process exits.
    private static let spawnLock = Mutex(())

    /// Starts `argv` with exactly `environment`, in its own process group.
    static func launch(
        argv: [String], environment: [EnvironmentVariable],
        workingDirectory: String?, connectStdin: Bool, mergeStderrIntoStdout: Bool, execIdentifier: String
    ) -> Result<LaunchedProcess, LaunchFailure> {
        spawnLock.withLock { _ in
            launchLocked(
                argv: argv, environment: environment, workingDirectory: workingDirectory, connectStdin: connectStdin,
                mergeStderrIntoStdout: mergeStderrIntoStdout, execIdentifier: execIdentifier)
        }
    }

    private static func launchLocked(
        argv: [String], environment: [EnvironmentVariable], workingDirectory: String?,
        connectStdin: Bool, mergeStderrIntoStdout: Bool, execIdentifier: String
    ) -> Result<LaunchedProcess, LaunchFailure> {
        let searchPath = environment.last(where: { $0.name == "PATH" })?.value ?? PodEnvironment.defaultPath
        let executable: String
        switch resolveExecutable(argv.first ?? "", path: searchPath) {
        case .success(let found): executable = found
        case .failure(let failure): return .failure(runtimeFailure(failure.reason, execIdentifier: execIdentifier))
        }

        var opened: [CInt] = []
        func makePipe() -> (read: CInt, write: CInt)? {
            var fds: [CInt] = [-1, -1]
            if let pipe2 = GlibcExtensions.pipe2 {
                guard pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
                opened += fds
            } else {
                guard pipe(&fds) == 0 else { return nil }
                opened += fds
                for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            }
            return (fds[0], fds[1])
        }
        func closeAll() { for fd in opened { close(fd) } }

        let stdinPipe = connectStdin ? makePipe() : nil
        guard let stdoutPipe = makePipe() else {
            closeAll()
            return .failure(LaunchFailure(reason: "failed to create pipes: \(errnoText())"))
        }
        let stderrPipe = mergeStderrIntoStdout ? nil : makePipe()
        if (connectStdin && stdinPipe == nil) || (!mergeStderrIntoStdout && stderrPipe == nil) {
            closeAll()
            return .failure(LaunchFailure(reason: "failed to create pipes: \(errnoText())"))
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinPipe {
            posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let workingDirectory, let addChdir = GlibcExtensions.addChdir {
            _ = addChdir(&actions, workingDirectory)
        }
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe?.write ?? stdoutPipe.write, 2)
        // NIO accepts sockets without close-on-exec: without this a child would inherit every connection and
        // listener of the simulator and keep them open after the simulator closed them (a client would never
        // see its exec session end while another session's process lives).
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.name)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, cArguments, cEnvironment)
        // The child holds its ends now (or never will); the parent keeps only its own.
        close(stdoutPipe.write)
        if let stdinPipe { close(stdinPipe.read) }
        if let stderrPipe { close(stderrPipe.write) }
        guard result == 0 else {
            close(stdoutPipe.read)
            if let stdinPipe { close(stdinPipe.write) }
            if let stderrPipe { close(stderrPipe.read) }
            let text = String(cString: strerror(result))
            return .failure(runtimeFailure("exec \(executable): \(text.lowercased())", execIdentifier: execIdentifier))
        }
        for fd in [stdinPipe?.write, stdoutPipe.read, stderrPipe?.read].compactMap({ $0 }) {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        lowerPriority(ofGroup: pid)
        return .success(
            LaunchedProcess(
                pid: pid, stdinWriter: stdinPipe?.write, stdoutReader: stdoutPipe.read, stderrReader: stderrPipe?.read))
    }

    /// How much nicer than the simulator a container's processes run. In a real cluster they run on nodes, not
    /// next to the API server: here a thousand concurrent bursts' `sh` and `curl` processes would otherwise
    /// take the CPU from the event loops that serve the API, the exec streams and the sidecars (under fair
    /// scheduling every runnable process gets an equal share), until exec connects and requests time out.
    static let niceIncrement: Int32 = 19

    /// Renices the new process group (the process and whatever it has forked so far; later children inherit
    /// it). Best effort: failing to renice only costs the simulator responsiveness under heavy load.
    static func lowerPriority(ofGroup pid: pid_t) {
        errno = 0
        let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PGRP.rawValue), id_t(pid), min(19, own + niceIncrement))
    }

    /// Adds file actions closing every descriptor above stderr in the child (after the dup2s above them).
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom = GlibcExtensions.addCloseFrom {
            _ = closeFrom(&actions, 3)
            return
        }
        // Older glibc: close what is open right now, as listed by the kernel.
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let listing = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let fd = CInt(name), fd > 2, fd != listing {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
    }

    /// containerd's wrapping of a runc start failure, as `kubectl exec` shows it.
    static func runtimeFailure(_ reason: String, execIdentifier: String) -> LaunchFailure {
        LaunchFailure(
            reason: "failed to exec in container: failed to start exec \"\(execIdentifier)\": "
                + "OCI runtime exec failed: exec failed: unable to start container process: \(reason): unknown")
    }

    /// Sends SIGKILL to the process group led by `pid`.
    static func killGroup(_ pid: pid_t) {
        _ = kill(-pid, SIGKILL)
    }

    /// Non-blocking reap: the exit status (128 + signal for a killed process), or nil while it runs.
    static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 {
            // ECHILD: someone else reaped it; report the conventional "unknown" code rather than spin.
            return errno == EINTR ? nil : 255
        }
        let low = status & 0x7F
        if low == 0 { return (status >> 8) & 0xFF }
        return 128 + low
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// glibc functions that its Swift module does not import (they sit behind _GNU_SOURCE), looked up once.
enum GlibcExtensions {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<CInt>, CInt) -> CInt
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> CInt

    static let pipe2: Pipe2? = lookup("pipe2")
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, CInt) -> CInt

    /// posix_spawn_file_actions_addchdir_np (glibc ≥ 2.29).
    static let addChdir: AddChdir? = lookup("posix_spawn_file_actions_addchdir_np")
    /// posix_spawn_file_actions_addclosefrom_np (glibc ≥ 2.34).
    static let addCloseFrom: AddCloseFrom? = lookup("posix_spawn_file_actions_addclosefrom_np")

    private static func lookup<Function>(_ name: String) -> Function? {
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }
}
