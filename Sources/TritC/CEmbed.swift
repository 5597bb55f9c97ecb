import CTrit
import Trit

// Embeddings: pooled, normalized final hidden states of token lists (trit.h "Embeddings").

/// The Swift options from the C struct (validated).
func embeddingOptions(_ p: trit_embed_params, model: Model) throws -> EmbeddingOptions {
    let pooling: Pooling
    switch p.pooling {
    case Int32(TRIT_POOLING_DEFAULT.rawValue): pooling = model.defaultPooling
    case Int32(TRIT_POOLING_LAST.rawValue): pooling = .last
    case Int32(TRIT_POOLING_MEAN.rawValue): pooling = .mean
    case Int32(TRIT_POOLING_CLS.rawValue): pooling = .first
    default: throw TritError(.argument, "pooling \(p.pooling) is not a trit_pooling (0 default, 1 last, 2 mean, 3 cls)")
    }
    return EmbeddingOptions(pooling: pooling, normalize: p.normalize, dimensions: Int(p.dimensions))
}

@_cdecl("trit_embed")
public func trit_embed(_ ctx: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ nTokens: UnsafePointer<Int>?,
                       _ nInputs: Int, _ params: UnsafePointer<trit_embed_params>?, _ out: UnsafeMutablePointer<Float>?,
                       _ capacity: Int, _ nFloats: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        try withContext(ctx) { box in
            guard let tokens, let nTokens, let nFloats else { throw TritError(.argument, "tokens, n_tokens and n_floats must not be NULL") }
            guard nInputs > 0, nInputs <= 1 << 20 else { throw TritError(.argument, "n_inputs must be between 1 and 2^20, got \(nInputs)") }
            let p = try readParams(params, defaults: trit_embed_default_params(), "params")
            let options = try embeddingOptions(p, model: box.state.model)
            let width = try box.state.embeddingWidth(options)
            var inputs: [UnsafeBufferPointer<Int32>] = []
            inputs.reserveCapacity(nInputs)
            var offset = 0
            for i in 0..<nInputs {
                let n = nTokens[i]
                guard n >= 0, n <= Int(Int32.max) else { throw TritError(.argument, "n_tokens[\(i)] is out of range (\(n))") }
                inputs.append(UnsafeBufferPointer(start: tokens + offset, count: n))
                offset += n
            }
            let needed = nInputs * width
            nFloats.pointee = needed
            guard capacity >= needed, let out else {
                throw TritError(.bufferTooSmall, "the buffer holds \(capacity) floats; \(needed) are needed (\(nInputs) rows of \(width))")
            }
            try box.state.embed(inputs, sequence: Int(p.seq_id), options: options, into: out)
        }
    }
}
