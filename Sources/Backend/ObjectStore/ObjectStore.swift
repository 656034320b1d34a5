/// A flat key → bytes store: the local filesystem (`FilesystemObjectStore`) or S3 (`S3ObjectStore`).
///
/// Contract: called from any task, many calls at once. `put` is atomic — a reader sees the whole old object, the
/// whole new one, or none; never a partial write. Keys are `/`-separated relative paths without `.` or `..`
/// segments. Errors are `ObjectStoreError` and name the key. Cancellation may abandon a call midway; a cancelled
/// `put` leaves either no object or a complete one.
public protocol ObjectStore: Sendable {
    func put(_ key: String, _ bytes: [UInt8]) async throws
    func get(_ key: String) async throws -> [UInt8]
    /// Bytes `offset..<offset+length` of the object (fewer when the object ends sooner).
    func getRange(_ key: String, offset: Int, length: Int) async throws -> [UInt8]
    /// Every object whose key starts with `prefix`, sorted by key.
    func list(prefix: String) async throws -> [ObjectInfo]
    /// Removes the object; removing a missing object is not an error.
    func delete(_ key: String) async throws
}

/// One listed object.
public struct ObjectInfo: Sendable, Hashable {
    public var key: String
    public var size: Int

    public init(key: String, size: Int) {
        self.key = key
        self.size = size
    }
}

/// What went wrong with which object.
public struct ObjectStoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case invalidKey
        case io
    }

    public var kind: Kind
    public var key: String
    public var detail: String

    public init(_ kind: Kind, key: String, _ detail: String) {
        self.kind = kind
        self.key = key
        self.detail = detail
    }

    public var description: String {
        switch kind {
        case .notFound: "object \"\(key)\" not found"
        case .invalidKey: "invalid object key \"\(key)\": \(detail)"
        case .io: "object \"\(key)\": \(detail)"
        }
    }

    /// Rejects keys that could leave the store's root or name something other than an object.
    public static func validate(_ key: String) throws(ObjectStoreError) {
        guard !key.isEmpty else { throw ObjectStoreError(.invalidKey, key: key, "empty key") }
        guard !key.hasPrefix("/") else { throw ObjectStoreError(.invalidKey, key: key, "keys are relative") }
        guard !key.utf8.contains(0) else { throw ObjectStoreError(.invalidKey, key: key, "contains a NUL byte") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty || segment == "." || segment == ".." {
                throw ObjectStoreError(.invalidKey, key: key, "empty, \".\" or \"..\" path segment")
            }
        }
    }
}
