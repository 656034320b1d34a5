/// Gzip (RFC 1952) through the system zlib, for `Content-Encoding: gzip` bodies and `gzip` chunk blocks.
///
/// Decompression reads concatenated members to the end, as Go's `gzip.Reader` does; bytes after the
/// last member that do not start another member are an error. Safe to call from any thread.
public enum Gzip {
    /// Compresses `input` into one gzip member. `level` is zlib's: -1 (default, 6), 0 (store) ... 9 (best);
    /// values outside that range are clamped.
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32 = 6) -> [UInt8] {
        Zlib.compress(input, level: level, windowBits: Zlib.gzipWindowBits)
    }

    /// Compresses `input` into one gzip member; see ``compress(_:level:)-(UnsafeRawBufferPointer,_)``.
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { compress($0, level: level) }
    }

    /// Decompresses all gzip members in `input`.
    ///
    /// - Parameter maxLength: the largest decompressed size accepted; the output never grows past it.
    /// - Throws: ``CodecError`` (codec `"gzip"`) `.tooLarge` past `maxLength`; `.corrupt` for a bad header,
    ///   bad data, a checksum or length mismatch, or a stream that ends early (also empty input, as Go's
    ///   `gzip.NewReader` rejects it).
    public static func decompress(_ input: UnsafeRawBufferPointer, maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        if input.isEmpty {
            throw CodecError(kind: .corrupt, codec: "gzip", detail: "invalid input: unexpected end of stream")
        }
        return try Zlib.decompress(
            input, windowBits: Zlib.gzipWindowBits, codec: "gzip", maxLength: maxLength, multiMember: true,
            sizeHint: sizeHint(input))
    }

    /// Decompresses all gzip members in `input`; see ``decompress(_:maxLength:)-(UnsafeRawBufferPointer,_)``.
    public static func decompress(_ input: [UInt8], maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        let result: Result<[UInt8], CodecError> = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try decompress(bytes, maxLength: maxLength) }
        }
        return try result.get()
    }

    /// The last member's trailer stores its size modulo 2^32; for the usual single member that is the
    /// output size. Trusted only as far as deflate can expand (about 1032:1), so a forged trailer cannot
    /// cause a large allocation.
    static func sizeHint(_ input: UnsafeRawBufferPointer) -> Int {
        guard input.count >= 18 else { return input.count * 4 }
        let stored = Int(UInt32(littleEndian: input.loadUnaligned(fromByteOffset: input.count - 4, as: UInt32.self)))
        let plausible = input.count.multipliedReportingOverflow(by: 1032)
        if stored > 0 && (plausible.overflow || stored <= plausible.partialValue) { return stored }
        return input.count * 4
    }
}
