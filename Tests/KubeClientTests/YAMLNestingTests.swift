import Foundation
import Testing

@testable import KubeClient

/// The nesting bound checked before Yams composes a document (its composer recurses per level and
/// overflowed the stack on deeply nested input, found while fuzzing the scenario and kubeconfig loaders).
@Suite struct YAMLNestingTests {
    /// Each level may count twice (indentless sequences, single-pair mappings in flow sequences), never less than once.
    @Test func boundsOrdinaryDocuments() {
        let cases: [(String, ClosedRange<Int>)] = [
            ("a: b\n", 1...2),
            ("a: [[1, [2]], {b: [c]}]\n", 4...10),
            ("a:\n  b:\n    - c\n    - d:\n        e: f\n", 5...10),
            ("a:\n- b:\n  - c\n", 4...8),
            ("- - - - x\n", 4...8),
            (#"{"a": {"b": [1, {"c": [[]]}]}}"#, 6...12),
            ("[a: b]\n", 2...4),
        ]
        for (text, expected) in cases {
            #expect(expected.contains(YAMLNesting.depthBound(of: text)), "\(text.debugDescription): \(YAMLNesting.depthBound(of: text))")
            #expect(YAMLNesting.lineExceedingLimit(in: text) == nil)
        }
    }

    /// Brackets inside quoted and block scalars and comments are text, not levels.
    @Test func textIsNotNesting() {
        let deep = String(repeating: "[", count: 500)
        for text in [
            "a: '\(deep)'\n", "a: \"\(deep)\"\n", "a: x # \(deep)\n", "a: |\n  \(deep)\n  more\nb: c\n",
            "a: plain \(deep)\n", "a: \"multi\n  \(deep)\n  line\"\n", "a: x\n  continued \(deep)\n",
        ] {
            #expect(YAMLNesting.depthBound(of: text) <= 4, "\(text.prefix(40).debugDescription)")
        }
    }

    /// Flow brackets, indentation and compact entries past the limit are reported on the line where
    /// the limit is crossed.
    @Test func deepDocumentsAreFound() {
        #expect(YAMLNesting.lineExceedingLimit(in: "a: " + String(repeating: "[", count: 100_000)) == 1)
        #expect(YAMLNesting.lineExceedingLimit(in: "a: b\nc:\n  " + String(repeating: "{x: ", count: 60)) == 3)
        let indented = (0..<80).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
        #expect(YAMLNesting.lineExceedingLimit(in: indented) == 51)
        #expect(YAMLNesting.lineExceedingLimit(in: String(repeating: "- ", count: 60) + "x") == 1)
        #expect(YAMLNesting.lineExceedingLimit(in: "a: '" + String(repeating: "[", count: 100_000) + "'") == nil)
        // NEL, LS and PS end lines for libyaml, and so a tag (fuzz input tag-ended-by-next-line-character).
        for lineBreak in ["\u{85}", "\u{2028}", "\u{2029}"] {
            #expect(YAMLNesting.lineExceedingLimit(in: "!" + lineBreak + String(repeating: "[", count: 200)) == 2)
        }
    }

    /// A kubeconfig nested 100,000 levels deep is a typed error naming the line, not a crash.
    @Test func deepKubeconfigIsAnError() {
        let text = "apiVersion: v1\nclusters: " + String(repeating: "[", count: 100_000)
        #expect(throws: KubeconfigError(.unreadableFile(path: "(in memory)", reason: "line 2: lists and mappings nest more than 100 levels deep"))) {
            try Kubeconfig.parse(text, directory: "/nonexistent")
        }
    }
}
