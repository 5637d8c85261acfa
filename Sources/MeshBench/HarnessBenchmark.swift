import Foundation
import KubeClient
import MeshCheck
import MeshStats
import Synchronization

// harness-overhead: CPU the harness spends per verified request — receiving the exec stream (TLS,
// WebSocket), parsing the records, tallying them and writing records.jsonl — measured on one real
// exec whose in-pod command emits 10⁶ records, against counting the newlines of the same bytes.

/// Wraps the run's own burst consumer and notes the I/O engine thread's CPU clock at the first and
/// the last chunk: everything the engine did in between was for this one session.
private final class CPUMeteredSession: ExecOutputConsumer, @unchecked Sendable {
    let session: BurstSession
    private var firstCPU: UInt64?
    private var lastCPU: UInt64 = 0

    init(_ session: BurstSession) { self.session = session }

    func receive(_ bytes: UnsafeRawBufferPointer, from channel: ExecChannel) {
        if firstCPU == nil { firstCPU = threadCPUNanoseconds() }
        session.receive(bytes, from: channel)
        lastCPU = threadCPUNanoseconds()
    }

    var engineCPUNanoseconds: UInt64 { lastCPU - (firstCPU ?? lastCPU) }
}

extension Benchmark {
    static let harnessRecords = 1_000_000
    static let harnessInstance = "helloworld-v1-7d9c6b5f4-x2k9q"

    static let harnessOverhead = Benchmark(name: "harness-overhead") {
        let line = "MC1 0 0 7 200 0 0.000412 0.001234 0.001301 v1 \(harnessInstance)"
        let target: ExecTarget
        do { target = try ExecTarget.start() } catch { fatalError("harness-overhead: cannot start the simulated mesh: \(error)") }
        defer { target.stop() }
        let recordsPath = NSTemporaryDirectory() + "meshcheck-bench-records-\(getpid()).jsonl"
        defer { unlink(recordsPath) }

        let (ours, verified): (Double, Int)
        do {
            (ours, verified) = try blocking {
                let config = try Kubeconfig.load(KubeconfigLoadingRules(explicitPath: target.kubeconfig))
                let client = try KubeClient(kubeconfig: config, context: target.context)
                let command = BurstCommand(
                    target: .helloWorld(namespace: target.namespace), burst: 0, requests: harnessRecords,
                    workers: 1, intervalMicroseconds: 0, lateThresholdMicroseconds: 0,
                    connectTimeout: .seconds(5), requestTimeout: .seconds(5), connectionReuse: true)
                let base = AttributionBase(clusterNames: ["cluster-1"], helloworldPods: [(harnessInstance, 0)], versions: ["v1"])
                let records = try RecordsFile(path: recordsPath)
                defer { records.close() }
                let metered = CPUMeteredSession(
                    BurstSession(source: 0, clientPod: target.pod, command: command, base: base, records: records, clock: LoadClock()))
                let script = "printf 'MC1-BEGIN 0 0\\n'; yes '\(line)' | head -n \(harnessRecords); printf 'MC1-END 0 0 \(harnessRecords)\\n'"
                let request = ExecRequest(
                    namespace: target.namespace, pod: target.pod, command: ["/bin/sh", "-c", script],
                    timeouts: ExecTimeouts(connect: .seconds(30), idle: .seconds(60), total: .seconds(600)))
                _ = try await client.exec(request, consumer: metered)
                metered.session.finish(execFailed: false)
                let verified = metered.session.tally.sources[0].succeeded
                return (Double(metered.engineCPUNanoseconds) / 1000 / Double(max(verified, 1)), verified)
            }
        } catch {
            fatalError("harness-overhead: the exec failed: \(error)")
        }
        precondition(verified == harnessRecords, "harness-overhead: \(verified) of \(harnessRecords) records verified")

        // Baseline: count the newlines of the same stream, CPU per record.
        let stream = Array(("MC1-BEGIN 0 0\n" + String(repeating: line + "\n", count: harnessRecords) + "MC1-END 0 0 \(harnessRecords)\n").utf8)
        var newlines = 0
        let baselineSeconds = bestSeconds(rounds: 5) {
            newlines = stream.withUnsafeBytes { buffer in
                var count = 0
                var cursor = buffer.baseAddress!
                let end = cursor + buffer.count
                while let hit = memchr(cursor, 0x0A, end - cursor) {
                    count += 1
                    cursor = UnsafeRawPointer(hit) + 1
                }
                return count
            }
        }
        consume(newlines)
        let baseline = baselineSeconds * 1_000_000 / Double(harnessRecords)
        return Comparison(name: "harness-overhead", ours: ours, baseline: baseline, unit: .microsecondsPerRequest)
    }
}
