import Foundation
import Synchronization

/// A remote object store (S3) with a local directory as a read cache of at most `maxBytes`.
///
/// Chunks and index segments are written through (to the store first, then to the cache) and cached when read;
/// the least recently used ones are dropped from the cache past `maxBytes`. This is correct because those objects
/// are immutable under their keys (chunk keys carry a checksum, index segments are new objects): a cached copy is
/// never stale. The compactor's own objects (`compactor/`: markers, delete requests, which change) always go to the
/// store. Listing always asks the store, so objects deleted elsewhere disappear from listings at once. Files are
/// synced before they are renamed into place, so a crash leaves none half written; the cache survives restarts
/// (its files are counted again at start-up) and losing it loses nothing.
public final class DiskCachedObjectStore: ObjectStore {
    private let store: any ObjectStore
    private let cache: FilesystemObjectStore
    private let maxBytes: Int

    private struct Entry {
        var size: Int
        var lastUse: UInt64
    }

    private struct State: ~Copyable {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Opens the cache in `directory` (creating it), counting what an earlier run left there.
    public init(_ store: any ObjectStore, directory: String, maxBytes: Int) throws {
        self.store = store
        cache = try FilesystemObjectStore(root: directory)
        self.maxBytes = maxBytes
        var entries: [String: Entry] = [:]
        var bytes = 0
        let root = URL(fileURLWithPath: cache.root)
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) {
            for case let url as URL in walker {
                guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]),
                      values.isRegularFile == true, let size = values.fileSize else { continue }
                let key = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
                // Left over from a write cut short, or too much for a smaller cache than last time.
                if url.lastPathComponent.hasPrefix(".tmp-") || bytes + size > maxBytes {
                    try? FileManager.default.removeItem(at: url)
                    continue
                }
                entries[key] = Entry(size: size, lastUse: 0)
                bytes += size
            }
        }
        state.withLock { state in
            state.entries = entries
            state.bytes = bytes
        }
    }

    /// Bytes held in the cache now.
    public var cachedBytes: Int { state.withLock { $0.bytes } }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        try await store.put(key, bytes)
        await remember(key, bytes)
    }

    /// Whether `key` names an object that never changes once written.
    private static func cacheable(_ key: String) -> Bool {
        !key.hasPrefix("compactor/")
    }

    public func get(_ key: String) async throws -> [UInt8] {
        guard Self.cacheable(key) else { return try await store.get(key) }
        if touch(key), let bytes = try? await cache.get(key) { return bytes }
        let bytes = try await store.get(key)
        await remember(key, bytes)
        return bytes
    }

    public func getRange(_ key: String, offset: Int, length: Int) async throws -> [UInt8] {
        if touch(key), let bytes = try? await cache.getRange(key, offset: offset, length: length) { return bytes }
        return try await store.getRange(key, offset: offset, length: length)
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await store.list(prefix: prefix)
    }

    public func delete(_ key: String) async throws {
        try await store.delete(key)
        await forget(key)
    }

    // MARK: Bookkeeping

    /// Marks `key` used; whether it is cached.
    private func touch(_ key: String) -> Bool {
        state.withLock { state in
            guard state.entries[key] != nil else { return false }
            state.clock += 1
            state.entries[key]?.lastUse = state.clock
            return true
        }
    }

    /// Caches `bytes` under `key` unless they alone exceed the cache. A cache that cannot be written only costs
    /// speed, so failures are swallowed.
    private func remember(_ key: String, _ bytes: [UInt8]) async {
        guard Self.cacheable(key) else { return }
        guard bytes.count <= maxBytes, (try? await cache.put(key, bytes)) != nil else {
            // Whatever the cache held under this key is not what the store holds now.
            await forget(key)
            return
        }
        state.withLock { state in
            state.clock += 1
            state.bytes += bytes.count - (state.entries[key]?.size ?? 0)
            state.entries[key] = Entry(size: bytes.count, lastUse: state.clock)
        }
        try? await evict()
    }

    private func forget(_ key: String) async {
        let known = state.withLock { state -> Bool in
            guard let entry = state.entries.removeValue(forKey: key) else { return false }
            state.bytes -= entry.size
            return true
        }
        if known { try? await cache.delete(key) }
    }

    /// Past `maxBytes`, drops the least recently used objects down to 90% of it, so that the sort this takes is
    /// paid once per many insertions.
    private func evict() async throws {
        let victims = state.withLock { state -> [String] in
            guard state.bytes > maxBytes else { return [] }
            let target = maxBytes / 10 * 9
            var victims: [String] = []
            for (key, entry) in state.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                guard state.bytes > target else { break }
                state.entries[key] = nil
                state.bytes -= entry.size
                victims.append(key)
            }
            return victims
        }
        for key in victims { try await cache.delete(key) }
    }
}
