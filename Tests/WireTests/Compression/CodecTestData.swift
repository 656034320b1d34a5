import TestSupport
// Inputs shared by the compression tests: a seeded generator and realistic log text.


enum CodecTestData {
    /// `count` lines of logfmt with a formula per field. The Python reference computes the same text
    /// (`'level=%s ts=%d caller=ingester.go:%d msg="flushing chunk %d" tenant=t%d bytes=%d\n'`), which is
    /// how the golden sizes and checksums in the tests were produced.
    static func formulaLines(_ count: Int) -> [UInt8] {
        let levels = ["info", "warn", "error"]
        var text = ""
        for i in 0..<count {
            text += "level=\(levels[i % 3]) ts=\(1_700_000_000_000 + i * 37) caller=ingester.go:\(i % 400) "
            text += "msg=\"flushing chunk \(i % 17)\" tenant=t\(i % 13) bytes=\(i * i % 100_003)\n"
        }
        return Array(text.utf8)
    }

    /// Random-but-plausible logfmt of about `byteCount` bytes, cut to exactly that length.
    static func logfmt(byteCount: Int, using rng: inout SeededRandom) -> [UInt8] {
        let levels = ["debug", "info", "warn", "error"]
        let callers = ["ingester.go:123", "distributor.go:88", "flush.go:301", "http.go:52", "table_manager.go:417"]
        let messages = ["flushing chunk", "request completed", "pushing stream", "GET /loki/api/v1/query_range", "compaction done"]
        var output = [UInt8]()
        output.reserveCapacity(byteCount + 256)
        var timestamp = 1_709_210_096_000 + Int(rng.next() % 1_000_000)
        while output.count < byteCount {
            timestamp += Int(rng.next() % 1000)
            let line =
                "level=\(levels[Int(rng.next() % 4)]) ts=\(timestamp) caller=\(callers[Int(rng.next() % 5)]) "
                + "msg=\"\(messages[Int(rng.next() % 5)])\" tenant=tenant-\(rng.next() % 50) "
                + "duration=\(rng.next() % 100_000)µs trace_id=\(String(rng.next(), radix: 16))\n"
            output.append(contentsOf: line.utf8)
        }
        return Array(output.prefix(byteCount))
    }

    static func randomBytes(_ count: Int, using rng: inout SeededRandom) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Bytes from a small alphabet with long runs: exercises overlapping copies with short offsets.
    static func repetitive(_ count: Int, using rng: inout SeededRandom) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(count)
        while output.count < count {
            let byte = UInt8(ascii: "a") + UInt8(rng.next() % 3)
            let run = Int(rng.next() % 200) + 1
            let pattern = Int(rng.next() % 7) + 1
            for index in 0..<run where output.count < count {
                output.append(index % pattern == 0 ? byte : byte &+ 1)
            }
        }
        return output
    }

    /// One input of one of the shapes above, with a size spread from 0 to a few hundred KiB.
    static func anyInput(using rng: inout SeededRandom) -> [UInt8] {
        let sizes = [0, 1, 2, 3, 15, 16, 17, 18, 63, 64, 65, 100, 1000, 4096, 65_535, 65_536, 65_537, 131_072, 300_000]
        let size = rng.next() % 3 == 0 ? Int(rng.next() % 70_000) : sizes[Int(rng.next() % UInt64(sizes.count))]
        switch rng.next() % 4 {
        case 0: return randomBytes(size, using: &rng)
        case 1: return repetitive(size, using: &rng)
        default: return logfmt(byteCount: size, using: &rng)
        }
    }

    /// A copy of `bytes` damaged one of several ways: bit flips, truncation, inserted or deleted bytes,
    /// or a byte overwritten with an extreme value.
    static func mutate(_ bytes: [UInt8], using rng: inout SeededRandom) -> [UInt8] {
        var bytes = bytes
        let rounds = Int(rng.next() % 3) + 1
        for _ in 0..<rounds {
            let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= UInt8(1) << (rng.next() % 8)
            case 1:
                bytes.removeLast(min(bytes.count, Int(rng.next() % 16) + 1))
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
            case 3 where !bytes.isEmpty:
                bytes.remove(at: position)
            case 4 where !bytes.isEmpty:
                bytes[position] = [0x00, 0xff, 0x80, 0x7f, 0xfe][Int(rng.next() % 5)]
            default:
                bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }
}
