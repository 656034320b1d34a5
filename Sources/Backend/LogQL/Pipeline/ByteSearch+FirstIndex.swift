#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ByteSearch {
    /// The offset of the first occurrence of `needle` in `haystack` (0 for an empty needle), or nil.
    static func firstIndex(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Int? {
        guard !needle.isEmpty else { return 0 }
        guard needle.count <= haystack.count, let h = haystack.baseAddress, let n = needle.baseAddress else { return nil }
        let first = Int32(n.load(as: UInt8.self))
        var offset = 0
        let last = haystack.count - needle.count
        while offset <= last {
            guard let candidate = memchr(h + offset, first, last - offset + 1) else { return nil }
            let position = UnsafeRawPointer(candidate) - h
            if memcmp(h + position, n, needle.count) == 0 { return position }
            offset = position + 1
        }
        return nil
    }
}
