// Shared by the fuzz targets that list it in their .sources: invariant checks whose message survives -O
// (precondition's does not), so that a crash log in CI says which invariant broke.

import Foundation

func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fuzzFailure(message()) }
}

func fuzzFailure(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fuzz invariant broken: \(message)\n".utf8))
    abort()
}
