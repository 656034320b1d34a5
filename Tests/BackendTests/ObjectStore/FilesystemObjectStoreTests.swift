import Foundation
import Testing
@testable import Backend

@Suite struct FilesystemObjectStoreTests {
    static func temporaryRoot() -> String {
        NSTemporaryDirectory() + "estuary-fs-\(UUID().uuidString)"
    }

    @Test func putGetRangeListDelete() async throws {
        let root = Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try FilesystemObjectStore(root: root)
        try await store.put("fake/abc/MTox", Array("hello world".utf8))
        try await store.put("fake/abd/x", [1, 2, 3])
        try await store.put("other/1", [9])
        #expect(try await store.get("fake/abc/MTox") == Array("hello world".utf8))
        #expect(try await store.getRange("fake/abc/MTox", offset: 6, length: 100) == Array("world".utf8))
        #expect(try await store.list(prefix: "fake/").map(\.key) == ["fake/abc/MTox", "fake/abd/x"])
        #expect(try await store.list(prefix: "fake/abc").map(\.key) == ["fake/abc/MTox"])
        #expect(try await store.list(prefix: "").count == 3)
        try await store.put("fake/abd/x", [4])   // overwrite replaces the whole object
        #expect(try await store.get("fake/abd/x") == [4])
        try await store.delete("fake/abd/x")
        try await store.delete("fake/abd/x")     // deleting twice is fine
        await #expect(throws: ObjectStoreError.self) { try await store.get("fake/abd/x") }
        // No temporary files are left behind.
        let files = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
        #expect(!files.contains { ($0 as NSString).lastPathComponent.hasPrefix(".tmp-") })
    }

    @Test(arguments: ["../escape", "a/../../b", "/etc/passwd", "", "a//b", "a/./b", "a/b/"])
    func keysCannotLeaveTheRoot(key: String) async throws {
        let root = Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try FilesystemObjectStore(root: root)
        do {
            try await store.put(key, [1])
            Issue.record("put \(key) was accepted")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .invalidKey)
            #expect(error.description.hasPrefix("invalid object key \"\(key)\""))
        }
    }

    @Test func missingObjectErrorNamesTheKey() async throws {
        let root = Self.temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try FilesystemObjectStore(root: root)
        do {
            _ = try await store.get("t/none")
            Issue.record("missing object was found")
        } catch let error as ObjectStoreError {
            #expect(error.kind == .notFound)
            #expect(error.description == "object \"t/none\" not found")
        }
    }
}
