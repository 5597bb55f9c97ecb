import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Swift generation options from the C struct (validated).
func generationParams(_ p: trit_generate_params, vocabSize: Int) throws -> GenerationParams {
    var g = GenerationParams()
    g.maxTokens = Int(p.max_tokens)
    g.sampling.temperature = p.temperature
    g.sampling.topK = Int(p.top_k)
    g.sampling.topP = p.top_p
    g.sampling.minP = p.min_p
    g.sampling.repeatPenalty = p.repeat_penalty
    g.sampling.repeatLastN = Int(p.repeat_last_n)
    g.sampling.seed = p.seed
    // the embedded sampler parameters, when the caller set them (trit.h: trit_generate_params.sampling)
    if p.sampling.size != 0 {
        g.sampling = try withUnsafePointer(to: p.sampling) { try samplingParams($0) }
    }
    g.ignoreEOS = p.ignore_eos
    guard p.n_keep >= 0 else { throw TritError(.argument, "n_keep must be ≥ 0, got \(p.n_keep)") }
    g.contextShift = p.context_shift
    g.nKeep = Int(p.n_keep)
    g.stop = try stopStrings(p.stop, p.n_stop)
    g.constraint = try tokenConstraint(p.constraint_mask, p.constraint_accept, p.constraint_forced,
                                       p.constraint_user_data, vocabSize: vocabSize)
    return g
}

/// The stop strings of a C array (trit_generate_params and trit_request share the form).
func stopStrings(_ stops: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int) throws -> [String] {
    guard n <= 1024 else { throw TritError(.argument, "n_stop \(n) is out of range") }
    guard n > 0 else { return [] }
    guard let stops else { throw TritError(.argument, "stop is NULL but n_stop is \(n)") }
    return try (0..<n).map { try string(stops[$0], "stop[\($0)]") }
}

func runGeneration(_ ctx: OpaquePointer?, _ params: UnsafePointer<trit_generate_params>?, _ onPiece: trit_piece_fn?,
                   _ userData: UnsafeMutableRawPointer?, _ result: UnsafeMutablePointer<trit_generate_result>?,
                   prompt: (InferenceState, trit_generate_params) throws -> [Int32]) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            let p = try readParams(params, defaults: trit_generate_default_params(), "params")
            if let result { _ = try declaredSize(UnsafeRawPointer(result), "result") }
            let g = try generationParams(p, vocabSize: box.state.model.config.vocabSize)
            guard box.state.model.tokenizer != nil else { throw TritError(.state, "the model has no tokenizer; generation needs one") }
            let ids = try prompt(box.state, p)
            let res = try box.state.generate(prompt: ids, params: g) { piece in
                guard let cb = onPiece else { return true }
                return piece.withMemoryRebound(to: CChar.self) { cb($0.baseAddress, $0.count, userData) }
            }
            if let result {
                let reason: trit_stop_reason
                switch res.stopReason {
                case .maxTokens: reason = TRIT_STOP_LENGTH
                case .endOfGeneration: reason = TRIT_STOP_EOG
                case .stopString: reason = TRIT_STOP_STRING
                case .contextFull: reason = TRIT_STOP_CONTEXT_FULL
                case .cancelled: reason = TRIT_STOP_CALLBACK
                case .aborted: reason = TRIT_STOP_ABORTED
                case .noAllowedToken: reason = TRIT_STOP_CONSTRAINT
                }
                let r = trit_generate_result(size: UInt32(MemoryLayout<trit_generate_result>.size),
                                             n_prompt_tokens: Int32(clamping: res.promptTokens),
                                             n_generated_tokens: Int32(clamping: res.tokens.count),
                                             stop_reason: Int32(bitPattern: reason.rawValue), prompt_seconds: res.promptSeconds,
                                             generation_seconds: res.generationSeconds,
                                             n_forced_tokens: Int32(clamping: res.forcedTokens))
                try writeOut(r, to: result, "result")
            }
        }
    }
}

@_cdecl("trit_generate")
public func trit_generate(_ ctx: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ params: UnsafePointer<trit_generate_params>?,
                          _ onPiece: trit_piece_fn?, _ userData: UnsafeMutableRawPointer?,
                          _ result: UnsafeMutablePointer<trit_generate_result>?) -> trit_status {
    runGeneration(ctx, params, onPiece, userData, result) { state, p in
        try state.promptTokens(try string(prompt, "prompt"), addSpecial: p.add_special, parseSpecial: p.parse_special)
    }
}

@_cdecl("trit_generate_tokens")
public func trit_generate_tokens(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ nTokens: Int,
                                 _ params: UnsafePointer<trit_generate_params>?, _ onPiece: trit_piece_fn?,
                                 _ userData: UnsafeMutableRawPointer?,
                                 _ result: UnsafeMutablePointer<trit_generate_result>?) -> trit_status {
    runGeneration(ctx, params, onPiece, userData, result) { _, _ in
        guard nTokens >= 0, nTokens <= Int(Int32.max) else { throw TritError(.argument, "n_tokens \(nTokens) is out of range") }
        guard tokens != nil || nTokens == 0 else { throw TritError(.argument, "tokens is NULL") }
        return nTokens == 0 ? [] : Array(UnsafeBufferPointer(start: tokens, count: nTokens))
    }
}

@_cdecl("trit_score")
public func trit_score(_ ctx: OpaquePointer?, _ context: UnsafePointer<Int32>?, _ nContext: Int,
                       _ continuation: UnsafePointer<Int32>?, _ nContinuation: Int,
                       _ logProb: UnsafeMutablePointer<Double>?, _ isGreedy: UnsafeMutablePointer<Bool>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let context, let continuation else { throw TritError(.argument, "context and continuation must not be NULL") }
            guard nContext > 0, nContinuation > 0, nContext <= Int(Int32.max), nContinuation <= Int(Int32.max) else {
                throw TritError(.argument, "context and continuation must not be empty")
            }
            let r = try box.state.score(context: Array(UnsafeBufferPointer(start: context, count: nContext)),
                                        continuation: Array(UnsafeBufferPointer(start: continuation, count: nContinuation)))
            logProb?.pointee = r.logProbability
            isGreedy?.pointee = r.isGreedy
        }
    }
}
