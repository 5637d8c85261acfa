// libFuzzer target for the parser of istiod's `/debug/clusterz` (Sources/MeshCheck/IstiodClusterz.swift, see
// ClusterzFuzz.sources and `make fuzz`): the answer comes from a pod behind the API server's proxy, bytes we
// do not write. Every input is used two ways:
//  1. as an answer: parsing never crashes; what parses has a non-empty id per entry and survives a JSON
//     round trip unchanged (the entries re-encoded in istiod's shape parse back to the same entries);
//  2. as the recipe for a well-formed answer (entry count, ids, secret names, states picked by the bytes):
//     it always parses, to exactly those entries in that order.

import Foundation

/// Entries encoded as istiod writes them (`[]cluster.DebugInfo`).
func encode(_ clusters: [RemoteClusterStatus]) -> [UInt8] {
    let array = clusters.map { ["id": $0.id, "secretName": $0.secretName, "syncStatus": $0.syncStatus] }
    guard let data = try? JSONSerialization.data(withJSONObject: array) else { fuzzFailure("entries did not encode: \(clusters)") }
    return Array(data)
}

func checkArbitraryAnswer(_ bytes: [UInt8]) {
    guard let clusters = try? ClusterzParser.parse(bytes) else { return }
    fuzzCheck(clusters.allSatisfy { !$0.id.isEmpty }, "an entry without an id parsed: \(clusters)")
    let again = try? ClusterzParser.parse(encode(clusters))
    fuzzCheck(again == clusters, "entries changed in a round trip: \(clusters) → \(String(describing: again))")
}

func checkGeneratedAnswer(_ reader: inout ByteReader) {
    let states: [String?] = ["synced", "syncing", "timeout", "closed"]
    let clusters = (0..<Int(reader.byte() % 8)).map { index in
        let id = reader.text()
        return RemoteClusterStatus(
            id: id.isEmpty ? "cluster-\(index)" : id, secretName: index == 0 ? "" : "istio-system/\(reader.text())",
            syncStatus: reader.pick(states) ?? "")
    }
    do {
        let parsed = try ClusterzParser.parse(encode(clusters))
        fuzzCheck(parsed == clusters, "a well-formed answer parsed to \(parsed), expected \(clusters)")
    } catch {
        fuzzFailure("a well-formed answer was refused: \(error) for \(clusters)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func clusterzFuzzTest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkArbitraryAnswer(bytes)
    var reader = ByteReader(bytes: bytes)
    checkGeneratedAnswer(&reader)
    return 0
}
