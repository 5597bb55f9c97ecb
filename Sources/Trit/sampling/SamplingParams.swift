/// Sampling options, with llama.cpp's defaults. temperature ≤ 0 means greedy.
public struct SamplingParams: Sendable {
    public var temperature: Float = 0.8
    public var topK: Int = 40            // 0 = off
    public var topP: Float = 0.95        // 1 = off
    public var minP: Float = 0.05        // 0 = off
    public var repeatPenalty: Float = 1.0 // 1 = off
    public var repeatLastN: Int = 64     // window of the repetition, presence and frequency penalties
    public var presencePenalty: Float = 0  // OpenAI's: subtracted once from a token seen in the window
    public var frequencyPenalty: Float = 0 // OpenAI's: subtracted per occurrence in the window
    public var logitBias: [(token: Int32, bias: Float)] = []   // added to a token's logit first
    public var seed: UInt64 = 0xC0FFEE     // SamplingParams.randomSeed: a seed from the system
    /// The seed value that asks for a random seed (the C API's TRIT_SEED_RANDOM).
    public static let randomSeed = UInt64.max

    public init() {}
    public static var greedy: SamplingParams { var p = SamplingParams(); p.temperature = 0; return p }

    public func validate() throws {
        guard temperature.isFinite else { throw TritError.argument("temperature must be a finite number") }
        guard topK >= 0 else { throw TritError.argument("top_k must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw TritError.argument("top_p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP <= 1 else { throw TritError.argument("min_p must be in [0, 1], got \(minP)") }
        guard repeatPenalty > 0, repeatPenalty.isFinite else { throw TritError.argument("repeat_penalty must be > 0, got \(repeatPenalty)") }
        guard repeatLastN >= 0 else { throw TritError.argument("repeat_last_n must be ≥ 0, got \(repeatLastN)") }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 100 else {
            throw TritError.argument("presence_penalty must be a number in [-100, 100], got \(presencePenalty)")
        }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 100 else {
            throw TritError.argument("frequency_penalty must be a number in [-100, 100], got \(frequencyPenalty)")
        }
        for b in logitBias where !b.bias.isFinite && b.bias != -.infinity {
            throw TritError.argument("logit bias \(b.bias) of token \(b.token) is not a number (finite or -inf)")
        }
    }
}

/// A small, fast, seedable generator (xoshiro256**, seeded through splitmix64), so the
/// same seed gives the same text on every platform.
public struct Xoshiro256: Sendable {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
