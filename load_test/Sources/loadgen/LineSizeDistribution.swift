import ArgumentParser
import Foundation
import Wire

/// How long the generated lines are (`--line-bytes-dist`): one size, or sizes drawn from a distribution, so a load
/// can look like real logs (mostly short access lines, a tail of long stack traces) instead of one fixed width.
///
/// Syntax (sizes are bytes, or with a unit: `2KiB`, `1kB`):
///
/// | text | sizes |
/// |---|---|
/// | `fixed:N` or `N` | every line `N` bytes |
/// | `uniform:MIN-MAX` | uniform over `MIN...MAX` (both included) |
/// | `normal:MEAN,STDDEV` | normal, rounded to whole bytes |
/// | `lognormal:MEDIAN,SIGMA` | `MEDIAN · e^(SIGMA·Z)`, Z standard normal: a long right tail (SIGMA 0.5–1 is log-like) |
/// | `weighted:SIZE=W,SIZE=W,...` | each `SIZE` with probability `W / ΣW` |
///
/// Every drawn size is clamped to ``minimumBytes``...``maximumBytes``: at least the 64-byte ``RecordMarker`` every
/// line ends with, at most 1 MiB (below Loki's and the agent's line limits' usual settings, and a bound on pool
/// memory). Clamping moves the mean of a wide distribution, so the commands report the mean actually produced.
/// Sizes are drawn while the pools are built, before the clock starts, from ``LineSizeSampler`` seeded by `--seed`.
enum LineSizeDistribution: Sendable, Equatable, CustomStringConvertible {
    case fixed(Int)
    case uniform(min: Int, max: Int)
    case normal(mean: Double, stddev: Double)
    case lognormal(median: Double, sigma: Double)
    case weighted([WeightedSize])

    struct WeightedSize: Sendable, Equatable {
        var size: Int
        var weight: Double
    }

    /// The smallest line: the marker `loadgen verify` reads must fit.
    static let minimumBytes = RecordMarker.byteCount
    /// The largest line drawn.
    static let maximumBytes = 1 << 20

    private static let syntax = "fixed:N, uniform:MIN-MAX, normal:MEAN,STDDEV, lognormal:MEDIAN,SIGMA or "
        + "weighted:SIZE=W,SIZE=W,..."

    /// Parses `--line-bytes-dist`; the error says what was expected and names the text seen.
    static func parse(_ text: String) throws(LoadGenError) -> LineSizeDistribution {
        func fail(_ what: String) -> LoadGenError {
            .badArgument("--line-bytes-dist: expected \(what), got '\(text)'")
        }
        func size(_ part: Substring, _ what: String) throws(LoadGenError) -> Int {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.first?.isNumber == true,
                  let bytes = try? ByteCountArgument.parse(trimmed), bytes > 0, bytes <= maximumBytes * 1024
            else { throw fail("\(what) as a positive number of bytes (e.g. 200 or 2KiB)") }
            return bytes
        }
        func number(_ part: Substring, _ what: String) throws(LoadGenError) -> Double {
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)), value.isFinite, value >= 0,
                  value <= Double(maximumBytes * 1024)
            else { throw fail("\(what) as a number of 0 or more") }
            return value
        }
        func two(_ body: Substring, separator: Character, _ what: String) throws(LoadGenError) -> (Substring, Substring) {
            let parts = body.split(separator: separator, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw fail(what) }
            return (parts[0], parts[1])
        }

        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let colon = trimmed.firstIndex(of: ":") else {
            if trimmed.first?.isNumber == true { return .fixed(try size(trimmed[...], "a size")) }
            throw fail(syntax)
        }
        let kind = trimmed[..<colon].lowercased()
        let body = trimmed[trimmed.index(after: colon)...]
        switch kind {
        case "fixed":
            return .fixed(try size(body, "fixed:N with N"))
        case "uniform":
            let (low, high) = try two(body, separator: "-", "uniform:MIN-MAX")
            let min = try size(low, "uniform:MIN-MAX with MIN"), max = try size(high, "uniform:MIN-MAX with MAX")
            guard min <= max else { throw fail("uniform:MIN-MAX with MIN <= MAX") }
            return .uniform(min: min, max: max)
        case "normal":
            let (mean, stddev) = try two(body, separator: ",", "normal:MEAN,STDDEV")
            let meanBytes = try size(mean, "normal:MEAN,STDDEV with MEAN")
            return .normal(mean: Double(meanBytes), stddev: try number(stddev, "normal:MEAN,STDDEV with STDDEV"))
        case "lognormal":
            let (median, sigma) = try two(body, separator: ",", "lognormal:MEDIAN,SIGMA")
            let medianBytes = try size(median, "lognormal:MEDIAN,SIGMA with MEDIAN")
            let spread = try number(sigma, "lognormal:MEDIAN,SIGMA with SIGMA")
            guard spread <= 4 else { throw fail("lognormal:MEDIAN,SIGMA with SIGMA at most 4") }
            return .lognormal(median: Double(medianBytes), sigma: spread)
        case "weighted":
            var sizes: [WeightedSize] = []
            for item in body.split(separator: ",", omittingEmptySubsequences: false) {
                let (sizeText, weightText) = try two(item, separator: "=", "weighted:SIZE=W,SIZE=W,...")
                let weight = try number(weightText, "weighted:SIZE=W,... with each weight W")
                sizes.append(WeightedSize(size: try size(sizeText, "weighted:SIZE=W,... with each SIZE"), weight: weight))
            }
            guard sizes.contains(where: { $0.weight > 0 }) else {
                throw fail("weighted:SIZE=W,... with at least one weight above 0")
            }
            return .weighted(sizes)
        default:
            throw fail(syntax)
        }
    }

    /// The help of `--line-bytes-dist`, for every command that takes it.
    static let help = "Line sizes drawn from a distribution: fixed:N, uniform:MIN-MAX, normal:MEAN,STDDEV, "
        + "lognormal:MEDIAN,SIGMA or weighted:SIZE=W,SIZE=W,... (sizes clamped to 64 B..1 MiB)."

    /// `215B` without `--line-bytes-dist`, else the distribution (`lognormal:200,0.6`), for the one-line summaries.
    static func summary(_ text: String?, lineBytes: Int) -> String {
        text.flatMap { try? parse($0) }?.description ?? "\(lineBytes)B"
    }

    /// The distribution `--line-bytes-dist` gives, or `fixed(lineBytes)` when it is absent.
    static func resolve(_ text: String?, lineBytes: Int) throws(LoadGenError) -> LineSizeDistribution {
        guard let text else { return .fixed(lineBytes) }
        return try parse(text)
    }

    var isFixed: Bool {
        if case .fixed = self { return true }
        return false
    }

    var description: String {
        switch self {
        case .fixed(let bytes): "fixed:\(bytes)"
        case .uniform(let min, let max): "uniform:\(min)-\(max)"
        case .normal(let mean, let stddev): "normal:\(Self.number(mean)),\(Self.number(stddev))"
        case .lognormal(let median, let sigma): "lognormal:\(Self.number(median)),\(Self.number(sigma))"
        case .weighted(let sizes): "weighted:" + sizes.map { "\($0.size)=\(Self.number($0.weight))" }.joined(separator: ",")
        }
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// `bytes` clamped to ``minimumBytes``...``maximumBytes``.
    static func clamp(_ bytes: Int) -> Int { Swift.min(maximumBytes, Swift.max(minimumBytes, bytes)) }
}

/// Draws line sizes from a ``LineSizeDistribution``, deterministically for a seed. Used while pools are built.
struct LineSizeSampler: Sendable {
    let distribution: LineSizeDistribution
    private var random: SplitMix64
    /// Cumulative weights of a `weighted` distribution.
    private let cumulative: [Double]

    init(_ distribution: LineSizeDistribution, seed: UInt64) {
        self.distribution = distribution
        self.random = SplitMix64(seed: seed)
        if case .weighted(let sizes) = distribution {
            var sum = 0.0
            cumulative = sizes.map { sum += $0.weight; return sum }
        } else {
            cumulative = []
        }
    }

    /// The next size, clamped to ``LineSizeDistribution/minimumBytes``...``LineSizeDistribution/maximumBytes``.
    mutating func next() -> Int {
        switch distribution {
        case .fixed(let bytes):
            return LineSizeDistribution.clamp(bytes)
        case .uniform(let min, let max):
            return LineSizeDistribution.clamp(min + random.next(below: max - min + 1))
        case .normal(let mean, let stddev):
            return Self.rounded(mean + stddev * standardNormal())
        case .lognormal(let median, let sigma):
            return Self.rounded(median * exp(sigma * standardNormal()))
        case .weighted(let sizes):
            let total = cumulative.last ?? 0
            let point = unit() * total
            let index = cumulative.firstIndex { point < $0 } ?? (sizes.count - 1)
            return LineSizeDistribution.clamp(sizes[index].size)
        }
    }

    private static func rounded(_ value: Double) -> Int {
        guard value.isFinite else { return value > 0 ? LineSizeDistribution.maximumBytes : LineSizeDistribution.minimumBytes }
        let bounded = Swift.min(Double(LineSizeDistribution.maximumBytes), Swift.max(0, value.rounded()))
        return LineSizeDistribution.clamp(Int(bounded))
    }

    /// Uniform in [0, 1), 53 random bits.
    private mutating func unit() -> Double {
        Double(random.next() >> 11) * 0x1p-53
    }

    /// Box–Muller: a standard normal from two uniforms.
    private mutating func standardNormal() -> Double {
        let u1 = 1 - unit()  // (0, 1], so the log is finite
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension LineSizeSampler {
    /// The seed of worker `worker`'s sizes for the run's `--seed`: workers draw different sizes.
    static func seed(_ seed: UInt64, worker: Int) -> UInt64 {
        seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(worker) &* 0xD1B5_4A32_D192_ED03 &+ 0x5EED
    }
}

extension LineSizeDistribution {
    /// The mean of 10,000 sizes drawn as worker 0's pool draws them for `seed` (clamping included): what a run's
    /// mean line size comes out near.
    func sampledMean(seed: UInt64, draws: Int = 10_000) -> Double {
        var sampler = LineSizeSampler(self, seed: LineSizeSampler.seed(seed, worker: 0))
        var total = 0
        for _ in 0..<max(1, draws) { total += sampler.next() }
        return Double(total) / Double(max(1, draws))
    }
}
