import Glibc
import Wire

/// The part of libsystemd's `sd-journal` API the journal source uses, loaded at run time with `dlopen`, so that
/// neither building nor starting Estuary needs systemd.
///
/// An `sd_journal` handle may only be used from the thread that opened it; ``JournalReader`` keeps it on a
/// thread of its own.
struct SystemdLibrary: @unchecked Sendable {  // invariant: immutable after init; holds C function pointers only
    typealias Handle = OpaquePointer
    let open: @convention(c) (UnsafeMutablePointer<Handle?>, Int32) -> Int32
    let openDirectory: @convention(c) (UnsafeMutablePointer<Handle?>, UnsafePointer<CChar>, Int32) -> Int32
    let close: @convention(c) (Handle) -> Void
    let addMatch: @convention(c) (Handle, UnsafeRawPointer, Int) -> Int32
    let seekHead: @convention(c) (Handle) -> Int32
    let seekCursor: @convention(c) (Handle, UnsafePointer<CChar>) -> Int32
    let seekRealtime: @convention(c) (Handle, UInt64) -> Int32
    let testCursor: @convention(c) (Handle, UnsafePointer<CChar>) -> Int32
    let next: @convention(c) (Handle) -> Int32
    let getCursor: @convention(c) (Handle, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32
    let getRealtime: @convention(c) (Handle, UnsafeMutablePointer<UInt64>) -> Int32
    let restartData: @convention(c) (Handle) -> Void
    let enumerateData: @convention(c) (Handle, UnsafeMutablePointer<UnsafeRawPointer?>, UnsafeMutablePointer<Int>) -> Int32
    let wait: @convention(c) (Handle, UInt64) -> Int32

    /// Why the library could not be used.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Loads `libsystemd.so.0` (or `name`) and resolves every symbol; an error names what is missing.
    static func load(_ name: String = "libsystemd.so.0") throws(LoadError) -> SystemdLibrary {
        guard let library = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw LoadError(description: "cannot load \(name) (is systemd's libsystemd0 installed?): \(reason)")
        }
        func symbol<T>(_ symbolName: String, as type: T.Type) throws(LoadError) -> T {
            guard let pointer = dlsym(library, symbolName) else {
                throw LoadError(description: "\(name) has no symbol \(symbolName)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        return SystemdLibrary(
            open: try symbol("sd_journal_open", as: (@convention(c) (UnsafeMutablePointer<Handle?>, Int32) -> Int32).self),
            openDirectory: try symbol(
                "sd_journal_open_directory", as: (@convention(c) (UnsafeMutablePointer<Handle?>, UnsafePointer<CChar>, Int32) -> Int32).self),
            close: try symbol("sd_journal_close", as: (@convention(c) (Handle) -> Void).self),
            addMatch: try symbol("sd_journal_add_match", as: (@convention(c) (Handle, UnsafeRawPointer, Int) -> Int32).self),
            seekHead: try symbol("sd_journal_seek_head", as: (@convention(c) (Handle) -> Int32).self),
            seekCursor: try symbol("sd_journal_seek_cursor", as: (@convention(c) (Handle, UnsafePointer<CChar>) -> Int32).self),
            seekRealtime: try symbol("sd_journal_seek_realtime_usec", as: (@convention(c) (Handle, UInt64) -> Int32).self),
            testCursor: try symbol("sd_journal_test_cursor", as: (@convention(c) (Handle, UnsafePointer<CChar>) -> Int32).self),
            next: try symbol("sd_journal_next", as: (@convention(c) (Handle) -> Int32).self),
            getCursor: try symbol(
                "sd_journal_get_cursor", as: (@convention(c) (Handle, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32).self),
            getRealtime: try symbol("sd_journal_get_realtime_usec", as: (@convention(c) (Handle, UnsafeMutablePointer<UInt64>) -> Int32).self),
            restartData: try symbol("sd_journal_restart_data", as: (@convention(c) (Handle) -> Void).self),
            enumerateData: try symbol(
                "sd_journal_enumerate_data",
                as: (@convention(c) (Handle, UnsafeMutablePointer<UnsafeRawPointer?>, UnsafeMutablePointer<Int>) -> Int32).self),
            wait: try symbol("sd_journal_wait", as: (@convention(c) (Handle, UInt64) -> Int32).self))
    }

    /// `strerror` of a negative errno return.
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(-code))
    }
}

/// One open journal, used from one thread.
final class SystemdJournal {
    private let library: SystemdLibrary
    private let handle: SystemdLibrary.Handle

    /// `SD_JOURNAL_LOCAL_ONLY`.
    private static let localOnly: Int32 = 1

    /// Opens the journal files in `directory`, or the system's journal (`/var/log/journal`, `/run/log/journal`)
    /// when it is empty.
    init(library: SystemdLibrary, directory: String) throws(SystemdLibrary.LoadError) {
        self.library = library
        var opened: SystemdLibrary.Handle?
        let result = directory.isEmpty ? library.open(&opened, Self.localOnly) : library.openDirectory(&opened, directory, 0)
        guard result >= 0, let opened else {
            let place = directory.isEmpty ? "the system journal" : "journal directory \(directory)"
            throw SystemdLibrary.LoadError(description: "cannot open \(place): \(SystemdLibrary.describe(result))")
        }
        handle = opened
    }

    deinit {
        library.close(handle)
    }

    /// Adds a `FIELD=value` match (several are ANDed when their fields differ, as journalctl does).
    func addMatch(_ match: String) throws(SystemdLibrary.LoadError) {
        let result = match.withCString { library.addMatch(handle, $0, strlen($0)) }
        if result < 0 {
            throw SystemdLibrary.LoadError(description: "invalid journal match \(GoQuote.quote(match)): \(SystemdLibrary.describe(result))")
        }
    }

    /// Positions after the entry `cursor` names; false when the cursor is not found (then at the start).
    func seek(after cursor: String) -> Bool {
        guard library.seekCursor(handle, cursor) >= 0, library.next(handle) > 0 else {
            _ = library.seekHead(handle)
            return false
        }
        if library.testCursor(handle, cursor) > 0 { return true }
        // The exact entry is gone (rotated away): the next one read is the first after it.
        _ = library.seekCursor(handle, cursor)
        return true
    }

    func seek(realtimeMicroseconds: UInt64) {
        _ = library.seekRealtime(handle, realtimeMicroseconds)
    }

    /// Moves to the next entry; false at the end.
    func next() -> Bool {
        library.next(handle) > 0
    }

    /// Waits up to `microseconds` for the journal to change.
    func wait(microseconds: UInt64) {
        _ = library.wait(handle, microseconds)
    }

    var cursor: String? {
        var text: UnsafeMutablePointer<CChar>?
        guard library.getCursor(handle, &text) >= 0, let text else { return nil }
        defer { free(text) }
        return String(cString: text)
    }

    var realtimeMicroseconds: UInt64 {
        var value: UInt64 = 0
        _ = library.getRealtime(handle, &value)
        return value
    }

    /// The current entry's fields, `FIELD=value` split at the first `=` (values may hold any bytes).
    func fields() -> [(name: String, value: [UInt8])] {
        library.restartData(handle)
        var result: [(String, [UInt8])] = []
        var data: UnsafeRawPointer?
        var length = 0
        while library.enumerateData(handle, &data, &length) > 0 {
            guard let data else { continue }
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { continue }
            result.append((String(decoding: bytes[..<equals], as: UTF8.self), Array(bytes[(equals + 1)...])))
        }
        return result
    }
}
