internal import CCurl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owner of one libcurl multi handle, driven by the I/O engine's poll loop through the
/// socket-action interface: libcurl reports which sockets it wants watched and when it wants a
/// timer callback; the engine polls and calls back. Lives and is used only on the engine thread.
final class MultiDriver {
    let handle: UnsafeMutableRawPointer
    /// fd → CURL_POLL_* interest, maintained by libcurl's socket callback.
    private(set) var sockets: [Int32: Int32] = [:]
    /// When libcurl wants `CURL_SOCKET_TIMEOUT` next; nil when it has no timer.
    private(set) var timerDeadline: ContinuousClock.Instant?
    /// Called for every finished transfer with its easy handle and result.
    var onDone: (UnsafeMutableRawPointer, CURLcode) -> Void = { _, _ in }

    init(multiplexing: Bool) throws(CurlError) {
        try ensureLibcurlInitialised()
        guard let multi = curl_multi_init() else {
            throw CurlError(code: -1, function: "curl_multi_init", detail: "out of memory")
        }
        handle = multi
        let me = Unmanaged.passUnretained(self).toOpaque()
        try curlMultiCheck(mc_multi_setopt_socket_callback(multi, multiDriverSocketCallback), "curl_multi_setopt(SOCKETFUNCTION)")
        try curlMultiCheck(mc_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me), "curl_multi_setopt(SOCKETDATA)")
        try curlMultiCheck(mc_multi_setopt_timer_callback(multi, multiDriverTimerCallback), "curl_multi_setopt(TIMERFUNCTION)")
        try curlMultiCheck(mc_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me), "curl_multi_setopt(TIMERDATA)")
        if multiplexing {
            try curlMultiCheck(mc_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX)), "curl_multi_setopt(PIPELINING)")
        }
    }

    deinit {
        curl_multi_cleanup(handle)
    }

    func add(_ easy: CurlEasy) throws(CurlError) {
        try curlMultiCheck(curl_multi_add_handle(handle, easy.handle), "curl_multi_add_handle")
    }

    /// Removing a CONNECT_ONLY handle makes libcurl close its connection, which is what we want at
    /// the end of an exec session.
    func remove(_ easy: CurlEasy) {
        _ = curl_multi_remove_handle(handle, easy.handle)
    }

    func updateSocket(_ socket: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            sockets[socket] = nil
        } else {
            sockets[socket] = what
        }
    }

    func updateTimer(milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : .now + .milliseconds(milliseconds)
    }

    /// Lets libcurl act on a ready socket (or on its timer when `socket` is CURL_SOCKET_TIMEOUT).
    func act(on socket: Int32, readable: Bool, writable: Bool, failed: Bool) {
        var mask: Int32 = 0
        if readable { mask |= CURL_CSELECT_IN }
        if writable { mask |= CURL_CSELECT_OUT }
        if failed { mask |= CURL_CSELECT_ERR }
        var running: Int32 = 0
        // A multi-level error here means a libcurl bug or out-of-memory; individual transfers
        // still report their own results through the message queue below.
        _ = curl_multi_socket_action(handle, socket, mask, &running)
        collectFinished()
    }

    func fireTimerIfDue(now: ContinuousClock.Instant) {
        guard let deadline = timerDeadline, deadline <= now else { return }
        timerDeadline = nil
        act(on: mc_socket_timeout(), readable: false, writable: false, failed: false)
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(handle, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            onDone(easy, mc_msg_result(message))
        }
    }
}

@available(*, unavailable)
extension MultiDriver: Sendable {}

private func multiDriverSocketCallback(
    _ easy: UnsafeMutableRawPointer?, _ socket: curl_socket_t, _ what: Int32,
    _ userp: UnsafeMutableRawPointer?, _ socketp: UnsafeMutableRawPointer?
) -> Int32 {
    guard let userp else { return 0 }
    Unmanaged<MultiDriver>.fromOpaque(userp).takeUnretainedValue().updateSocket(socket, what: what)
    return 0
}

private func multiDriverTimerCallback(_ multi: UnsafeMutableRawPointer?, _ timeout: Int, _ userp: UnsafeMutableRawPointer?) -> Int32 {
    guard let userp else { return 0 }
    Unmanaged<MultiDriver>.fromOpaque(userp).takeUnretainedValue().updateTimer(milliseconds: timeout)
    return 0
}
