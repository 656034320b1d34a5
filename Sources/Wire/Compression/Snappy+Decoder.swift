// The block decoder. Every element is checked before it touches memory: a tag's extra bytes against the
// input end, a literal against the input end and the declared length, a copy's offset against the bytes
// already written and its length against the declared length. The fast paths copy 8 or 16 bytes at a
// time only where the slack before the end of the output allows it.

extension Snappy {
    /// Why a block failed to decode, with positions relative to the start of the elements; turned into a
    /// ``CodecError`` only on the failure path so the loop builds no strings.
    enum BlockDecodeFailure: Equatable {
        case truncatedElement(position: Int)
        case literalPastInput(position: Int, length: Int, available: Int)
        case outputOverflow(position: Int, length: Int, written: Int, declared: Int)
        case badOffset(position: Int, offset: Int, written: Int)
        case shortOutput(written: Int, declared: Int)
        case extraInput(position: Int)

        /// The error to throw; `headerSize` turns element positions into input byte positions.
        func error(headerSize: Int) -> CodecError {
            switch self {
            case .truncatedElement(let position):
                return .corruptSnappy("element at input byte \(position + headerSize) is truncated")
            case .literalPastInput(let position, let length, let available):
                return .corruptSnappy(
                    "literal of \(length) bytes at input byte \(position + headerSize) runs past the end of the input (\(available) bytes left)"
                )
            case .outputOverflow(let position, let length, let written, let declared):
                return .corruptSnappy(
                    "element of \(length) bytes at input byte \(position + headerSize) overflows the declared length \(declared) (\(written) bytes written)"
                )
            case .badOffset(let position, let offset, let written):
                return .corruptSnappy(
                    "bad offset: copy offset \(offset) at input byte \(position + headerSize) points outside the \(written) bytes written"
                )
            case .shortOutput(let written, let declared):
                return .corruptSnappy("input ends after \(written) of the \(declared) declared bytes")
            case .extraInput(let position):
                return .corruptSnappy("unexpected element at input byte \(position + headerSize) after the declared length")
            }
        }
    }

    /// Decodes the elements in `body` into `dst`, which holds exactly `count` bytes, the declared length.
    static func decodeBlock(_ body: UnsafeRawBufferPointer, into dst: UnsafeMutableRawPointer, count dstCount: Int)
        -> BlockDecodeFailure?
    {
        guard let src = body.baseAddress else {
            return dstCount == 0 ? nil : .shortOutput(written: 0, declared: dstCount)
        }
        let srcCount = body.count
        var s = 0
        var d = 0

        // Fast loop, while a tag and 4 more bytes can be read: one table lookup gives an element's kind,
        // length and extra bytes, and one 4-byte load (masked) its literal length or offset.
        elementTable.withUnsafeBufferPointer { table in
            guard let table = table.baseAddress else { preconditionFailure("the element table has 256 entries") }
            while srcCount - s >= 5 {
                let tag = Int(src.load(fromByteOffset: s, as: UInt8.self))
                let entry = Int(table[tag])
                let extra = entry >> 11
                // extra is 0...4 by construction of the table, so the wrapping arithmetic cannot wrap.
                let word = UInt64(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: s &+ 1, as: UInt32.self)))
                let trailer = Int(truncatingIfNeeded: word & (0xffff_ffff &>> UInt64(truncatingIfNeeded: 32 &- 8 &* extra)))
                if tag & 3 == 0 {
                    let length = (entry & 0xff) &+ trailer
                    let start = s &+ 1 &+ extra
                    guard length <= srcCount - start, length <= dstCount - d else { return }
                    copyLiteral(src, at: start, srcCount: srcCount, to: dst, at: d, dstCount: dstCount, length: length)
                    s = start + length
                    d += length
                } else {
                    let length = entry & 0xff
                    let offset = (entry & 0x700) &+ trailer
                    // offset in 1...d, as one unsigned comparison.
                    guard UInt(bitPattern: offset &- 1) < UInt(bitPattern: d), length <= dstCount - d else { return }
                    copyBackReference(dst, at: d, offset: offset, length: length, end: dstCount)
                    s += 1 + extra
                    d += length
                }
            }
        }

        // Careful loop: the last few bytes, and any element the fast loop declined (it re-reads it here
        // and reports the precise failure).
        while s < srcCount {
            let position = s
            let tag = Int(src.load(fromByteOffset: s, as: UInt8.self))
            var length: Int
            var offset: Int
            switch tag & 3 {
            case 0:
                length = tag >> 2
                if length < 60 {
                    s += 1
                } else {
                    let extra = length - 59
                    guard extra < srcCount - s else { return .truncatedElement(position: position) }
                    length = 0
                    for index in 0..<extra {
                        length |= Int(src.load(fromByteOffset: s + 1 + index, as: UInt8.self)) << (8 * index)
                    }
                    s += 1 + extra
                }
                length += 1
                guard length <= srcCount - s else {
                    return .literalPastInput(position: position, length: length, available: srcCount - s)
                }
                guard length <= dstCount - d else {
                    return .outputOverflow(position: position, length: length, written: d, declared: dstCount)
                }
                copyLiteral(src, at: s, srcCount: srcCount, to: dst, at: d, dstCount: dstCount, length: length)
                s += length
                d += length
                continue
            case 1:
                guard srcCount - s >= 2 else { return .truncatedElement(position: position) }
                length = 4 + (tag >> 2) & 0x7
                offset = (tag & 0xe0) << 3 | Int(src.load(fromByteOffset: s + 1, as: UInt8.self))
                s += 2
            case 2:
                guard srcCount - s >= 3 else { return .truncatedElement(position: position) }
                length = 1 + tag >> 2
                offset = Int(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: s + 1, as: UInt16.self)))
                s += 3
            default:
                guard srcCount - s >= 5 else { return .truncatedElement(position: position) }
                length = 1 + tag >> 2
                offset = Int(UInt32(littleEndian: src.loadUnaligned(fromByteOffset: s + 1, as: UInt32.self)))
                s += 5
            }
            guard offset > 0 && offset <= d else {
                if dstCount == 0 { return .extraInput(position: position) }
                return .badOffset(position: position, offset: offset, written: d)
            }
            guard length <= dstCount - d else {
                return .outputOverflow(position: position, length: length, written: d, declared: dstCount)
            }
            copyBackReference(dst, at: d, offset: offset, length: length, end: dstCount)
            d += length
        }
        if d != dstCount { return .shortOutput(written: d, declared: dstCount) }
        return nil
    }

    /// Copies a literal whose bounds the caller checked: 16 or 32 bytes blindly when it is that short and both
    /// buffers have that many bytes left (the excess is overwritten later), memcpy otherwise. Log lines hold many
    /// literals of 17 to 32 bytes (ids, numbers), for which a memcpy call costs more than the copy.
    @inline(__always)
    static func copyLiteral(
        _ src: UnsafeRawPointer, at s: Int, srcCount: Int, to dst: UnsafeMutableRawPointer, at d: Int, dstCount: Int,
        length: Int
    ) {
        if length <= 32 && srcCount - s >= 32 && dstCount - d >= 32 {
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: s, as: SIMD16<UInt8>.self), toByteOffset: d,
                           as: SIMD16<UInt8>.self)
            if length > 16 {
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: s + 16, as: SIMD16<UInt8>.self),
                               toByteOffset: d + 16, as: SIMD16<UInt8>.self)
            }
        } else {
            (dst + d).copyMemory(from: src + s, byteCount: length)
        }
    }

    /// Per tag byte, as in the C++ reference's `char_table`: bits 0-7 the element length (for literals
    /// with a length in extra bytes, 1, so that length = 1 + value), bits 8-10 the high bits of a copy1
    /// offset, bits 11-13 the number of extra bytes after the tag.
    static let elementTable: [UInt16] = (0..<256).map { tag in
        let high = tag >> 2
        switch tag & 3 {
        case 0 where high < 60: return UInt16(high + 1)
        case 0: return UInt16((high - 59) << 11 | 1)
        case 1: return UInt16(1 << 11 | (tag >> 5) << 8 | (4 + (high & 7)))
        case 2: return UInt16(2 << 11 | (high + 1))
        default: return UInt16(4 << 11 | (high + 1))
        }
    }

    /// Copies `length` bytes from `offset` bytes back to `d`; the caller has checked both against the
    /// output. Bytes past `d + length` may be overwritten with garbage when at least 16 bytes of slack
    /// remain before `end`; later elements overwrite them.
    @inline(__always)
    static func copyBackReference(_ dst: UnsafeMutableRawPointer, at d: Int, offset: Int, length: Int, end: Int) {
        var out = dst + d
        var from = dst + (d - offset)  // `from` advances only in the overlapping-pattern path
        if end - d >= length + 16 {
            if offset >= 16 {
                // Source and destination are at least 16 bytes apart, so each 16-byte step reads only bytes
                // already written (by earlier elements or the step before).
                var copied = 0
                repeat {
                    (out + copied).storeBytes(of: (from + copied).loadUnaligned(as: SIMD16<UInt8>.self),
                                              as: SIMD16<UInt8>.self)
                    copied += 16
                } while copied < length
            } else if offset < 8 {
                // Overlapping pattern: repeat it until source and destination are 8 bytes apart. Each
                // 8-byte copy only relies on its first (out - from) bytes, which are already written.
                var remaining = length
                while out - from < 8 {
                    out.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
                    let distance = out - from
                    remaining -= distance
                    out += distance
                }
                while remaining > 0 {
                    out.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
                    from += 8
                    out += 8
                    remaining -= 8
                }
            } else {
                var copied = 0
                repeat {
                    (out + copied).storeBytes(of: (from + copied).loadUnaligned(as: UInt64.self), as: UInt64.self)
                    copied += 8
                } while copied < length
            }
            return
        }
        // Near the end of the output: byte by byte, which also handles overlap.
        for index in 0..<length {
            out.storeBytes(of: from.load(fromByteOffset: index, as: UInt8.self), toByteOffset: index, as: UInt8.self)
        }
    }
}
