import TestSupport
import Testing
import Wire
@testable import Backend

/// Block sketches: never rule out a literal that is in the block, rule out absent ones, survive the chunk object's
/// encoding, and are ignored when damaged.
@Suite struct BlockSketchTests {
    static let words = ["GET", "POST", "users", "orders", "alice", "bob", "served", "retry", "cache", "miss", "level"]

    /// `count` lines of words and numbers; `needle` goes into line `needleAt` when given.
    static func lines(_ count: Int, seed: UInt64, needleAt: Int? = nil, needle: String = "needle") -> [String] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { index in
            var line = (0..<6).map { _ in words[Int(rng.next() % UInt64(words.count))] }.joined(separator: " ")
            line += " id=\(rng.next() % 100_000)"
            if index == needleAt { line += " \(needle) here" }
            return line
        }
    }

    static func chunk(_ lines: [String], blockSize: Int = 4096) throws -> MemChunk {
        let chunk = MemChunk(encoding: .snappy, blockSize: blockSize, targetSize: 0)
        for (index, line) in lines.enumerated() {
            try chunk.append(timestamp: 1_000 + Int64(index), line: Array(line.utf8)[...], structuredMetadata: [])
        }
        chunk.close()
        return chunk
    }

    @Test func everySubstringOfEveryLineMayBeInItsBlock() throws {
        var rng = SeededRandom(seed: FuzzBudget.seed(11))
        for round in 0..<FuzzBudget.scaled(20) {
            // Random bytes, so every byte value and trigram shape is covered.
            let lines = (0..<Int(rng.next() % 300 + 1)).map { _ in
                (0..<Int(rng.next() % 120)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            let chunk = MemChunk(encoding: .snappy, blockSize: 2048, targetSize: 0)
            for (index, line) in lines.enumerated() {
                try chunk.append(timestamp: Int64(index), line: line[...], structuredMetadata: [])
            }
            chunk.close()
            var lineIndex = 0
            for block in chunk.blocks {
                defer { lineIndex += block.entries }
                guard let sketch = block.sketch else { continue }
                for line in lines[lineIndex..<(lineIndex + block.entries)] where line.count >= 3 {
                    let start = Int(rng.next() % UInt64(line.count - 2))
                    let end = start + 3 + Int(rng.next() % UInt64(line.count - start - 2))
                    #expect(sketch.mayContain(Array(line[start..<end])), "round \(round)")
                }
            }
        }
    }

    @Test func aLiteralInNoLineRulesMostBlocksOut() throws {
        let chunk = try Self.chunk(Self.lines(3000, seed: 3, needleAt: 1500))
        #expect(chunk.blocks.count > 10)
        #expect(chunk.blocks.allSatisfy { $0.sketch != nil })
        let withNeedle = chunk.blocks.filter { $0.sketch!.mayContain(Array("needle".utf8)) }
        // The block with the needle, and at most a false positive or two of the others.
        #expect(withNeedle.count >= 1 && withNeedle.count * 4 <= chunk.blocks.count)
        // Repetitive lines fold to a small filter.
        #expect(chunk.blocks.allSatisfy { $0.sketch!.byteCount <= 1024 })
        // Short literals are never ruled out.
        #expect(chunk.blocks.allSatisfy { $0.sketch!.mayContain(Array("zqzq".utf8)) })
    }

    @Test func blocksOfVariedBytesGetNoSketch() throws {
        var rng = SeededRandom(seed: 5)
        let chunk = MemChunk(encoding: .snappy, blockSize: 200_000, targetSize: 0)
        for index in 0..<1000 {
            let line = (0..<200).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try chunk.append(timestamp: Int64(index), line: line[...], structuredMetadata: [])
        }
        chunk.close()
        #expect(chunk.blocks.allSatisfy { $0.sketch == nil })
    }

    @Test func sketchesSurviveTheChunkObjectAndDamageOnlyDropsThem() throws {
        let chunk = try Self.chunk(Self.lines(2000, seed: 9, needleAt: 10))
        let labels = LabelSet([LabelPair(name: "job", value: "a")])
        let (_, bytes) = try ChunkObject.encode(tenant: "t", labels: labels, chunk: chunk)
        let decoded = try ChunkObject.decode(bytes).chunk
        #expect(decoded.blocks.map(\.sketch) == chunk.blocks.map(\.sketch))

        // Damage one byte of the sketch section (it sits right after the last block's CRC): the chunk still reads,
        // every entry is there, and no block is ruled out.
        let section = try #require(BlockSketchSection.encode(chunk.blocks.map(\.sketch)))
        let at = try #require(bytes.firstRange(of: section)).lowerBound + section.count / 2
        var damaged = bytes
        damaged[at] ^= 0x40
        let reread = try ChunkObject.decode(damaged).chunk
        #expect(reread.blocks.allSatisfy { $0.sketch == nil })
        #expect(try ChunkObjectTests.read(reread).count == 2000)
    }

    @Test func requiredLiteralsFollowTheFilters() throws {
        func literals(_ filters: [LineFilter]) -> [[[String]]]? {
            LineFilterChain(filters).requiredLiterals?.groups.map { $0.map { $0.map { String(decoding: $0, as: UTF8.self) } } }
        }
        #expect(literals([.contains("needle")]) == [[["needle"]]])
        #expect(try literals([LineFilter(.contains, anyOf: ["needle", "haystack"])]) == [[["needle"], ["haystack"]]])
        // A regex gives the literals every match contains.
        let withRegex = try #require(try literals([.contains("needle"), LineFilter(.regex, "timeout [0-9]+ms")]))
        #expect(withRegex.count == 2 && withRegex[0] == [["needle"]])
        #expect(withRegex[1].count == 1 && withRegex[1][0].contains { $0.hasPrefix("timeout") })
        // Negated, too short (under five bytes), case-insensitive: nothing to rule blocks out with.
        #expect(literals([.notContains("needle")]) == nil)
        #expect(try literals([LineFilter(.contains, anyOf: ["needle", "hay"])]) == nil)
        #expect(try literals([LineFilter(.regex, "(?i)needle")]) == nil)
    }
}
