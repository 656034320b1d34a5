/// SplitMix64 (Steele, Lea and Flood): a small, fast, seeded generator. The tests use it so that every property and
/// fuzz case can be reproduced from its seed, and `loadgen` so that a run is the same for the same seed. Not for
/// anything that must be unpredictable.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (`bound` > 0) from one draw, by remainder: a little biased for large bounds, but
    /// one draw per call, so a sequence of choices stays the same for a seed whatever the bounds.
    public mutating func next(below bound: Int) -> Int {
        precondition(bound > 0, "next(below:) needs a positive bound")
        return Int(next() % UInt64(bound))
    }
}
