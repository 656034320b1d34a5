/// The push body parser behind `PushJSONDecoder`, on the shared `JSONScanner`. It unescapes strings into a
/// caller-provided arena and records entries as arena ranges; the decoder turns them into slices once the arena is
/// complete (slicing earlier would copy the arena on the next write). Internal to `Wire`: use `PushJSONDecoder`.
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

    /// A syntax error before the context (which stream and entry) is added to it.
    struct Failure: JSONSyntaxFailure {
        var reason: String
        var offset: Int

        init(jsonSyntax reason: String, offset: Int) {
            self.reason = reason
            self.offset = offset
        }
    }

    private var scanner: JSONScanner<Failure>
    private let arena: UnsafeMutablePointer<UInt8>
    private(set) var arenaCount = 0
    private(set) var streams: [PendingStream] = []
    private(set) var entries: [PendingEntry] = []

    /// Where we are, for error messages: `streams[streamIndex].values[valueIndex]`, -1 when outside.
    private var streamIndex = -1
    private var valueIndex = -1

    init(input: UnsafeBufferPointer<UInt8>, arena: UnsafeMutableBufferPointer<UInt8>) {
        precondition(arena.count >= input.count, "the arena must be at least as large as the input")
        scanner = JSONScanner(input: input)
        self.arena = arena.baseAddress ?? emptyJSONInput
    }

    mutating func release() {
        scanner.release()
    }

    // MARK: Document structure

    mutating func parseDocument() throws(PushDecodeError) {
        do throws(Failure) {
            try parseTopLevel()
        } catch {
            var message = "json: \(error.reason) at byte \(error.offset)"
            if streamIndex >= 0 {
                message += " (in streams[\(streamIndex)]"
                if valueIndex >= 0 { message += ".values[\(valueIndex)]" }
                message += ")"
            }
            throw PushDecodeError(message: message)
        }
    }

    private mutating func parseTopLevel() throws(Failure) {
        scanner.skipWhitespace()
        if try !scanner.skipNull(), try objectStart(what: "the push request object") {
            repeat {
                if try isKey("streams") {
                    streams.removeAll(keepingCapacity: true)
                    try parseStreams()
                } else {
                    try scanner.skipValue()
                }
            } while try scanner.nextMember()
        }
        guard scanner.isAtEnd() else {
            throw scanner.failure("unexpected \(scanner.describeByte(at: scanner.position)) after the end of the push "
                + "request object")
        }
    }

    private mutating func parseStreams() throws(Failure) {
        try elements("an array of streams for \"streams\"", counting: \.streamIndex) { parser throws(Failure) in
            try parser.parseStream()
        }
    }

    /// Reads an array (or `null`), each element with `element`, keeping its index in `counter` for error messages.
    private mutating func elements(_ what: String, counting counter: WritableKeyPath<PushJSONParser, Int>,
                                   _ element: (inout PushJSONParser) throws(Failure) -> Void) throws(Failure) {
        if try scanner.skipNull() { return }
        guard try arrayStart(what: what) else { return }
        var index = 0
        repeat {
            self[keyPath: counter] = index
            try element(&self)
            index += 1
        } while try scanner.nextElement()
        self[keyPath: counter] = -1
    }

    private mutating func parseStream() throws(Failure) {
        var labels = "{}"
        var streamEntries = entries.count..<entries.count
        if try !scanner.skipNull(), try objectStart(what: "a stream object") {
            repeat {
                let key = try scanner.key()
                if key.isKey("stream") {
                    labels = try parseLabelObject()
                } else if key.isKey("values") {
                    let first = entries.count
                    try parseValues()
                    streamEntries = first..<entries.count
                } else {
                    try scanner.skipValue()
                }
            } while try scanner.nextMember()
        }
        streams.append(PendingStream(labels: labels, entries: streamEntries))
    }

    /// Parses `{"name":"value",...}` into Loki's label text.
    private mutating func parseLabelObject() throws(Failure) -> String {
        if try scanner.skipNull() { return "{}" }
        let arenaStart = arenaCount
        defer { arenaCount = arenaStart }
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        if try objectStart(what: "an object of labels for \"stream\"") {
            repeat {
                let (name, value) = try stringMember("label")
                try validateUTF8(name.range, what: "label name", at: name.offset)
                try validateUTF8(value.range, what: "label value", at: value.offset)
                pairs.append((name.range, value.range))
            } while try scanner.nextMember()
        }
        return labelText(pairs)
    }

    private mutating func parseValues() throws(Failure) {
        try elements("an array of entries for \"values\"", counting: \.valueIndex) { parser throws(Failure) in
            try parser.parseEntry()
        }
    }

    /// Parses `["<ns>", "line"]` or `["<ns>", "line", {"name":"value",...}]`; further elements are skipped, as
    /// Loki does.
    private mutating func parseEntry() throws(Failure) {
        let entryOffset = scanner.position
        guard try arrayStart(what: "an entry array [\"<unix ns>\", \"<line>\"]") else {
            throw scanner.failure("entry is an empty array, expected [\"<unix ns>\", \"<line>\"]", at: entryOffset)
        }
        let timestamp = try parseTimestamp()
        guard try scanner.nextElement() else {
            throw scanner.failure("entry has a timestamp but no log line, expected [\"<unix ns>\", \"<line>\"]",
                                  at: entryOffset)
        }
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("log line must be a string, found \(scanner.describeByte(at: scanner.position))")
        }
        let line = try stringToArena()
        var metadata: [LabelPair] = []
        if try scanner.nextElement() {
            metadata = try parseStructuredMetadata()
            while try scanner.nextElement() {
                try scanner.skipValue()
            }
        }
        entries.append(PendingEntry(timestamp: timestamp, line: line, metadata: metadata))
    }

    private mutating func parseStructuredMetadata() throws(Failure) -> [LabelPair] {
        if try scanner.skipNull() { return [] }
        let arenaStart = arenaCount
        defer { arenaCount = arenaStart }
        var pairs: [LabelPair] = []
        guard try objectStart(what: "an object of structured metadata as the third element of an entry") else {
            return []
        }
        repeat {
            let (name, value) = try stringMember("structured metadata")
            pairs.append(LabelPair(name: try makeString(name.range, what: "structured metadata name", at: name.offset),
                                   value: try makeString(value.range, what: "structured metadata value",
                                                         at: value.offset)))
        } while try scanner.nextMember()
        return pairs
    }

    /// A member whose value must be a string (a label or a structured metadata pair), both unescaped into the
    /// arena.
    private mutating func stringMember(_ what: String) throws(Failure)
        -> (name: (range: Range<Int>, offset: Int), value: (range: Range<Int>, offset: Int))
    {
        let nameOffset = scanner.position
        let name = try stringToArena()
        try scanner.expectColon()
        let valueOffset = scanner.position
        guard try scanner.peek() == UInt8(ascii: "\"") else {
            throw scanner.failure("\(what) \(quotedArena(name)) must have a string value, found "
                + scanner.describeByte(at: valueOffset))
        }
        return ((name, nameOffset), (try stringToArena(), valueOffset))
    }

    /// A timestamp: a string holding an integer number of nanoseconds (Loki's form) or a JSON integer.
    private mutating func parseTimestamp() throws(Failure) -> Int64 {
        let offset = scanner.position
        let byte = try scanner.peek()
        let text: UnsafeBufferPointer<UInt8>
        let allowPlus: Bool
        if byte == UInt8(ascii: "\"") {
            text = try scanner.stringAfterQuote()
            allowPlus = true
        } else if byte == UInt8(ascii: "-") || JSONNumberText.isDigit(byte) {
            text = try scanner.number()
            allowPlus = false
        } else {
            throw scanner.failure("timestamp must be a string of nanoseconds since the epoch, found "
                + scanner.describeByte(at: offset), at: offset)
        }
        guard let value = Self.parseInteger(text, allowPlus: allowPlus) else {
            let shown = allowPlus ? Self.quoted(text) : String(decoding: text, as: UTF8.self)
            throw scanner.failure("timestamp \(shown) is not an integer number of nanoseconds since the epoch "
                + "(fitting in 64 bits)", at: offset)
        }
        return value
    }

    // MARK: Helpers

    private mutating func objectStart(what: String) throws(Failure) -> Bool {
        try containerStart(UInt8(ascii: "{"), what: what)
    }

    private mutating func arrayStart(what: String) throws(Failure) -> Bool {
        try containerStart(UInt8(ascii: "["), what: what)
    }

    /// Consumes `{` or `[` and any whitespace; returns false (having consumed the closing bracket) when empty.
    private mutating func containerStart(_ open: UInt8, what: String) throws(Failure) -> Bool {
        scanner.skipWhitespace()
        guard try scanner.peek() == open else {
            throw scanner.failure("expected \(what), found \(scanner.describeByte(at: scanner.position))")
        }
        return try scanner.beginContainer()
    }

    /// Whether the next member's name is `name`; leaves the position at its value.
    private mutating func isKey(_ name: StaticString) throws(Failure) -> Bool {
        try scanner.key().isKey(name)
    }

    /// Reads the string at the position onto the end of the arena.
    private mutating func stringToArena() throws(Failure) -> Range<Int> {
        let start = arenaCount
        arenaCount += try scanner.string(into: arena + start)
        return start..<arenaCount
    }

    private func arenaBytes(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + range.lowerBound, count: range.count)
    }

    /// Go's `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits, no overflow.
    private static func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>, allowPlus: Bool) -> Int64? {
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
            guard JSONNumberText.isDigit(byte) else { return nil }
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

    private func validateUTF8(_ range: Range<Int>, what: String, at offset: Int) throws(Failure) {
        let bytes = arenaBytes(range)
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else if let (_, width) = GoQuote.decodeScalar(bytes, at: index) {
                index += width
            } else {
                throw scanner.failure("invalid UTF-8 in a \(what)", at: offset)
            }
        }
    }

    private func makeString(_ range: Range<Int>, what: String, at offset: Int) throws(Failure) -> String {
        if range.isEmpty { return "" }
        guard let string = String(validating: arenaBytes(range), as: UTF8.self) else {
            throw scanner.failure("invalid UTF-8 in a \(what)", at: offset)
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

    private func quotedArena(_ range: Range<Int>) -> String {
        Self.quoted(arenaBytes(range))
    }

    /// `bytes` for an error message, quoted as Go does and cut at 64 bytes.
    private static func quoted(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let shown = bytes.count > 64 ? UnsafeBufferPointer(rebasing: bytes[0..<64]) : bytes
        return GoQuote.quote(utf8: shown) + (bytes.count > 64 ? "..." : "")
    }
}
