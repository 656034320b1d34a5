#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Substring search over raw bytes: the hot path of line filters (`|= "needle"`).
///
/// Candidate positions are found 16 at a time by comparing the needle's first and last byte against the haystack
/// with SIMD (the "generic SIMD" method), then confirmed with `memcmp`. On short log lines this beats `memmem`,
/// whose per-call set-up (a 256-entry shift table) costs about as much as scanning a 200-byte line.
enum ByteSearch {
    /// Whether `needle` occurs in `haystack`. An empty needle occurs everywhere.
    @inline(__always)
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        let needleCount = needle.count
        let haystackCount = haystack.count
        guard needleCount > 0 else { return true }
        guard needleCount <= haystackCount, let h = haystack.baseAddress, let n = needle.baseAddress else {
            return false
        }
        let first = n.load(as: UInt8.self)
        if needleCount == 1 { return memchr(h, Int32(first), haystackCount) != nil }
        let last = n.load(fromByteOffset: needleCount - 1, as: UInt8.self)
        let lastStart = haystackCount - needleCount
        if lastStart >= 15 {
            let firsts = SIMD16<UInt8>(repeating: first)
            let lasts = SIMD16<UInt8>(repeating: last)
            var index = 0
            while true {
                let a = h.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                let b = h.loadUnaligned(fromByteOffset: index + needleCount - 1, as: SIMD16<UInt8>.self)
                let candidates = (a .== firsts) .& (b .== lasts)
                if any(candidates) {
                    for lane in 0..<16 where candidates[lane] {
                        if memcmp(h + index + lane + 1, n + 1, needleCount - 2) == 0 { return true }
                    }
                }
                // The last block overlaps the one before rather than leaving a tail to scan byte by byte.
                if index == lastStart - 15 { return false }
                index = min(index + 16, lastStart - 15)
            }
        }
        var index = 0
        while index <= lastStart {
            if h.load(fromByteOffset: index, as: UInt8.self) == first,
               h.load(fromByteOffset: index + needleCount - 1, as: UInt8.self) == last,
               memcmp(h + index + 1, n + 1, needleCount - 2) == 0 {
                return true
            }
            index += 1
        }
        return false
    }

    /// Whether `needle` occurs in `haystack` ignoring ASCII case. `lowercasedNeedle` must be ASCII and lowercase;
    /// bytes outside ASCII letters compare exactly.
    static func containsIgnoringASCIICase(_ haystack: UnsafeRawBufferPointer, lowercasedNeedle: [UInt8]) -> Bool {
        let needleCount = lowercasedNeedle.count
        let haystackCount = haystack.count
        guard needleCount > 0 else { return true }
        guard needleCount <= haystackCount, let h = haystack.baseAddress else { return false }
        return lowercasedNeedle.withUnsafeBufferPointer { needle -> Bool in
            let first = needle[0]
            let firstUpper = upper(first)
            let lastStart = haystackCount - needleCount
            var index = 0
            if lastStart >= 15 {
                let lowers = SIMD16<UInt8>(repeating: first)
                let uppers = SIMD16<UInt8>(repeating: firstUpper)
                while index + 15 <= lastStart {
                    let a = h.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                    let candidates = (a .== lowers) .| (a .== uppers)
                    if any(candidates) {
                        for lane in 0..<16 where candidates[lane] {
                            if equalIgnoringCase(h + index + lane, needle) { return true }
                        }
                    }
                    index += 16
                }
            }
            while index <= lastStart {
                let byte = h.load(fromByteOffset: index, as: UInt8.self)
                if (byte == first || byte == firstUpper) && equalIgnoringCase(h + index, needle) { return true }
                index += 1
            }
            return false
        }
    }

    @inline(__always)
    private static func equalIgnoringCase(_ pointer: UnsafeRawPointer, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        for offset in 1..<needle.count where lower(pointer.load(fromByteOffset: offset, as: UInt8.self)) != needle[offset] {
            return false
        }
        return true
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    @inline(__always)
    static func upper(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "a") < 26 ? byte & ~0x20 : byte
    }
}
