import Foundation

/// How much the fuzz and property tests try: their usual counts in `scripts/test`, many times more in a long run.
///
/// `ESTUARY_FUZZ_SCALE=N` multiplies every fuzz loop's count, `ESTUARY_FUZZ_INPUTS=N` makes every fuzz loop try at
/// least N inputs (the long run: `ESTUARY_FUZZ_INPUTS=1000000 scripts/fuzz`), and `ESTUARY_FUZZ_SEED=S` shifts every
/// seed so that a second long run explores new inputs. A failure prints the seed it ran with; the same variables
/// reproduce it.
public enum FuzzBudget {
    public static let scale: Int = {
        let text = ProcessInfo.processInfo.environment["ESTUARY_FUZZ_SCALE"] ?? ""
        return max(1, Int(text) ?? 1)
    }()

    public static let minimumInputs: Int = {
        max(0, Int(ProcessInfo.processInfo.environment["ESTUARY_FUZZ_INPUTS"] ?? "") ?? 0)
    }()

    public static let seedOffset: UInt64 = {
        UInt64(ProcessInfo.processInfo.environment["ESTUARY_FUZZ_SEED"] ?? "") ?? 0
    }()

    /// `count` times the scale, and at least the run's minimum number of inputs.
    public static func scaled(_ count: Int) -> Int {
        let scaled = count.multipliedReportingOverflow(by: scale)
        return max(scaled.overflow ? Int.max : scaled.partialValue, minimumInputs)
    }

    /// `seed` shifted by the run's seed offset.
    public static func seed(_ seed: UInt64) -> UInt64 {
        seed &+ seedOffset
    }
}
