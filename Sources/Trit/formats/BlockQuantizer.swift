import TritKernels

/// Writes one block of ggml's Q8_0, Q4_0, Q6_K, Q5_K or Q4_K (docs/formats.md §10.1) from floats: plain
/// round-to-nearest with ggml's block scales (absmax for Q8_0/Q4_0/Q6_K, min and range for Q4_K/Q5_K),
/// without llama.cpp's search for better scales. For `trit synth` / `trit convert --head-type`: the
/// files are valid ggml blocks, the engine reads whatever blocks a file holds.
enum BlockQuantizer {
    /// The block at x (32 or 256 floats) as type t at dst.
    static func quantize(_ x: UnsafePointer<Float>, _ t: tk_dtype, into dst: UnsafeMutablePointer<UInt8>) {
        switch t {
        case TK_Q8_0: q8_0(x, dst)
        case TK_Q4_0: q4_0(x, dst)
        case TK_Q6_K: q6_K(x, dst)
        case TK_Q4_K: kQuant(x, dst, levels: 15, qh: nil)
        case TK_Q5_K: kQuant(x, dst, levels: 31, qh: dst + 16)
        default: preconditionFailure("not a block type")
        }
    }

    /// round(v) clamped to [lo, hi]; NaN gives lo (a code, never a trap).
    @inline(__always)
    static func code(_ v: Float, _ lo: Int, _ hi: Int) -> Int {
        guard !v.isNaN else { return lo }
        return Int(min(max(v.rounded(), Float(lo)), Float(hi)))
    }

    static func storeF16(_ v: Float, _ p: UnsafeMutablePointer<UInt8>) {
        let h = tk_f32_to_f16(v)
        p[0] = UInt8(h & 255)
        p[1] = UInt8(h >> 8)
    }

    static func f16(_ v: Float) -> Float { tk_f16_to_f32(tk_f32_to_f16(v)) }

    /// The value of largest magnitude (its sign kept).
    static func signedMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m: Float = 0
        for i in 0..<n where abs(x[i]) > abs(m) { m = x[i] }
        return m
    }

    /// [f16 d][32 int8]: d = max|x| / 127.
    static func q8_0(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>) {
        let d = f16(abs(signedMax(x, 32)) / 127)
        storeF16(d, dst)
        let id: Float = d > 0 ? 1 / d : 0
        for j in 0..<32 { dst[2 + j] = UInt8(bitPattern: Int8(code(x[j] * id, -127, 127))) }
    }

    /// [f16 d][16 bytes]: d = (signed max) / −8, codes 0...15 (weight = d·(code − 8)).
    static func q4_0(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>) {
        let d = f16(signedMax(x, 32) / -8)
        storeF16(d, dst)
        let id: Float = d != 0 ? 1 / d : 0
        for j in 0..<16 {
            let lo = code(x[j] * id + 8, 0, 15), hi = code(x[j + 16] * id + 8, 0, 15)
            dst[2 + j] = UInt8(lo | hi << 4)
        }
    }

    /// [ql 128][qh 64][16 int8 scales][f16 d]: a scale per 16 weights, codes −32...31.
    static func q6_K(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>) {
        var scales = [Float](repeating: 0, count: 16)
        for s in 0..<16 { scales[s] = signedMax(x + 16 * s, 16) / -32 }
        var maxScale: Float = 0
        for s in scales where abs(s) > abs(maxScale) { maxScale = s }
        let d = f16(maxScale / -128)
        storeF16(d, dst + 208)
        let iscale: Float = d != 0 ? 1 / d : 0
        var codes = [Int](repeating: 32, count: 256)
        for s in 0..<16 {
            let sc = code(scales[s] * iscale, -128, 127)
            dst[192 + s] = UInt8(bitPattern: Int8(sc))
            let dl = d * Float(sc)
            guard dl != 0 else { continue }
            for l in 0..<16 { codes[16 * s + l] = code(x[16 * s + l] / dl, -32, 31) + 32 }
        }
        for a in 0..<2 {
            for l in 0..<32 {
                let c0 = codes[128 * a + l], c1 = codes[128 * a + 32 + l]
                let c2 = codes[128 * a + 64 + l], c3 = codes[128 * a + 96 + l]
                dst[64 * a + l] = UInt8((c0 & 15) | (c2 & 15) << 4)
                dst[64 * a + 32 + l] = UInt8((c1 & 15) | (c3 & 15) << 4)
                dst[128 + 32 * a + l] = UInt8(c0 >> 4 | (c1 >> 4) << 2 | (c2 >> 4) << 4 | (c3 >> 4) << 6)
            }
        }
    }

    /// Q4_K (levels 15) / Q5_K (levels 31, qh: its 32 high-bit bytes): [f16 d][f16 dmin][12 bytes of 6-bit scales
    /// and mins][qh][qs 128]; a sub-block of 32 weights is (d·sc)·code − dmin·m.
    static func kQuant(_ x: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt8>, levels: Int,
                       qh: UnsafeMutablePointer<UInt8>?) {
        var scale = [Float](repeating: 0, count: 8), minv = [Float](repeating: 0, count: 8)
        for s in 0..<8 {
            var lo = x[32 * s], hi = x[32 * s]
            for l in 1..<32 { lo = min(lo, x[32 * s + l]); hi = max(hi, x[32 * s + l]) }
            lo = min(lo, 0)
            scale[s] = (hi - lo) / Float(levels)
            minv[s] = -lo
        }
        let maxScale = scale.max()!, maxMin = minv.max()!
        let d = f16(maxScale / 63), dmin = f16(maxMin / 63)
        storeF16(d, dst)
        storeF16(dmin, dst + 2)
        let sc = (0..<8).map { code(d > 0 ? scale[$0] / d : 0, 0, 63) }
        let m = (0..<8).map { code(dmin > 0 ? minv[$0] / dmin : 0, 0, 63) }
        let packed = dst + 4
        for i in 0..<12 { packed[i] = 0 }
        for s in 0..<8 {
            if s < 4 {
                packed[s] = UInt8(sc[s])
                packed[s + 4] = UInt8(m[s])
            } else {
                packed[s + 4] = UInt8((sc[s] & 15) | (m[s] & 15) << 4)
                packed[s - 4] |= UInt8((sc[s] >> 4) << 6)
                packed[s] |= UInt8((m[s] >> 4) << 6)
            }
        }
        var codes = [Int](repeating: 0, count: 256)
        for s in 0..<8 {
            let dl = d * Float(sc[s]), dm = dmin * Float(m[s])
            guard dl != 0 else { continue }
            for l in 0..<32 { codes[32 * s + l] = code((x[32 * s + l] + dm) / dl, 0, levels) }
        }
        let qs = dst + (qh == nil ? 16 : 48)
        if let qh { for l in 0..<32 { qh[l] = 0 } }
        for c in 0..<4 {
            for l in 0..<32 {
                let a = codes[64 * c + l], b = codes[64 * c + 32 + l]
                qs[32 * c + l] = UInt8((a & 15) | (b & 15) << 4)
                if let qh { qh[l] |= UInt8((a >> 4) << (2 * c) | (b >> 4) << (2 * c + 1)) }
            }
        }
    }
}
