/// Deflate through the system zlib: raw RFC 1951 streams as Go's `compress/flate` writes them (Loki's
/// `flate` chunk encoding and `Content-Encoding: deflate`), and, when decompressing, also RFC 1950
/// zlib-wrapped streams, which many HTTP clients send for `deflate`. Safe to call from any thread.
public enum Deflate {
    /// Compresses `input` into a raw deflate stream. `level` is zlib's: -1 (default, 6), 0 (store) ... 9
    /// (best); values outside that range are clamped.
    public static func compress(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        input.withUnsafeBytes { Zlib.compress($0, level: level, windowBits: Zlib.rawWindowBits) }
    }

    /// Decompresses a raw deflate stream, or a zlib-wrapped one when the input starts with a valid zlib
    /// header (method 8, window at most 32 KiB, header check bits correct). Bytes after the end of the
    /// stream are ignored, as Go's readers do.
    ///
    /// - Parameter maxLength: the largest decompressed size accepted; the output never grows past it.
    /// - Throws: ``CodecError`` (codec `"deflate"`) `.tooLarge` past `maxLength`, `.corrupt` for bad data,
    ///   a checksum mismatch or a stream that ends early (also empty input).
    public static func decompress(_ input: UnsafeRawBufferPointer, maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        if input.isEmpty {
            throw CodecError(kind: .corrupt, codec: "deflate", detail: "invalid input: unexpected end of stream")
        }
        let windowBits = hasZlibHeader(input) ? Zlib.zlibWindowBits : Zlib.rawWindowBits
        return try Zlib.decompress(
            input, windowBits: windowBits, codec: "deflate", maxLength: maxLength, multiMember: false,
            sizeHint: input.count * 4)
    }

    /// Decompresses a raw or zlib-wrapped deflate stream; see
    /// ``decompress(_:maxLength:)-(UnsafeRawBufferPointer,_)``.
    public static func decompress(_ input: [UInt8], maxLength: Int = .max) throws(CodecError) -> [UInt8] {
        let result: Result<[UInt8], CodecError> = input.withUnsafeBytes { bytes in
            Result { () throws(CodecError) in try decompress(bytes, maxLength: maxLength) }
        }
        return try result.get()
    }

    /// RFC 1950: CMF (method 8, CINFO <= 7) and FLG such that CMF * 256 + FLG is a multiple of 31. A raw
    /// stream starting like that would begin with a non-final stored block with non-zero padding bits,
    /// which no deflate encoder writes.
    static func hasZlibHeader(_ input: UnsafeRawBufferPointer) -> Bool {
        guard input.count >= 2 else { return false }
        let cmf = Int(input[0])
        let flg = Int(input[1])
        return cmf & 0x0f == 8 && cmf >> 4 <= 7 && (cmf << 8 | flg) % 31 == 0
    }
}
