/// The byte parser behind `PushJSONDecoder`. It unescapes strings into a caller-provided arena and records
/// entries as arena ranges; the decoder turns them into slices once the arena is complete (slicing earlier would
/// copy the arena on the next write). Internal to `Wire`: use `PushJSONDecoder`.
struct PushJSONParser {
    struct PendingStream {
        var labels: String
        var entries: Range<Int>
    }

    struct PendingEntry {
        var timestamp: Int64
        var line: Range<Int>
        var metadata: [LabelPair]
    }

    private let input: UnsafePointer<UInt8>?
    private let count: Int
    private let arena: UnsafeMutablePointer<UInt8>?
    private var position = 0
    private(set) var arenaCount = 0
    private(set) var streams: [PendingStream] = []
    private(set) var entries: [PendingEntry] = []

    /// Where we are, for error messages: `streams[streamIndex].values[valueIndex]`, -1 when outside.
    private var streamIndex = -1
    private var valueIndex = -1

    init(input: UnsafeBufferPointer<UInt8>, arena: UnsafeMutableBufferPointer<UInt8>) {
        precondition(arena.count >= input.count, "the arena must be at least as large as the input")
        self.input = input.baseAddress
        self.count = input.count
        self.arena = arena.baseAddress
    }

    // MARK: Document structure

    mutating func parseDocument() throws(PushDecodeError) {
        skipWhitespace()
        if try peekLiteralNull() {
            try skipLiteral("null")
        } else {
            guard try objectStart(what: "the push request object") else { return try expectEnd() }
            repeat {
                let keyStart = arenaCount
                let key = try objectKey()
                arenaCount = keyStart
                if key == .streams {
                    streams.removeAll(keepingCapacity: true)
                    try parseStreams()
                } else {
                    try skipValue()
                }
            } while try objectNext()
        }
        try expectEnd()
    }

    private mutating func expectEnd() throws(PushDecodeError) {
        skipWhitespace()
        guard position == count else {
            throw failure("unexpected \(describeByte(at: position)) after the end of the push request object")
        }
    }

    private mutating func parseStreams() throws(PushDecodeError) {
        if try peekLiteralNull() { return try skipLiteral("null") }
        guard try arrayStart(what: "an array of streams for \"streams\"") else { return }
        var index = 0
        repeat {
            streamIndex = index
            try parseStream()
            index += 1
        } while try arrayNext()
        streamIndex = -1
    }

    private mutating func parseStream() throws(PushDecodeError) {
        var labels = "{}"
        var streamEntries = entries.count..<entries.count
        if try peekLiteralNull() {
            try skipLiteral("null")
        } else if try objectStart(what: "a stream object") {
            repeat {
                let keyStart = arenaCount
                let key = try objectKey()
                arenaCount = keyStart
                switch key {
                case .stream:
                    labels = try parseLabelObject()
                case .values:
                    let first = entries.count
                    try parseValues()
                    streamEntries = first..<entries.count
                default:
                    try skipValue()
                }
            } while try objectNext()
        }
        streams.append(PendingStream(labels: labels, entries: streamEntries))
    }

    /// Parses `{"name":"value",...}` into Loki's label text.
    private mutating func parseLabelObject() throws(PushDecodeError) -> String {
        if try peekLiteralNull() {
            try skipLiteral("null")
            return "{}"
        }
        let arenaStart = arenaCount
        defer { arenaCount = arenaStart }
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        if try objectStart(what: "an object of labels for \"stream\"") {
            repeat {
                let nameOffset = position
                let name = try parseString()
                try expectColon()
                let valueOffset = position
                guard try peek() == UInt8(ascii: "\"") else {
                    throw failure("label \(quotedArena(name)) must have a string value, found \(describeByte(at: position))",
                                  at: position)
                }
                let value = try parseString()
                try validateUTF8(name, what: "label name", at: nameOffset)
                try validateUTF8(value, what: "label value", at: valueOffset)
                pairs.append((name, value))
            } while try objectNext()
        }
        return labelText(pairs)
    }

    private mutating func parseValues() throws(PushDecodeError) {
        if try peekLiteralNull() { return try skipLiteral("null") }
        guard try arrayStart(what: "an array of entries for \"values\"") else { return }
        var index = 0
        repeat {
            valueIndex = index
            try parseEntry()
            index += 1
        } while try arrayNext()
        valueIndex = -1
    }

    /// Parses `["<ns>", "line"]` or `["<ns>", "line", {"name":"value",...}]`; further elements are skipped, as
    /// Loki does.
    private mutating func parseEntry() throws(PushDecodeError) {
        let entryOffset = position
        guard try arrayStart(what: "an entry array [\"<unix ns>\", \"<line>\"]") else {
            throw failure("entry is an empty array, expected [\"<unix ns>\", \"<line>\"]", at: entryOffset)
        }
        let timestamp = try parseTimestamp()
        guard try arrayNext() else {
            throw failure("entry has a timestamp but no log line, expected [\"<unix ns>\", \"<line>\"]",
                          at: entryOffset)
        }
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("log line must be a string, found \(describeByte(at: position))", at: position)
        }
        let line = try parseString()
        var metadata: [LabelPair] = []
        if try arrayNext() {
            metadata = try parseStructuredMetadata()
            while try arrayNext() {
                try skipValue()
            }
        }
        entries.append(PendingEntry(timestamp: timestamp, line: line, metadata: metadata))
    }

    private mutating func parseStructuredMetadata() throws(PushDecodeError) -> [LabelPair] {
        if try peekLiteralNull() {
            try skipLiteral("null")
            return []
        }
        let arenaStart = arenaCount
        defer { arenaCount = arenaStart }
        var pairs: [LabelPair] = []
        guard try objectStart(what: "an object of structured metadata as the third element of an entry") else {
            return []
        }
        repeat {
            let nameOffset = position
            let name = try parseString()
            try expectColon()
            let valueOffset = position
            guard try peek() == UInt8(ascii: "\"") else {
                throw failure("structured metadata \(quotedArena(name)) must have a string value, found "
                    + describeByte(at: position), at: position)
            }
            let value = try parseString()
            pairs.append(LabelPair(name: try makeString(name, what: "structured metadata name", at: nameOffset),
                                   value: try makeString(value, what: "structured metadata value", at: valueOffset)))
        } while try objectNext()
        return pairs
    }

    /// A timestamp: a string holding an integer number of nanoseconds (Loki's form) or a JSON integer.
    private mutating func parseTimestamp() throws(PushDecodeError) -> Int64 {
        let offset = position
        let byte = try peek()
        if byte == UInt8(ascii: "\"") {
            let arenaStart = arenaCount
            defer { arenaCount = arenaStart }
            let text = try parseString()
            guard let value = parseInteger(text, allowPlus: true) else {
                throw failure("timestamp \(quotedArena(text)) is not an integer number of nanoseconds since the epoch "
                    + "(fitting in 64 bits)", at: offset)
            }
            return value
        }
        guard byte == UInt8(ascii: "-") || isDigit(byte) else {
            throw failure("timestamp must be a string of nanoseconds since the epoch, found \(describeByte(at: offset))",
                          at: offset)
        }
        try skipNumber()
        let arenaStart = arenaCount
        defer { arenaCount = arenaStart }
        let text = copyToArena(offset..<position)
        guard let value = parseInteger(text, allowPlus: false) else {
            throw failure("timestamp \(String(decoding: arenaBytes(text), as: UTF8.self)) is not an integer number "
                + "of nanoseconds since the epoch (fitting in 64 bits)", at: offset)
        }
        return value
    }

    // MARK: Containers

    private enum Key {
        case streams, stream, values, other
    }

    /// Consumes `{` and any whitespace; returns false (having consumed `}`) for an empty object.
    private mutating func objectStart(what: String) throws(PushDecodeError) -> Bool {
        try containerStart(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), what: what)
    }

    private mutating func arrayStart(what: String) throws(PushDecodeError) -> Bool {
        try containerStart(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), what: what)
    }

    private mutating func containerStart(open: UInt8, close: UInt8, what: String) throws(PushDecodeError) -> Bool {
        skipWhitespace()
        guard try peek() == open else {
            throw failure("expected \(what), found \(describeByte(at: position))")
        }
        position += 1
        skipWhitespace()
        if try peek() == close {
            position += 1
            return false
        }
        return true
    }

    /// Reads a member name and its colon, leaving the position at the value.
    private mutating func objectKey() throws(PushDecodeError) -> Key {
        let key = try parseString()
        try expectColon()
        return classify(key)
    }

    private mutating func expectColon() throws(PushDecodeError) {
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else {
            throw failure("expected ':' after an object key, found \(describeByte(at: position))")
        }
        position += 1
        skipWhitespace()
    }

    /// After a member's value: true after `,` (another member follows), false after `}`.
    private mutating func objectNext() throws(PushDecodeError) -> Bool {
        try containerNext(close: UInt8(ascii: "}"), after: "an object member")
    }

    private mutating func arrayNext() throws(PushDecodeError) -> Bool {
        try containerNext(close: UInt8(ascii: "]"), after: "an array element")
    }

    private mutating func containerNext(close: UInt8, after: String) throws(PushDecodeError) -> Bool {
        skipWhitespace()
        switch try peek() {
        case UInt8(ascii: ","):
            position += 1
            skipWhitespace()
            return true
        case close:
            position += 1
            return false
        default:
            throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))' after \(after), found \(describeByte(at: position))")
        }
    }

    /// Skips any JSON value, validating it. Iterative, so deeply nested input cannot exhaust the stack.
    private mutating func skipValue() throws(PushDecodeError) {
        var containers: [UInt8] = []   // the closing byte of each open container
        while true {
            // A value is expected here.
            skipWhitespace()
            let byte = try peek()
            var opened = false
            switch byte {
            case UInt8(ascii: "{"):
                position += 1
                skipWhitespace()
                if try peek() == UInt8(ascii: "}") {
                    position += 1
                } else {
                    containers.append(UInt8(ascii: "}"))
                    try skipKey()
                    opened = true
                }
            case UInt8(ascii: "["):
                position += 1
                skipWhitespace()
                if try peek() == UInt8(ascii: "]") {
                    position += 1
                } else {
                    containers.append(UInt8(ascii: "]"))
                    opened = true
                }
            case UInt8(ascii: "\""):
                let arenaStart = arenaCount
                _ = try parseString()
                arenaCount = arenaStart
            case UInt8(ascii: "t"):
                try skipLiteral("true")
            case UInt8(ascii: "f"):
                try skipLiteral("false")
            case UInt8(ascii: "n"):
                try skipLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try skipNumber()
            default:
                throw failure("expected a JSON value, found \(describeByte(at: position))")
            }
            if opened { continue }
            // After a complete value: close containers until one continues with ','.
            var continues = false
            while let closing = containers.last {
                skipWhitespace()
                let next = try peek()
                if next == UInt8(ascii: ",") {
                    position += 1
                    if closing == UInt8(ascii: "}") { try skipKey() }
                    continues = true
                    break
                }
                guard next == closing else {
                    throw failure("expected ',' or '\(Character(Unicode.Scalar(closing)))', found "
                        + describeByte(at: position))
                }
                position += 1
                containers.removeLast()
            }
            if !continues { return }
        }
    }

    private mutating func skipKey() throws(PushDecodeError) {
        skipWhitespace()
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a string object key, found \(describeByte(at: position))")
        }
        let arenaStart = arenaCount
        _ = try parseString()
        arenaCount = arenaStart
        try expectColon()
    }

    // MARK: Scalars

    /// Parses a string at the current position (which must be `"`), unescaping it onto the end of the arena.
    private mutating func parseString() throws(PushDecodeError) -> Range<Int> {
        guard let input, let arena else { throw failure("unexpected end of input") }
        let start = position
        guard try peek() == UInt8(ascii: "\"") else {
            throw failure("expected a string, found \(describeByte(at: position))")
        }
        position += 1
        let arenaStart = arenaCount
        while true {
            // Copy the run of plain bytes up to the next quote, backslash or control character.
            let runStart = position
            while position < count {
                let byte = input[position]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                position += 1
            }
            let run = position - runStart
            if run > 0 {
                (arena + arenaCount).update(from: input + runStart, count: run)
                arenaCount += run
            }
            guard position < count else {
                throw failure("unexpected end of input in the string starting", at: start)
            }
            let byte = input[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return arenaStart..<arenaCount
            }
            if byte < 0x20 {
                throw failure("control character \(describeByte(at: position)) in a string (escape it as \\u00XX)")
            }
            try parseEscape()
        }
    }

    private mutating func parseEscape() throws(PushDecodeError) {
        guard let input, let arena else { throw failure("unexpected end of input") }
        let escapeStart = position
        position += 1   // the backslash
        guard position < count else { throw failure("unexpected end of input in an escape sequence", at: escapeStart) }
        let letter = input[position]
        position += 1
        let decoded: UInt8
        switch letter {
        case UInt8(ascii: "\""): decoded = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): decoded = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): decoded = UInt8(ascii: "/")
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            var scalar = try parseHex4(escapeStart: escapeStart)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate: combine with a following \uDC00-\uDFFF, else it stands alone (U+FFFD).
                if position + 6 <= count, input[position] == UInt8(ascii: "\\"), input[position + 1] == UInt8(ascii: "u") {
                    let saved = position
                    position += 2
                    let low = try parseHex4(escapeStart: saved)
                    if low >= 0xDC00 && low <= 0xDFFF {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        position = saved
                        scalar = 0xFFFD
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                scalar = 0xFFFD
            }
            appendUTF8(scalar, to: arena)
            return
        default:
            throw failure("invalid escape sequence: backslash followed by \(describeRawByte(letter))", at: escapeStart)
        }
        arena[arenaCount] = decoded
        arenaCount += 1
    }

    private mutating func parseHex4(escapeStart: Int) throws(PushDecodeError) -> UInt32 {
        guard let input, position + 4 <= count else {
            throw failure("unexpected end of input in a \\u escape", at: escapeStart)
        }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = input[position + offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default:
                throw failure("invalid \\u escape: \(describeByte(at: position + offset)) is not a hex digit",
                              at: escapeStart)
            }
            value = value << 4 | digit
        }
        position += 4
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32, to arena: UnsafeMutablePointer<UInt8>) {
        if scalar < 0x80 {
            arena[arenaCount] = UInt8(scalar)
            arenaCount += 1
        } else if scalar < 0x800 {
            arena[arenaCount] = UInt8(0xC0 | scalar >> 6)
            arena[arenaCount + 1] = UInt8(0x80 | scalar & 0x3F)
            arenaCount += 2
        } else if scalar < 0x10000 {
            arena[arenaCount] = UInt8(0xE0 | scalar >> 12)
            arena[arenaCount + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            arena[arenaCount + 2] = UInt8(0x80 | scalar & 0x3F)
            arenaCount += 3
        } else {
            arena[arenaCount] = UInt8(0xF0 | scalar >> 18)
            arena[arenaCount + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            arena[arenaCount + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            arena[arenaCount + 3] = UInt8(0x80 | scalar & 0x3F)
            arenaCount += 4
        }
    }

    /// Validates a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) and moves past it.
    private mutating func skipNumber() throws(PushDecodeError) {
        let start = position
        func digits(_ parser: inout PushJSONParser) -> Int {
            var n = 0
            while parser.position < parser.count, let input = parser.input, parser.isDigit(input[parser.position]) {
                parser.position += 1
                n += 1
            }
            return n
        }
        if position < count, input?[position] == UInt8(ascii: "-") { position += 1 }
        guard position < count, let input else { throw failure("unexpected end of input in a number", at: start) }
        if input[position] == UInt8(ascii: "0") {
            position += 1
        } else if digits(&self) == 0 {
            throw failure("invalid number: expected a digit, found \(describeByte(at: position))", at: start)
        }
        if position < count && input[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else {
                throw failure("invalid number: expected a digit after '.', found \(describeByte(at: position))",
                              at: start)
            }
        }
        if position < count && (input[position] == UInt8(ascii: "e") || input[position] == UInt8(ascii: "E")) {
            position += 1
            if position < count && (input[position] == UInt8(ascii: "+") || input[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard digits(&self) > 0 else {
                throw failure("invalid number: expected a digit in the exponent, found \(describeByte(at: position))",
                              at: start)
            }
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(PushDecodeError) {
        guard let input else { throw failure("unexpected end of input") }
        let start = position
        for offset in 0..<literal.utf8CodeUnitCount {
            guard start + offset < count else {
                throw failure("unexpected end of input in the literal '\(literal)'", at: start)
            }
            guard input[start + offset] == literal.utf8Start[offset] else {
                throw failure("invalid literal, expected '\(literal)'", at: start)
            }
        }
        position += literal.utf8CodeUnitCount
    }

    // MARK: Helpers

    private mutating func skipWhitespace() {
        guard let input else { return }
        while position < count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private func peek() throws(PushDecodeError) -> UInt8 {
        guard position < count, let input else { throw failure("unexpected end of input") }
        return input[position]
    }

    private func peekLiteralNull() throws(PushDecodeError) -> Bool {
        try peek() == UInt8(ascii: "n")
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func arenaBytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        guard let arena else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: arena + range.lowerBound, count: range.count)
    }

    private mutating func copyToArena(_ range: Range<Int>) -> Range<Int> {
        guard let input, let arena else { return 0..<0 }
        let start = arenaCount
        (arena + arenaCount).update(from: input + range.lowerBound, count: range.count)
        arenaCount += range.count
        return start..<arenaCount
    }

    private func classify(_ key: Range<Int>) -> Key {
        let bytes = arenaBytes(key)
        if bytes.elementsEqual("streams".utf8) { return .streams }
        if bytes.elementsEqual("stream".utf8) { return .stream }
        if bytes.elementsEqual("values".utf8) { return .values }
        return .other
    }

    /// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits, no overflow.
    private func parseInteger(_ range: Range<Int>, allowPlus: Bool) -> Int64? {
        let bytes = arenaBytes(range)
        var index = 0
        var negative = false
        if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || (allowPlus && bytes[index] == UInt8(ascii: "+"))) {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.count else { return nil }
        var magnitude: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard isDigit(byte) else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1 && !overflow2 else { return nil }
            magnitude = sum
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    private func validateUTF8(_ range: Range<Int>, what: String, at offset: Int) throws(PushDecodeError) {
        let bytes = arenaBytes(range)
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else if let (_, width) = GoQuote.decodeScalar(bytes, at: index) {
                index += width
            } else {
                throw failure("invalid UTF-8 in a \(what)", at: offset)
            }
        }
    }

    private func makeString(_ range: Range<Int>, what: String, at offset: Int) throws(PushDecodeError) -> String {
        if range.isEmpty { return "" }
        guard let string = String(validating: arenaBytes(range), as: UTF8.self) else {
            throw failure("invalid UTF-8 in a \(what)", at: offset)
        }
        return string
    }

    /// Loki's `labels.FromMap(m).String()`: sorted by name (bytewise, the last duplicate wins), values quoted.
    private func labelText(_ pairs: [(name: Range<Int>, value: Range<Int>)]) -> String {
        if pairs.isEmpty { return "{}" }
        // Stable order by name, so among duplicates the one written last comes last.
        let order = pairs.indices.sorted { left, right in
            let l = arenaBytes(pairs[left].name)
            let r = arenaBytes(pairs[right].name)
            if l.elementsEqual(r) { return left < right }
            return l.lexicographicallyPrecedes(r)
        }
        var text: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for (position, index) in order.enumerated() {
            let name = arenaBytes(pairs[index].name)
            if position + 1 < order.count && arenaBytes(pairs[order[position + 1]].name).elementsEqual(name) {
                continue   // a later duplicate replaces this one, as in a Go map
            }
            if !first { text.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            first = false
            if Self.isLegacyLabelName(name) {
                text.append(contentsOf: name)
            } else {
                // Prometheus quotes names outside [a-zA-Z_][a-zA-Z0-9_]*; the label parser then rejects them
                // instead of misreading them.
                GoQuote.appendQuoted(name, to: &text)
            }
            text.append(UInt8(ascii: "="))
            GoQuote.appendQuoted(arenaBytes(pairs[index].value), to: &text)
        }
        text.append(UInt8(ascii: "}"))
        return String(decoding: text, as: UTF8.self)
    }

    static func isLegacyLabelName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !name.isEmpty else { return false }
        for (index, byte) in name.enumerated() {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9") where index > 0:
                continue
            default:
                return false
            }
        }
        return true
    }

    // MARK: Errors

    private func failure(_ what: String, at offset: Int? = nil) -> PushDecodeError {
        var message = "json: \(what) at byte \(offset ?? position)"
        if streamIndex >= 0 {
            message += " (in streams[\(streamIndex)]"
            if valueIndex >= 0 { message += ".values[\(valueIndex)]" }
            message += ")"
        }
        return PushDecodeError(message: message)
    }

    private func describeByte(at offset: Int) -> String {
        guard offset < count, let input else { return "end of input" }
        return describeRawByte(input[offset])
    }

    private func describeRawByte(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16)
        return "byte 0x\(hex.count == 1 ? "0" + hex : hex)"
    }

    private func quotedArena(_ range: Range<Int>) -> String {
        let bytes = arenaBytes(range)
        let shown = bytes.count > 64 ? UnsafeBufferPointer(rebasing: bytes[0..<64]) : bytes
        return GoQuote.quote(utf8: shown) + (bytes.count > 64 ? "..." : "")
    }
}
