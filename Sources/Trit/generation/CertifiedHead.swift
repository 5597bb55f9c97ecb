import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The certified head's per-state scratch and its counters (docs/formats.md §7).
final class CertifiedScratch {
    let approx: FloatArray                       // [rows][vocab]: int8 logits of a batch's rows
    let lo, hi, exact, top: FloatArray           // [vocab] each; top: [TK_HEAD_MAX_K]
    let maxRows: Int
    let rows: AlignedBuffer                      // int32 [vocab]: the candidates
    /// Candidates of the last `window` certified steps (a ring), and the steps that used the full head.
    static let window = 4096
    var recent: [Int32]
    var steps = 0, fullSteps = 0
    // the 4-bit head (nil: int8): its err sums [rows][vocab], the rows quantized for it (ld Kp), their
    // offset corrections, group norms and ε (NaN: the row is not finite)
    let q4: Q4Scratch?
    /// With a 4-bit head: cs.approx holds 4-bit logits (else int8 ones); the steps left before the 4-bit
    /// head is tried again after a step whose 4-bit candidates were too many (the int8 head then
    /// decides); the compact head reads of each kind (for `trit bench`'s bytes a token).
    var approxIs4 = false
    var skip4 = 0
    static let cooldown = 32
    var reads4 = 0, reads8 = 0
    /// Steps the 4-bit head could not decide, and the sum of their 4-bit candidate counts.
    var failed4 = 0, failed4Candidates = 0
    var lastCount = 0

    init(vocab: Int, rows nRows: Int, q4 h4: Q4Head? = nil) throws {
        maxRows = nRows
        q4 = try h4.map { try Q4Scratch(vocab: vocab, rows: nRows, paddedCols: $0.paddedCols) }
        approx = try FloatArray(count: try checkedMul(vocab, nRows, "certified head"), what: "certified head")
        lo = try FloatArray(count: vocab, what: "certified head")
        hi = try FloatArray(count: vocab, what: "certified head")
        exact = try FloatArray(count: vocab, what: "certified head")
        top = try FloatArray(count: Int(TK_HEAD_MAX_K), what: "certified head")
        rows = try AlignedBuffer(byteCount: vocab * 4, what: "certified head")
        recent = [Int32](repeating: 0, count: CertifiedScratch.window)
    }

    func record(_ candidates: Int) {
        recent[steps % CertifiedScratch.window] = Int32(candidates)
        steps += 1
    }
}

/// The 4-bit certified head's per-step buffers (`CertifiedScratch.q4`).
final class Q4Scratch {
    let err: FloatArray          // [rows][vocab]
    let q: AlignedBuffer         // int8 [rows][Kp]
    let s: FloatArray            // [rows]
    let qsum: AlignedBuffer      // int32 [rows] (written by the quantizer, unused)
    let corr: AlignedBuffer      // int32 [rows][Kp / 4]
    let gn: FloatArray           // [rows][Kp / 32]
    let eps: FloatArray          // [rows]

    init(vocab: Int, rows n: Int, paddedCols kp: Int) throws {
        err = try FloatArray(count: try checkedMul(vocab, n, "certified head"), what: "certified head")
        q = try AlignedBuffer(byteCount: n * kp, what: "certified head")
        s = try FloatArray(count: n, what: "certified head")
        qsum = try AlignedBuffer(byteCount: n * 4, what: "certified head")
        corr = try AlignedBuffer(byteCount: n * kp, what: "certified head")
        gn = try FloatArray(count: n * kp / 32, what: "certified head")
        eps = try FloatArray(count: n, what: "certified head")
    }
}

/// Counters of the certified head since the state was made.
public struct CertifiedHeadStats: Sendable {
    public var steps = 0              // tokens chosen from certified candidates
    public var fullSteps = 0          // tokens for which the whole head was computed (see `Sampler.Truncation`)
    public var candidates: [Int] = [] // candidate counts of the last steps (at most 4096), in order
    public var reads4 = 0             // reads of the 4-bit head (`.certified4`)
    public var reads8 = 0             // reads of the int8 head (`.certified`; `.certified4` when the 4-bit one failed)
    public var failed4 = 0            // `.certified4` steps with more than vocab/8 4-bit candidates (decided by int8)
    public var failed4Candidates = 0  // the sum of those steps' 4-bit candidate counts
}

extension InferenceState {
    /// The certified head's counters (nil unless the model was loaded with `.certified` or `.certified4`).
    public var certifiedStats: CertifiedHeadStats? {
        guard let cs = certified else { return nil }
        let n = min(cs.steps, CertifiedScratch.window)
        let first = cs.steps - n
        return CertifiedHeadStats(steps: cs.steps, fullSteps: cs.fullSteps,
                                  candidates: (first..<cs.steps).map { Int(cs.recent[$0 % CertifiedScratch.window]) },
                                  reads4: cs.reads4, reads8: cs.reads8, failed4: cs.failed4,
                                  failed4Candidates: cs.failed4Candidates)
    }

    /// Evaluates `tokens` as generation does and chooses the next token with `sampler` (with a
    /// certified head: only the rows that can win are computed exactly). For benchmarks and loops
    /// that step generation themselves.
    public func evaluateAndSample(_ tokens: [Int32], _ sampler: Sampler) throws -> Int32 {
        deferHead = certified != nil
        defer { deferHead = false }
        try evaluate(tokens, abortable: false)
        return sampleNext(sampler)
    }

    /// The next token from the kept logits. With a certified head whose logits are pending, the token
    /// `sampler.sample(lastLogits)` would give, from the int8 head plus the exact rows that can win.
    func sampleNext(_ sampler: Sampler) -> Int32 {
        guard headPending, hasLogits, let cs = certified else { return sampler.sample(lastLogits) }
        if let t = sampleCertified(sampler, hidden: headInput.ptr, cs) { return t }
        cs.fullSteps += 1
        return sampler.sample(lastLogits)
    }

    /// The exact head (the stored matrix, as `head` computes it) of one normed row.
    func exactHead(from h: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let t0 = headStart()
        defer { headEnd(t0) }
        let m = model.output
        tk_dense_gemm_par(pool, m.gemm(kernels), m.data, m.dtype, Int64(m.cols), Int64(m.rows),
                          h, Int64(m.cols), 1, dst, Int64(m.rows))
    }

    /// Row r of the exact head for one normed row h: the same kernel and the same arithmetic as the
    /// whole product (each row's sum does not depend on the rows computed with it).
    @inline(__always)
    func exactRow(_ r: Int, _ h: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) -> Float {
        let m = model.output
        m.gemm(kernels)(m.data, m.dtype, Int64(m.cols), Int64(r), Int64(r + 1), h, Int64(m.cols), 1, out, Int64(m.rows))
        return out[r]
    }

    /// Step 1 of the certified head for n normed rows (n ≤ the scratch's rows, and ≤ maxBatch): the
    /// rows quantized and their compact logits (cs.approx, one compact head read for all): the
    /// 4-bit head's unless it is cooling down after a failed step, else the int8 head's.
    func certifiedApprox(_ h: UnsafeMutablePointer<Float>, rows n: Int, _ cs: CertifiedScratch) {
        let t0 = headStart()
        defer { headEnd(t0) }
        if let h4 = model.q4Output, let s4 = cs.q4 {
            if cs.skip4 == 0 {
                cs.approxIs4 = true
                return certifiedApprox4(h, rows: n, cs, h4, s4)
            }
            cs.skip4 -= 1
        }
        cs.approxIs4 = false
        certifiedApprox8(h, rows: n, from: 0, cs)
    }

    /// The int8 logits of n normed rows into rows [row0, row0 + n) of xq, xs and cs.approx.
    func certifiedApprox8(_ h: UnsafeMutablePointer<Float>, rows n: Int, from row0: Int, _ cs: CertifiedScratch) {
        guard let h8 = model.int8Output else { return }
        let vocab = model.config.vocabSize, dim = model.config.dim
        let q = xq.raw.assumingMemoryBound(to: Int8.self) + row0 * h8.paddedCols
        summedGroup = 0
        cs.reads8 += 1
        kernels.pointee.quantize_rows(h, Int64(dim), Int64(dim), Int64(n), q, Int64(h8.paddedCols), xs.ptr + row0,
                                      xsum.raw.assumingMemoryBound(to: Int32.self) + row0)
        h8.scales.withUnsafeBufferPointer { sc in
            tk_i8_gemm_par(pool, kernels.pointee.i8_gemm, h8.weights.raw.assumingMemoryBound(to: Int8.self), sc.baseAddress,
                           Int64(h8.paddedCols), Int64(vocab), q, xs.ptr + row0, Int64(n), cs.approx.ptr + row0 * vocab,
                           Int64(vocab))
        }
    }

    /// Step 2 for row i of the last `certifiedApprox` (h: that row): every head row's interval
    /// [cs.lo, cs.hi] that holds its exact logit. False when the numbers are not finite (the caller
    /// then computes the whole head).
    func certifiedIntervals(_ h: UnsafeMutablePointer<Float>, row i: Int, _ cs: CertifiedScratch) -> Bool {
        if cs.approxIs4, let h4 = model.q4Output, let s4 = cs.q4 { return certifiedIntervals4(row: i, cs, h4, s4) }
        return certifiedIntervals8(h, row: i, cs)
    }

    /// Step 2 from the int8 logits of row i (cs.approx, xq and xs rows i).
    func certifiedIntervals8(_ h: UnsafeMutablePointer<Float>, row i: Int, _ cs: CertifiedScratch) -> Bool {
        guard let h8 = model.int8Output, let hb = model.headBounds else { return false }
        let vocab = model.config.vocabSize, dim = model.config.dim
        let q = xq.raw.assumingMemoryBound(to: Int8.self) + i * h8.paddedCols
        var norm: Float = 0, eps: Float = 0
        guard tk_head_act_bounds(h, Int64(dim), q, xs.ptr[i], &norm, &eps) != 0 else { return false }
        let bad = kernels.pointee.head_bounds(cs.approx.ptr + i * vocab, hb.a.ptr, hb.b.ptr, norm, eps,
                                              CertifiedHeadBound.relative, Int64(vocab), cs.lo.ptr, cs.hi.ptr)
        return bad == 0
    }

    /// Step 1 with the 4-bit head: the rows quantized to int8 (ld Kp), their per-token numbers
    /// (`tk_head4_act`), then the 4-bit logits and err sums of every head row (one read of the head).
    func certifiedApprox4(_ h: UnsafeMutablePointer<Float>, rows n: Int, _ cs: CertifiedScratch, _ h4: Q4Head,
                          _ s4: Q4Scratch) {
        let vocab = model.config.vocabSize, dim = model.config.dim, kp = h4.paddedCols
        let q = s4.q.raw.assumingMemoryBound(to: Int8.self), corr = s4.corr.raw.assumingMemoryBound(to: Int32.self)
        cs.reads4 += 1
        kernels.pointee.quantize_rows(h, Int64(dim), Int64(dim), Int64(n), q, Int64(kp), s4.s.ptr,
                                      s4.qsum.raw.assumingMemoryBound(to: Int32.self))
        for i in 0..<n {
            var eps: Float = 0
            let ok = tk_head4_act(h + i * dim, Int64(dim), q + i * kp, Int64(kp), s4.s.ptr[i], corr + i * (kp / 4),
                                  s4.gn.ptr + i * (kp / 32), &eps)
            s4.eps.ptr[i] = ok != 0 ? eps : .nan
        }
        tk_q4_gemm_par(pool, kernels.pointee.q4_gemm, h4.nibbles.raw.assumingMemoryBound(to: UInt8.self),
                       h4.scales.raw.assumingMemoryBound(to: UInt16.self), Int64(kp), Int64(vocab), q, s4.s.ptr,
                       corr, s4.gn.ptr, Int64(n), cs.approx.ptr, s4.err.ptr, Int64(vocab))
    }

    /// Step 2 with the 4-bit head for row i: e_r = alpha·err_r + b_r·ε + rel·|l̂_r| (docs/formats.md §7.1);
    /// the rows it could not quantize are always candidates.
    func certifiedIntervals4(row i: Int, _ cs: CertifiedScratch, _ h4: Q4Head, _ s4: Q4Scratch) -> Bool {
        let vocab = model.config.vocabSize
        let eps = s4.eps.ptr[i]
        guard eps.isFinite else { return false }
        let bad = kernels.pointee.head_bounds(cs.approx.ptr + i * vocab, s4.err.ptr + i * vocab, h4.b.ptr, h4.alpha,
                                              eps, CertifiedHeadBound.relative, Int64(vocab), cs.lo.ptr, cs.hi.ptr)
        for r in h4.badRows {
            cs.lo.ptr[Int(r)] = -.infinity
            cs.hi.ptr[Int(r)] = .infinity
        }
        return bad == 0
    }

    /// Steps 1 and 2 for one row.
    func certifiedIntervals(_ h: UnsafeMutablePointer<Float>, _ cs: CertifiedScratch) -> Bool {
        certifiedApprox(h, rows: 1, cs)
        return certifiedIntervals(h, row: 0, cs)
    }

    /// The certified step (docs/formats.md §7), or nil when the sampler's chain needs the whole row
    /// (or the int8 logits are not finite, or too many rows remain candidates).
    /// `approxRow`: the row of the last `certifiedApprox` that h is (nil: compute it here).
    /// `allowed`: a constraint's current mask; the tokens it excludes are as if -inf (as
    /// `Sampler.sample(_:allowed:)` treats them), so the candidates are taken among allowed tokens only.
    func sampleCertified(_ sampler: Sampler, hidden h: UnsafeMutablePointer<Float>, _ cs: CertifiedScratch,
                         approxRow: Int? = nil, allowed: TokenConstraint? = nil) -> Int32? {
        let t0 = headStart()
        defer { headEnd(t0) }
        let trunc = sampler.firstTruncation
        let vocab = model.config.vocabSize
        switch trunc {
        case .none: return nil
        case .topK(let k): if k > Int(TK_HEAD_MAX_K) || k >= vocab { return nil }
        case .minP: break
        }
        let i = approxRow ?? 0
        var ok = approxRow != nil ? certifiedIntervals(h, row: i, cs) : certifiedIntervals(h, cs)
        if ok {
            switch selectCertified(sampler, trunc, hidden: h, cs, allowed: allowed) {
            case .token(let t): return t
            case .wholeRow: return nil
            case .tooMany: break
            }
        }
        // the 4-bit head could not decide (too many candidates, or not finite): the int8 head decides
        // this row, and the next `cooldown` steps use it directly
        guard cs.approxIs4 else { return nil }
        if ok {
            cs.failed4 += 1
            cs.failed4Candidates += cs.lastCount
        }
        cs.skip4 = CertifiedScratch.cooldown
        // row i's slots only: the batch's other rows keep their 4-bit logits (cs.approxIs4 stays)
        certifiedApprox8(h, rows: 1, from: i, cs)
        ok = certifiedIntervals8(h, row: i, cs)
        guard ok, case .token(let t) = selectCertified(sampler, trunc, hidden: h, cs, allowed: allowed) else { return nil }
        return t
    }

    private enum Selection { case token(Int32), wholeRow, tooMany }

    /// Steps 3 to 5 from the intervals in cs.lo, cs.hi: the token, or nil when the whole row is needed.
    private func selectCertified(_ sampler: Sampler, _ trunc: Sampler.Truncation, hidden h: UnsafeMutablePointer<Float>,
                                 _ cs: CertifiedScratch, allowed: TokenConstraint?) -> Selection {
        let vocab = model.config.vocabSize
        let lo = cs.lo.ptr, hi = cs.hi.ptr
        // 3. rows whose logits the sampler changes first (bias, penalties): exact, then changed, a
        //    point interval
        let nAdj = sampler.loadAdjustedTokens()
        if nAdj > 0 {
            sampler.ids.withUnsafeMutableBufferPointer { ids in
                sampler.vals.withUnsafeMutableBufferPointer { vals in
                    for i in 0..<nAdj { vals[i] = exactRow(Int(ids[i]), h, into: cs.exact.ptr) }
                }
            }
            sampler.adjust(nAdj)
            for i in 0..<nAdj {
                let r = Int(sampler.ids[i]), v = sampler.vals[i]
                guard !v.isNaN else { return .wholeRow }
                lo[r] = v; hi[r] = v
            }
        }
        if let allowed { excludeDisallowed(allowed, lo, hi) }
        // 4. the threshold every token that can survive the truncation reaches, and the candidates
        let threshold: Float
        switch trunc {
        case .topK(let k):
            threshold = kernels.pointee.kth_largest(lo, Int64(vocab), Int64(k), cs.top.ptr)
        case .minP(let p):
            let maxLo = kernels.pointee.kth_largest(lo, Int64(vocab), 1, cs.top.ptr)
            threshold = CertifiedHeadBound.minPThreshold(maxLo: maxLo, minP: p)
        case .none:
            return .wholeRow
        }
        // not finite: fewer allowed tokens than the truncation keeps (the whole row is then needed)
        guard threshold.isFinite else { return .wholeRow }
        let rows = cs.rows.raw.assumingMemoryBound(to: Int32.self)
        let count = Int(kernels.pointee.collect_at_least(hi, Int64(vocab), threshold, rows))
        cs.lastCount = count
        guard count > 0, count <= vocab / 8 else { return .tooMany }   // the whole head is then about as cheap
        // 5. the candidates' exact logits, and the sampler over them
        for i in 0..<count { cs.exact.ptr[i] = exactRow(Int(rows[i]), h, into: lo) }   // lo: no longer needed
        cs.record(count)
        return .token(sampler.sample(ids: UnsafeBufferPointer(start: rows, count: count),
                                     values: UnsafeBufferPointer(start: cs.exact.ptr, count: count)))
    }
}

/// A constraint's excluded tokens get the interval [-inf, -inf]: they reach no finite threshold,
/// so no candidate is one of them.
private func excludeDisallowed(_ c: TokenConstraint, _ lo: UnsafeMutablePointer<Float>,
                               _ hi: UnsafeMutablePointer<Float>) {
    for w in 0..<c.words {
        let bits = c.mask[w]
        if bits == ~0 { continue }
        let end = min(32, c.vocabSize - w * 32)
        for b in 0..<end where bits & (UInt32(1) << UInt32(b)) == 0 {
            lo[w * 32 + b] = -.infinity
            hi[w * 32 + b] = -.infinity
        }
    }
}

/// The constants of the bound that are not per row (docs/formats.md §7).
enum CertifiedHeadBound {
    /// Multiplies |l̂|: the int8 logit's own f32 rounding (int→float, ·scale, ÷s: 3u), the
    /// rounding of l̂ ± e (2u), with room to spare; u = 2^-24.
    static let relative: Float = 8.0 / 16_777_216.0

    /// Tokens that survive min-p have logit ≥ fl(max + ln p) ≥ max + ln p − u·(|max| + |ln p|), and
    /// max ≥ maxLo: anything below maxLo + ln p minus twice that margin cannot survive.
    static func minPThreshold(maxLo: Float, minP: Float) -> Float {
        let lp = logf(minP)
        let margin = 4.0 / 16_777_216.0 * (abs(maxLo) + abs(lp)) + 1e-30
        return maxLo + lp - 2 * margin - 1e-6 * abs(lp)   // logf itself may be off by an ulp or two
    }
}
