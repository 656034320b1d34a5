import Foundation
import Testing
import TestSupport

@testable import Backend

/// The local read cache in front of S3: reads are served from disk once an object was written or read, the
/// least recently used objects go first past the size limit, and a restart keeps what was cached.
@Suite struct DiskCachedObjectStoreTests {
    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)").path
    }

    @Test func writtenAndReadObjectsAreServedFromDisk() async throws {
        let remote = InMemoryObjectStore()
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try DiskCachedObjectStore(remote, directory: path, maxBytes: 1 << 20)
        try await store.put("t/fp/a", Array("written".utf8))
        try await remote.put("t/fp/b", Array("only remote".utf8))
        #expect(try await store.get("t/fp/b") == Array("only remote".utf8))
        // The remote copies vanish (another process could delete them): the cache still answers.
        try await remote.delete("t/fp/a")
        try await remote.delete("t/fp/b")
        #expect(try await store.get("t/fp/a") == Array("written".utf8))
        #expect(try await store.getRange("t/fp/b", offset: 5, length: 6) == Array("remote".utf8))
        #expect(store.cachedBytes == 18)
        // Listing is always the remote store's.
        #expect(try await store.list(prefix: "t/").isEmpty)
        // Deleting through the cache removes both copies.
        try await store.put("t/fp/c", [1])
        try await store.delete("t/fp/c")
        await #expect(throws: ObjectStoreError.self) { try await store.get("t/fp/c") }
    }

    @Test func leastRecentlyUsedObjectsAreDroppedPastTheLimitAndARestartKeepsTheRest() async throws {
        let remote = InMemoryObjectStore()
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try DiskCachedObjectStore(remote, directory: path, maxBytes: 1000)
        for name in ["a", "b", "c", "d"] { try await store.put("k/\(name)", [UInt8](repeating: 1, count: 300)) }
        // Four objects of 300 bytes exceed 1000: the cache shrinks to 900 and below, the oldest first.
        #expect(store.cachedBytes == 900)
        try await remote.delete("k/a")
        // "a" was the oldest when "d" arrived, so it is gone from the cache too.
        await #expect(throws: ObjectStoreError.self) { try await store.get("k/a") }
        try await remote.delete("k/d")
        #expect(try await store.get("k/d").count == 300)   // the newest is cached
        for name in ["a", "b", "c", "d"] { try await remote.delete("k/\(name)") }
        let reopened = try DiskCachedObjectStore(remote, directory: path, maxBytes: 1000)
        #expect(reopened.cachedBytes == store.cachedBytes)
        #expect(try await reopened.get("k/d").count == 300)
        // A smaller cache than last time drops what does not fit.
        let smaller = try DiskCachedObjectStore(remote, directory: path, maxBytes: 400)
        #expect(smaller.cachedBytes <= 400)
    }
}
