// `make bench`: runs the named benchmarks (all, or those named on the command line) and prints one
// line per comparison:
//
//     BENCH <name> ours=<value> baseline=<value> unit=<unit> ratio=<r>
//
// `ratio` is always how many times faster we are than the baseline on the same work, measured in
// the same run on the same data: baseline time / our time. For time units (ns, µs per operation)
// that is baseline/ours of the printed values; for throughput units (MB/s) it is ours/baseline.
// Either way, ratio > 1 means we are faster.
//
// To add a benchmark, write a `Benchmark` value (name + a function measuring ours and the baseline)
// and append it to `registry`.

import Foundation // exit

let registry: [Benchmark] = [
    .histogramRecordValue,
    .histogramRecordBatch,
    .histogramMerge,
    .histogramPercentiles,
    .recordParse,
    .execStream,
    .execConcurrency,
    .harnessOverhead,
    .guideProcedure,
    .concurrentBursts,
    .concurrentBurstsCPU,
    .inPodEngine,
    .benchmarkScenario,
    .simDataPlane,
    .simDataPlaneCPU,
]

// exec-concurrency measures its client side in a child process started from this binary.
if CommandLine.arguments.dropFirst().first == ExecConcurrencyClient.argument {
    ExecConcurrencyClient.run(Array(CommandLine.arguments.dropFirst(2)))
}
// guide-procedure and concurrent-bursts run meshcheck's side in a child process too.
if CommandLine.arguments.dropFirst().first == ScenarioRunChild.argument { ScenarioRunChild.run(Array(CommandLine.arguments.dropFirst(2))) }
if CommandLine.arguments.dropFirst().first == SimulatedRunChild.argument { SimulatedRunChild.run(Array(CommandLine.arguments.dropFirst(2))) }
if CommandLine.arguments.dropFirst().first == BurstsChild.argument { BurstsChild.run(Array(CommandLine.arguments.dropFirst(2))) }
// in-pod-engine runs a whole simulated scenario in a child process, so its rusage covers the run's process tree.
if CommandLine.arguments.dropFirst().first == SimulatedRunChild.argument { SimulatedRunChild.run(Array(CommandLine.arguments.dropFirst(2))) }

let requested = Set(CommandLine.arguments.dropFirst())
let unknown = requested.subtracting(registry.map(\.name))
if !unknown.isEmpty {
    print("unknown benchmark(s): \(unknown.sorted().joined(separator: ", ")); known: \(registry.map(\.name).joined(separator: ", "))")
    exit(2)
}
for benchmark in registry where requested.isEmpty || requested.contains(benchmark.name) {
    print(benchmark.run().line)
}
