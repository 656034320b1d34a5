import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by the snappy framing format and
/// Go's `crc32.MakeTable(crc32.Castagnoli)`.
///
/// Computed with the CPU's CRC-32C instruction where there is one (SSE4.2, in the `CCRC32C` target), otherwise
/// with slicing-by-16: sixteen 256-entry tables, built once, consume 16 bytes per step (then 8 bytes, then single
/// bytes for the tail). `checksum(Array("123456789".utf8)) == 0xE3069283`.
public enum CRC32C {
    /// Whether ``checksum(_:seed:)-(UnsafeRawBufferPointer,_)`` uses the CPU instruction.
    public static let usesHardware = estuary_crc32c_hardware_available() != 0

    /// The checksum of `bytes`, continuing from `seed` (the checksum of the bytes before them, or 0).
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let pointer = bytes.baseAddress, !bytes.isEmpty else { return seed }
        if usesHardware { return ~estuary_crc32c_hardware(~seed, pointer, bytes.count) }
        return tableChecksum(bytes, seed: seed)
    }

    /// The slicing-by-16 table computation: the fallback, and the reference the hardware path is tested against.
    public static func tableChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard var pointer = bytes.baseAddress, !bytes.isEmpty else { return seed }
        var remaining = bytes.count
        var crc = ~seed
        tables.withUnsafeBufferPointer { tables in
            guard let t = tables.baseAddress else { preconditionFailure("CRC32C tables are never empty") }
            while remaining > 0 && Int(bitPattern: pointer) & 7 != 0 {
                crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
            while remaining >= 16 {
                let word0 = UInt64(littleEndian: pointer.load(as: UInt64.self))
                let word1 = UInt64(littleEndian: pointer.load(fromByteOffset: 8, as: UInt64.self))
                let a = UInt32(truncatingIfNeeded: word0) ^ crc
                let b = UInt32(truncatingIfNeeded: word0 >> 32)
                let c = UInt32(truncatingIfNeeded: word1)
                let e = UInt32(truncatingIfNeeded: word1 >> 32)
                crc = t[15 * 256 + Int(a & 0xff)]
                    ^ t[14 * 256 + Int((a >> 8) & 0xff)]
                    ^ t[13 * 256 + Int((a >> 16) & 0xff)]
                    ^ t[12 * 256 + Int(a >> 24)]
                    ^ t[11 * 256 + Int(b & 0xff)]
                    ^ t[10 * 256 + Int((b >> 8) & 0xff)]
                    ^ t[9 * 256 + Int((b >> 16) & 0xff)]
                    ^ t[8 * 256 + Int(b >> 24)]
                    ^ t[7 * 256 + Int(c & 0xff)]
                    ^ t[6 * 256 + Int((c >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((c >> 16) & 0xff)]
                    ^ t[4 * 256 + Int(c >> 24)]
                    ^ t[3 * 256 + Int(e & 0xff)]
                    ^ t[2 * 256 + Int((e >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((e >> 16) & 0xff)]
                    ^ t[Int(e >> 24)]
                pointer += 16
                remaining -= 16
            }
            while remaining >= 8 {
                let word = UInt64(littleEndian: pointer.load(as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xff)]
                    ^ t[6 * 256 + Int((low >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xff)]
                    ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xff)]
                    ^ t[2 * 256 + Int((high >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xff)]
                    ^ t[Int(high >> 24)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
                pointer += 1
                remaining -= 1
            }
        }
        return ~crc
    }

    /// The checksum of `bytes`, continuing from `seed` (the checksum of the bytes before them, or 0).
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The snappy framing format's masked checksum: rotated right by 15 and offset, so that a CRC of data
    /// that itself contains CRCs stays well distributed.
    static func masked(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }

    /// Table k (0..<16) maps a byte to its CRC contribution when followed by k zero bytes; table 0 is the classic
    /// byte-at-a-time table.
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 16 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            var crc = tables[byte]
            for slice in 1..<16 {
                crc = tables[Int(crc & 0xff)] ^ (crc >> 8)
                tables[slice * 256 + byte] = crc
            }
        }
        return tables
    }()
}
