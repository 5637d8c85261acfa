import Foundation

/// A fresh directory under the system's temporary directory, removed with everything in it when the value goes away.
/// Where only its path is used later, keep the value alive to the end of the scope with
/// `defer { withExtendedLifetime(directory) {} }`: Swift may release an object after its last use.
package final class TemporaryDirectory {
    package let path: String

    /// Creates `<tmp>/<prefix>-<uuid>`.
    package init(prefix: String = "meshcheck-test") throws {
        path = try Self.makeUnique(prefix: prefix)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Creates a uniquely named directory `<tmp>/<prefix>-<uuid>` that nothing removes (for output a failed test
    /// should leave behind) and returns its path.
    package static func makeUnique(prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The full path of `relative` inside the directory (not created).
    package func path(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// Writes `text` to `relative` (creating intermediate directories), mode 0755 when `executable`; returns the full path.
    @discardableResult
    package func write(_ relative: String, _ text: String, executable: Bool = false) throws -> String {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: full) }
        return full
    }
}
