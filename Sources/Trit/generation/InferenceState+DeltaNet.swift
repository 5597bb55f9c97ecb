import TritKernels
#if canImport(Glibc)
import Glibc
#endif

/// The Gated DeltaNet layer (qwen35; transformers' Qwen3_5GatedDeltaNet): linear attention whose
/// memory is a fixed-size state per sequence (RecurrentState). Every row runs the recurrent form,
/// in order, so a prompt in batches equals the same tokens one at a time exactly (transformers'
/// chunked form for prompts equals it up to rounding: the fixture's reference is the chunked one).
extension InferenceState {
    /// Gated DeltaNet layer number `d` (its ordinal among DeltaNet layers) over n rows of `input`
    /// (already normed) into `out`.
    func gatedDeltaNet(_ w: DeltaNetWeights, ordinal d: Int, input: UnsafeMutablePointer<Float>, n: Int,
                       into out: UnsafeMutablePointer<Float>) {
        guard let s = plan.deltaNet, let mem = recurrent else { return }   // the loader gives both
        let convDim = s.convDim, keyDim = s.keyDim, valueDim = s.valueDim, nV = s.valueHeads
        let qkv = dnQKV.ptr, z = dnZ.ptr, beta = dnBeta.ptr, g = dnG.ptr, o = dnOut.ptr

        // the input projections: in_proj_qkv and in_proj_z share one int8 quantization of the input;
        // in_proj_b and in_proj_a are small float matrices
        let qa = quantizeFirstTernary(w.qkv.linear, w.z.linear, nil, input, cols: plan.dim, n: n)
        linear(w.qkv.linear, input, n: n, into: qkv, quantizedKp: qa)
        linear(w.z.linear, input, n: n, into: z, quantizedKp: qa)
        linear(w.b, input, n: n, into: beta, quantizedKp: 0)
        linear(w.a, input, n: n, into: g, quantizedKp: 0)

        // β = σ(b), g = −exp(A_log)·softplus(a + dt_bias) (PyTorch's softplus: linear above 20)
        w.aNeg.withUnsafeBufferPointer { aNeg in
            w.dtBias.withUnsafeBufferPointer { dt in
                for t in 0..<n {
                    for h in 0..<nV {
                        let i = t * nV + h
                        beta[i] = 1 / (1 + expf(-beta[i]))
                        let u = g[i] + dt[h]
                        g[i] = aNeg[h] * (u > 20 ? u : log1pf(expf(u)))
                    }
                }
            }
        }

        for t in 0..<n {
            let seq = rowSeq[t]
            let x = qkv + t * convDim
            causalConv(x, weights: w.conv, state: mem.conv(sequence: seq, layer: d), shape: s)
            // q and k L2-normed per key head (eps 1e-6 inside the root, as FLA), q also by 1/√d_k
            let q = x, k = x + keyDim, v = x + 2 * keyDim
            for h in 0..<s.keyHeads {
                l2Normalize(q + h * s.keyHeadDim, s.keyHeadDim, scale: 1 / Float(s.keyHeadDim).squareRoot())
                l2Normalize(k + h * s.keyHeadDim, s.keyHeadDim, scale: 1)
            }
            let S = mem.state(sequence: seq, layer: d)
            for h in 0..<nV {
                let kh = s.keyHead(ofValueHead: h) * s.keyHeadDim
                deltaRule(state: S + h * s.keyHeadDim * s.valueHeadDim, q: q + kh, k: k + kh,
                          v: v + h * s.valueHeadDim, decay: expf(g[t * nV + h]), beta: beta[t * nV + h],
                          out: o + t * valueDim + h * s.valueHeadDim, shape: s)
            }
        }

        // RMSNormGated: each value head normed with w itself, then × SiLU(z); out_proj
        rmsnormRows(o, w.norm, s.valueHeadDim, n * nV, into: o)
        for i in 0..<(n * valueDim) { let zi = z[i]; o[i] *= zi / (1 + expf(-zi)) }
        linear(w.out.linear, o, n: n, into: out, quantizedKp: 0)
    }

    /// Depthwise causal conv1d of one position, then SiLU, in place: channel c's output is
    /// Σ_j w[c][j]·x_{t−(K−1)+j}, the K − 1 earlier inputs from `state` (zeros at the start), which
    /// then moves up by one and takes this input.
    @inline(__always)
    func causalConv(_ x: UnsafeMutablePointer<Float>, weights: [Float], state: UnsafeMutablePointer<Float>,
                    shape s: DeltaNetShape) {
        let K = s.convKernel, convDim = s.convDim
        weights.withUnsafeBufferPointer { cw in
            for c in 0..<convDim {
                let wc = cw.baseAddress! + c * K
                var acc: Float = 0
                for j in 0..<(K - 1) { acc += wc[j] * state[j * convDim + c] }
                acc += wc[K - 1] * x[c]
                for j in 0..<(K - 2) { state[j * convDim + c] = state[(j + 1) * convDim + c] }
                state[(K - 2) * convDim + c] = x[c]
                x[c] = acc / (1 + expf(-acc))
            }
        }
    }

    /// v ← v·scale / √(Σv² + 1e-6) (transformers' l2norm).
    @inline(__always)
    func l2Normalize(_ v: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
        var ss: Float = 0
        for i in 0..<n { ss += v[i] * v[i] }
        let f = scale / (ss + 1e-6).squareRoot()
        for i in 0..<n { v[i] *= f }
    }

    /// One step of the gated delta rule on one value head's state S [d_k][d_v]:
    /// S ← decay·S; δ = β·(v − Sᵀk); S ← S + k ⊗ δ; out = Sᵀq.
    @inline(__always)
    func deltaRule(state S: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                   v: UnsafePointer<Float>, decay: Float, beta: Float, out: UnsafeMutablePointer<Float>,
                   shape s: DeltaNetShape) {
        let dk = s.keyHeadDim, dv = s.valueHeadDim
        let delta = dnDelta.ptr
        for j in 0..<dv { delta[j] = 0 }
        for i in 0..<dk {
            let row = S + i * dv, ki = k[i]
            for j in 0..<dv { row[j] *= decay; delta[j] += row[j] * ki }
        }
        for j in 0..<dv { delta[j] = (v[j] - delta[j]) * beta; out[j] = 0 }
        for i in 0..<dk {
            let row = S + i * dv, ki = k[i], qi = q[i]
            for j in 0..<dv { row[j] += ki * delta[j]; out[j] += row[j] * qi }
        }
    }
}
