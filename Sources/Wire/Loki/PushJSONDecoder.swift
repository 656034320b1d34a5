/// Decodes Loki's JSON push body:
/// `{"streams":[{"stream":{"job":"x"},"values":[["<unix ns>","line"],["<unix ns>","line",{"meta":"v"}]]}]}`.
///
/// A hand-written byte parser. Strings are unescaped fully (`\uXXXX` with surrogate pairs, `\/`, ...) into one
/// arena, and every entry's `line` is a slice of that arena, so there is no per-entry allocation. Timestamps are
/// strings of nanoseconds (as Loki sends them) or JSON integers. Unknown keys are skipped whatever their value.
/// A stream's label object becomes `PushStream.labels` as Loki's `labels.FromMap(m).String()` prints it:
/// `{a="1", b="2"}`, names sorted bytewise, values quoted by `GoQuote` (duplicate names: the last one wins).
///
/// Malformed input throws a `PushDecodeError` starting with `json:` that says what was wrong, at which byte, and
/// in which stream and entry.
public enum PushJSONDecoder {
    public static func decode(_ bytes: [UInt8]) throws(PushDecodeError) -> PushRequest {
        var failure: PushDecodeError?
        var streams: [PushJSONParser.PendingStream] = []
        var entries: [PushJSONParser.PendingEntry] = []
        // Unescaping never makes a string longer, and strings do not overlap, so the arena never needs more
        // bytes than the input has.
        let arena = [UInt8](unsafeUninitializedCapacity: bytes.count) { arenaBuffer, initializedCount in
            bytes.withUnsafeBufferPointer { input in
                var parser = PushJSONParser(input: input, arena: arenaBuffer)
                defer { parser.release() }
                do throws(PushDecodeError) {
                    try parser.parseDocument()
                } catch {
                    failure = error
                }
                streams = parser.streams
                entries = parser.entries
                initializedCount = parser.arenaCount
            }
        }
        if let failure { throw failure }

        var result: [PushStream] = []
        result.reserveCapacity(streams.count)
        for stream in streams {
            var streamEntries: [PushEntry] = []
            streamEntries.reserveCapacity(stream.entries.count)
            for index in stream.entries {
                let pending = entries[index]
                streamEntries.append(PushEntry(timestamp: pending.timestamp, line: arena[pending.line],
                                               structuredMetadata: pending.metadata))
            }
            result.append(PushStream(labels: stream.labels, entries: streamEntries))
        }
        return PushRequest(streams: result)
    }
}
