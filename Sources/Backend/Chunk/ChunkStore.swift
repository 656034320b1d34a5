/// Chunks in an object store, under Loki's object keys.
///
/// Loki names chunk objects differently per store: object stores use the schema key
/// (`<tenant>/<fp>/<from>:<through>:<checksum>`), the filesystem store base64-encodes the last part so the file
/// name holds no colons. Keeping that here lets Loki's tools read what we write.
public struct ChunkStore: Sendable {
    public enum KeyStyle: Sendable {
        case filesystem
        case objectStore
    }

    public let objects: any ObjectStore
    public let keyStyle: KeyStyle

    public init(objects: any ObjectStore, keyStyle: KeyStyle) {
        self.objects = objects
        self.keyStyle = keyStyle
    }

    public func key(for ref: ChunkRef) -> String {
        switch keyStyle {
        case .filesystem: ChunkKey.filesystem(ref)
        case .objectStore: ChunkKey.external(ref)
        }
    }

    public func put(_ ref: ChunkRef, _ bytes: [UInt8]) async throws {
        try await objects.put(key(for: ref), bytes)
    }

    public func get(_ ref: ChunkRef) async throws -> [UInt8] {
        try await objects.get(key(for: ref))
    }
}
