#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Options of one generation call.
public struct GenerationParams: Sendable {
    public var maxTokens: Int = 128          // ≤ 0: until the context is full or EOS
    public var sampling = SamplingParams()
    public var stop: [String] = []           // stop strings; the text stops before them
    public var ignoreEOS = false
    /// When the context is full: drop the older half of the positions after the first `nKeep`
    /// and go on (llama.cpp's --context-shift); off: generation ends with .contextFull.
    public var contextShift = false
    public var nKeep = 0
    /// Allowed tokens per step (structured output); with a certified head a constrained step takes
    /// its candidates among the allowed tokens (exact mode's token under the same mask). A
    /// constraint that allows no token ends generation with .noAllowedToken; one that throws ends
    /// it and `generate` rethrows (the context as after a cancelling callback). The tokens it
    /// forces (TokenConstraint's jump-forward) count as generated tokens, their text as generated
    /// text (stop strings apply), and are evaluated together with the sampled token before them.
    public var constraint: TokenConstraint? = nil
    public init() {}
}

/// Why generation ended.
public enum StopReason: String, Sendable {
    case maxTokens = "length"
    case endOfGeneration = "eos"
    case stopString = "stop"
    case contextFull = "context"
    case cancelled = "cancelled"
    case aborted = "aborted"
    case noAllowedToken = "constraint"   // the constraint allowed no token
}

public struct GenerationResult: Sendable {
    public var text: [UInt8] = []
    public var tokens: [Int32] = []
    /// Of `tokens`, those the constraint forced (jump-forward: evaluated as prompt chunks, not
    /// sampled); tokens.count - forcedTokens is the number of sampling (decode) steps.
    public var forcedTokens = 0
    public var stopReason: StopReason = .maxTokens
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var generationSeconds = 0.0
    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var tokensPerSecond: Double { generationSeconds > 0 ? Double(tokens.count) / generationSeconds : 0 }
}

/// Monotonic seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The tokens of `text` as a prompt. The BOS rule, in one place: the tokenizer's BOS (when
/// `addSpecial` and the vocabulary adds one) starts a sequence only, never text appended to a
/// sequence that holds tokens (llama.cpp's `add_special` on a new prompt).
func promptTokens(_ model: Model, _ text: String, addSpecial: Bool, parseSpecial: Bool, sequenceIsEmpty: Bool) throws -> [Int32] {
    guard let tok = model.tokenizer else { throw TritError(.state, "the model has no tokenizer; generation needs one") }
    return tok.encode(text, addSpecial: addSpecial && sequenceIsEmpty, parseSpecial: parseSpecial)
}

extension InferenceState {
    /// The tokens of `text` as a prompt appended to sequence 0 (BOS only into an empty one).
    public func promptTokens(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int32] {
        try Trit.promptTokens(model, text, addSpecial: addSpecial, parseSpecial: parseSpecial, sequenceIsEmpty: nPast == 0)
    }

    /// Evaluates `prompt` (appended to what the context holds) and generates. `onPiece` receives
    /// text as it becomes final (whole UTF-8 sequences, never part of a stop string) and stops
    /// generation by returning false. The returned text excludes any stop string.
    ///
    /// When it returns, the context holds the prompt and exactly the text the caller received
    /// (the tokens past a stop string or a cancelling callback are removed, and a token cut by
    /// them is replaced by the tokens of its kept part), plus the end-of-generation token when
    /// generation ended on one. `shouldAbort` can interrupt the prompt; during generation it is
    /// asked between tokens.
    ///
    /// `history`: tokens already in the context that the sampler's penalty window should see as if
    /// they had been part of the prompt (a prompt whose start came from a saved state).
    public func generate(prompt: [Int32], params: GenerationParams, history: [Int32] = [],
                         onPiece: ((UnsafeBufferPointer<UInt8>) -> Bool)? = nil) throws -> GenerationResult {
        guard let tok = model.tokenizer else { throw TritError(.state, "the model has no tokenizer; generation needs one") }
        guard !prompt.isEmpty || hasLogits else {
            throw TritError(.state, "the prompt is empty and the context holds no current logits to continue from (nothing evaluated yet, or the context was truncated or changed by a batch)")
        }
        guard params.nKeep >= 0 else { throw TritError.argument("n_keep must be ≥ 0, got \(params.nKeep)") }
        if let c = params.constraint, c.vocabSize != model.config.vocabSize {
            throw TritError.argument("the constraint's vocabulary has \(c.vocabSize) tokens; "
                                     + "the model's has \(model.config.vocabSize)")
        }
        let sampler = try Sampler(params: params.sampling, vocabSize: model.config.vocabSize)
        // a certified head keeps the last row's hidden state and computes only the rows that can win
        deferHead = certified != nil
        defer { deferHead = false }

        var res = GenerationResult()
        res.promptTokens = prompt.count
        let t0 = monotonicSeconds()
        if !prompt.isEmpty { try evaluate(prompt) }
        checkpointRecurrentState()   // a stop string's cut re-evaluates from here, not from the start
        res.promptSeconds = monotonicSeconds() - t0
        for t in history + prompt { sampler.accept(t) }

        // the first generated token starts the text only when the context holds no text yet (BOS
        // alone): a SentencePiece vocabulary then drops its prefixed space, as llama.cpp does
        var stream = TextStream(tokenizer: tok, stops: params.stop, atStart: tokens.allSatisfy { tok.types[Int($0)] == .control })
        var base = nPast           // the context's positions before the first generated token (moved by a shift)
        var ends: [Int] = []       // bytes of text produced through generated token i
        var feed: [Int32] = []     // this step's tokens to evaluate: the sampled one and those forced after it
        feed.reserveCapacity(TokenConstraint.forcedCapacity + 1)

        /// Cuts the context back to the first `keptBytes` bytes of the generated text.
        func keepText(_ keptBytes: Int) throws {
            var keep = 0
            while keep < ends.count, ends[keep] <= keptBytes { keep += 1 }
            let from = keep > 0 ? ends[keep - 1] : 0
            let k = min(keep, nPast - base)          // kept tokens already in the cache
            // after a context shift the cut never reaches into the kept first positions
            try cutBack(to: max(base + k, min(nPast, params.nKeep)))
            var rest = Array(res.tokens[k..<keep])   // kept tokens not evaluated yet
            if keptBytes > from {
                rest += stream.text[from..<keptBytes].withUnsafeBufferPointer { b in
                    (try? tok.encode(bytes: b, addSpecial: false, parseSpecial: false)) ?? []
                }
            }
            if !rest.isEmpty, rest.count <= nCtx - nPast { try evaluate(rest, abortable: false) }
        }

        /// Appends generated tokens to the cache, shifting the context when it fills (a caller that
        /// allows no shift never passes more than fit).
        func evaluateGenerated(_ toks: [Int32]) throws {
            var i = 0
            while i < toks.count {
                if nPast >= nCtx {
                    let discard = (nCtx - params.nKeep) / 2
                    try shift(keep: params.nKeep, discard: discard)
                    base -= discard
                }
                let n = min(toks.count - i, nCtx - nPast)
                try toks.withUnsafeBufferPointer { try evaluate(UnsafeBufferPointer(rebasing: $0[i..<(i + n)]), abortable: false) }
                i += n
            }
        }

        /// Passes the ready text to onPiece; false when it asked to stop.
        func deliver(all: Bool) -> Bool {
            let piece = stream.take(all: all)
            guard !piece.isEmpty, let onPiece else { return true }
            return piece.withUnsafeBufferPointer { onPiece(UnsafeBufferPointer(rebasing: $0[...])) }
        }

        // The abort callback is asked between tokens and generated tokens are evaluated with it off,
        // so every token whose text was delivered is in the cache: the cache and the text agree.
        let t1 = monotonicSeconds()
        while true {
            if params.maxTokens > 0 && res.tokens.count >= params.maxTokens { res.stopReason = .maxTokens; break }
            if let abort = shouldAbort, abort() { res.stopReason = .aborted; break }
            if nPast >= nCtx {
                // (a recurrent state cannot drop positions: a hybrid model stops there)
                guard params.contextShift, memory.canShift, nCtx - params.nKeep >= 2 else {
                    res.stopReason = .contextFull; break
                }
                let discard = (nCtx - params.nKeep) / 2
                try shift(keep: params.nKeep, discard: discard)
                base -= discard
            }
            let next: Int32
            var forced = UnsafeBufferPointer<Int32>(start: nil, count: 0)
            if let c = params.constraint {
                var chosen: Int32? = nil
                do {
                    if try c.refresh() {
                        // a certified head: the allowed candidates' exact rows; else the whole exact row
                        if headPending, hasLogits, let cs = certified {
                            chosen = sampleCertified(sampler, hidden: headInput.ptr, cs, allowed: c)
                            if chosen == nil { cs.fullSteps += 1 }
                        }
                        if chosen == nil { chosen = sampler.sample(lastLogits, allowed: c) }
                        if let chosen { try c.tokenChosen(chosen) }
                    }
                    if let chosen, params.ignoreEOS || !tok.isEndOfGeneration(chosen) {
                        forced = try c.forcedTokens()
                        try refuseEndOfGeneration(forced, tok, ignoreEOS: params.ignoreEOS)
                    }
                } catch {
                    stream.cut()                        // as a cancelling callback: the text is what was delivered
                    try keepText(stream.text.count)
                    throw error
                }
                guard let chosen else { res.stopReason = .noAllowedToken; break }
                next = chosen
            } else {
                next = sampleNext(sampler)
            }
            if !params.ignoreEOS && tok.isEndOfGeneration(next) {
                res.stopReason = .endOfGeneration
                try evaluate([next], abortable: false)   // the turn is closed in the cache as in the text
                break
            }
            res.tokens.append(next)
            sampler.accept(next)
            var stopped = stream.push(next)             // a stop string ends the text just before it
            ends.append(stream.produced)
            feed.removeAll(keepingCapacity: true)
            feed.append(next)
            // forced tokens, as far as max_tokens and (without a context shift, or on a memory that
            // cannot shift) the context allow: generation ends where they are cut, so the
            // constraint's state past them does not matter
            let shifts = params.contextShift && memory.canShift && nCtx - params.nKeep >= 2
            let room = shifts ? Int.max : nCtx - nPast - 1
            for f in forced where !stopped && feed.count <= room {
                if params.maxTokens > 0 && res.tokens.count >= params.maxTokens { break }
                res.tokens.append(f)
                res.forcedTokens += 1
                sampler.accept(f)
                stopped = stream.push(f)
                ends.append(stream.produced)
                feed.append(f)
            }
            if stopped {
                _ = deliver(all: true)
                res.stopReason = .stopString
                try keepText(stream.text.count)
                break
            }
            if !deliver(all: false) {
                res.stopReason = .cancelled
                stream.cut()                            // the text is what the caller received
                try keepText(stream.text.count)
                break
            }
            try evaluateGenerated(feed)
        }
        if res.stopReason != .stopString && res.stopReason != .cancelled {
            stream.finish()
            _ = deliver(all: true)
        }
        res.generationSeconds = monotonicSeconds() - t1
        res.text = stream.text
        return res
    }
}

/// Forced tokens never end a generation: an end-of-generation token is always sampled (its mask
/// step tells the constraint), so one among them is the constraint's error.
func refuseEndOfGeneration(_ forced: UnsafeBufferPointer<Int32>, _ tok: Tokenizer, ignoreEOS: Bool) throws {
    guard !ignoreEOS else { return }
    for (i, t) in forced.enumerated() where tok.isEndOfGeneration(t) {
        throw TritError.argument("the constraint forced the end-of-generation token \(t) (index \(i)); "
                                 + "end-of-generation is sampled, never forced")
    }
}

func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
    guard !needle.isEmpty, hay.count >= needle.count else { return nil }
    var i = from
    while i + needle.count <= hay.count {
        if hay[i] == needle[0] {
            var ok = true
            for k in 1..<needle.count where hay[i + k] != needle[k] { ok = false; break }
            if ok { return i }
        }
        i += 1
    }
    return nil
}
