/// A decompression failure: the input is not a valid stream of the codec, or it expands beyond the
/// caller's size limit.
///
/// The description is the codec name followed by the detail, for example
/// `snappy: corrupt input: copy offset 70000 at input byte 12 points before the start of the output` or
/// `gzip: decompressed size exceeds limit of 1048576 bytes`, so a message passed on to a client says which
/// layer failed.
public struct CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The input is malformed, truncated or fails a checksum.
        case corrupt
        /// The decompressed size exceeds the caller's `maxLength`; nothing larger was allocated.
        case tooLarge
    }

    /// What went wrong.
    public var kind: Kind
    /// The codec that failed: `"snappy"`, `"gzip"` or `"deflate"`.
    public var codec: String
    /// What was seen, without the codec name.
    public var detail: String

    /// `"<codec>: <detail>"`.
    public var description: String { "\(codec): \(detail)" }

    /// The error for output that would exceed `limit` bytes.
    static func tooLarge(_ codec: String, limit: Int) -> CodecError {
        CodecError(kind: .tooLarge, codec: codec, detail: "decompressed size exceeds limit of \(limit) bytes")
    }

    /// A malformed snappy block or frame: `snappy: corrupt input: <reason>`.
    static func corruptSnappy(_ reason: String) -> CodecError {
        CodecError(kind: .corrupt, codec: "snappy", detail: "corrupt input: \(reason)")
    }
}
