// CLIENT side of exec (meshcheck talking to a real API server). Its server counterpart, in the simulator, is
// Sources/MeshSimRuntime/ExecServerProtocol.swift (ExecServerStatus).
// The two sides are written apart on purpose: the simulator is this client's judge, and a shared codec
// would share its bugs. Change this side to match real Kubernetes servers, never to match the simulator.
//
// The pure decoders of how an exec ends: the channel-3 Status after the upgrade, and the chunked
// body (usually a Status) of a refused upgrade. They live apart from ExecClientMachine so that they
// can be tested and fuzzed on their own (Fuzz/ExecStatusFuzz.swift): the bytes come from the server
// and may be anything.

import Foundation

/// How the command ended, as the v4/v5 channel-3 message (a JSON `metav1.Status`) tells it.
enum ExecExitStatus: Equatable {
    /// `Success` (code 0), or `Failure` with reason `NonZeroExitCode` and the code from its `ExitCode` cause.
    case exited(code: Int32, message: String?)
    /// Any other `Failure` (container not running, ...), kept whole for the error.
    case remoteFailure(Status)
    /// Not a Status, or a Status that does not say how the command ended.
    case protocolViolation(String)

    init(errorChannel bytes: [UInt8]) {
        guard let status = try? JSONDecoder().decode(Status.self, from: Data(bytes)) else {
            self = .protocolViolation("error channel is not a JSON Status")
            return
        }
        switch status.status {
        case "Success":
            self = .exited(code: 0, message: nil)
        case "Failure" where status.reason == "NonZeroExitCode":
            guard let cause = status.details?.causes?.first(where: { $0.reason == "ExitCode" }),
                let code = cause.message.flatMap({ Int32($0) })
            else {
                self = .protocolViolation("NonZeroExitCode status without an ExitCode cause")
                return
            }
            self = .exited(code: code, message: status.message)
        case "Failure":
            self = .remoteFailure(status)
        default:
            self = .protocolViolation("error channel status \(status.status ?? "(none)") is neither Success nor Failure")
        }
    }
}

/// HTTP/1.1 chunked transfer coding, for error bodies of failed upgrades.
enum ChunkedBody {
    /// The decoded body once the terminating zero-length chunk has arrived, else nil.
    static func decode(_ raw: [UInt8]) -> [UInt8]? {
        var body: [UInt8] = []
        var index = 0
        while true {
            guard let lineEnd = findCRLF(raw, from: index) else { return nil }
            let sizeText = (String(decoding: raw[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "")
                .trimmingCharacters(in: .whitespaces)
            // Hex digits only: Int(_:radix:) would also take a sign, and a negative size trapped below.
            guard !sizeText.isEmpty, sizeText.allSatisfy(\.isHexDigit), let size = Int(sizeText, radix: 16) else { return nil }
            index = lineEnd + 2
            if size == 0 { return body }
            // Against the bytes left, so that a huge announced size cannot overflow the sum.
            guard size <= raw.count - index - 2 else { return nil }
            body += raw[index..<(index + size)]
            index += size + 2
        }
    }

    private static func findCRLF(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 0x0D && bytes[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }
}
