import TritKernels

/// The 4-bit certified head (docs/formats.md §7.1): nibbles q + 8 with an f16 scale per 32 columns
/// (4.5 bits a weight), rows padded with zeros to a multiple of 256, and the constants of its bound:
/// the exact logit of row r lies within alpha·err_r + b[r]·ε (+ f32 slack) of the 4-bit one, where
/// err_r = Σ_g c_g‖h_g‖₁ comes with the product (`tk_q4_gemm_fn`).
public final class Q4Head: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let paddedCols: Int
    let nibbles: AlignedBuffer   // uint8 [rows][paddedCols / 2]
    let scales: AlignedBuffer    // f16 [rows][paddedCols / 32]
    let b: FloatArray            // Σ_g c_g‖q_g‖₁, rounded up
    let alpha: Float             // (max |W − c·q|/c + γ·max |W|/c) / (1 − γ), rounded up
    let badRows: [Int32]         // rows with a non-finite weight (or a scale beyond f16): always candidates

    init(head d: DenseMatrix) throws {
        rows = d.rows
        cols = d.cols
        let kp = (d.cols + 255) / 256 * 256
        paddedCols = kp
        nibbles = try AlignedBuffer(byteCount: try checkedMul(d.rows, kp / 2, "4-bit head"), what: "4-bit head",
                                    hugePages: true)
        scales = try AlignedBuffer(byteCount: try checkedMul(d.rows, kp / 16, "4-bit head"), what: "4-bit head")
        let bv = try FloatArray(count: d.rows, what: "4-bit head bounds")
        b = bv
        let t = try FloatArray(count: d.rows, what: "4-bit head bounds")
        var bad = [UInt8](repeating: 0, count: d.rows)
        let threads = Defaults.onlineCores
        let pool = threads > 1 ? tk_pool_shared(Int32(threads)) : nil
        defer { if let pool { tk_pool_free(pool) } }
        // a block head: its rows' exact f32 values, a chunk at a time (the values exact mode multiplies)
        let chunk = d.decodeChunkRows
        let scratch = try FloatArray(count: d.isBlocks ? chunk * d.cols : 1, what: "4-bit head")
        let nib = nibbles.raw.assumingMemoryBound(to: UInt8.self)
        let sc = scales.raw.assumingMemoryBound(to: UInt16.self)
        let bp0 = bv.ptr
        bad.withUnsafeMutableBufferPointer { bp in
            for r0 in stride(from: 0, to: d.rows, by: chunk) {
                let n = min(chunk, d.rows - r0)
                let (w, dt) = d.denseRows(r0, n, scratch: scratch.ptr)
                tk_q4_quantize_par(pool, w, dt, Int64(d.cols), Int64(n), nib + r0 * (kp / 2), sc + r0 * (kp / 32),
                                   Int64(kp), bp0 + r0, t.ptr + r0, bp.baseAddress! + r0)
            }
        }
        var tmax: Float = 0
        for r in 0..<d.rows { tmax = max(tmax, t.ptr[r]) }
        alpha = tk_head4_alpha(tmax, Int64(kp))
        badRows = bad.indices.filter { bad[$0] != 0 }.map { Int32($0) }
    }

    public var byteCount: Int { rows * paddedCols / 2 + rows * paddedCols / 16 }
}
