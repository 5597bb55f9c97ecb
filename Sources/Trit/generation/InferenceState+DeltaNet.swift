import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Gated DeltaNet layer (qwen35; transformers' Qwen3_5GatedDeltaNet): linear attention whose
/// memory is a fixed-size state per sequence (RecurrentState). Rows run the recurrent form, in order,
/// except runs of at least deltaChunkMin rows of one sequence (a prompt), which take the chunked form
/// (equal up to rounding; transformers' reference for prompts is a chunked form too).
/// The delta rule itself is TritKernels' tk_delta_rule_par (generic/delta_rule.c).
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
        // (Hadamard-folded weights read H·(s ⊙ x): in_proj_qkv and in_proj_z are folded alike (load))
        let xin = folded(w.qkv.hadamard, input, width: plan.dim, n: n)
        let qa = quantizeFirstTernary(w.qkv.linear, w.z.linear, nil, xin, cols: plan.dim, n: n)
        linear(w.qkv.linear, xin, n: n, into: qkv, quantizedKp: qa)
        linear(w.z.linear, xin, n: n, into: z, quantizedKp: qa)
        linear(w.b, w.bHadamard == w.qkv.hadamard ? xin : folded(w.bHadamard, input, width: plan.dim, n: n),
               n: n, into: beta, quantizedKp: 0)
        linear(w.a, w.aHadamard == w.qkv.hadamard ? xin : folded(w.aHadamard, input, width: plan.dim, n: n),
               n: n, into: g, quantizedKp: 0)

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

        // per row: the conv (its state per sequence; TritKernels), q and k L2-normed per key head (eps
        // 1e-6 inside the root, as FLA), q also by 1/√d_k; the decay e^g
        let chunked = deltaChunkMin > 0 && n >= deltaChunkMin
        if chunked { dnLogG.ptr.update(from: g, count: n * nV) }
        // the conv, channels over the pool's threads (each channel's rows in order)
        for t in 0..<n { dnRowConv[t] = mem.conv(sequence: rowSeq[t], layer: d) }
        w.conv.withUnsafeBufferPointer { cw in
            tk_causal_conv_silu_par(pool, qkv, Int64(convDim), Int64(n), UnsafePointer(dnRowConv), cw.baseAddress,
                                    Int64(s.convKernel), Int64(convDim))
        }
        for t in 0..<n {
            let x = qkv + t * convDim
            for h in 0..<s.keyHeads {
                l2Normalize(x + h * s.keyHeadDim, s.keyHeadDim, scale: 1 / Float(s.keyHeadDim).squareRoot())
                l2Normalize(x + keyDim + h * s.keyHeadDim, s.keyHeadDim, scale: 1)
            }
            for h in 0..<nV { g[t * nV + h] = expf(g[t * nV + h]) }
            dnRowState[t] = mem.state(sequence: rowSeq[t], layer: d)
        }
        // the gated delta rule, each value head's rows in order, heads in parallel (TritKernels)
        dnKeyHead.withUnsafeBufferPointer { kh in
            var job = tk_delta_job(state: UnsafePointer(dnRowState), qkv: qkv, row_stride: Int64(convDim),
                                   key_dim: Int64(keyDim), decay: g, beta: beta, out: o, key_head: kh.baseAddress,
                                   n: Int64(n), n_heads: Int64(nV), dk: Int64(s.keyHeadDim), dv: Int64(s.valueHeadDim),
                                   next_head: 0, log_decay: chunked ? dnLogG.ptr : nil,
                                   work: chunked ? dnWork.ptr : nil, chunk_min: chunked ? Int64(deltaChunkMin) : 0,
                                   step: kernels.pointee.delta_step)
            tk_delta_rule_par(pool, &job)
        }

        // RMSNormGated: each value head normed with w itself, then × SiLU(z); out_proj
        rmsnormRows(o, w.norm, s.valueHeadDim, n * nV, into: o)
        tk_silu_gate_par(pool, o, z, Int64(n * valueDim))
        linear(w.out.linear, folded(w.out.hadamard, o, width: valueDim, n: n), n: n, into: out, quantizedKp: 0)
    }

    /// v ← v·scale / √(Σv² + 1e-6) (transformers' l2norm).
    @inline(__always)
    func l2Normalize(_ v: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
        var ss: Float = 0
        for i in 0..<n { ss += v[i] * v[i] }
        let f = scale / (ss + 1e-6).squareRoot()
        for i in 0..<n { v[i] *= f }
    }
}
