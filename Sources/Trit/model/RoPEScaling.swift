#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RoPE scaling for contexts beyond the training length: linear (position interpolation) and YaRN
/// (Peng et al. 2023), with the formulas of transformers' `_compute_linear_scaling_rope_parameters`
/// and `_compute_yarn_parameters` (llama.cpp's ggml_rope_yarn computes the same frequencies):
///
///   linear: inv_freq_i = θ^(−2i/d) / factor
///   yarn:   extrapolation e_i = θ^(−2i/d), interpolation e_i / factor; with
///           corr(r) = d·ln(L / (2πr)) / (2 ln θ) for L = original context, low = ⌊corr(β_fast)⌋ ∨ 0,
///           high = ⌈corr(β_slow)⌉ ∧ (d − 1) (no rounding when truncate is false),
///           ramp_i = clamp((i − low) / (high − low), 0, 1), keep_i = 1 − ramp_i:
///           inv_freq_i = interp_i·(1 − keep_i) + e_i·keep_i; and cos, sin times the attention factor
///           (given, or mscale(factor, m) / mscale(factor, m_all) when both are given, or
///           0.1·ln(factor) + 1), so q·k scales by its square.
public struct RoPEScaling: Sendable, Equatable {
    public enum Kind: String, Sendable { case none, linear, yarn }
    public var kind: Kind = .none
    public var factor: Double = 1
    public var originalContext = 0          // YaRN's L; 0: the model's context length
    public var betaFast: Double = 32
    public var betaSlow: Double = 1
    public var attentionFactor: Double?
    public var mscale: Double?
    public var mscaleAllDim: Double?
    public var truncate = true
    public init() {}

    /// Checks the values a file gave; `prefix` starts the file's key names (e.g. "rope_scaling.").
    func validate(origin: String, factorKey: String, prefix: String) throws {
        guard kind != .none else { return }
        guard factor.isFinite, factor >= 1 else {
            throw TritError.format("\(origin): \(factorKey) \(factor) is invalid (a finite factor ≥ 1)")
        }
        guard originalContext >= 0, originalContext <= Int(Int32.max) else {
            throw TritError.format("\(origin): \(prefix)original context length \(originalContext) is out of range")
        }
        for (n, v) in [("beta_fast", betaFast), ("beta_slow", betaSlow)] where !(v.isFinite && v > 0) {
            throw TritError.format("\(origin): \(prefix)\(n) \(v) is invalid")
        }
        for (n, v) in [("attention_factor", attentionFactor), ("mscale", mscale), ("mscale_all_dim", mscaleAllDim)] {
            if let v, !(v.isFinite && v >= 0) { throw TritError.format("\(origin): \(prefix)\(n) \(v) is invalid") }
        }
    }

    /// inv_freq (headDim/2 values) and the factor cos and sin are multiplied by.
    public func frequencies(headDim d: Int, theta: Float, contextLength: Int) -> ([Float], Float) {
        let half = d / 2
        let base = Double(theta)
        let ext = (0..<half).map { 1.0 / pow(base, Double(2 * $0) / Double(d)) }
        switch kind {
        case .none:
            return (ext.map { Float($0) }, 1)
        case .linear:
            return (ext.map { Float($0 / factor) }, 1)
        case .yarn:
            let l = Double(originalContext > 0 ? originalContext : contextLength)
            func corr(_ r: Double) -> Double { Double(d) * log(l / (r * 2 * Double.pi)) / (2 * log(base)) }
            var low = corr(betaFast), high = corr(betaSlow)
            if truncate { low = low.rounded(.down); high = high.rounded(.up) }
            low = max(low, 0); high = min(high, Double(d - 1))
            if low == high { high += 0.001 }
            let inv = (0..<half).map { i -> Float in
                let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
                let keep = 1 - ramp
                return Float(ext[i] / factor * (1 - keep) + ext[i] * keep)
            }
            func m(_ scale: Double, _ k: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * k * log(scale) + 1 }
            let att: Double
            if let a = attentionFactor { att = a }
            else if let ms = mscale, let ma = mscaleAllDim, ms != 0, ma != 0 { att = m(factor, ms) / m(factor, ma) }
            else { att = m(factor) }
            return (inv, Float(att))
        }
    }
}
