// Syntax rules for the values a scenario carries into clusters and into the in-pod command.
// Kubernetes rejects bad names late (422 after other objects exist); checking first keeps a bad
// scenario from touching any cluster. Values that reach a shell as positional arguments are also
// kept free of shell metacharacters so that a copy-pasted command line stays safe.

package enum NameRules {
    /// RFC 1123 label (namespaces, label-like names): ≤63, `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
    package static func dns1123LabelProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > 63 { return "must be at most 63 characters (DNS-1123 label), got \(value.utf8.count)" }
        let bytes = Array(value.utf8)
        for byte in bytes where !(isLowerAlnum(byte) || byte == UInt8(ascii: "-")) {
            return "must be a DNS-1123 label (lowercase letters, digits and '-'), got \(quoted(value))"
        }
        if bytes.first == UInt8(ascii: "-") || bytes.last == UInt8(ascii: "-") {
            return "must start and end with a lowercase letter or digit (DNS-1123 label), got \(quoted(value))"
        }
        return nil
    }

    /// RFC 1123 subdomain (Secret and Deployment names): ≤253, dot-separated labels.
    package static func dns1123SubdomainProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > 253 { return "must be at most 253 characters (DNS-1123 subdomain), got \(value.utf8.count)" }
        for label in value.split(separator: ".", omittingEmptySubsequences: false) {
            if dns1123LabelProblem(String(label)) != nil {
                return "must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'), got \(quoted(value))"
            }
        }
        return nil
    }

    /// Characters a POSIX shell treats specially anywhere in a word, plus whitespace and control bytes.
    package static func shellMetacharacter(in value: String) -> Character? {
        for character in value {
            if character.isWhitespace { return character }
            if "|&;<>()$`\\\"'*?[]#~=%!{}^".contains(character) { return character }
            if let ascii = character.asciiValue, ascii < 0x20 || ascii == 0x7f { return character }
        }
        return nil
    }

    /// A container image reference: `[registry[:port]/]path[:tag][@sha256:digest]` with the character set
    /// registries accept; no shell metacharacters.
    package static func imageReferenceProblem(_ value: String) -> String? {
        referenceProblem(value, shape: "an image reference ([registry/]path[:tag][@digest])")
    }

    /// A registry prefix such as `registry.example.com:5000/mirror`.
    package static func registryPrefixProblem(_ value: String) -> String? {
        let shape = "a registry prefix (host[:port][/path])"
        if let problem = referenceProblem(value, shape: shape) { return problem }
        if value.contains("@") { return "must be \(shape) without a digest, got \(quoted(value))" }
        return nil
    }

    private static func referenceProblem(_ value: String, shape: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > 512 { return "must be at most 512 characters, got \(value.utf8.count)" }
        if let bad = shellMetacharacter(in: value) {
            return "must not contain shell metacharacters or whitespace (found \(quoted(String(bad)))), got \(quoted(value))"
        }
        let malformed =
            value.utf8.contains { !(isAlnum($0) || "._-/:@".utf8.contains($0)) }
            || value.hasPrefix("/") || value.hasSuffix("/") || value.hasSuffix(":") || value.contains("//")
        return malformed ? "must be \(shape), got \(quoted(value))" : nil
    }

    /// A kubeconfig context name: free-form in kubeconfig, but never empty and never with control bytes.
    package static func contextNameProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > 253 { return "must be at most 253 characters, got \(value.utf8.count)" }
        for scalar in value.unicodeScalars where scalar.value < 0x20 || scalar.value == 0x7f {
            return "must not contain control characters"
        }
        return nil
    }

    /// Turns any string into a DNS-1123 label (for cluster names derived from context names).
    package static func derivedLabel(from value: String) -> String {
        var out: [UInt8] = []
        for byte in value.lowercased().utf8 {
            let keep = isLowerAlnum(byte)
            if keep { out.append(byte) } else if out.last != UInt8(ascii: "-") { out.append(UInt8(ascii: "-")) }
        }
        while out.first == UInt8(ascii: "-") { out.removeFirst() }
        if out.count > 63 { out = Array(out.prefix(63)) }
        while out.last == UInt8(ascii: "-") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    /// The closest of `candidates` to `word` when close enough to be a likely typo.
    package static func suggestion(for word: String, among candidates: [String]) -> String? {
        let lowered = word.lowercased()
        if let exact = candidates.first(where: { $0.lowercased() == lowered }) { return exact }
        // A truncated key (`requests` for `requestsPerBurst`) is a likely slip even when far in edits.
        if lowered.count >= 3, let extended = candidates.filter({ $0.lowercased().hasPrefix(lowered) }).min(by: { $0.count < $1.count }) {
            return extended
        }
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        let allowed = max(2, min(word.count, candidate.count) / 3)
        return distance <= allowed ? candidate : nil
    }

    /// Levenshtein distance over Unicode scalars.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let left = Array(a.unicodeScalars)
        let right = Array(b.unicodeScalars)
        if left.isEmpty { return right.count }
        if right.isEmpty { return left.count }
        var previous = Array(0...right.count)
        var current = [Int](repeating: 0, count: right.count + 1)
        for i in 1...left.count {
            current[0] = i
            for j in 1...right.count {
                let substitution = previous[j - 1] + (left[i - 1] == right[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        isLowerAlnum(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
