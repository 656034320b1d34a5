import Foundation

/// How much the fuzz and property tests try: their usual counts in `scripts/test`, many times more in a long run.
///
/// `ESTUARY_FUZZ_SCALE=N` multiplies every fuzz loop's count (a long run: `ESTUARY_FUZZ_SCALE=350 swift test
/// --filter Fuzz`), and `ESTUARY_FUZZ_SEED=S` shifts every seed so that a second long run explores new inputs.
/// A failure prints the seed it ran with; the same variables reproduce it.
public enum FuzzBudget {
    public static let scale: Int = {
        let text = ProcessInfo.processInfo.environment["ESTUARY_FUZZ_SCALE"] ?? ""
        return max(1, Int(text) ?? 1)
    }()

    public static let seedOffset: UInt64 = {
        UInt64(ProcessInfo.processInfo.environment["ESTUARY_FUZZ_SEED"] ?? "") ?? 0
    }()

    /// `count` times the scale.
    public static func scaled(_ count: Int) -> Int {
        count.multipliedReportingOverflow(by: scale).overflow ? Int.max : count * scale
    }

    /// `seed` shifted by the run's seed offset.
    public static func seed(_ seed: UInt64) -> UInt64 {
        seed &+ seedOffset
    }
}
