/// API server warnings: the `Warning: 299 - "text"` headers a server adds to a response that
/// succeeded (a deprecated API version, an unknown field it dropped), which kubectl prints as
/// `Warning: text`.
package enum ServerWarning {
    /// The most distinct warnings one client keeps (and reports); a server repeating itself, or one
    /// varying its text per request, cannot grow memory or flood the terminal.
    package static let limit = 50

    /// How meshcheck prints a warning: kubectl's `Warning: text`, with the context it came from.
    package static func line(context: String, text: String) -> String {
        "context \(context): API server warning: \(text)"
    }

    /// The text of one `Warning` header value (`<code> <agent> "<text>" [<date>]`, RFC 7234 §5.5):
    /// the quoted text with its escapes undone, or the whole value when it has none; control
    /// characters become spaces, so a server cannot move the cursor or recolour the terminal.
    package static func text(ofHeader value: String) -> String {
        var text = ""
        if let open = value.firstIndex(of: "\"") {
            var escaped = false
            for character in value[value.index(after: open)...] {
                if escaped {
                    text.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    text.append(character)
                }
            }
        } else {
            text = value
        }
        return String(
            text.unicodeScalars.map { scalar -> Character in
                scalar.properties.generalCategory == .control ? " " : Character(scalar)
            })
    }
}
