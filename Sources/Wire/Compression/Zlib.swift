import CZlib

/// The zlib stream loops shared by ``Gzip`` and ``Deflate``. `windowBits` picks the wrapper, as zlib
/// defines it: 31 gzip (RFC 1952), 15 zlib (RFC 1950), -15 raw deflate (RFC 1951).
enum Zlib {
    static let gzipWindowBits: Int32 = 31
    static let zlibWindowBits: Int32 = 15
    static let rawWindowBits: Int32 = -15

    /// zlib counts bytes in 32-bit fields; larger buffers are fed in pieces of this size.
    static let maxStep = Int(UInt32.max)

    /// Compresses `input` in one stream. Levels outside -1...9 are clamped (zlib would refuse them).
    static func compress(_ input: UnsafeRawBufferPointer, level: Int32, windowBits: Int32) -> [UInt8] {
        withStream(input, end: deflateEnd) { feeder in compress(&feeder, level: level, windowBits: windowBits) }
    }

    private static func compress(_ feeder: inout Feeder, level: Int32, windowBits: Int32) -> [UInt8] {
        let stream = feeder.stream
        let input = feeder.input
        let level = min(max(level, Z_DEFAULT_COMPRESSION), Z_BEST_COMPRESSION)
        let status = deflateInit2_(
            stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { preconditionFailure("deflateInit2_ rejected fixed valid parameters: \(status)") }

        let bound = Int(deflateBound(stream, UInt(input.count)))
        let output = UnsafeMutableRawPointer.allocate(byteCount: max(bound, 1), alignment: 16)
        defer { output.deallocate() }
        var produced = 0
        while true {
            feeder.feed()
            let step = min(bound - produced, maxStep)
            stream.pointee.next_out = (output + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(step)
            let flush = feeder.consumed == input.count ? Z_FINISH : Z_NO_FLUSH
            let result = deflate(stream, flush)
            produced += step - Int(stream.pointee.avail_out)
            if result == Z_STREAM_END { break }
            guard result == Z_OK || result == Z_BUF_ERROR, produced < bound || stream.pointee.avail_out > 0 else {
                preconditionFailure("deflate failed within deflateBound: \(result)")
            }
        }
        return Array(UnsafeRawBufferPointer(start: output, count: produced))
    }

    /// Inflates `input`.
    ///
    /// - Parameters:
    ///   - multiMember: after the end of one stream, start another on the remaining input (concatenated
    ///     gzip members); otherwise trailing input is ignored, as Go's flate and zlib readers do.
    ///   - sizeHint: the expected output size, used for the first allocation.
    static func decompress(
        _ input: UnsafeRawBufferPointer, windowBits: Int32, codec: String, maxLength: Int,
        multiMember: Bool, sizeHint: Int
    ) throws(CodecError) -> [UInt8] {
        try withStream(input, end: inflateEnd) { feeder throws(CodecError) in
            try decompress(
                &feeder, windowBits: windowBits, codec: codec, maxLength: maxLength, multiMember: multiMember,
                sizeHint: sizeHint)
        }
    }

    private static func decompress(
        _ feeder: inout Feeder, windowBits: Int32, codec: String, maxLength: Int, multiMember: Bool, sizeHint: Int
    ) throws(CodecError) -> [UInt8] {
        let stream = feeder.stream
        let status = inflateInit2_(stream, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { preconditionFailure("inflateInit2_ rejected fixed valid parameters: \(status)") }

        // One byte over the hint, so an exact hint finishes without growing.
        var output = OutputBuffer(capacity: min(max(sizeHint, 63) + 1, max(maxLength, 0)))
        defer { output.deallocate() }
        while true {
            feeder.feed()
            var result: Int32
            if output.count == output.capacity && output.count >= maxLength {
                // At the limit: one more byte of output means the stream is too large. Probe with a
                // 1-byte buffer so nothing beyond the limit is ever allocated.
                var probe: UInt8 = 0
                result = withUnsafeMutablePointer(to: &probe) { pointer in
                    stream.pointee.next_out = pointer
                    stream.pointee.avail_out = 1
                    return inflate(stream, Z_NO_FLUSH)
                }
                if stream.pointee.avail_out == 0 { throw .tooLarge(codec, limit: maxLength) }
            } else {
                if output.count == output.capacity {
                    output.grow(limit: maxLength)
                }
                let step = min(output.capacity - output.count, maxStep)
                stream.pointee.next_out = (output.base + output.count).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(step)
                result = inflate(stream, Z_NO_FLUSH)
                output.count += step - Int(stream.pointee.avail_out)
            }

            switch result {
            case Z_OK:
                continue
            case Z_STREAM_END:
                if multiMember && feeder.inputRemains {
                    inflateReset(stream)
                    continue
                }
                return Array(UnsafeRawBufferPointer(start: output.base, count: output.count))
            case Z_BUF_ERROR:
                // No progress: either output space ran out (loop grows or probes) or input ended early.
                if stream.pointee.avail_out == 0 { continue }
                throw CodecError(kind: .corrupt, codec: codec, detail: "invalid input: unexpected end of stream")
            case Z_NEED_DICT:
                throw CodecError(kind: .corrupt, codec: codec, detail: "invalid input: stream requires a preset dictionary")
            case Z_MEM_ERROR:
                preconditionFailure("zlib ran out of memory while inflating")
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(result)"
                throw CodecError(kind: .corrupt, codec: codec, detail: "invalid input: \(message)")
            }
        }
    }

    /// A `z_stream` (on the heap: zlib keeps pointers to it) and the input it is fed, in pieces of at most
    /// `maxStep` bytes.
    struct Feeder {
        let stream: UnsafeMutablePointer<z_stream>
        let input: UnsafeRawBufferPointer
        private(set) var consumed = 0

        init(stream: UnsafeMutablePointer<z_stream>, input: UnsafeRawBufferPointer) {
            self.stream = stream
            self.input = input
        }

        /// Gives zlib the next piece of input once it has used up the last one.
        mutating func feed() {
            guard stream.pointee.avail_in == 0, let base = input.baseAddress, consumed < input.count else { return }
            let step = min(input.count - consumed, maxStep)
            stream.pointee.next_in = UnsafeMutablePointer(mutating: (base + consumed).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = UInt32(step)
            consumed += step
        }

        var inputRemains: Bool { stream.pointee.avail_in > 0 || consumed < input.count }
    }

    /// Runs `body` with a fresh stream over `input`, ended with `end` (`deflateEnd` or `inflateEnd`) afterwards.
    private static func withStream<Result, Failure: Error>(
        _ input: UnsafeRawBufferPointer, end: (UnsafeMutablePointer<z_stream>?) -> Int32,
        _ body: (inout Feeder) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            _ = end(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        var feeder = Feeder(stream: stream, input: input)
        return try body(&feeder)
    }

    /// A malloc'ed output buffer that grows geometrically but never past the caller's limit.
    struct OutputBuffer {
        var base: UnsafeMutableRawPointer
        var capacity: Int
        var count = 0

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(byteCount: max(capacity, 1), alignment: 16)
        }

        mutating func grow(limit: Int) {
            let doubled = capacity > Int.max / 2 ? Int.max : capacity * 2
            let newCapacity = min(max(doubled, 4096), limit)
            precondition(newCapacity > capacity, "grow() is only called below the limit")
            let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            newBase.copyMemory(from: base, byteCount: count)
            base.deallocate()
            base = newBase
            capacity = newCapacity
        }

        func deallocate() {
            base.deallocate()
        }
    }
}
