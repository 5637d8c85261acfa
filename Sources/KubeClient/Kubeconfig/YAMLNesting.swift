// Yams composes documents recursively, one stack frame per nested list or mapping, so a document
// nested thousands of levels deep ("[[[[…", or a few kilobytes of ever deeper indentation) overflows
// the stack and kills the process instead of failing to parse. Readers of YAML we do not write
// ourselves (kubeconfig, scenarios) measure the nesting first with this scanner, which follows
// libyaml's rules for what opens a level: block indentation (mirroring libyaml's indentation stack),
// flow brackets, and the places where brackets do not count (quoted and block scalars, comments).
// It never reports less than the depth Yams reaches; the fuzz targets check that against Yams.

/// Nesting depth of YAML text, measured without composing it.
package enum YAMLNesting {
    /// Deeper than any kubeconfig or scenario needs, far below what overflows a thread's stack.
    package static let limit = 100

    /// The 1-based line on which `text` first nests deeper than `limit` levels, or nil when it never does.
    package static func lineExceedingLimit(in text: String, limit: Int = YAMLNesting.limit) -> Int? {
        var scanner = NestingScanner(Array(text.utf8))
        return scanner.scan(stopAbove: limit)
    }

    /// An upper bound of the nesting depth Yams reaches when composing `text`.
    package static func depthBound(of text: String) -> Int {
        var scanner = NestingScanner(Array(text.utf8))
        _ = scanner.scan(stopAbove: Int.max)
        return scanner.deepest
    }
}

private struct NestingScanner {
    let bytes: [UInt8]
    var index = 0
    var line = 1
    /// Columns of the open block collections (libyaml's indentation stack).
    var indents: [Int] = []
    var flowDepth = 0
    private(set) var deepest = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    /// Each level counts twice: a block mapping may hold a sequence written at its own indentation
    /// (libyaml's "indentless sequence"), and a flow sequence entry may be a single-pair mapping
    /// (`[a: b]`, `[? a]`).
    var depth: Int { 2 * (indents.count + flowDepth) }

    // Scanner states that last across lines.
    var quote: UInt8?
    var expectingNode = true
    /// A plain scalar ended with the line and may continue on a more indented one.
    var plainScalarOpen = false
    /// Content indentation of the block scalar being skipped (`minimum` until its first line sets it).
    var blockScalar: (minimum: Int, content: Int?)?

    mutating func scan(stopAbove limit: Int) -> Int? {
        while index < bytes.count {
            scanLine()
            if deepest > limit { return line }
            line += 1
        }
        return nil
    }

    private mutating func note() { deepest = max(deepest, depth) }

    private func byte(_ offset: Int = 0) -> UInt8? {
        bytes.indices.contains(index + offset) ? bytes[index + offset] : nil
    }

    /// Length of the line break at `index + offset` (LF, CR, CR LF, and libyaml's NEL, LS, PS), 0 when none.
    private func lineBreakLength(_ offset: Int = 0) -> Int {
        guard let first = byte(offset) else { return 0 }
        switch first {
        case 0x0A: return 1
        case 0x0D: return byte(offset + 1) == 0x0A ? 2 : 1
        case 0xC2: return byte(offset + 1) == 0x85 ? 2 : 0
        case 0xE2: return byte(offset + 1) == 0x80 && (byte(offset + 2) == 0xA8 || byte(offset + 2) == 0xA9) ? 3 : 0
        default: return 0
        }
    }

    private var atLineEnd: Bool { index >= bytes.count || lineBreakLength() > 0 }

    /// A space, tab, line break (any of libyaml's) or the end at `index + offset`.
    private func isBlank(_ offset: Int = 0) -> Bool {
        guard let value = byte(offset) else { return true }
        return value == 0x20 || value == 0x09 || lineBreakLength(offset) > 0
    }

    private mutating func skipToLineEnd() {
        while !atLineEnd { index += 1 }
    }

    private mutating func skipSpaces() {
        while byte() == 0x20 || byte() == 0x09 { index += 1 }
    }

    /// Scans one line, leaving `index` after its line break.
    private mutating func scanLine() {
        let start = index
        while byte() == 0x20 { index += 1 }
        let column = index - start
        let blank = atLineEnd || byte() == UInt8(ascii: "#")
        if var scalar = blockScalar {
            if atLineEnd || column >= (scalar.content ?? scalar.minimum) {
                if !atLineEnd, scalar.content == nil { scalar.content = column }
                blockScalar = scalar
                skipToLineEnd()
                return finishLine()
            }
            blockScalar = nil
        }
        var continuingPlainScalar = false
        if quote == nil, flowDepth == 0, !blank {
            if plainScalarOpen, column > (indents.last ?? -1) {
                continuingPlainScalar = true
            } else {
                plainScalarOpen = false
                while let top = indents.last, top > column { indents.removeLast() }
                if column == 0, startsDocumentMarker() { indents.removeAll() }
                expectingNode = true
            }
        }
        // A comment line ends a plain scalar (libyaml stops scanning one at `#`).
        if blank, !atLineEnd { plainScalarOpen = false }
        scanTokens(lineStart: start, continuingPlainScalar: continuingPlainScalar)
        finishLine()
    }

    private mutating func finishLine() {
        index += lineBreakLength()
    }

    /// `---` or `...` at column 0 starts or ends a document; `%` lines are directives.
    private mutating func startsDocumentMarker() -> Bool {
        if byte() == UInt8(ascii: "%") {
            skipToLineEnd()
            return true
        }
        for marker in [UInt8(ascii: "-"), UInt8(ascii: ".")] where byte() == marker && byte(1) == marker && byte(2) == marker && isBlank(3) {
            index += 3
            return true
        }
        return false
    }

    private mutating func scanTokens(lineStart: Int, continuingPlainScalar: Bool) {
        var nodeColumn = index - lineStart
        if continuingPlainScalar, skipPlainScalar() { pushIndent(nodeColumn) }
        while !atLineEnd {
            if let open = quote {
                skipQuoted(open)
                continue
            }
            let current = bytes[index]
            let afterSpace = index == lineStart || isBlank(-1)
            if current == UInt8(ascii: "#"), afterSpace {
                skipToLineEnd()
                return
            }
            if current == 0x20 || current == 0x09 {
                index += 1
                continue
            }
            if flowDepth > 0 {
                scanFlowByte(current)
                continue
            }
            // Block context.
            let column = index - lineStart
            let isIndicator = current == UInt8(ascii: "-") || current == UInt8(ascii: "?") || current == UInt8(ascii: ":")
            if isIndicator, isBlank(1), expectingNode || current == UInt8(ascii: ":") {
                // `- ` and `? ` open a collection at their column; `: ` after a quoted key or a flow
                // collection makes that node a key of a mapping at its column.
                pushIndent(expectingNode ? column : nodeColumn)
                index += 1
                expectingNode = true
                continue
            }
            guard expectingNode else {
                index += 1 // the rest of a scalar or junk after it
                continue
            }
            nodeColumn = column
            switch current {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                scanFlowByte(current)
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                quote = current
                index += 1
            case UInt8(ascii: "|"), UInt8(ascii: ">"):
                startBlockScalar()
                return
            case UInt8(ascii: "&"), UInt8(ascii: "!"):
                skipProperty()
            case UInt8(ascii: "*"):
                skipProperty()
                expectingNode = false
            default:
                if skipPlainScalar() { pushIndent(nodeColumn) }
            }
        }
        plainScalarOpen = plainScalarOpen && flowDepth == 0 && quote == nil
    }

    private mutating func pushIndent(_ column: Int) {
        if column > (indents.last ?? -1) {
            indents.append(column)
            note()
        }
    }

    /// Skips a plain scalar in block context; true when it turned out to be a key (`: ` follows),
    /// after which a value node is expected.
    @discardableResult
    private mutating func skipPlainScalar() -> Bool {
        expectingNode = false
        while !atLineEnd {
            let current = bytes[index]
            if current == UInt8(ascii: ":"), isBlank(1) {
                index += 1
                expectingNode = true
                plainScalarOpen = false
                return true
            }
            if current == UInt8(ascii: "#"), isBlank(-1) {
                skipToLineEnd()
                plainScalarOpen = false
                return false
            }
            index += 1
        }
        plainScalarOpen = true
        return false
    }

    private func lineBreakAt(_ position: Int) -> Bool {
        position < bytes.count && (bytes[position] == 0x0A || bytes[position] == 0x0D)
    }

    /// Anchor and alias names (`&a`, `*a`) are letters, digits, `-` and `_`; tags (`!t`) run to the next
    /// blank or, in flow context, flow indicator (libyaml's rules).
    private mutating func skipProperty() {
        let isTag = bytes[index] == UInt8(ascii: "!")
        index += 1
        while let current = byte() {
            let continues =
                isTag
                ? !isBlank() && !(flowDepth > 0 && ",[]{}".utf8.contains(current))
                : (0x30...0x39).contains(current) || (0x41...0x5A).contains(current) || (0x61...0x7A).contains(current)
                    || current == UInt8(ascii: "-") || current == UInt8(ascii: "_")
            guard continues else { return }
            index += 1
        }
    }

    /// Flow context: brackets open and close levels; quotes start only where a node may start.
    private mutating func scanFlowByte(_ current: UInt8) {
        switch current {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            flowDepth += 1
            note()
            expectingNode = true
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            flowDepth = max(0, flowDepth - 1)
            expectingNode = false
        case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "?"):
            expectingNode = true
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            if expectingNode { quote = current } else { expectingNode = false }
        case UInt8(ascii: "&"), UInt8(ascii: "!"):
            if expectingNode { return skipProperty() }
            expectingNode = false
        default:
            expectingNode = false
        }
        index += 1
    }

    /// Inside a quoted scalar (which may span lines): `''` and `\x` are escapes, not the end.
    private mutating func skipQuoted(_ open: UInt8) {
        while !atLineEnd {
            let current = bytes[index]
            if open == UInt8(ascii: "\""), current == UInt8(ascii: "\\") {
                index += lineBreakAfterBackslash() ? 1 : 2
                continue
            }
            if current == open {
                if open == UInt8(ascii: "'"), byte(1) == open {
                    index += 2
                    continue
                }
                index += 1
                quote = nil
                expectingNode = false
                return
            }
            index += 1
        }
    }

    private func lineBreakAfterBackslash() -> Bool { index + 1 >= bytes.count || lineBreakAt(index + 1) }

    /// `|` or `>` with optional indentation and chomping indicators: the following more indented
    /// lines are its content, whatever they contain.
    private mutating func startBlockScalar() {
        let parent = indents.last ?? -1
        var explicit: Int?
        index += 1
        while let current = byte(), current == UInt8(ascii: "+") || current == UInt8(ascii: "-") || (0x31...0x39).contains(current) {
            if (0x31...0x39).contains(current) { explicit = Int(current - 0x30) }
            index += 1
        }
        blockScalar = (minimum: parent + 1, content: explicit.map { parent >= 0 ? parent + $0 : $0 })
        expectingNode = false
        skipToLineEnd()
    }
}
