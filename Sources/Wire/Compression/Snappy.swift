/// Snappy block format, byte-compatible with golang/snappy `Encode`/`Decode` and the C++ reference.
///
/// A block is the uncompressed length as a uvarint followed by elements: literals (tag `00`) and back
/// references (copy tags `01`, `10`, `11` with 1-, 2- and 4-byte offsets). Loki uses it for push request
/// bodies (`Content-Type: application/x-protobuf`). ``compress(_:)-([UInt8])`` is a port of golang/snappy's
/// encoder and produces the same bytes; ``decompress(_:maxLength:)-([UInt8],_)`` validates every element
/// and never reads or writes out of bounds, whatever the input.
///
/// Both directions are safe to call from any thread; they keep no shared state.
public enum Snappy {
    /// Compresses `input` into one snappy block. The format limits blocks to 4 GiB - 1 bytes of input.
    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(UInt64(input.count) <= UInt64(UInt32.max), "snappy blocks hold at most 4 GiB - 1 bytes")
        let bound = maxEncodedLength(input.count)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 16)
        defer { scratch.deallocate() }
        let table = HashTable()
        defer { table.deallocate() }
        let written = encode(input, into: scratch, table: table)
        // Copy out at the exact size: compressed log data is often a quarter of the bound, and callers
        // keep these arrays (chunk blocks, push bodies) for a while.
        return Array(UnsafeRawBufferPointer(start: scratch, count: written))
    }

    /// Compresses `input` into one snappy block.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    /// Decompresses one snappy block.
    ///
    /// - Parameter maxLength: the largest decompressed size accepted. The declared length is checked
    ///   against it before anything is allocated.
    /// - Throws: ``CodecError`` `.tooLarge` when the block declares more than `maxLength` bytes, `.corrupt`
    ///   for any malformed, truncated or inconsistent input.
    public static func decompress(
        _ input: UnsafeRawBufferPointer, maxLength: Int = .max
    ) throws(CodecError) -> [UInt8] {
        let header = try decodeHeader(input)
        if header.length > maxLength { throw .tooLarge("snappy", limit: maxLength) }
        let body = UnsafeRawBufferPointer(rebasing: input[header.headerSize...])
        try checkExpansion(declared: header.length, bodySize: body.count)
        var failure: BlockDecodeFailure?
        let output = [UInt8](unsafeUninitializedCapacity: header.length) { buffer, initialized in
            if let base = buffer.baseAddress, header.length > 0 {
                failure = decodeBlock(body, into: UnsafeMutableRawPointer(base), count: header.length)
            } else if !body.isEmpty {
                failure = .extraInput(position: 0)
            }
            // On failure report nothing initialized; the error is thrown below and the array dropped.
            initialized = failure == nil ? header.length : 0
        }
        if let failure { throw failure.error(headerSize: header.headerSize) }
        return output
    }

    /// Decompresses one snappy block; see ``decompress(_:maxLength:)-(UnsafeRawBufferPointer,_)``.
    public static func decompress(_ input: [UInt8], maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        let result: Result<[UInt8], CodecError> = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try decompress(bytes, maxLength: maxLength) }
        }
        return try result.get()
    }

    /// The largest block that `compress` can produce for `count` input bytes (golang/snappy `MaxEncodedLen`).
    static func maxEncodedLength(_ count: Int) -> Int {
        32 + count + count / 6
    }

    /// The uncompressed length a block declares, and how many bytes its uvarint takes.
    struct Header {
        var length: Int
        var headerSize: Int
    }

    /// Reads the uvarint length prefix. Accepts up to 10 bytes as Go's `binary.Uvarint` does, but lengths
    /// above 2^32 - 1 are rejected as the format does.
    static func decodeHeader(_ input: UnsafeRawBufferPointer) throws(CodecError) -> Header {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<min(input.count, 10) {
            let byte = input[index]
            if byte < 0x80 {
                if index == 9 && byte > 1 { break }
                value |= UInt64(byte) << shift
                guard value <= UInt64(UInt32.max) else {
                    throw .corruptSnappy("declared length \(value) exceeds the format's limit of 4294967295 bytes")
                }
                return Header(length: Int(value), headerSize: index + 1)
            }
            value |= UInt64(byte & 0x7f) << shift
            shift += 7
        }
        if input.isEmpty { throw .corruptSnappy("empty input has no length header") }
        throw .corruptSnappy("truncated or overlong length header")
    }

    /// Rejects a declared length that `bodySize` bytes of elements cannot produce, so a forged header can
    /// not make the decoder allocate gigabytes for a tiny input. The densest element is a 3-byte copy of 64.
    static func checkExpansion(declared: Int, bodySize: Int) throws(CodecError) {
        let producible = bodySize / 3 * 64 + 64
        if declared > producible {
            throw .corruptSnappy("declared length \(declared) cannot be produced by \(bodySize) bytes of input")
        }
    }
}
