/// A constraint on the tokens a generation may choose (structured output): before each sampling
/// step the generator asks `fillMask` for the allowed tokens, a bitmask over the vocabulary (bit
/// t % 32 of word t / 32 set: token t allowed; the words start cleared), and afterwards tells
/// `tokenChosen` the token it chose (also an end-of-generation token). Either closure throws to
/// end the generation with an error. The mask's storage is allocated once, with the constraint.
///
/// Jump-forward: `forced` (optional) is asked after each chosen token for the tokens the constraint
/// forces next (text only one continuation of the grammar allows, in its canonical tokenization).
/// It writes up to `forcedCapacity` ids into the buffer and returns their count; the constraint
/// counts them as accepted (tokenChosen is not told them). The generator appends them to the
/// sequence as one prompt chunk, so they cost prefill, not one decode step each.
public final class TokenConstraint: @unchecked Sendable {
    public let vocabSize: Int
    public let words: Int
    /// Tokens `forced` may write per call.
    public static let forcedCapacity = 256
    let mask: UnsafeMutablePointer<UInt32>
    let fillMask: (UnsafeMutableBufferPointer<UInt32>) throws -> Void
    let tokenChosen: (Int32) throws -> Void
    let forced: ((UnsafeMutableBufferPointer<Int32>) throws -> Int)?
    let forcedBuffer: UnsafeMutablePointer<Int32>

    public init(vocabSize: Int, fillMask: @escaping (UnsafeMutableBufferPointer<UInt32>) throws -> Void,
                tokenChosen: @escaping (Int32) throws -> Void,
                forced: ((UnsafeMutableBufferPointer<Int32>) throws -> Int)? = nil) throws {
        guard vocabSize > 0 else {
            throw TritError.argument("a token constraint needs a vocabulary, got \(vocabSize) tokens")
        }
        self.vocabSize = vocabSize
        words = (vocabSize + 31) / 32
        mask = .allocate(capacity: words)
        mask.initialize(repeating: 0, count: words)
        self.fillMask = fillMask
        self.tokenChosen = tokenChosen
        self.forced = forced
        forcedBuffer = .allocate(capacity: Self.forcedCapacity)
        forcedBuffer.initialize(repeating: 0, count: Self.forcedCapacity)
    }

    deinit {
        mask.deallocate()
        forcedBuffer.deallocate()
    }

    /// Whether the constraint reports forced tokens (jump-forward).
    public var jumpsForward: Bool { forced != nil }

    /// The tokens the constraint forces after the token it was last told (empty without `forced`),
    /// valid until the next call. A count above forcedCapacity or an id outside the vocabulary is an
    /// argument error naming it; `forced` reports its own failure by throwing.
    func forcedTokens() throws -> UnsafeBufferPointer<Int32> {
        guard let forced else { return UnsafeBufferPointer(start: forcedBuffer, count: 0) }
        let n = try forced(UnsafeMutableBufferPointer(start: forcedBuffer, count: Self.forcedCapacity))
        guard n <= Self.forcedCapacity else {
            throw TritError.argument("the constraint's forced-token callback returned \(n) tokens; "
                                     + "its buffer holds 0 to \(Self.forcedCapacity)")
        }
        for i in 0..<n where forcedBuffer[i] < 0 || Int(forcedBuffer[i]) >= vocabSize {
            throw TritError.argument("the constraint forced token \(forcedBuffer[i]) (index \(i)), "
                                     + "outside the vocabulary of \(vocabSize) tokens")
        }
        return UnsafeBufferPointer(start: forcedBuffer, count: n)
    }

    /// Asks for this step's mask; false when it allows no token of the vocabulary. Bits past the
    /// vocabulary are cleared.
    func refresh() throws -> Bool {
        mask.update(repeating: 0, count: words)
        try fillMask(UnsafeMutableBufferPointer(start: mask, count: words))
        let tail = vocabSize % 32
        if tail != 0 { mask[words - 1] &= (UInt32(1) << UInt32(tail)) - 1 }
        for w in 0..<words where mask[w] != 0 { return true }
        return false
    }

    @inline(__always) func allows(_ t: Int) -> Bool { mask[t >> 5] & (UInt32(1) << UInt32(t & 31)) != 0 }

    /// The next token under the constraint: the mask asked for, the sampler's chain over the allowed
    /// tokens of `logits` (the others are as if -inf), the choice reported. nil: no token allowed.
    func choose(_ sampler: Sampler, _ logits: UnsafeBufferPointer<Float>) throws -> Int32? {
        guard try refresh(), let t = sampler.sample(logits, allowed: self) else { return nil }
        try tokenChosen(t)
        return t
    }
}
