/// Remembers what each raw key of a parsed line becomes (a sanitised label name, or nil when the parser hints
/// say the label is not needed), so a parser turns a key into a `String` once per stream rather than once per
/// line. Loki's `internedStringSet`, with its limit of 1024 keys: past that, keys are computed every time.
final class KeyCache {
    private struct Entry {
        var start: Int
        var count: Int
        var hash: UInt32
        var label: String?
    }

    static let limit = 1024
    // Only the owning StreamPipeline's task touches these; skipping the runtime exclusivity checks matters here.
    @exclusivity(unchecked) private var slots = [Int32](repeating: -1, count: 4096)
    @exclusivity(unchecked) private var bytes: [UInt8] = []
    @exclusivity(unchecked) private var entries: [Entry] = []

    init() {
        entries.reserveCapacity(64)
    }

    /// The label for `key`, from the cache or from `compute` (whose answer is cached while there is room).
    @inline(__always)
    func label(for key: UnsafeRawBufferPointer, compute: (UnsafeRawBufferPointer) -> String?) -> String? {
        let hash = Self.hash(key)
        var slot = Int(hash) & (slots.count - 1)
        while true {
            let index = Int(slots[slot])
            if index < 0 { break }
            if entries[index].hash == hash, entries[index].count == key.count, equal(entries[index], key) {
                return entries[index].label
            }
            slot = (slot + 1) & (slots.count - 1)
        }
        let label = compute(key)
        if entries.count < Self.limit {
            slots[slot] = Int32(entries.count)
            entries.append(Entry(start: bytes.count, count: key.count, hash: hash, label: label))
            bytes.append(contentsOf: key)
        }
        return label
    }

    @inline(__always)
    private func equal(_ entry: Entry, _ key: UnsafeRawBufferPointer) -> Bool {
        bytes.withUnsafeBytes { stored in
            guard let base = stored.baseAddress, let other = key.baseAddress else { return entry.count == 0 }
            // Keys are short: eight bytes at a time inline beats a call to memcmp.
            var offset = 0
            while offset + 8 <= entry.count {
                if base.loadUnaligned(fromByteOffset: entry.start + offset, as: UInt64.self)
                    != other.loadUnaligned(fromByteOffset: offset, as: UInt64.self) { return false }
                offset += 8
            }
            while offset < entry.count {
                if base.load(fromByteOffset: entry.start + offset, as: UInt8.self)
                    != other.load(fromByteOffset: offset, as: UInt8.self) { return false }
                offset += 1
            }
            return true
        }
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in key {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
