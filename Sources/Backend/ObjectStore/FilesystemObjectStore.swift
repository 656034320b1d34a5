import Foundation
import NIOPosix

/// Objects as files under a root directory (`storage_config.filesystem.directory`), as Loki's filesystem store keeps
/// them: the key is the relative path.
///
/// Writes go to a temporary file in the target directory, are fsynced and renamed into place, so a crash never
/// leaves a partial object. Blocking file I/O runs on NIO's thread pool, never on the caller's executor.
public struct FilesystemObjectStore: ObjectStore {
    public let root: String
    private let pool: NIOThreadPool

    /// Opens (creating if needed) the store at `root`.
    public init(root: String, pool: NIOThreadPool = .singleton) throws {
        let absolute = URL(fileURLWithPath: root).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
        } catch {
            throw ObjectStoreError(.io, key: "", "cannot create storage directory \(absolute): \(error.localizedDescription)")
        }
        self.root = absolute
        self.pool = pool
    }

    private func path(_ key: String) throws -> String {
        try ObjectStoreError.validate(key)
        return root + "/" + key
    }

    public func put(_ key: String, _ bytes: [UInt8]) async throws {
        let target = try path(key)
        try await pool.runIfActive {
            let directory = (target as NSString).deletingLastPathComponent
            try Self.io(key) { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            let temporary = "\(directory)/.tmp-\(UInt64.random(in: 0...UInt64.max))"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Self.errno(key, "create \(temporary)") }
            var ok = false
            defer {
                close(fd)
                if !ok { unlink(temporary) }
            }
            var written = 0
            try bytes.withUnsafeBytes { raw in
                while written < raw.count {
                    let n = write(fd, raw.baseAddress.map { $0 + written }, raw.count - written)
                    if n < 0 {
                        if Glibc.errno == EINTR { continue }
                        throw Self.errno(key, "write")
                    }
                    written += n
                }
            }
            guard fsync(fd) == 0 else { throw Self.errno(key, "fsync") }
            guard rename(temporary, target) == 0 else { throw Self.errno(key, "rename into place") }
            ok = true
        }
    }

    public func get(_ key: String) async throws -> [UInt8] {
        try await getRange(key, offset: 0, length: .max)
    }

    public func getRange(_ key: String, offset: Int, length: Int) async throws -> [UInt8] {
        let file = try path(key)
        guard offset >= 0, length >= 0 else { throw ObjectStoreError(.invalidKey, key: key, "negative range") }
        return try await pool.runIfActive {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                if Glibc.errno == ENOENT || Glibc.errno == ENOTDIR { throw ObjectStoreError(.notFound, key: key, "") }
                throw Self.errno(key, "open")
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw Self.errno(key, "stat") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw ObjectStoreError(.notFound, key: key, "") }
            let size = Int(info.st_size)
            let start = min(offset, size)
            let count = min(length, size - start)
            var result = [UInt8](repeating: 0, count: count)
            var done = 0
            try result.withUnsafeMutableBytes { raw in
                while done < count {
                    let n = pread(fd, raw.baseAddress.map { $0 + done }, count - done, off_t(start + done))
                    if n < 0 {
                        if Glibc.errno == EINTR { continue }
                        throw Self.errno(key, "read")
                    }
                    if n == 0 { break }
                    done += n
                }
            }
            if done < count { result.removeLast(count - done) }
            return result
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        let root = self.root
        return try await pool.runIfActive {
            // Walk only the deepest directory the prefix names, then filter by the full prefix.
            let slash = prefix.lastIndex(of: "/")
            let directoryKey = slash.map { String(prefix[..<$0]) } ?? ""
            if !directoryKey.isEmpty { try ObjectStoreError.validate(directoryKey) }
            let start = directoryKey.isEmpty ? root : root + "/" + directoryKey
            var found: [ObjectInfo] = []
            guard let walker = FileManager.default.enumerator(atPath: start) else { return [] }
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".tmp-") { continue }
                let key = directoryKey.isEmpty ? relative : directoryKey + "/" + relative
                guard key.hasPrefix(prefix) else { continue }
                var info = stat()
                guard stat(start + "/" + relative, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                found.append(ObjectInfo(key: key, size: Int(info.st_size)))
            }
            return found.sorted { $0.key < $1.key }
        }
    }

    public func delete(_ key: String) async throws {
        let file = try path(key)
        try await pool.runIfActive {
            if unlink(file) != 0 && Glibc.errno != ENOENT { throw Self.errno(key, "delete") }
        }
    }

    private static func errno(_ key: String, _ operation: String) -> ObjectStoreError {
        ObjectStoreError(.io, key: key, "\(operation) failed: \(String(cString: strerror(Glibc.errno)))")
    }

    private static func io(_ key: String, _ body: () throws -> Void) throws {
        do { try body() } catch { throw ObjectStoreError(.io, key: key, "\(error.localizedDescription)") }
    }
}
