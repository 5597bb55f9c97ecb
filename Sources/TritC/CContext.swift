import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("trit_context_create")
public func trit_context_create(_ model: OpaquePointer?, _ params: UnsafePointer<trit_context_params>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        let m = try object(model, ModelBox.self, "model").model
        let p = try readParams(params, defaults: trit_context_default_params(), "params")
        guard p.n_ctx >= 0 else { throw TritError(.argument, "n_ctx must be ≥ 0, got \(p.n_ctx)") }
        guard p.n_threads >= 0 else { throw TritError(.argument, "n_threads must be ≥ 0, got \(p.n_threads)") }
        let nCtx = Defaults.contextSize(Int(p.n_ctx), model: m)
        let nThreads = Defaults.threads(Int(p.n_threads))
        guard p.n_cells >= 0 else { throw TritError(.argument, "n_cells must be ≥ 0, got \(p.n_cells)") }
        let kt = try KVCacheType.from(id: p.type_k, what: "type_k"), vt = try KVCacheType.from(id: p.type_v, what: "type_v")
        let state = try InferenceState(model: m, nCtx: nCtx, nThreads: nThreads, maxBatch: Int(p.n_batch),
                                       nSeq: p.n_seq == 0 ? 1 : Int(p.n_seq), cells: Int(p.n_cells), kvType: kt, valueType: vt,
                                       attentionInt8: p.attn_int8)
        if let cb = p.abort_callback {
            let user = p.abort_user_data
            state.shouldAbort = { cb(user) }
        }
        var resolved = p
        resolved.n_ctx = Int32(nCtx); resolved.n_threads = Int32(nThreads)
        resolved.n_seq = Int32(state.nSeq); resolved.n_cells = Int32(clamping: state.cellCapacity)
        out.pointee = try makeHandle(ContextBox(state, params: resolved))
    }
}

@_cdecl("trit_context_free")
public func trit_context_free(_ ctx: OpaquePointer?) {
    releaseHandle(ctx, ContextBox.self)
}

@_cdecl("trit_eval")
public func trit_eval(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ nTokens: Int,
                      _ logits: UnsafeMutablePointer<Float>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let tokens else { throw TritError(.argument, "tokens is NULL") }
            guard nTokens > 0 else { throw TritError(.argument, "n_tokens must be positive, got \(nTokens)") }
            guard nTokens <= box.state.nCtx else {
                throw TritError(.contextFull, "\(nTokens) tokens do not fit: the context holds \(box.state.nPast) of \(box.state.nCtx) positions")
            }
            try box.state.evaluate(UnsafeBufferPointer(start: tokens, count: nTokens), allLogits: logits)
        }
    }
}

@_cdecl("trit_get_logits")
public func trit_get_logits(_ ctx: OpaquePointer?, _ logits: UnsafeMutablePointer<UnsafePointer<Float>?>?,
                            _ nVocab: UnsafeMutablePointer<Int32>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let logits else { throw TritError(.argument, "logits is NULL") }
            guard box.state.hasLogits else { throw TritError(.state, "no logits yet: evaluate tokens first") }
            logits.pointee = box.state.lastLogits.baseAddress
            nVocab?.pointee = Int32(box.state.model.config.vocabSize)
        }
    }
}

@_cdecl("trit_context_get_size")
public func trit_context_get_size(_ ctx: OpaquePointer?, _ nPast: UnsafeMutablePointer<Int32>?,
                                  _ nCtx: UnsafeMutablePointer<Int32>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            nPast?.pointee = Int32(clamping: box.state.nPast)
            nCtx?.pointee = Int32(clamping: box.state.nCtx)
        }
    }
}

@_cdecl("trit_context_get_params")
public func trit_context_get_params(_ ctx: OpaquePointer?, _ out: UnsafeMutablePointer<trit_context_params>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let out else { throw TritError(.argument, "out is NULL") }
            try writeOut(box.params, to: out, "out")
        }
    }
}

@_cdecl("trit_context_reset")
public func trit_context_reset(_ ctx: OpaquePointer?) -> trit_status {
    guarded { try withContext(ctx) { $0.state.reset() } }
}

@_cdecl("trit_context_truncate")
public func trit_context_truncate(_ ctx: OpaquePointer?, _ nKeep: Int32) -> trit_status {
    guarded { try withContext(ctx) { try $0.state.truncate(to: Int(nKeep)) } }
}

@_cdecl("trit_context_shift")
public func trit_context_shift(_ ctx: OpaquePointer?, _ nKeep: Int32, _ nDiscard: Int32) -> trit_status {
    guarded { try withContext(ctx) { try $0.state.shift(keep: Int(nKeep), discard: Int(nDiscard)) } }
}

@_cdecl("trit_eval_batch")
public func trit_eval_batch(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ seqIDs: UnsafePointer<Int32>?,
                            _ nTokens: Int, _ logits: UnsafeMutablePointer<Float>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let tokens, let seqIDs, let logits else { throw TritError(.argument, "tokens, seq_ids and logits must not be NULL") }
            guard nTokens > 0, nTokens <= Int(Int32.max) else { throw TritError(.argument, "n_tokens must be positive, got \(nTokens)") }
            try box.state.evaluateBatch(UnsafeBufferPointer(start: tokens, count: nTokens),
                                        sequences: UnsafeBufferPointer(start: seqIDs, count: nTokens), logits: logits)
        }
    }
}

@_cdecl("trit_context_reset_seq")
public func trit_context_reset_seq(_ ctx: OpaquePointer?, _ seq: Int32) -> trit_status {
    guarded { try withContext(ctx) { try $0.state.reset(sequence: Int(seq)) } }
}

@_cdecl("trit_context_get_tokens")
public func trit_context_get_tokens(_ ctx: OpaquePointer?, _ tokens: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                                    _ nTokens: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let nTokens else { throw TritError(.argument, "n_tokens is NULL") }
            let held = box.state.tokens
            nTokens.pointee = held.count
            guard capacity >= held.count, tokens != nil || held.isEmpty else {
                throw TritError(.bufferTooSmall, "the buffer holds \(capacity) tokens; \(held.count) are needed")
            }
            if let tokens { for (i, t) in held.enumerated() { tokens[i] = t } }
        }
    }
}
