import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The forward pass for a batch of n ≤ maxBatch consecutive tokens (docs/formats.md §1.4). What a
/// layer does is its architecture's description (Architecture.swift): the layer kind picks the
/// mixer, the description's norms, activation and RoPE do the rest.
extension InferenceState {
    /// Throws only TritError .cancelled, when `shouldAbort` asks between layers; the cache rows
    /// written so far lie beyond the sequences' committed positions, so nothing is changed.
    func forward(_ tokens: UnsafeBufferPointer<Int32>, logitsOut: UnsafeMutablePointer<Float>?, wantLast: Bool,
                 headRows: UnsafeBufferPointer<Int>? = nil, headOut: UnsafeMutablePointer<Float>? = nil,
                 hiddenOut: UnsafeMutablePointer<Float>? = nil, abortable: Bool = true) throws {
        let c = model.config
        let n = tokens.count
        let dim = c.dim
        let x = self.x.ptr, xb = self.xb.ptr, xb2 = self.xb2.ptr

        // embedding lookup; the RoPE rotation of each position, shared by all heads and layers
        let half = plan.ropeHalf
        for t in 0..<n {
            model.tokenEmbedding.row(Int(tokens[t]), into: x + t * dim)
            if model.foldedEmbedding { model.hadamard?.unfold(x + t * dim, width: dim) }   // a latent table's row
            if plan.embeddingScale != 1 { for i in 0..<dim { x[t * dim + i] *= plan.embeddingScale } }
            for i in 0..<half {
                let angle = Float(rowPos[t]) * invFreq[i]
                ropeCos.ptr[t * half + i] = Float(cos(Double(angle))) * ropeAttentionFactor
                ropeSin.ptr[t * half + i] = Float(sin(Double(angle))) * ropeAttentionFactor
            }
            // the sliding layers' base (Gemma3), unscaled
            if plan.localRope {
                for i in 0..<half {
                    let angle = Float(rowPos[t]) * invFreqLocal[i]
                    ropeCosLocal.ptr[t * half + i] = Float(cos(Double(angle)))
                    ropeSinLocal.ptr[t * half + i] = Float(sin(Double(angle)))
                }
            }
        }

        if !plan.causal { fillSequenceEnds(n) }

        for (l, layer) in model.layers.enumerated() {
            // (a recurrent state changes in place, layer by layer: only before the first layer)
            if abortable, recurrent == nil || l == 0, let abort = shouldAbort, abort() {
                throw TritError(.cancelled, "the evaluation was aborted by the abort callback")
            }
            // the mixer: norm, the layer kind's mixing of positions, residual
            rmsnormRows(x, layer.inputNorm, dim, n, into: xb)
            switch layer.mixer {
            case .attention(let a):
                attention(a, layer: l, cacheLayer: plan.attentionOrdinal[l], input: xb, n: n, into: xb2)
            case .gatedDeltaNet(let d): gatedDeltaNet(d, ordinal: plan.deltaNetOrdinal[l], input: xb, n: n, into: xb2)
            }
            if plan.postAttentionNorm { rmsnormRows(xb2, layer.postAttentionNorm, dim, n, into: xb2) }
            for i in 0..<(n * dim) { x[i] += xb2[i] }

            // feed-forward: norm, gate/up, activation, down, (Gemma3: norm,) residual
            rmsnormRows(x, layer.feedForwardNorm, dim, n, into: xb)
            feedForward(layer.feedForward, input: xb, n: n, into: xb2)
            if plan.postFeedForwardNorm { rmsnormRows(xb2, layer.postFeedForwardNorm, dim, n, into: xb2) }
            for i in 0..<(n * dim) { x[i] += xb2[i] }
        }
        // output norm and head: every row when all logits are wanted, the listed rows of a batch
        // (headRows, into headOut), else the last row only
        let vocab = c.vocabSize
        if let out = logitsOut {
            head(rows: n, row: { $0 }, into: out)
            if wantLast { logitsBuffer.ptr.update(from: out + (n - 1) * vocab, count: vocab) }
        } else if let rows = headRows, let out = headOut {
            if !rows.isEmpty { head(rows: rows.count, row: { rows[$0] }, into: out) }
        } else if let rows = headRows, let hid = hiddenOut {
            // the certified head's input: the listed rows normed, the head left to the sampler
            for (i, r) in rows.enumerated() { rmsnormRows(x + r * dim, model.outputNorm, dim, 1, into: hid + i * dim) }
        } else if wantLast && deferHead {
            rmsnormRows(x + (n - 1) * dim, model.outputNorm, dim, 1, into: headInput.ptr)
        } else if wantLast {
            head(rows: 1, row: { _ in n - 1 }, into: logitsBuffer.ptr)
        }
        if wantLast {
            hasLogits = true
            headPending = deferHead && logitsOut == nil && headRows == nil
        }
    }

    /// Softmax attention of layer l (cache layer `cl`: its index among the attention layers) over n
    /// rows of `input` (already normed) into `out`: q/k/v projections, q/k head norms, RoPE, the new
    /// keys and values into the cache, attention over each row's sequence, the output gate (qwen35),
    /// the output projection.
    func attention(_ a: AttentionWeights, layer l: Int, cacheLayer cl: Int, input: UnsafeMutablePointer<Float>,
                   n: Int, into out: UnsafeMutablePointer<Float>) {
        let c = plan
        let qDim = c.qDim, kvDim = c.kvDim, hd = c.headDim
        let q = self.q.ptr, k = self.k.ptr, v = self.v.ptr, att = self.att.ptr
        // q, k and v read one input: one activation quantization for the three, unless each
        // normalises it its own way first
        let own = !c.normsBefore.isDisjoint(with: [.q, .k, .v])
        let input = folded(a.q.hadamard, input, width: c.dim, n: n)   // q, k, v are folded alike (load)
        let qa = own ? 0 : quantizeFirstTernary(a.q.linear, a.k.linear, a.v.linear, input, cols: c.dim, n: n)
        if c.gatedOutput {
            // qwen35: q_proj gives each head's query, then its gate
            let qg = qGate.ptr, gate = self.gate.ptr
            project(a.q, .q, input, n: n, into: qg, quantizedKp: qa)
            for r in 0..<(n * c.nHeads) {
                (q + r * hd).update(from: qg + 2 * r * hd, count: hd)
                (gate + r * hd).update(from: qg + 2 * r * hd + hd, count: hd)
            }
        } else {
            project(a.q, .q, input, n: n, into: q, quantizedKp: qa)
        }
        project(a.k, .k, input, n: n, into: k, quantizedKp: qa)
        project(a.v, .v, input, n: n, into: v, quantizedKp: qa)
        // qwen3: each head of q and k normed over head_dim before the rotation
        if c.qkNorm {
            rmsnormRows(q, a.qNorm, hd, n * c.nHeads, into: q)
            rmsnormRows(k, a.kNorm, hd, n * c.nKVHeads, into: k)
        }
        let sliding = !c.slidingLayers.isEmpty && c.slidingLayers[l]
        let local = sliding && c.localRope
        for t in 0..<n {
            for h in 0..<c.nHeads { rope(q + t * qDim + h * hd, row: t, local: local) }
            for h in 0..<c.nKVHeads { rope(k + t * kvDim + h * hd, row: t, local: local) }
            kv.store(sequence: rowSeq[t], layer: cl, position: rowPos[t], k: k + t * kvDim, v: v + t * kvDim)
        }
        // attention over the pool: (row, KV head, chunk of positions) items; query head h reads
        // KV head h / (nHeads / nKVHeads) (GQA). A row sees its sequence's positions up to its own
        // (causal) or all of them (bidirectional: the whole input is in this batch); a sliding
        // layer's row only those closer than the window (transformers: kv > q − w, or |q − kv| < w).
        for t in 0..<n {
            let p = rowPos[t], w = c.slidingWindow
            var first = 0, end = c.causal ? p + 1 : seqEnd[rowSeq[t]]
            if sliding { first = max(0, p + 1 - w); end = min(end, p + w) }
            rowKeys[t] = UnsafePointer(kv.keys(sequence: rowSeq[t], layer: cl) + first * kv.keyHeadBytes)
            rowValues[t] = UnsafePointer(kv.values(sequence: rowSeq[t], layer: cl) + first * kv.valueHeadBytes)
            rowKV[t] = Int64(end - first)
        }
        var job = tk_attention_job(fn: attentionInt8 ? kernels.pointee.attention_q8 : kernels.pointee.attention, q: q, out: att, q_stride: Int64(qDim),
                                   k: rowKeys, v: rowValues, n_kv: rowKV, k_row_bytes: Int64(kv.keyHeadBytes),
                                   v_row_bytes: Int64(kv.valueHeadBytes),
                                   k_head_stride: Int64(nCtx * kv.keyHeadBytes), v_head_stride: Int64(nCtx * kv.valueHeadBytes),
                                   k_type: kv.keyType.rawValue, v_type: kv.valueType.rawValue,
                                   n_heads: Int64(c.nHeads), group: Int64(c.nHeads / c.nKVHeads), hd: Int64(hd),
                                   scale: c.attentionScale, scratch: attScratch.ptr,
                                   scratch_stride: Int64(attScratchStride), partials: attPartials.ptr,
                                   max_rows: Int64(maxBatch), n_kv_rows: 0, n_items: 0, max_chunks: 0, next_item: 0)
        tk_attention_par(pool, &job, Int64(n))
        if c.gatedOutput {
            let gate = self.gate.ptr
            for i in 0..<(n * qDim) { att[i] /= 1 + expf(-gate[i]) }
        }
        project(a.o, .o, folded(a.o.hadamard, att, width: qDim, n: n), n: n, into: out, quantizedKp: 0)
    }

    /// The gated feed-forward block: down(act(gate·x) ⊙ up·x) of n rows of `input` into `out`.
    func feedForward(_ f: FeedForwardWeights, input: UnsafeMutablePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>) {
        let c = plan, ffn = c.ffnDim
        let hb = self.hb.ptr, hb2 = self.hb2.ptr
        let own = !c.normsBefore.isDisjoint(with: [.gate, .up])
        let input = folded(f.gate.hadamard, input, width: c.dim, n: n)   // gate and up folded alike (load)
        let qf = own ? 0 : quantizeFirstTernary(f.gate.linear, f.up.linear, nil, input, cols: c.dim, n: n)
        project(f.gate, .gate, input, n: n, into: hb, quantizedKp: qf)
        project(f.up, .up, input, n: n, into: hb2, quantizedKp: qf)
        switch c.activation {
        case .relu2:
            for i in 0..<(n * ffn) { let g = max(hb[i], 0); hb[i] = g * g * hb2[i] }
        case .silu:
            tk_silu_mul_par(pool, hb, hb2, Int64(n * ffn))   // g·σ(g)·u, over the pool
        case .geluTanh:
            // 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))), PyTorch's gelu(approximate="tanh")
            for i in 0..<(n * ffn) {
                let g = hb[i]
                hb[i] = 0.5 * g * (1 + tanhf(0.7978845608 * (g + 0.044715 * g * g * g))) * hb2[i]
            }
        }
        project(f.down, .down, folded(f.down.hadamard, hb, width: ffn, n: n), n: n, into: out, quantizedKp: 0)
    }

    /// `input` itself, or for a Hadamard-folded projection its rows transformed, H·(s ⊙ x), in xh.
    @inline(__always)
    func folded(_ isFolded: Bool, _ input: UnsafeMutablePointer<Float>, width: Int, n: Int) -> UnsafeMutablePointer<Float> {
        guard isFolded, let h = model.hadamard else { return input }
        xh.ptr.update(from: input, count: n * width)
        h.fold(xh.ptr, width: width, n: n)
        return xh.ptr
    }

    /// out = p · input, with p's own RMSNorm of the input first where the architecture puts one
    /// (Architecture.Norms.beforeProjection: BitNet's sub-norms before o and down).
    @inline(__always)
    func project(_ p: Projection, _ which: Architecture.Projections, _ input: UnsafeMutablePointer<Float>, n: Int,
                 into out: UnsafeMutablePointer<Float>, quantizedKp: Int) {
        if plan.normsBefore.contains(which) {
            rmsnormRows(input, p.inputNorm, p.linear.cols, n, into: xn.ptr)
            linear(p.linear, xn.ptr, n: n, into: out, quantizedKp: 0)
        } else {
            linear(p.linear, input, n: n, into: out, quantizedKp: quantizedKp)
        }
    }

    /// Logits of `rows` batch rows (row(i) gives the i-th): output norm, then the head product
    /// (int8 in the int8 head mode; the stored head otherwise, the certified mode included). The
    /// rows are normed into xb, one after another.
    func head(rows: Int, row: (Int) -> Int, into dst: UnsafeMutablePointer<Float>) {
        let t0 = headStart()
        defer { headEnd(t0) }
        let c = model.config, dim = c.dim, vocab = c.vocabSize
        let x = self.x.ptr, xb = self.xb.ptr
        for i in 0..<rows { rmsnormRows(x + row(i) * dim, model.outputNorm, dim, 1, into: xb + i * dim) }
        if let h8 = model.int8Output, model.headMode == .int8 {
            summedGroup = 0
            kernels.pointee.quantize_rows(xb, Int64(dim), Int64(dim), Int64(rows), xq.raw.assumingMemoryBound(to: Int8.self),
                                          Int64(h8.paddedCols), xs.ptr, xsum.raw.assumingMemoryBound(to: Int32.self))
            h8.scales.withUnsafeBufferPointer { sc in
                tk_i8_gemm_par(pool, kernels.pointee.i8_gemm, h8.weights.raw.assumingMemoryBound(to: Int8.self), sc.baseAddress,
                               Int64(h8.paddedCols), Int64(vocab), xq.raw.assumingMemoryBound(to: Int8.self), xs.ptr,
                               Int64(rows), dst, Int64(vocab))
            }
        } else {
            let h = model.output
            tk_dense_gemm_par(pool, h.gemm(kernels), h.data, h.dtype, Int64(dim), Int64(vocab),
                              xb, Int64(dim), Int64(rows), dst, Int64(vocab))
        }
    }

    /// The head's clock (`headSeconds`): read on entry to the outermost head call, added on its exit.
    @inline(__always)
    func headStart() -> Double {
        headDepth += 1
        return headDepth == 1 ? monotonicSeconds() : 0
    }

    @inline(__always)
    func headEnd(_ t0: Double) {
        headDepth -= 1
        if headDepth == 0 { headSeconds += monotonicSeconds() - t0 }
    }

    @inline(__always)
    func rmsnormRows(_ src: UnsafeMutablePointer<Float>, _ g: [Float], _ width: Int, _ n: Int, into dst: UnsafeMutablePointer<Float>) {
        g.withUnsafeBufferPointer { gp in
            for t in 0..<n { kernels.pointee.rmsnorm(src + t * width, gp.baseAddress, Int64(width), model.config.normEps, dst + t * width) }
        }
    }

    /// Per-token absmax int8 quantization of n input rows (docs/formats.md §1.5) into xq/xs/xsum, once for
    /// the projections that share an input. Returns the padded width quantized (0 if none is ternary).
    /// (Three optional slots rather than an array: nothing is allocated per token.)
    func quantizeFirstTernary(_ a: Linear?, _ b: Linear?, _ c: Linear?, _ input: UnsafeMutablePointer<Float>, cols: Int, n: Int) -> Int {
        @inline(__always) func padded(_ l: Linear?) -> Int? {
            switch l { case .ternary(let t)?: return t.paddedCols; case .grouped(let g)?: return g.paddedCols; default: return nil }
        }
        guard let kp = padded(a) ?? padded(b) ?? padded(c) else { return 0 }
        kernels.pointee.quantize_rows(input, Int64(cols), Int64(cols), Int64(n), xq.raw.assumingMemoryBound(to: Int8.self),
                         Int64(kp), xs.ptr, xsum.raw.assumingMemoryBound(to: Int32.self))
        if let hook = quantizationHook {
            hook(quantizationCalls, input, xq.raw.assumingMemoryBound(to: Int8.self), xs.ptr,
                 xsum.raw.assumingMemoryBound(to: Int32.self), n, cols, kp)
        }
        quantizationCalls += 1
        summedGroup = 0   // xgsum no longer holds these rows
        return kp
    }

    /// out[n][rows] = lin · input[n][cols]. A ternary or group-scaled linear uses the quantized rows in xq when they
    /// were made for its padded width (`quantizedKp`), else quantizes the input here.
    func linear(_ lin: Linear, _ input: UnsafeMutablePointer<Float>, n: Int, into out: UnsafeMutablePointer<Float>, quantizedKp: Int) {
        let t0 = monotonicSeconds()
        defer { productSeconds += monotonicSeconds() - t0 }
        switch lin {
        case .ternary(let m):
            if quantizedKp != m.paddedCols { _ = quantizeFirstTernary(lin, nil, nil, input, cols: m.cols, n: n) }
            if m.isTrit5, n <= Trit5.decodeRows || m.prefill == nil {
                tk_trit5_gemm_par(pool, kernels.pointee.trit5_gemm, m.codes, Int64(m.paddedCols), Int64(m.rows),
                                  xq.raw.assumingMemoryBound(to: Int8.self), xs.ptr, xsum.raw.assumingMemoryBound(to: Int32.self),
                                  Int64(n), m.scale, out, Int64(m.rows))
                return
            }
            if m.isTQ1, n <= Trit5.decodeRows || m.prefill == nil {
                tk_tq1_gemm_par(pool, kernels.pointee.tq1_gemm, m.codes, Int64(m.cols), Int64(m.rows),
                                xq.raw.assumingMemoryBound(to: Int8.self), xs.ptr, xsum.raw.assumingMemoryBound(to: Int32.self),
                                Int64(n), m.scale, out, Int64(m.rows))
                return
            }
            let m = m.prefill ?? m
            tk_ternary_gemm_par(pool, kernels.pointee.ternary_gemm, m.codes, Int64(m.rowBytes), Int64(m.rows),
                                xq.raw.assumingMemoryBound(to: Int8.self), xs.ptr, xsum.raw.assumingMemoryBound(to: Int32.self),
                                Int64(n), m.scale, out, Int64(m.rows))
        case .dense(let d):
            tk_dense_gemm_par(pool, d.gemm(kernels), d.data, d.dtype, Int64(d.cols), Int64(d.rows),
                              input, Int64(d.cols), Int64(n), out, Int64(d.rows))
        case .grouped(let m):
            if quantizedKp != m.paddedCols { _ = quantizeFirstTernary(lin, nil, nil, input, cols: m.cols, n: n) }
            let q = xq.raw.assumingMemoryBound(to: Int8.self), gs = xgsum.raw.assumingMemoryBound(to: Int32.self)
            // q, k and v share one quantized input: its group sums are made once for their group size
            if summedGroup != m.group {
                tk_group_sums(q, Int64(m.paddedCols), Int64(n), Int64(m.group), Int64(m.nGroups), gs)
                summedGroup = m.group
            }
            tk_group_gemm_par(pool, kernels.pointee.group_gemm, m.tiles.raw.assumingMemoryBound(to: UInt8.self),
                              Int64(m.group), m.oneBit ? 1 : 0, Int64(m.nGroups), Int64(m.rows), q, Int64(m.paddedCols), gs,
                              xs.ptr, Int64(n), out, Int64(m.rows))
        }
    }

    /// Rotary embedding of one head vector at `pos`, NeoX (i, i+r/2) or adjacent (2i, 2i+1) pairs over
    /// its first r = ropeDim dimensions (the rest pass: partial rotary).
    func rope(_ vec: UnsafeMutablePointer<Float>, pos: Int) {
        let half = plan.ropeHalf
        for i in 0..<half {
            let angle = Float(pos) * invFreq[i]
            ropeCos.ptr[i] = Float(cos(Double(angle))) * ropeAttentionFactor
            ropeSin.ptr[i] = Float(sin(Double(angle))) * ropeAttentionFactor
        }
        rope(vec, row: 0)
    }

    /// The same, with the rotation of batch row `row` from the table filled by `forward`.
    /// `local`: the sliding layers' base (Gemma3).
    @inline(__always)
    func rope(_ vec: UnsafeMutablePointer<Float>, row: Int, local: Bool = false) {
        let half = plan.ropeHalf
        let neox = model.config.rope == .neox
        let cosT = (local ? ropeCosLocal : ropeCos).ptr + row * half
        let sinT = (local ? ropeSinLocal : ropeSin).ptr + row * half
        for i in 0..<half {
            let cs = cosT[i], sn = sinT[i]
            let (a, b) = neox ? (i, i + half) : (2 * i, 2 * i + 1)
            let x0 = vec[a], x1 = vec[b]
            vec[a] = x0 * cs - x1 * sn
            vec[b] = x0 * sn + x1 * cs
        }
    }
}
