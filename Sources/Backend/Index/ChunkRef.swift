/// A reference to one stored chunk: what the index keeps per chunk and what names the chunk's object.
///
/// Times are Loki's `model.Time`: milliseconds since the Unix epoch, `from` and `through` both inclusive
/// (`through` is the millisecond of the newest entry, truncated).
public struct ChunkRef: Sendable, Hashable, Codable {
    public var tenant: String
    /// The stream's fingerprint (`LabelSet.fingerprint`).
    public var fingerprint: UInt64
    public var from: Int64
    public var through: Int64
    /// CRC32-C of the encoded chunk object, the last part of its key.
    public var checksum: UInt32
    /// Bytes of the stored object.
    public var size: Int
    /// Number of entries in the chunk.
    public var entries: Int
    /// Bytes of raw log lines in the chunk (what a query scanning it reads).
    public var uncompressedSize: Int

    public init(
        tenant: String, fingerprint: UInt64, from: Int64, through: Int64, checksum: UInt32,
        size: Int, entries: Int, uncompressedSize: Int
    ) {
        self.tenant = tenant
        self.fingerprint = fingerprint
        self.from = from
        self.through = through
        self.checksum = checksum
        self.size = size
        self.entries = entries
        self.uncompressedSize = uncompressedSize
    }
}
