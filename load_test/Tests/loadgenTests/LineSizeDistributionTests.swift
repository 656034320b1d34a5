import ArgumentParser
import Foundation
import Testing
import Wire

@testable import loadgen

/// `--line-bytes-dist`: its syntax, what it draws for a fixed seed, and the pools built from it.
@Suite struct LineSizeDistributionTests {
    private static func draws(_ text: String, count: Int = 20_000, seed: UInt64 = 42) throws -> [Int] {
        var sampler = LineSizeSampler(try LineSizeDistribution.parse(text), seed: seed)
        return (0..<count).map { _ in sampler.next() }
    }

    private static func mean(_ values: [Int]) -> Double { Double(values.reduce(0, +)) / Double(values.count) }

    private static func stddev(_ values: [Int]) -> Double {
        let m = mean(values)
        return (values.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(values.count)).squareRoot()
    }

    @Test(arguments: [
        ("215", LineSizeDistribution.fixed(215)), ("fixed:300", .fixed(300)), ("fixed:2KiB", .fixed(2048)),
        ("uniform:100-300", .uniform(min: 100, max: 300)), ("normal:500,50", .normal(mean: 500, stddev: 50)),
        (" lognormal:200,0.6 ", .lognormal(median: 200, sigma: 0.6)),
        ("weighted:100=3,1kB=1", .weighted([.init(size: 100, weight: 3), .init(size: 1000, weight: 1)])),
        ("Uniform:64-64", .uniform(min: 64, max: 64)),
    ])
    func parsesTheSyntax(text: String, expected: LineSizeDistribution) throws {
        let parsed = try LineSizeDistribution.parse(text)
        #expect(parsed == expected)
        // The description is itself valid syntax for the same distribution.
        #expect(try LineSizeDistribution.parse(parsed.description) == parsed)
    }

    @Test(arguments: [
        ("", "fixed:N, uniform:MIN-MAX"), ("gauss:1,2", "fixed:N, uniform:MIN-MAX"), ("uniform:300-100", "MIN <= MAX"),
        ("uniform:100", "uniform:MIN-MAX"), ("normal:500", "normal:MEAN,STDDEV"), ("normal:500,-5", "STDDEV"),
        ("lognormal:200,9", "SIGMA at most 4"), ("weighted:100=0,200=0", "at least one weight above 0"),
        ("weighted:100", "weighted:SIZE=W"), ("fixed:0", "positive number of bytes"), ("fixed:-3", "positive"),
        ("uniform:a-b", "MIN"), ("weighted:100=x", "weight W"), ("normal:1e999,1", "MEAN"),
    ])
    func rejectsBadTextClearly(text: String, expected: String) {
        do {
            let parsed = try LineSizeDistribution.parse(text)
            Issue.record("'\(text)' parsed as \(parsed)")
        } catch {
            #expect(error.description.hasPrefix("bad argument: --line-bytes-dist: expected "), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.description.contains("'\(text)'"), "names the text seen: \(error)")
        }
    }

    @Test func drawsTheRequestedMeanAndBoundsForAFixedSeed() throws {
        let uniform = try Self.draws("uniform:100-300")
        #expect(uniform.allSatisfy { (100...300).contains($0) })
        #expect(abs(Self.mean(uniform) - 200) < 2, "\(Self.mean(uniform))")
        #expect(uniform.min() == 100 && uniform.max() == 300, "both ends are drawn")

        let normal = try Self.draws("normal:500,50")
        #expect(abs(Self.mean(normal) - 500) < 2, "\(Self.mean(normal))")
        #expect(abs(Self.stddev(normal) - 50) < 2, "\(Self.stddev(normal))")

        // Median e^(ln 200) = 200; mean 200·e^(σ²/2) = 200·e^0.18 = 239.4.
        let lognormal = try Self.draws("lognormal:200,0.6")
        let sorted = lognormal.sorted()
        #expect(abs(Double(sorted[sorted.count / 2]) - 200) < 5, "median \(sorted[sorted.count / 2])")
        #expect(abs(Self.mean(lognormal) - 239.4) < 239.4 * 0.03, "\(Self.mean(lognormal))")
        #expect(sorted.last ?? 0 > 800, "a long right tail")

        let weighted = try Self.draws("weighted:100=3,1000=1")
        #expect(Set(weighted) == [100, 1000])
        let share = Double(weighted.filter { $0 == 100 }.count) / Double(weighted.count)
        #expect(abs(share - 0.75) < 0.015, "\(share)")

        #expect(try Self.draws("fixed:333", count: 50) == Array(repeating: 333, count: 50))
    }

    @Test func clampsToTheMarkerAndOneMebibyte() throws {
        let low = try Self.draws("uniform:10-100")
        #expect(low.allSatisfy { (64...100).contains($0) })
        #expect(low.contains(64), "sizes below the marker are raised to 64")
        let wide = try Self.draws("normal:100,5000")
        #expect(wide.allSatisfy { (LineSizeDistribution.minimumBytes...LineSizeDistribution.maximumBytes).contains($0) })
        let huge = try Self.draws("lognormal:900KiB,2")
        #expect(huge.max() == LineSizeDistribution.maximumBytes)
        #expect(try Self.draws("fixed:2MiB", count: 3) == Array(repeating: 1 << 20, count: 3))
    }

    @Test func drawsAreDeterministicForASeedAndDifferAcrossSeeds() throws {
        #expect(try Self.draws("lognormal:200,0.8", count: 100, seed: 7) == Self.draws("lognormal:200,0.8", count: 100, seed: 7))
        #expect(try Self.draws("lognormal:200,0.8", count: 100, seed: 7) != Self.draws("lognormal:200,0.8", count: 100, seed: 8))
        #expect(LineSizeSampler.seed(1, worker: 0) != LineSizeSampler.seed(1, worker: 1))
    }

    /// Random text and mutations of valid text: an answer or a clear error, never a trap.
    @Test func parserNeverCrashesOnRandomOrMutatedText() {
        var random = SplitMix64(seed: 2027)
        let alphabet = Array("0123456789-,=:.eE+ kKMGiBbfixedunormlgwtha\u{0}\u{663}½∞".unicodeScalars)
        let valid = ["uniform:100-300", "normal:500,50", "lognormal:200,0.6", "weighted:100=3,1000=1", "fixed:215",
                     "215", "fixed:1GiB", "weighted:64=1"]
        for round in 0..<20_000 {
            var text: String
            if round % 2 == 0 {
                text = String(String.UnicodeScalarView((0..<random.next(below: 24)).map { _ in
                    alphabet[random.next(below: alphabet.count)]
                }))
            } else {
                var scalars = Array(valid[random.next(below: valid.count)].unicodeScalars)
                for _ in 0...random.next(below: 3) where !scalars.isEmpty {
                    let at = random.next(below: scalars.count)
                    switch random.next(below: 3) {
                    case 0: scalars[at] = alphabet[random.next(below: alphabet.count)]
                    case 1: scalars.remove(at: at)
                    default: scalars.insert(contentsOf: Array(String(random.next()).unicodeScalars), at: at)
                    }
                }
                text = String(String.UnicodeScalarView(scalars))
            }
            do {
                var sampler = LineSizeSampler(try LineSizeDistribution.parse(text), seed: UInt64(round))
                for _ in 0..<4 {
                    let size = sampler.next()
                    #expect((64...(1 << 20)).contains(size), "'\(text)' drew \(size)")
                }
            } catch {
                #expect(error.description.hasPrefix("bad argument: --line-bytes-dist: expected"), "'\(text)': \(error)")
            }
        }
    }

    @Test func commandsTakeTheOptionAndRejectBadText() throws {
        let push = try PushCommand.parse(["--line-bytes-dist", "uniform:100-300", "--seed", "9"])
        #expect(push.options.plan(stop: .after(.seconds(1)), needleEvery: 0, progressEvery: nil).lineSizes
                == .uniform(min: 100, max: 300))
        let otlp = try OTLPCommand.parse(["--line-bytes-dist", "lognormal:200,0.5"])
        #expect(otlp.plan.lineSizes == .lognormal(median: 200, sigma: 0.5))
        #expect(try OTLPCommand.parse([]).plan.lineSizes == .fixed(215), "--line-bytes N stays fixed:N")
        #expect(try OTLPCommand.parse(["--line-bytes", "300"]).plan.lineSizes == .fixed(300))
        for bad in [["--line-bytes-dist", "uniform:9-3"], ["--line-bytes-dist", "zipf:1"]] {
            #expect(throws: (any Error).self) { try PushCommand.parse(bad) }
            #expect(throws: (any Error).self) { try OTLPCommand.parse(bad) }
            #expect(throws: (any Error).self) { try FileCommand.parse(["--dir", "/tmp/x"] + bad) }
        }
        do {
            _ = try OTLPCommand.parse(["--line-bytes-dist", "normal:5"])
            Issue.record("accepted normal:5")
        } catch {
            #expect(OTLPCommand.message(for: error).contains("--line-bytes-dist: expected normal:MEAN,STDDEV"))
        }
    }

    // MARK: Pools

    @Test func pushPoolLinesFollowTheDistributionAndKeepTheirMarkers() throws {
        let labels = PushMode.makeStreamLabels(count: 7)
        var pool = RequestPool(mode: PushMode.forTests(streams: labels.count), worker: 2, templateCount: 4,
                               recordsPerRequest: 500, lineBytes: 215, needleEvery: 0, startMillis: 1_795_000_000_000, runID: "0badc0de",
                               lineSizes: .uniform(min: 100, max: 900), sizeSeed: 3)
        var sizes: [Int] = []
        for _ in 0..<4 {
            let serialized = pool.encodeNextRequest(nowNanos: 1_795_000_000_000_000_000)
            let request = try PushJSONDecoder.decode(serialized.bytes)
            let lines = request.streams.flatMap(\.entries).map(\.line)
            #expect(lines.count == 500 && serialized.records == 500)
            #expect(serialized.lineBytes == lines.reduce(0) { $0 + $1.count }, "byte throughput uses real sizes")
            for line in lines {
                sizes.append(line.count)
                #expect(RecordMarker.parse(line)?.runID == "0badc0de", "every line ends in a stamped marker")
                #expect(line.starts(with: Array("ts=".utf8)))
            }
        }
        #expect(sizes.allSatisfy { (100...900).contains($0) })
        #expect(abs(Self.mean(sizes) - 500) < 15, "\(Self.mean(sizes))")
        #expect(pool.poolLineBytes == sizes.reduce(0, +) && pool.poolRecords == sizes.count)
    }

    @Test func otlpPoolBodiesFollowTheDistribution() throws {
        var pool = RequestPool(mode: OTLPMode.forTests(attributes: 2, services: 5), worker: 1,
                               templateCount: 3, recordsPerRequest: 400, lineBytes: 215, startMillis: 0, runID: "0badc0de",
                                   lineSizes: .weighted([.init(size: 120, weight: 1), .init(size: 2000, weight: 1)]))
        var sizes: [Int] = []
        for _ in 0..<3 {
            let encoded = pool.encodeNextRequest(nowNanos: 1_795_000_000_000_000_000)
            let logs = try OTLPProtobuf.decodeLogsRequest(encoded.bytes)
            let bodies = logs.resourceLogs.flatMap { $0.scopeLogs.flatMap(\.logRecords) }.compactMap { record -> String? in
                if case .string(let body) = record.body { return body }
                return nil
            }
            #expect(bodies.count == 400 && encoded.records == 400)
            #expect(encoded.lineBytes == bodies.reduce(0) { $0 + $1.utf8.count })
            sizes += bodies.map(\.utf8.count)
            #expect(bodies.allSatisfy { RecordMarker.parse(Array($0.utf8)) != nil })
        }
        #expect(Set(sizes) == [120, 2000])
        #expect(pool.poolLineBytes == sizes.reduce(0, +) && pool.poolRecords == 1200)
    }

    @Test func aTrimmedLastRequestCarriesExactlyTheRecordsAsked() throws {
        let labels = PushMode.makeStreamLabels(count: 10)
        var push = RequestPool(mode: PushMode.forTests(streams: labels.count), worker: 0, templateCount: 2,
                               recordsPerRequest: 100, lineBytes: 215, needleEvery: 10, startMillis: 0, runID: "0badc0de")
        let part = push.encodeNextRequest(nowNanos: 5, records: 37)
        let request = try PushJSONDecoder.decode(part.bytes)
        #expect(request.streams.flatMap(\.entries).count == 37 && part.records == 37)
        #expect(part.reservation.slots.reduce(0) { $0 + $1.count } == 37)
        #expect(part.lineBytes == 37 * 215)
        #expect(part.needleRecords == request.streams.flatMap(\.entries).filter {
            String(decoding: $0.line, as: UTF8.self).contains("needle")
        }.count)
        #expect(FakeIngestServer.markers(in: part.bytes).count == 37)

        var otlp = RequestPool(mode: OTLPMode.forTests(attributes: 1, services: 10), worker: 0,
                               templateCount: 1, recordsPerRequest: 100, lineBytes: 215, startMillis: 0, runID: "0badc0de")
        let encoded = otlp.encodeNextRequest(nowNanos: 5, records: 23)
        #expect(try OTLPProtobuf.decodeLogsRequest(encoded.bytes).recordCount == 23 && encoded.records == 23)
        #expect(encoded.lineBytes == 23 * 215)
        let markers = FakeIngestServer.markers(in: encoded.bytes)
        #expect(markers.count == 23 && Set(markers.map { "\($0.streamKey):\($0.sequence)" }).count == 23)
        // The next full request continues the numbering of the services the trimmed one used.
        let full = otlp.encodeNextRequest(nowNanos: 6)
        #expect(full.records == 100)
    }
}
