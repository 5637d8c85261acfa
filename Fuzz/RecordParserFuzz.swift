// libFuzzer target for the Contract 1 (docs/ARCHITECTURE.md) record parser, compiled together with the MeshStats sources
// (see `make fuzz`). The first input byte chooses a chunk size, so chunk boundaries are fuzzed
// too. Checks, beyond "never crashes":
//  - the events do not depend on how the stream is chunked (whole buffer vs. fuzzed chunks);
//  - one event per newline, plus one for a final partial line;
//  - the malformed-line counts agree with the malformed events;
//  - the partial-line buffer never exceeds its cap.

struct EventLog: RecordSink {
    var events: [RecordEvent] = []
    mutating func receive(_ event: RecordEvent) { events.append(event) }
}

func parse(_ bytes: UnsafeRawBufferPointer, chunkSize: Int) -> (events: [RecordEvent], parser: RecordStreamParser, names: NameTable) {
    var parser = RecordStreamParser()
    var names = NameTable()
    var log = EventLog()
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + chunkSize, bytes.count)
        parser.feed(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), names: &names, into: &log)
        precondition(parser.pending.count < RecordStreamParser.maximumLineLength, "partial line exceeded its cap")
        offset = end
    }
    parser.finish(into: &log)
    return (log.events, parser, names)
}

func names(of events: [RecordEvent], in table: NameTable) -> [String?] {
    events.flatMap { event -> [String?] in
        if case .sample(let sample) = event { return [table.name(of: sample.version), table.name(of: sample.instance)] }
        return []
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func recordParserFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunkSize = Int(data[0]) % 97 + 1
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let whole = parse(stream, chunkSize: max(stream.count, 1))
    let chunked = parse(stream, chunkSize: chunkSize)
    precondition(whole.events == chunked.events, "events depend on chunking")
    precondition(names(of: whole.events, in: whole.names) == names(of: chunked.events, in: chunked.names), "names depend on chunking")
    let newlines = stream.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    let partial = stream.last.map { $0 != 0x0A ? 1 : 0 } ?? 0
    precondition(whole.events.count == newlines + partial, "one event per line")
    let malformed = whole.events.reduce(0) { count, event in
        if case .malformed = event { return count + 1 }
        return count
    }
    precondition(whole.parser.malformedLines.total == UInt64(malformed), "malformed counts disagree with events")
    return 0
}
