import CTrit
import Trit

// Sampler objects over the engine's Sampler.

final class SamplerBox {
    let sampler: Sampler
    let vocab: Int
    init(_ s: Sampler, vocab: Int) { sampler = s; self.vocab = vocab }
}

/// The Swift sampling options from a caller's struct (validated by the Sampler).
func samplingParams(_ p: UnsafePointer<trit_sampler_params>?) throws -> SamplingParams {
    let c = try readParams(p, defaults: trit_sampler_default_params(), "sampling")
    var s = SamplingParams()
    s.temperature = c.temperature
    s.topK = Int(c.top_k)
    s.topP = c.top_p
    s.minP = c.min_p
    s.repeatPenalty = c.repeat_penalty
    s.presencePenalty = c.presence_penalty
    s.frequencyPenalty = c.frequency_penalty
    s.repeatLastN = Int(c.penalty_last_n)
    s.seed = c.seed
    guard c.n_logit_bias <= 1 << 20 else { throw TritError(.argument, "n_logit_bias \(c.n_logit_bias) is out of range") }
    if c.n_logit_bias > 0 {
        guard let b = c.logit_bias else { throw TritError(.argument, "logit_bias is NULL but n_logit_bias is \(c.n_logit_bias)") }
        s.logitBias = (0..<c.n_logit_bias).map { (token: b[$0].token, bias: b[$0].bias) }
    }
    return s
}

@_cdecl("trit_sampler_create")
public func trit_sampler_create(_ model: OpaquePointer?, _ params: UnsafePointer<trit_sampler_params>?,
                                _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        let m = try object(model, ModelBox.self, "model").model
        let vocab = m.config.vocabSize
        out.pointee = try makeHandle(SamplerBox(try Sampler(params: try samplingParams(params), vocabSize: vocab), vocab: vocab))
    }
}

@_cdecl("trit_sampler_free")
public func trit_sampler_free(_ s: OpaquePointer?) {
    releaseHandle(s, SamplerBox.self)
}

@_cdecl("trit_sampler_sample")
public func trit_sampler_sample(_ s: OpaquePointer?, _ logits: UnsafePointer<Float>?,
                                _ token: UnsafeMutablePointer<Int32>?) -> trit_status {
    guarded {
        let box = try object(s, SamplerBox.self, "sampler")
        guard let logits, let token else { throw TritError(.argument, "logits and token must not be NULL") }
        token.pointee = box.sampler.sample(UnsafeBufferPointer(start: logits, count: box.vocab))
    }
}

@_cdecl("trit_sampler_accept")
public func trit_sampler_accept(_ s: OpaquePointer?, _ token: Int32) -> trit_status {
    guarded {
        let box = try object(s, SamplerBox.self, "sampler")
        guard token >= 0, Int(token) < box.vocab else { throw TritError(.argument, "token \(token) is out of range (vocabulary has \(box.vocab) tokens)") }
        box.sampler.accept(token)
    }
}

@_cdecl("trit_sampler_reset")
public func trit_sampler_reset(_ s: OpaquePointer?) -> trit_status {
    guarded { try object(s, SamplerBox.self, "sampler").sampler.reset() }
}
