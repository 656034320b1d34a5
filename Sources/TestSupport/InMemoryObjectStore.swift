import Backend
import Synchronization

/// An object store in memory, for tests of the engine that do not need files. Honors the `ObjectStore` contract
/// (atomic puts, key validation, sorted listing).
public final class InMemoryObjectStore: ObjectStore {
    private let objects = Mutex<[String: [UInt8]]>([:])

    public init() {}

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try ObjectStoreError.validate(key)
        objects.withLock { $0[key] = bytes }
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try ObjectStoreError.validate(key)
        guard let bytes = objects.withLock({ $0[key] }) else { throw ObjectStoreError(.notFound, key: key, "") }
        return bytes
    }

    public func getRange(_ key: String, offset: Int, length: Int) async throws -> [UInt8] {
        let bytes = try await get(key)
        let start = min(max(0, offset), bytes.count)
        return Array(bytes[start..<(start + min(length, bytes.count - start))])
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        objects.withLock { all in
            all.filter { $0.key.hasPrefix(prefix) }.map { ObjectInfo(key: $0.key, size: $0.value.count) }
        }.sorted { $0.key < $1.key }
    }

    public func delete(_ key: String) async throws {
        try ObjectStoreError.validate(key)
        _ = objects.withLock { $0.removeValue(forKey: key) }
    }

    /// Every key, for assertions.
    public var keys: [String] { objects.withLock { $0.keys.sorted() } }
}
