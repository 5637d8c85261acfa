import Foundation
import KubeClient
import MeshStats
import Testing

@testable import MeshCheck

/// One exec session's output cannot grow meshcheck's memory past its share, whatever the pod prints.
@Suite struct BurstSessionBoundsTests {
    static func session() -> BurstSession {
        let base = AttributionBase(clusterNames: ["east", "west"], helloworldPods: [("helloworld-v1-a", 1)], versions: ["v1"])
        let command = BurstCommand(
            target: .helloWorld(namespace: "ns"), burst: 0, requests: 4, workers: 2, intervalMicroseconds: 0,
            lateThresholdMicroseconds: 0, connectTimeout: .seconds(1), requestTimeout: .seconds(1))
        return BurstSession(source: 0, clientPod: "sleep-0", command: command, base: base, records: nil, clock: nil)
    }

    static func feed(_ session: BurstSession, _ text: String, channel: ExecChannel = .stdout) {
        Array(text.utf8).withUnsafeBytes { session.receive($0, from: channel) }
    }

    /// Endless distinct instance names and worker indexes: records past the name limit are malformed,
    /// the known pod still counts, and the session's accounting stays right.
    @Test func floodOfDistinctNamesAndWorkers() {
        let session = Self.session()
        let flood = 2 * NameTable.maximumRecordInstances
        for index in 0..<flood {
            Self.feed(session, "MC1 0 \(1000 + index) 0 200 0 0.001000 0.002000 0.003000 v1 pod-\(index)\n")
        }
        Self.feed(session, "MC1 0 0 0 200 0 0.001000 0.002000 0.003000 v1 helloworld-v1-a\nMC1-END 0 0 1\n")
        Self.feed(session, String(repeating: "\n", count: 64 * 1024))
        #expect(session.pending.events.capacity <= BurstSession.retainedEvents)
        // One large chunk of short records: thousands of events at once, but no room kept for them.
        Self.feed(session, String(repeating: "MC1 0 0 0 200 0 0 0 0 - -\n", count: 10_000))
        #expect(session.pending.events.capacity <= BurstSession.retainedEvents)
        session.finish(execFailed: false)
        let counters = session.tally.sources[0]
        let refused = flood - NameTable.maximumRecordInstances
        #expect(counters.malformedLines == refused + 64 * 1024)
        #expect(counters.succeeded == 1)
        #expect(counters.errorsByKind[.unknownInstance] == NameTable.maximumRecordInstances + 10_000)
        #expect(session.tally.pair(source: 0, target: 1).successes == 1)
        // Worker 0 ended; worker 1 (2 of the 4 requests) never did, and lines of worker 1000 and up
        // do not stand in for it.
        #expect(counters.missingRecords == 2)
    }

    /// Stdout without newlines and endless stderr are dropped past their bounds.
    @Test func endlessPartialLineAndStderr() {
        let session = Self.session()
        let chunk = String(repeating: "x", count: 16 * 1024)
        for _ in 0..<256 { // 4 MiB each
            Self.feed(session, chunk)
            Self.feed(session, chunk, channel: .stderr)
        }
        #expect(session.stderrTail.count == BurstSession.stderrTailLimit)
        session.finish(execFailed: false)
        #expect(session.tally.sources[0].malformedLines == 1)
    }

    /// This process's resident memory, from /proc/self/statm.
    static func residentBytes() -> Int {
        let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// 1,000 sessions alive at once, each flooded with 1,000 distinct 253-byte instance names, a 1 MiB line
    /// without a newline and 1 MiB of stderr, grow this process by far less than 256 MB (unbounded, the
    /// names alone would hold about 750 MB). Resident growth of the whole test process: a ceiling, not
    /// an exact measure.
    @Test func thousandFloodingSessionsStayUnderTheCeiling() {
        let before = Self.residentBytes()
        let sessions = (0..<1000).map { _ in Self.session() }
        let padding = String(repeating: "a", count: 253 - 12)
        let endless = [UInt8](repeating: UInt8(ascii: "x"), count: 256 * 1024)
        for (number, session) in sessions.enumerated() {
            var text = ""
            for index in 0..<1000 {
                text += "MC1 0 0 \(index) 200 0 0 0 0 v1 \(padding)\(String(format: "%06d%06d", number, index))\n"
            }
            Self.feed(session, text)
            for _ in 0..<4 {
                endless.withUnsafeBytes {
                    session.receive($0, from: .stdout)
                    session.receive($0, from: .stderr)
                }
            }
        }
        let grown = Self.residentBytes() - before
        print("1000 flooding sessions: resident growth \(grown / 1_048_576) MiB")
        #expect(grown < 256 * 1_048_576)
        for session in sessions {
            session.finish(execFailed: false)
            #expect(session.tally.sources[0].malformedLines == 1000 - NameTable.maximumRecordInstances + 1)
        }
    }

    /// A cluster scaled back up during the load answers from a pod registered only once it exists: answers that arrive
    /// before the run registered it are held and attributed when the session ends; without a scale-up in the scenario
    /// an unknown instance is an error at once.
    @Test func answersFromAPodThatAppearedDuringTheLoadAreAttributed() {
        let command = BurstCommand(
            target: .helloWorld(namespace: "ns"), burst: 0, requests: 3, workers: 1, intervalMicroseconds: 0,
            lateThresholdMicroseconds: 0, connectTimeout: .seconds(1), requestTimeout: .seconds(1))
        for expected in [true, false] {
            let late = LateInstances(expected: expected)
            let base = AttributionBase(
                clusterNames: ["east", "west"], helloworldPods: [("helloworld-v1-a", 1)], versions: ["v1"], lateInstances: late)
            let session = BurstSession(source: 0, clientPod: "sleep-0", command: command, base: base, records: nil, clock: LoadClock())
            Self.feed(session, "MC1 0 0 0 200 0 0.001000 0.002000 0.003000 v1 helloworld-v1-new\n")
            late.register("helloworld-v1-new", cluster: 1, podIP: "10.0.0.9")
            Self.feed(session, "MC1 0 0 1 200 0 0.001000 0.002000 0.003000 v1 helloworld-v1-new\n")
            Self.feed(session, "MC1 0 0 2 200 0 0.001000 0.002000 0.003000 v1 helloworld-v1-a\nMC1-END 0 0 3\n")
            session.finish(execFailed: false)
            let counters = session.tally.sources[0]
            #expect(counters.succeeded == (expected ? 3 : 1), "expected late pods: \(expected)")
            #expect(counters.errorsByKind[RequestErrorKind.unknownInstance] == (expected ? nil : 2))
            #expect(session.tally.pair(source: 0, target: 1).successes == counters.succeeded)
            #expect(counters.missingRecords == 0)
            // Held answers are placed on the timeline too, at their arrival.
            let windows = session.timeline?.windows(source: 0).map(\.window) ?? []
            #expect(windows.reduce(0) { $0 + $1.successes[1] } == counters.succeeded)
        }
    }
}
