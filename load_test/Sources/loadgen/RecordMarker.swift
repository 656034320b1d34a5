import ArgumentParser
import Foundation

/// The marker every record sent by `loadgen push` and `loadgen otlp` carries at the end of its line (or OTLP body),
/// so that `loadgen verify` can prove, end to end, that nothing was lost or duplicated:
///
/// ```
///  run=7f3a19c2 seq=001.000042:0000012345 sent=1795000000123456789
/// ```
///
/// `run` names the run (8 lowercase hex digits); `seq` is `<worker>.<stream>:<n>`, the `n`-th record (from 0) that
/// worker `worker` sent for stream `stream` (push: the label set `stream="N"`; otlp: the service `svc-N`); `sent` is
/// the wall-clock time in Unix ns when the request was first stamped. Every field has a fixed width (64 bytes in
/// all, leading space included), so templates are built once with placeholder digits and only the digits are
/// overwritten when sending. The marker is ASCII letters, digits, `=`, `.`, `:` and spaces, which JSON and protobuf
/// encoders copy verbatim and `otelcol.exporter.loki` keeps inside its JSON line, so it survives the agent.
struct RecordMarker: Sendable, Equatable {
    var runID: String
    var worker: Int
    var stream: Int
    var sequence: Int
    var sentNanos: Int64

    /// Bytes in a marker, leading space included.
    static let byteCount = 64
    /// Workers and streams a marker can name (3 and 6 digits).
    static let maxWorkers = 1000
    static let maxStreams = 1_000_000
    /// Sequence numbers a stream can reach (10 digits).
    static let maxSequence = 10_000_000_000

    // Offsets of the fields inside a marker.
    static let runIDOffset = 5, workerOffset = 18, streamOffset = 22, sequenceOffset = 29, sentOffset = 45
    private static let runIDWidth = 8, workerWidth = 3, streamWidth = 6, sequenceWidth = 10, sentWidth = 19

    /// `<worker>.<stream>` as the marker writes it, e.g. `001.000042`: the key of a stream in RESULT and VERIFY.
    var streamKey: String { Self.streamKey(worker: worker, stream: stream) }

    static func streamKey(worker: Int, stream: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: workerWidth + 1 + streamWidth)
        writeDigits(worker, into: &bytes, at: 0, width: workerWidth)
        bytes[workerWidth] = UInt8(ascii: ".")
        writeDigits(stream, into: &bytes, at: workerWidth + 1, width: streamWidth)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A fresh run id: 8 random lowercase hex digits.
    static func newRunID() -> String {
        var random = SystemRandomNumberGenerator()
        let value = UInt32.random(in: .min ... .max, using: &random)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: runIDWidth - hex.count) + hex
    }

    /// Whether `text` can be a run id (8 lowercase hex digits).
    static func isValidRunID(_ text: String) -> Bool {
        text.utf8.count == runIDWidth && text.utf8.allSatisfy(isHexDigit)
    }

    /// Checks the command-line values a marker must hold: lines long enough, workers and streams within the fixed
    /// widths, a well-formed run id.
    static func validate(lineBytes: Int, concurrency: Int, streams: Int, streamsOption: String,
                         runID: String?) throws(ValidationError) {
        guard lineBytes >= byteCount else {
            throw ValidationError("--line-bytes must be at least \(byteCount), to hold the marker "
                                  + "' run=… seq=… sent=…' that loadgen verify reads; got \(lineBytes)")
        }
        guard concurrency < maxWorkers, streams <= maxStreams else {
            throw ValidationError("--concurrency must be below \(maxWorkers) and \(streamsOption) at most \(maxStreams) "
                                  + "(the marker's fixed widths), got \(concurrency) and \(streams)")
        }
        if let runID, !isValidRunID(runID) {
            throw ValidationError("--run-id must be 8 lowercase hex digits, got '\(runID)'")
        }
    }

    /// The marker with zeroed digits for `runID`, to build into templates.
    static func placeholder(runID: String) -> [UInt8] {
        precondition(isValidRunID(runID), "run ids are 8 lowercase hex digits, checked when the run starts")
        var bytes = Array(" run=".utf8) + Array(runID.utf8) + Array(" seq=".utf8)
        bytes += Array("000.000000:0000000000 sent=0000000000000000000".utf8)
        return bytes
    }

    /// The bytes that open every marker of `runID` (` run=<id> seq=`): what ``MarkerStamper`` looks for.
    static func prefix(runID: String) -> [UInt8] {
        Array(placeholder(runID: runID)[0..<workerOffset])
    }

    /// The marker as text.
    var text: String {
        var bytes = Self.placeholder(runID: runID)
        bytes.withUnsafeMutableBufferPointer { buffer in
            Self.writeFields(into: buffer, at: 0, worker: worker, stream: stream, sequence: sequence,
                             sentNanos: sentNanos)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the digits of one marker whose first byte (the leading space) is at `base`.
    static func writeFields(into buffer: UnsafeMutableBufferPointer<UInt8>, at base: Int, worker: Int, stream: Int,
                            sequence: Int, sentNanos: Int64) {
        writeDigits(worker, into: buffer, at: base + workerOffset, width: workerWidth)
        writeDigits(stream, into: buffer, at: base + streamOffset, width: streamWidth)
        writeDigits(sequence, into: buffer, at: base + sequenceOffset, width: sequenceWidth)
        writeDigits(Int(max(0, sentNanos)), into: buffer, at: base + sentOffset, width: sentWidth)
    }

    private static func writeDigits(_ value: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int,
                                    width: Int) {
        var rest = value
        for index in stride(from: offset + width - 1, through: offset, by: -1) {
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }

    private static func writeDigits(_ value: Int, into bytes: inout [UInt8], at offset: Int, width: Int) {
        bytes.withUnsafeMutableBufferPointer { writeDigits(value, into: $0, at: offset, width: width) }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    /// Finds and reads the first well-formed marker in `line` (a pushed line, or the JSON line the agent wrote);
    /// nil when there is none. Never traps, whatever the bytes.
    static func parse(_ line: some Collection<UInt8>) -> RecordMarker? {
        let bytes = Array(line)
        guard bytes.count >= byteCount - 1 else { return nil }
        let key = Array("run=".utf8)
        var start = 0
        // `start` is where "run=" begins; the marker's leading space (offset 0) may be absent at the line's start.
        while start + byteCount - 1 <= bytes.count {
            guard let found = firstIndex(of: key, in: bytes, from: start) else { return nil }
            if let marker = read(bytes, runAt: found) { return marker }
            start = found + 1
        }
        return nil
    }

    /// Reads a marker whose `run=` starts at `position`.
    private static func read(_ bytes: [UInt8], runAt position: Int) -> RecordMarker? {
        let base = position - 1  // where the leading space would be
        guard base + byteCount <= bytes.count else { return nil }
        func literal(_ text: String, at offset: Int) -> Bool {
            let expected = Array(text.utf8)
            return bytes[(base + offset)..<(base + offset + expected.count)].elementsEqual(expected)
        }
        func number(at offset: Int, width: Int) -> Int? {
            var value = 0
            for byte in bytes[(base + offset)..<(base + offset + width)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                // 19 digits can pass Int64.max: such a marker is not one of ours.
                let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowAgain) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                guard !overflow, !overflowAgain else { return nil }
                value = sum
            }
            return value
        }
        let runBytes = bytes[(base + runIDOffset)..<(base + runIDOffset + runIDWidth)]
        guard runBytes.allSatisfy(isHexDigit), literal(" seq=", at: 13), literal(".", at: 21), literal(":", at: 28),
              literal(" sent=", at: 39),
              let worker = number(at: workerOffset, width: workerWidth),
              let stream = number(at: streamOffset, width: streamWidth),
              let sequence = number(at: sequenceOffset, width: sequenceWidth),
              let sent = number(at: sentOffset, width: sentWidth)
        else { return nil }
        return RecordMarker(runID: String(decoding: runBytes, as: UTF8.self), worker: worker, stream: stream,
                            sequence: sequence, sentNanos: Int64(sent))
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        haystack.withUnsafeBytes { hay in needle.withUnsafeBytes { find($0, in: hay, from: start) } }
    }

    /// Where `needle` first occurs in `haystack` at or after `start` (memchr for its first byte, then memcmp).
    static func find(_ needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = haystack.baseAddress, let pin = needle.baseAddress, let first = needle.first else { return nil }
        var position = start
        while position >= 0, haystack.count - position >= needle.count {
            guard let hit = memchr(base + position, Int32(first), haystack.count - position - needle.count + 1)
            else { return nil }
            let offset = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + offset, pin, needle.count) == 0 { return offset }
            position = offset + 1
        }
        return nil
    }
}

/// Overwrites the markers' digits in an encoded body (before compression): the lines of a template are slices of a
/// shared arena (push) or `String`s (otlp), which cannot be changed in place without copying, but an encoder copies
/// them verbatim, so the fixed-width digits are patched where they landed. One pass over the body, no allocation.
struct MarkerStamper: Sendable {
    /// ` run=<id> seq=`.
    let prefix: [UInt8]

    init(runID: String) {
        self.prefix = RecordMarker.prefix(runID: runID)
    }

    /// Stamps the markers of `body` in order: `slots` gives, in encoding order, each group of consecutive records
    /// (stream, first sequence number, count); all get `worker` and `sentNanos`. Returns how many were stamped
    /// (fewer than asked only if the body lost markers, which a test guards against).
    @discardableResult
    func stamp(_ body: inout [UInt8], worker: Int, sentNanos: Int64, slots: [SequenceReservation.Slot]) -> Int {
        let prefix = self.prefix
        var stamped = 0
        body.withUnsafeMutableBufferPointer { buffer in
            var cursor = 0
            prefix.withUnsafeBytes { pin in
                for slot in slots {
                    for offset in 0..<slot.count {
                        guard let position = RecordMarker.find(pin, in: UnsafeRawBufferPointer(buffer), from: cursor),
                              position + RecordMarker.byteCount <= buffer.count
                        else { return }
                        RecordMarker.writeFields(into: buffer, at: position, worker: worker, stream: slot.stream,
                                                 sequence: slot.first + offset, sentNanos: sentNanos)
                        cursor = position + RecordMarker.byteCount
                        stamped += 1
                    }
                }
            }
        }
        return stamped
    }
}

/// The sequence numbers one request took: per stream, a run of consecutive numbers, in encoding order.
struct SequenceReservation: Sendable {
    struct Slot: Sendable, Equatable {
        var stream: Int
        var first: Int
        var count: Int
    }

    var slots: [Slot] = []
}

/// One worker's sequence numbers. A number is taken when a body is stamped and given back when the request fails
/// for good (``release(_:)``), so the numbers acknowledged per stream are always `0..<n` without holes: a retry
/// resends the same body (same numbers), and the records of a failed request go out again with the same numbers.
struct SequenceLedger: Sendable {
    let worker: Int
    /// The next number to hand out, per stream.
    private var next: [Int]
    /// Numbers acknowledged so far, per stream.
    private(set) var acknowledged: [Int]

    init(worker: Int, streams: Int) {
        self.worker = worker
        self.next = Array(repeating: 0, count: max(1, streams))
        self.acknowledged = Array(repeating: 0, count: max(1, streams))
    }

    mutating func take(stream: Int, count: Int) -> SequenceReservation.Slot {
        let slot = SequenceReservation.Slot(stream: stream, first: next[stream], count: count)
        next[stream] += count
        return slot
    }

    /// Gives back the numbers of a request that failed for good. Release the newest reservation first.
    mutating func release(_ reservation: SequenceReservation) {
        for slot in reservation.slots.reversed() { next[slot.stream] = min(next[slot.stream], slot.first) }
    }

    /// Records an acknowledged request.
    mutating func acknowledge(_ reservation: SequenceReservation) {
        for slot in reservation.slots {
            acknowledged[slot.stream] = max(acknowledged[slot.stream], slot.first + slot.count)
        }
    }

    /// The acknowledged streams by ``RecordMarker/streamKey``: how many records each had acknowledged (numbers
    /// `0..<count`).
    var acknowledgedByKey: [String: Int] {
        var result: [String: Int] = [:]
        for (stream, count) in acknowledged.enumerated() where count > 0 {
            result[RecordMarker.streamKey(worker: worker, stream: stream)] = count
        }
        return result
    }
}
