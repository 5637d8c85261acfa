// libFuzzer target for the exec Status decoders (Sources/KubeClient/Exec/ExecClientStatusDecoding.swift, compiled
// with the Status model, see ExecStatusFuzz.sources and `make fuzz`). Every input is used three ways:
//  1. as a channel-3 message and as the error body of a refused request: decoding never crashes, and a
//     Status that reaches an error survives a JSON round trip unchanged;
//  2. as the recipe for a well-formed Status (status, reason, causes, exit code picked by the bytes):
//     Success is always exit 0, NonZeroExitCode with an ExitCode cause is always that code, any other
//     Failure is a remote failure carrying the Status, anything else a protocol violation;
//  3. as the raw body of a chunked response (never crashes, and once complete, more bytes change nothing)
//     and as the payload of a chunked body we encode ourselves (decodes back to the same bytes).

import Foundation

func roundTrips(_ status: Status) -> Bool {
    guard let encoded = try? JSONEncoder().encode(status) else { return false }
    return (try? JSONDecoder().decode(Status.self, from: encoded)) == status
}

func checkArbitraryMessage(_ bytes: [UInt8]) {
    switch ExecExitStatus(errorChannel: bytes) {
    case .exited, .protocolViolation:
        break
    case .remoteFailure(let status):
        fuzzCheck(status.status == "Failure", "remote failure from a status that is not Failure")
        fuzzCheck(roundTrips(status), "a remote failure's Status changes in a JSON round trip")
    }
    let error = KubeAPIError.fromResponse(httpStatus: 500, body: bytes, retryAfter: nil, context: "fuzz")
    fuzzCheck(!error.description.isEmpty && !error.message.isEmpty, "an API error without a message")
    if let status = error.status { fuzzCheck(roundTrips(status), "an API error's Status changes in a JSON round trip") }
}

func checkGeneratedStatus(_ reader: inout ByteReader) {
    let exitCode = reader.int32()
    var causes: [StatusCause] = []
    for _ in 0..<(reader.byte() % 4) {
        let reason = reader.pick(["ExitCode", "FieldValueInvalid", nil])
        let message = reader.byte() % 2 == 0 ? String(exitCode) : reader.text()
        causes.append(StatusCause(reason: reason, message: message, field: reader.pick([nil, "spec"])))
    }
    let details = reader.byte() % 4 == 0 ? nil : StatusDetails(name: reader.pick([nil, "sleep-0"]), causes: causes.isEmpty ? nil : causes)
    let status = Status(
        status: reader.pick(["Success", "Failure", nil]),
        message: reader.pick([nil, "command terminated with non-zero exit code: exit status \(exitCode)"]),
        reason: reader.pick(["NonZeroExitCode", "InternalError", nil]),
        details: details,
        code: reader.byte() % 2 == 0 ? nil : 500
    )
    guard let json = try? JSONEncoder().encode(status) else { fuzzFailure("a Status does not encode") }
    let decoded = ExecExitStatus(errorChannel: Array(json))
    switch status.status {
    case "Success":
        fuzzCheck(decoded == .exited(code: 0, message: nil), "Success is not exit 0")
    case "Failure" where status.reason == "NonZeroExitCode":
        if let cause = details?.causes?.first(where: { $0.reason == "ExitCode" }), cause.message == String(exitCode) {
            fuzzCheck(decoded == .exited(code: exitCode, message: status.message), "NonZeroExitCode is not its ExitCode cause's code")
        } else if case .remoteFailure = decoded {
            fuzzFailure("NonZeroExitCode reported as a remote failure")
        }
    case "Failure":
        fuzzCheck(decoded == .remoteFailure(status), "Failure is not a remote failure with its Status")
    default:
        guard case .protocolViolation = decoded else { fuzzFailure("status \(status.status ?? "nil") accepted") }
    }
}

/// Chunked transfer coding of `payload` in chunks whose sizes come from the reader, some with extensions.
func chunkedEncoding(of payload: [UInt8], sizes reader: inout ByteReader) -> [UInt8] {
    var encoded: [UInt8] = []
    var start = 0
    while start < payload.count {
        let size = min(Int(reader.byte()) + 1, payload.count - start)
        let extensionText = reader.byte() % 3 == 0 ? ";name=value" : ""
        encoded += Array((String(size, radix: 16) + extensionText + "\r\n").utf8) + payload[start..<start + size] + [0x0D, 0x0A]
        start += size
    }
    return encoded + Array("0\r\n\r\n".utf8)
}

func checkChunkedBodies(_ bytes: [UInt8], reader: inout ByteReader) {
    if let body = ChunkedBody.decode(bytes) {
        fuzzCheck(body.count <= bytes.count, "a chunked body decodes to more bytes than it has")
        fuzzCheck(ChunkedBody.decode(bytes + Array("ff\r\nmore".utf8)) == body, "bytes after the last chunk change the body")
    }
    let encoded = chunkedEncoding(of: bytes, sizes: &reader)
    fuzzCheck(ChunkedBody.decode(encoded) == bytes, "a chunked body does not decode to what was encoded")
    fuzzCheck(ChunkedBody.decode(Array(encoded.dropLast(5))) == nil, "a chunked body without its last chunk is complete")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func execStatusFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkArbitraryMessage(bytes)
    var reader = ByteReader(bytes: bytes)
    checkGeneratedStatus(&reader)
    checkChunkedBodies(bytes, reader: &reader)
    return 0
}
