// What a pod printed (or a command run in it: curl, pilot-discovery), as it may appear in a message or a report. A
// pod is not trusted to print safe or short text, so one place decides what of it is shown. Pure.

package enum PodOutputExcerpt {
    package static let maxCharacters = 160

    /// The last line with something on it, control characters replaced by spaces, cut to ``maxCharacters`` (then
    /// `…`); nil when there is no such line.
    package static func lastLine(_ text: String) -> String? {
        guard let line = text.split(whereSeparator: \.isNewline).last(where: { !$0.allSatisfy(\.isWhitespace) }) else { return nil }
        let scalars = line.unicodeScalars.map { scalar in
            scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? " " : scalar
        }
        let printable = String(String.UnicodeScalarView(scalars))
        return printable.count > maxCharacters ? printable.prefix(maxCharacters) + "…" : printable
    }
}
