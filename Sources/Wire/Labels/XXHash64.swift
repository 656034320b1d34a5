/// XXH64, the 64-bit xxHash of Yann Collet, as `github.com/cespare/xxhash/v2` computes it (the hash behind
/// Prometheus' `labels.Labels.Hash()` and so behind Loki's stream fingerprints).
///
/// Use `XXHash64.hash(_:)` for one buffer, or feed pieces with `update` and read `finalize()`: both give the same
/// value for the same byte sequence however it is split.
public struct XXHash64: Sendable {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private let seed: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    private var v4: UInt64
    /// Bytes seen so far.
    private var total: UInt64 = 0
    /// Bytes not yet folded into v1...v4 (fewer than 32).
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.prime1 &+ Self.prime2
        v2 = seed &+ Self.prime2
        v3 = seed
        v4 = seed &- Self.prime1
    }

    /// XXH64 of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var hasher = XXHash64(seed: seed)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// XXH64 of `bytes`.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// XXH64 of the UTF-8 bytes of `string`.
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        var hasher = XXHash64(seed: seed)
        hasher.update(string)
        return hasher.finalize()
    }

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        (acc &+ input &* prime2).rotateLeft(31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* prime1 &+ prime4
    }

    /// Feeds the UTF-8 bytes of `string`.
    public mutating func update(_ string: String) {
        var string = string
        string.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Feeds one byte.
    public mutating func update(byte: UInt8) {
        withUnsafeBytes(of: byte) { update($0) }
    }

    /// Feeds `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress, !bytes.isEmpty else { return }
        var count = bytes.count
        total &+= UInt64(count)

        if pendingCount > 0 {
            let take = min(32 - pendingCount, count)
            let offset = pendingCount
            let source = base
            withUnsafeMutableBytes(of: &pending) { buffer in
                buffer.baseAddress.unsafelyUnwrapped.advanced(by: offset).copyMemory(from: source, byteCount: take)
            }
            pendingCount += take
            base = base.advanced(by: take)
            count -= take
            guard pendingCount == 32 else { return }
            let block = pending
            withUnsafeBytes(of: block) { consumeStripes($0.baseAddress.unsafelyUnwrapped, 1) }
            pendingCount = 0
        }

        let stripes = count / 32
        if stripes > 0 {
            consumeStripes(base, stripes)
            base = base.advanced(by: stripes * 32)
            count -= stripes * 32
        }
        if count > 0 {
            let source = base, length = count
            withUnsafeMutableBytes(of: &pending) { buffer in
                buffer.baseAddress.unsafelyUnwrapped.copyMemory(from: source, byteCount: length)
            }
            pendingCount = count
        }
    }

    @inline(__always)
    private mutating func consumeStripes(_ pointer: UnsafeRawPointer, _ stripes: Int) {
        var p = pointer
        var a = v1, b = v2, c = v3, d = v4
        for _ in 0..<stripes {
            a = Self.round(a, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            p = p.advanced(by: 32)
        }
        v1 = a; v2 = b; v3 = c; v4 = d
    }

    /// The hash of everything fed so far. Does not change the state: more bytes may follow.
    public func finalize() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = v1.rotateLeft(1) &+ v2.rotateLeft(7) &+ v3.rotateLeft(12) &+ v4.rotateLeft(18)
            h = Self.mergeRound(h, v1)
            h = Self.mergeRound(h, v2)
            h = Self.mergeRound(h, v3)
            h = Self.mergeRound(h, v4)
        } else {
            h = seed &+ Self.prime5
        }
        h &+= total
        let count = pendingCount
        return withUnsafeBytes(of: pending) { buffer -> UInt64 in
            let p = buffer.baseAddress.unsafelyUnwrapped
            var i = 0
            while i + 8 <= count {
                let k1 = Self.round(0, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = (h ^ k1).rotateLeft(27) &* Self.prime1 &+ Self.prime4
                i += 8
            }
            if i + 4 <= count {
                let k = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                h = (h ^ (k &* Self.prime1)).rotateLeft(23) &* Self.prime2 &+ Self.prime3
                i += 4
            }
            while i < count {
                let k = UInt64(p.load(fromByteOffset: i, as: UInt8.self))
                h = (h ^ (k &* Self.prime5)).rotateLeft(11) &* Self.prime1
                i += 1
            }
            h ^= h >> 33
            h &*= Self.prime2
            h ^= h >> 29
            h &*= Self.prime3
            h ^= h >> 32
            return h
        }
    }
}

extension UInt64 {
    @inline(__always)
    fileprivate func rotateLeft(_ bits: UInt64) -> UInt64 {
        (self << bits) | (self >> (64 - bits))
    }
}
