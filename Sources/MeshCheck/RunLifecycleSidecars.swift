// Reading the client sidecars' endpoints (SidecarEndpoints.swift) during a run: every ready client pod, one at a
// time (SidecarView.concurrentReads), one short exec each, bounded in time and size; failures become "not visible"
// readings.

import KubeClient

extension MeshCheckRun {
    /// One reading per ready client pod, stored in the run state.
    func readSidecars(_ operations: [ClusterOperations], state: RunState, phase: SidecarEndpointsReading.Phase) async {
        let namespace = settings.namespace
        let envoyCluster = EnvoyClusters.outboundClusterName(service: Workloads.helloworldApp, namespace: namespace, port: Workloads.helloworldPort)
        let names = settings.scenario.clusters.map(\.name)
        let lists = state.pods
        let gateways = state.eastWestGatewayAddresses
        let readings = await withTaskGroup(of: SidecarEndpointsReading.self) { group in
            var all: [SidecarEndpointsReading] = []
            // Each read may hold up to EnvoyClusters.maxBytes until it is parsed: reading few at a time keeps a mesh of
            // many client pods (or sidecars answering with floods) within that, not one such answer per pod.
            for (index, (op, pod)) in clientPods(operations, state: state).enumerated() {
                if index >= SidecarView.concurrentReads, let reading = await group.next() { all.append(reading) }
                let source = op.cluster.index
                // Pods that replaced scaled-down ones during the load are local endpoints too.
                let localIPs =
                    (source < lists.count ? lists[source].filter { $0.app == Workloads.helloworldApp }.compactMap(\.podIP) : [])
                    + state.lateInstances.podIPs(inCluster: source)
                let classifier = EndpointClassifier(
                    localPodIPs: localIPs, peerGateways: gateways.filter { $0.key != names[source] })
                group.addTask {
                    await Self.readSidecar(
                        op: op, pod: pod, namespace: namespace, phase: phase, envoyCluster: envoyCluster, classifier: classifier)
                }
            }
            for await reading in group { all.append(reading) }
            return all
        }
        state.addSidecarReadings(readings.sorted { ($0.source, $0.pod) < ($1.source, $1.pod) })
    }

    static func readSidecar(
        op: ClusterOperations, pod: String, namespace: String, phase: SidecarEndpointsReading.Phase, envoyCluster: String,
        classifier: EndpointClassifier
    ) async -> SidecarEndpointsReading {
        let source = op.cluster.spec.name
        // One byte over the parser's limit, so an oversized answer is refused rather than cut to a valid prefix.
        let collector = ExecOutputCollector(limit: EnvoyClusters.maxBytes + 1, stderrLimit: SidecarView.maxStderrBytes)
        let seconds = Duration.seconds(SidecarView.maxSeconds)
        let request = ExecRequest(
            namespace: namespace, pod: pod, container: Workloads.sleepContainer, command: SidecarView.command,
            timeouts: ExecTimeouts(connect: seconds, idle: seconds + .seconds(5), total: seconds * 2),
            maxOutputBytes: EnvoyClusters.maxBytes + 64 * 1024)
        do {
            let result = try await op.cluster.client.exec(request, consumer: collector)
            guard result.exitCode == 0 else {
                return .notVisible(
                    source: source, pod: pod, phase: phase, envoyCluster: envoyCluster,
                    SidecarView.failure(exitCode: result.exitCode, stderr: collector.stderrText))
            }
        } catch {
            return .notVisible(source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, "exec failed: \(error)")
        }
        return .from(
            answer: collector.stdout, source: source, pod: pod, phase: phase, envoyCluster: envoyCluster, classifier: classifier)
    }
}
