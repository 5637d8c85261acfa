// The reuse engine end to end: `meshcheck run --simulate` with one client pod whose single in-pod worker sends 2,000
// requests as one curl over one kept-open connection to its sidecar. The sidecar balances every request on its own,
// as Envoy does, so the answers reach every HelloWorld pod of both clusters and the split passes `balance` and
// `balance-instances`.

import Foundation
import MeshTestSupport
import XCTest

final class ConnectionReuseEndToEndTests: XCTestCase {
    static let scenario = """
        name: reuse-one-connection
        clusters:
          - context: cluster-1
            serves: v1
            replicas: {helloworld: 2}
          - context: cluster-2
            serves: v2
            clients: false
            replicas: {helloworld: 2}
        load:
          requestsPerBurst: 2000
          connectionReuse: true
          requestTimeout: 10s
          connectTimeout: 3s
        expectations:
          balance: proportional-to-endpoints
          significance: 0.001
          maxErrorRate: 0
        """

    func testTwoThousandRequestsOverOneConnectionReachEveryPod() throws {
        let directory = try CLI.temporaryDirectory("reuse-one-connection")
        let scenarioPath = directory + "/scenario.yaml"
        try Self.scenario.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", scenarioPath, "--simulate", "--output-dir", directory + "/out"])
        XCTAssertEqual(result.exitCode, 0, "stderr: \(result.stderr)\nstdout: \(result.stdout)")
        let report = try CLI.report(in: directory + "/out")
        XCTAssertEqual(report.string("verdict"), "pass")

        // One worker, one curl, one connection: every answer after the first went over it.
        let connections = (report["exec"] as? [String: Any])?["connections"] as? [String: Any]
        XCTAssertEqual(connections?["engine"] as? String, "reuse")
        XCTAssertEqual(connections?["opened"] as? Int, 1, "\(String(describing: connections))")
        XCTAssertEqual(connections?["reusedRequests"] as? Int, 1999)
        XCTAssertTrue(result.stdout.contains("engine reuse: 2000 answered over 1 connection ("), result.stdout)

        // Every HelloWorld pod answered, and the records say so request by request.
        let records = try String(contentsOfFile: directory + "/out/records.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(records.count, 2000)
        var perInstance: [String: Int] = [:]
        var reused = 0
        for line in records {
            let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(record["engine"] as? String, "reuse")
            if record["reused"] as? Bool == true { reused += 1 }
            perInstance[record["instance"] as? String ?? "-", default: 0] += 1
        }
        XCTAssertEqual(reused, 1999)
        XCTAssertEqual(perInstance.count, 4, "\(perInstance)")
        XCTAssertTrue(perInstance.keys.allSatisfy { $0.hasPrefix("helloworld-v1-") || $0.hasPrefix("helloworld-v2-") }, "\(perInstance)")

        let checks = report.array("checks")
        for name in ["balance", "balance-instances"] {
            let rows = checks.filter { $0.string("name") == name }
            XCTAssertFalse(rows.isEmpty, "no \(name) check in \(checks.compactMap { $0.string("name") })")
            XCTAssertTrue(rows.allSatisfy { $0.string("status") == "pass" }, "\(rows)")
        }
    }
}
