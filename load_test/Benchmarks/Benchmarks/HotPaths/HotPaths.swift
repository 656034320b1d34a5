import Backend
import Benchmark
import Wire

// Micro-benchmarks of the write and read hot paths (issue 5). Run by hand, never by `scripts/test`:
//
//     cd load_test && swift package benchmark --target HotPaths
//
// Each benchmark's inputs are built in its setup, outside the measurement, and every iteration processes the
// whole input once, so MB/s and items/s are the input's size over the wall-clock p50. The sizes are in
// BENCHMARKS.md. Nothing else is recorded inside the measured region, so `Malloc (total)` is the code's own.

/// Errors of the benchmarks' own checks, so that a broken input fails the run instead of timing an error path.
struct BenchCheckFailure: Error, CustomStringConvertible {
    let description: String
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .milliseconds(1_500),
        maxIterations: 2_000)

    snappyBenchmarks()
    pushDecodeBenchmarks()
    otlpDecodeBenchmarks()
    chunkBenchmarks()
    labelBenchmarks()
    regexBenchmarks()
}

// MARK: Snappy

/// ~1 MiB push body: 5,000 entries of 215 bytes as uncompressed protobuf.
private func pushBodyRaw() -> [UInt8] {
    PushProtobufEncoder.encode(BenchInputs.pushRequest(BenchInputs.lines(5_000)))
}

/// One 256 KiB chunk block of lines.
private func chunkBlockRaw() -> [UInt8] {
    BenchInputs.block(size: BenchInputs.blockSize, from: BenchInputs.lines(2_000, seed: 2))
}

/// A snappy block and the size it decompresses to.
struct CompressedBlock {
    let body: [UInt8]
    let rawSize: Int

    init(compressing raw: [UInt8]) {
        body = Snappy.compress(raw)
        rawSize = raw.count
    }
}

private func snappyBenchmarks() {
    Benchmark("Snappy.compress push body 1 MiB") { benchmark, raw in
        for _ in benchmark.scaledIterations { blackHole(Snappy.compress(raw)) }
    } setup: {
        pushBodyRaw()
    }

    Benchmark("Snappy.decompress push body 1 MiB") { (benchmark: Benchmark, compressed: CompressedBlock) in
        for _ in benchmark.scaledIterations { blackHole(try Snappy.decompress(compressed.body)) }
    } setup: {
        CompressedBlock(compressing: pushBodyRaw())
    }

    Benchmark("Snappy.compress chunk block 256 KiB") { benchmark, raw in
        for _ in benchmark.scaledIterations { blackHole(Snappy.compress(raw)) }
    } setup: {
        chunkBlockRaw()
    }

    Benchmark("Snappy.decompress chunk block 256 KiB") { (benchmark: Benchmark, compressed: CompressedBlock) in
        for _ in benchmark.scaledIterations { blackHole(try Snappy.decompress(compressed.body)) }
    } setup: {
        CompressedBlock(compressing: chunkBlockRaw())
    }
}

// MARK: Push decode

/// Decodes `body` as the distributor's push handler does and checks the entry count once.
private func decodePush(_ body: [UInt8], contentType: String, expected: Int) throws -> PushRequest {
    let request = try PushBodyDecoder.decode(body: body, contentType: contentType, contentEncoding: nil,
                                             maxDecompressedSize: 100 << 20)
    let entries = request.streams.reduce(0) { $0 + $1.entries.count }
    guard entries == expected else {
        throw BenchCheckFailure(description: "push body decoded to \(entries) entries, expected \(expected)")
    }
    return request
}

private func pushDecodeBenchmarks() {
    Benchmark("PushBodyDecoder protobuf+snappy 1,000 entries") { benchmark, body in
        for _ in benchmark.scaledIterations {
            blackHole(try decodePush(body, contentType: "application/x-protobuf", expected: 1_000))
        }
    } setup: {
        Snappy.compress(PushProtobufEncoder.encode(BenchInputs.pushRequest(BenchInputs.lines(1_000))))
    }

    Benchmark("PushBodyDecoder JSON 1,000 entries") { benchmark, body in
        for _ in benchmark.scaledIterations {
            blackHole(try decodePush(body, contentType: "application/json", expected: 1_000))
        }
    } setup: {
        PushJSONEncoder.encode(BenchInputs.pushRequest(BenchInputs.lines(1_000)))
    }
}

// MARK: OTLP decode

/// 1,000 OTLP records encoded by `encode`, checked to decode back to 1,000 records with `decode`.
private func otlpBody(
    _ format: String, encode: (OTLPLogsData) -> [UInt8], decode: ([UInt8]) throws -> OTLPLogsData
) throws -> [UInt8] {
    let body = encode(BenchInputs.otlpRequest(BenchInputs.lines(1_000)))
    let records = try decode(body).recordCount
    guard records == 1_000 else {
        throw BenchCheckFailure(description: "\(format) request decoded to \(records) records, expected 1000")
    }
    return body
}

private func otlpDecodeBenchmarks() {
    Benchmark("OTLPProtobuf.decodeLogsRequest 1,000 records") { (benchmark: Benchmark, body: [UInt8]) in
        for _ in benchmark.scaledIterations { blackHole(try OTLPProtobuf.decodeLogsRequest(body)) }
    } setup: {
        try otlpBody("OTLP protobuf", encode: OTLPProtobuf.encodeLogsRequest, decode: OTLPProtobuf.decodeLogsRequest)
    }

    Benchmark("OTLPJSON.decodeLogsRequest 1,000 records") { (benchmark: Benchmark, body: [UInt8]) in
        for _ in benchmark.scaledIterations { blackHole(try OTLPJSON.decodeLogsRequest(body)) }
    } setup: {
        try otlpBody("OTLP/JSON", encode: OTLPJSON.encodeLogsRequest, decode: OTLPJSON.decodeLogsRequest)
    }
}

// MARK: Chunks

/// Appends `count` entries as one stream's ingester does: into the open chunk, which cuts a snappy block every
/// `blockSize` bytes, starting a new chunk once the target size is reached. Returns the chunks.
private func appendEntries(_ lines: [[UInt8]], count: Int) throws -> [MemChunk] {
    var chunks = [MemChunk(encoding: .snappy, blockSize: BenchInputs.blockSize, targetSize: BenchInputs.targetSize)]
    for index in 0..<count {
        let line = lines[index % lines.count]
        if let open = chunks.last, !open.spaceFor(lineBytes: line.count) {
            chunks.append(MemChunk(encoding: .snappy, blockSize: BenchInputs.blockSize,
                                   targetSize: BenchInputs.targetSize))
        }
        try chunks[chunks.count - 1].append(timestamp: 1_764_583_200_000_000_000 + Int64(index), line: line[...],
                                            structuredMetadata: [])
    }
    return chunks
}

/// One full chunk (appended until the target size) with one line in 1,000 containing `needle`, encoded as the
/// object the ingester flushes.
private func fullChunkObject() throws -> (bytes: [UInt8], entries: Int, lineBytes: Int, needles: Int) {
    let lines = BenchInputs.lines(10_000, seed: 3, needleEvery: 1_000)
    let chunk = MemChunk(encoding: .snappy, blockSize: BenchInputs.blockSize, targetSize: BenchInputs.targetSize)
    var index = 0
    var needles = 0
    while chunk.spaceFor(lineBytes: BenchInputs.lineBytes) {
        let line = lines[index % lines.count]
        if index % lines.count % 1_000 == 999 { needles += 1 }
        try chunk.append(timestamp: 1_764_583_200_000_000_000 + Int64(index), line: line[...], structuredMetadata: [])
        index += 1
    }
    let labels = LabelSet(try LabelParser.parse(BenchInputs.labelText(0)))
    let encoded = try ChunkObject.encode(tenant: "fake", labels: labels, chunk: chunk)
    return (encoded.bytes, index, index * BenchInputs.lineBytes, needles)
}

/// Decodes a stored chunk object and counts the lines passing `filter`, as the querier's scan does.
private func scan(_ bytes: [UInt8], filter: LineFilterChain, scratch: inout [UInt8]) throws -> Int {
    let decoded = try ChunkObject.decode(bytes)
    var matched = 0
    try decoded.chunk.forEachEntry(from: .min, through: .max, direction: .forward, scratch: &scratch) { _, line, _ in
        if filter.matches(line) { matched += 1 }
        return true
    }
    return matched
}

private func chunkBenchmarks() {
    Benchmark("MemChunk append + cut 100k entries",
              configuration: .init(maxDuration: .seconds(3), maxIterations: 100)) { benchmark, lines in
        for _ in benchmark.scaledIterations { blackHole(try appendEntries(lines, count: 100_000)) }
    } setup: {
        BenchInputs.lines(10_000, seed: 4)
    }

    Benchmark("Chunk decode + |= \"needle\" full chunk") { (benchmark: Benchmark, input: ChunkScan) in
        for _ in benchmark.scaledIterations {
            let matched = try scan(input.object.bytes, filter: input.filter, scratch: &input.scratch.bytes)
            guard matched == input.object.needles else {
                throw BenchCheckFailure(
                    description: "|= \"needle\" kept \(matched) lines, expected \(input.object.needles)")
            }
        }
    } setup: {
        ChunkScan(object: try fullChunkObject(), filter: LineFilterChain([LineFilter.contains("needle")]))
    }
}

/// The chunk-scan benchmark's input, with a decompression buffer kept across iterations as the querier's
/// `ScanBufferPool` keeps one across chunks.
struct ChunkScan {
    /// Only the benchmark's one measuring thread uses it.
    final class Scratch {
        var bytes: [UInt8] = []
    }

    let object: (bytes: [UInt8], entries: Int, lineBytes: Int, needles: Int)
    let filter: LineFilterChain
    let scratch = Scratch()
}

// MARK: Labels

/// Parses label text and builds the sorted set and its fingerprint, as the distributor does for a stream it has
/// not seen (its `LabelCache` is internal to Backend and skips this for streams it has).
private func parseAndHash(_ texts: [String]) throws -> UInt64 {
    var combined: UInt64 = 0
    for text in texts {
        combined ^= LabelSet(try LabelParser.parse(text)).fingerprint
    }
    return combined
}

private func labelBenchmarks() {
    Benchmark("LabelParser.parse + LabelSet + fingerprint 1,000 streams") { benchmark, texts in
        for _ in benchmark.scaledIterations { blackHole(try parseAndHash(texts)) }
    } setup: {
        (0..<1_000).map(BenchInputs.labelText)
    }

    Benchmark("LabelSet.fingerprint 1,000 streams") { benchmark, sets in
        for _ in benchmark.scaledIterations {
            var combined: UInt64 = 0
            for set in sets { combined ^= set.fingerprint }
            blackHole(combined)
        }
    } setup: {
        try (0..<1_000).map { LabelSet(try LabelParser.parse(BenchInputs.labelText($0))) }
    }
}

// MARK: Regular expressions

/// Counts the lines a line filter keeps, as the querier's scan does after decoding a chunk.
private func countKept(_ lines: [[UInt8]], _ filter: LineFilter) -> Int {
    var kept = 0
    for line in lines where line.withUnsafeBytes({ filter.matches($0) }) { kept += 1 }
    return kept
}

/// Where `needle` ends in `line`, for each occurrence: the benchmarks' own check of what a regex should keep.
private func ends(of needle: String, in line: [UInt8]) -> [Int] {
    let bytes = Array(needle.utf8)
    guard line.count >= bytes.count else { return [] }
    return (0...(line.count - bytes.count)).filter { line[$0..<($0 + bytes.count)].elementsEqual(bytes) }
        .map { $0 + bytes.count }
}

private func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
private func isHex(_ byte: UInt8) -> Bool { isDigit(byte) || (0x61...0x66).contains(byte) }

/// Regexes that LineTest cannot reduce to substring searches, so they reach the regex engine: one with a
/// required literal that pre-checks most lines away, a case-folded one that runs on every line, one with an
/// alternation and an end anchor. Then a label regex matched against whole label values, as the index does for
/// `{pod=~"..."}`. Each checks its count against a hand-written matcher.
private func regexBenchmarks() {
    let cases: [(String, String, @Sendable ([UInt8]) -> Bool)] = [
        ("|~ \"status=5\\d\\d\" 10k lines", "status=5\\d\\d", { line in
            ends(of: "status=5", in: line).contains { $0 + 2 <= line.count && isDigit(line[$0]) && isDigit(line[$0 + 1]) }
        }),
        ("|~ \"(?i)timeout.*ms\" 10k lines", "(?i)timeout.*ms", { line in
            let lower = line.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
            guard let start = ends(of: "timeout", in: lower).first else { return false }
            return ends(of: "ms", in: lower).contains { $0 - 2 >= start && !lower[start..<($0 - 2)].contains(0x0A) }
        }),
        ("|~ \"user=(alice|bob) trace_id=[0-9a-f]+$\" 10k lines", "user=(alice|bob) trace_id=[0-9a-f]+$", { line in
            (ends(of: "user=alice trace_id=", in: line) + ends(of: "user=bob trace_id=", in: line)).contains {
                $0 < line.count && line[$0...].allSatisfy(isHex)
            }
        }),
    ]
    for (name, pattern, expectedMatch) in cases {
        Benchmark("Line filter \(name)") { (benchmark: Benchmark, input: FilteredLines) in
            for _ in benchmark.scaledIterations {
                let kept = countKept(input.lines, input.filter)
                guard kept == input.expected else {
                    throw BenchCheckFailure(description: "\(pattern) kept \(kept) lines, expected \(input.expected)")
                }
            }
        } setup: {
            let lines = BenchInputs.lines(10_000, seed: 9)
            return FilteredLines(
                lines: lines, filter: try LineFilter(.regex, pattern), expected: lines.filter(expectedMatch).count)
        }
    }

    Benchmark("Label matcher pod=~\"api-[0-9]+-.*\" 1,000 values") { (benchmark: Benchmark, input: LabelValues) in
        for _ in benchmark.scaledIterations {
            var kept = 0
            for value in input.values where input.matcher.matches(value) { kept += 1 }
            guard kept == 500 else { throw BenchCheckFailure(description: "label regex kept \(kept), expected 500") }
        }
    } setup: {
        let values = (0..<1_000).map { $0.isMultiple(of: 2) ? "api-\($0 * 7919)-x\($0)" : "api-7f9c4-\($0)" }
        return LabelValues(values: values, matcher: try LabelMatcher(name: "pod", kind: .regex, value: "api-[0-9]+-.*"))
    }
}

/// A line filter's input and the number of lines it must keep.
struct FilteredLines {
    let lines: [[UInt8]]
    let filter: LineFilter
    let expected: Int
}

/// Label values and the matcher run over them.
struct LabelValues {
    let values: [String]
    let matcher: LabelMatcher
}
