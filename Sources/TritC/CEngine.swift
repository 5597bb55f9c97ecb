import CTrit
import Trit

// The continuous-batching engine behind handles.

final class EngineBox {
    let engine: Engine
    init(_ e: Engine) { engine = e }
}

@_cdecl("trit_engine_create")
public func trit_engine_create(_ model: OpaquePointer?, _ params: UnsafePointer<trit_engine_params>?,
                               _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        let m = try object(model, ModelBox.self, "model").model
        let p = try readParams(params, defaults: trit_engine_default_params(), "params")
        var o = Engine.Options()
        o.slots = Int(p.n_slots)
        o.nCtx = Int(p.n_ctx)
        o.nBatch = Int(p.n_batch)
        o.nThreads = Int(p.n_threads)
        o.queueLimit = Int(p.queue_limit)
        o.cells = Int(p.n_cells)
        o.kvType = try KVCacheType.from(id: p.type_k, what: "type_k")
        o.valueType = try KVCacheType.from(id: p.type_v, what: "type_v")
        o.checkpoints = Int(p.checkpoints)
        o.minPromptTokens = Int(p.min_prompt_tokens)
        o.attentionInt8 = p.attn_int8
        out.pointee = try makeHandle(EngineBox(try Engine(model: m, options: o)))
    }
}

@_cdecl("trit_engine_free")
public func trit_engine_free(_ e: OpaquePointer?) {
    guard let box = try? object(e, EngineBox.self, "engine"), releaseHandle(e, EngineBox.self) else { return }
    box.engine.shutdown()
}

@_cdecl("trit_engine_submit")
public func trit_engine_submit(_ e: OpaquePointer?, _ request: UnsafePointer<trit_request>?,
                               _ id: UnsafeMutablePointer<Int64>?) -> trit_status {
    guarded {
        let engine = try object(e, EngineBox.self, "engine").engine
        guard let id else { throw TritError(.argument, "id is NULL") }
        guard let request else { throw TritError(.argument, "request is NULL") }
        let r = try readParams(request, defaults: trit_request_default(), "request")
        let prompt: [Int32]
        if let text = r.prompt {
            let s = try string(text, "prompt")
            prompt = try engine.promptTokens(s, addSpecial: r.add_special, parseSpecial: r.parse_special)
        } else {
            guard let t = r.tokens, r.n_tokens > 0, r.n_tokens <= 1 << 24 else {
                throw TritError(.argument, "the request has neither a prompt nor tokens")
            }
            prompt = Array(UnsafeBufferPointer(start: t, count: r.n_tokens))
        }
        var req = Engine.Request(prompt: prompt)
        req.sampling = try samplingParams(r.sampling)
        req.maxTokens = Int(r.max_tokens)
        req.ignoreEOS = r.ignore_eos
        req.stop = try stopStrings(r.stop, r.n_stop)
        req.constraint = try tokenConstraint(r.constraint_mask, r.constraint_accept, r.constraint_forced,
                                             r.constraint_user_data, vocabSize: engine.model.config.vocabSize)
        let user = r.user_data
        if let ep = r.embedding {   // an embedding request: trit_embed's options, the file's pooling by default
            req.embedding = try embeddingOptions(try readParams(ep, defaults: trit_embed_default_params(), "request.embedding"),
                                                 model: engine.model)
            if let cb = r.on_embedding { req.onEmbedding = { row in cb(row.baseAddress, row.count, user) } }
        }
        req.logprobs = Int(r.logprobs)
        if let cb = r.on_logprobs {
            req.onLogprobs = { t, lp, ids, lps in cb(t, lp, ids.baseAddress, lps.baseAddress, ids.count, user) }
        }
        if let cb = r.on_piece {
            req.onPiece = { piece in piece.withMemoryRebound(to: CChar.self) { cb($0.baseAddress, $0.count, user) } }
        }
        if let done = r.on_done {
            req.onDone = { requestID, why, u in
                var usage = trit_usage(size: UInt32(MemoryLayout<trit_usage>.size), prompt_tokens: Int32(clamping: u.promptTokens),
                                       completion_tokens: Int32(clamping: u.completionTokens),
                                       cached_tokens: Int32(clamping: u.cachedTokens),
                                       forced_tokens: Int32(clamping: u.forcedTokens))
                let reason: trit_finish_reason
                switch why {
                case .length: reason = TRIT_FINISH_LENGTH
                case .stop: reason = TRIT_FINISH_STOP
                case .contextFull: reason = TRIT_FINISH_CONTEXT_FULL
                case .cancelled: reason = TRIT_FINISH_CANCELLED
                case .noAllowedToken: reason = TRIT_FINISH_CONSTRAINT
                case .constraintError: reason = TRIT_FINISH_CONSTRAINT_ERROR
                }
                done(requestID, Int32(bitPattern: reason.rawValue), &usage, user)
            }
        }
        id.pointee = try engine.submit(req)
    }
}

@_cdecl("trit_engine_cancel")
public func trit_engine_cancel(_ e: OpaquePointer?, _ id: Int64) -> trit_status {
    guarded {
        let engine = try object(e, EngineBox.self, "engine").engine
        guard engine.cancel(id) else { throw TritError(.argument, "request \(id) is unknown or has finished") }
    }
}

@_cdecl("trit_engine_get_stats")
public func trit_engine_get_stats(_ e: OpaquePointer?, _ out: UnsafeMutablePointer<trit_engine_stats>?) -> trit_status {
    guarded {
        let engine = try object(e, EngineBox.self, "engine").engine
        guard let out else { throw TritError(.argument, "out is NULL") }
        let s = engine.currentStats()
        let c = trit_engine_stats(size: UInt32(MemoryLayout<trit_engine_stats>.size), running: Int32(s.running),
                                  waiting: Int32(s.waiting), cells_used: Int32(clamping: s.cellsUsed),
                                  cells_total: Int32(clamping: s.cellsTotal), tokens_generated: Int64(s.tokensGenerated),
                                  prompt_tokens_evaluated: Int64(s.promptTokensEvaluated),
                                  requests_finished: Int64(s.requestsFinished), n_ctx_slot: Int32(clamping: engine.nCtx),
                                  tokens_forced: Int64(s.tokensForced))
        try writeOut(c, to: out, "stats")
    }
}
