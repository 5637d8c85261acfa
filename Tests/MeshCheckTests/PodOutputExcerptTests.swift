import MeshCheck
import Testing

/// What of a pod's output reaches a message: its last line with text, printable, bounded.
@Suite struct PodOutputExcerptTests {
    @Test func lastLineWithTextIsTaken() {
        #expect(PodOutputExcerpt.lastLine("first\ncurl: (7) Failed to connect\n\n  \n") == "curl: (7) Failed to connect")
        #expect(PodOutputExcerpt.lastLine("") == nil)
        #expect(PodOutputExcerpt.lastLine("\n \t\n") == nil)
    }

    @Test func controlCharactersBecomeSpaces() {
        #expect(PodOutputExcerpt.lastLine("a\u{1B}[31mred\u{7F}b\u{9B}c\td") == "a [31mred b c d")
    }

    @Test func longLinesAreCut() {
        let long = String(repeating: "e", count: 10_000)
        let excerpt = PodOutputExcerpt.lastLine(long)
        #expect(excerpt == String(repeating: "e", count: PodOutputExcerpt.maxCharacters) + "…")
        #expect(PodOutputExcerpt.lastLine(String(repeating: "e", count: PodOutputExcerpt.maxCharacters)) == String(repeating: "e", count: 160))
    }
}
