import TritKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ternary matrix in the runtime packed layout (trit_kernels.h): `rows` outputs of `cols`
/// inputs, each row padded to a multiple of 128 weights, one scale per tensor. Or in 5-trit rows
/// (`isTrit5`, 1.6 bits a weight; TernaryLayout), or a TQ1_0 file's blocks read in place (`isTQ1`,
/// 1.6875 bits a weight), with the packed form kept for prompts in `prefill`.
public final class TernaryMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    public let scale: Float
    let codes: UnsafePointer<UInt8>
    let owner: AnyObject           // MappedFile (in place) or AlignedBuffer (converted)
    /// The codes are 5-trit rows (tk_trit5_gemm_fn), not packed rows.
    public let isTrit5: Bool
    /// The codes are a TQ1_0 tensor's blocks in the file (tk_tq1_gemm_fn; cols a multiple of 256).
    public let isTQ1: Bool
    /// The packed form of the same weights, for products of more than `Trit5.decodeRows` rows (`.both`).
    public let prefill: TernaryMatrix?

    init(rows: Int, cols: Int, rowBytes: Int, scale: Float, codes: UnsafePointer<UInt8>, owner: AnyObject,
         isTrit5: Bool = false, isTQ1: Bool = false, prefill: TernaryMatrix? = nil) {
        self.rows = rows
        self.cols = cols
        self.rowBytes = rowBytes
        self.scale = scale
        self.codes = codes
        self.owner = owner
        self.isTrit5 = isTrit5
        self.isTQ1 = isTQ1
        self.prefill = prefill
    }

    var paddedCols: Int { (cols + TernaryPacking.block - 1) / TernaryPacking.block * TernaryPacking.block }
    /// Bytes held (both forms with `.both`).
    public var byteCount: Int { rows * rowBytes + (prefill?.byteCount ?? 0) }
    /// Bytes one decoded token reads.
    public var decodeByteCount: Int { rows * rowBytes }
    public var isMapped: Bool { owner is MappedFile }

    /// The ternary value at (row, col), for tests and debugging.
    func value(row: Int, col: Int) -> Int8 {
        if isTrit5 {
            let b = col / 160, d = (col % 160) / 32
            let y = UInt8(truncatingIfNeeded: Int(codes[row * rowBytes + b * 32 + col % 32]) * [1, 3, 9, 27, 81][d])
            return Int8((Int(y) * 3) >> 8) - 1
        }
        if isTQ1 {   // trit_kernels.h: qs[0..32) 5 trits, qs[32..48) 5 trits, qh 4 trits
            let j = col % 256, blk = codes + row * rowBytes + col / 256 * 54
            let (byte, d) = j < 160 ? (j % 32, j / 32) : j < 240 ? (32 + (j - 160) % 16, (j - 160) / 16)
                                                                 : (48 + (j - 240) % 4, (j - 240) / 4)
            let y = UInt8(truncatingIfNeeded: Int(blk[byte]) * [1, 3, 9, 27, 81][d])
            return Int8((Int(y) * 3) >> 8) - 1
        }
        let j = col % TernaryPacking.block
        let byte = codes[row * rowBytes + (col / TernaryPacking.block) * 32 + (j & 31)]
        return Int8((byte >> UInt8(6 - 2 * (j >> 5))) & 3) - 1
    }
}

/// A dense matrix (F32/F16/BF16), row-major [rows][cols], in place in the file or owned; or the head / token
/// embedding in ggml's blocks (Q8_0, Q6_K, Q4_0, Q4_K, Q5_K; docs/formats.md §10), read in place.
public final class DenseMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: tk_dtype
    let data: UnsafeRawPointer
    let owner: AnyObject

    init(rows: Int, cols: Int, dtype: tk_dtype, data: UnsafeRawPointer, owner: AnyObject) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.data = data
        self.owner = owner
    }

    public var byteCount: Int { rows * Int(tk_dtype_row_bytes(dtype, Int64(cols))) }
    /// The element or block type (F32, F16, BF16, Q8_0, Q6_K, Q5_K, Q4_K, Q4_0).
    public var typeName: String {
        switch dtype {
        case TK_F32: return "F32"
        case TK_F16: return "F16"
        case TK_BF16: return "BF16"
        case TK_Q8_0: return "Q8_0"
        case TK_Q6_K: return "Q6_K"
        case TK_Q5_K: return "Q5_K"
        case TK_Q4_K: return "Q4_K"
        case TK_Q4_0: return "Q4_0"
        default: return "type \(dtype.rawValue)"
        }
    }
    /// In one of ggml's block types (the block kernels' product, not the dense one).
    var isBlocks: Bool { tk_dtype_is_block(dtype) != 0 }

    /// The product kernel of this matrix's type in the table k.
    func gemm(_ k: UnsafePointer<tk_kernels>) -> tk_dense_gemm_fn {
        isBlocks ? k.pointee.block_gemm : k.pointee.dense_gemm
    }

    /// Rows [r0, r0 + count) as dense data the load-time kernels read (the int8 head's quantizer, the certified
    /// head's bounds): the matrix itself, or for blocks those rows decoded to f32 into `scratch` (count × cols).
    func denseRows(_ r0: Int, _ count: Int, scratch: UnsafeMutablePointer<Float>) -> (UnsafeRawPointer, tk_dtype) {
        guard isBlocks else {
            return (data + r0 * Int(tk_dtype_row_bytes(dtype, Int64(cols))), dtype)
        }
        tk_block_rows_to_f32(data, dtype, Int64(cols), Int64(r0), Int64(r0 + count), scratch)
        return (UnsafeRawPointer(scratch), TK_F32)
    }

    /// Rows a load-time pass over a block matrix decodes at once (the f32 scratch of `denseRows`).
    var decodeChunkRows: Int { isBlocks ? max(1, min(rows, (16 << 20) / max(cols * 4, 1))) : rows }

    /// Row `r` converted to f32 into `out` (the embedding lookup).
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let base = r * cols
        if isBlocks {
            tk_block_rows_to_f32(data, dtype, Int64(cols), Int64(r), Int64(r + 1), out)
            return
        }
        switch dtype {
        case TK_F16:
            let p = data.assumingMemoryBound(to: UInt16.self) + base
            for i in 0..<cols { out[i] = tk_f16_to_f32(p[i]) }
        case TK_BF16:
            let p = data.assumingMemoryBound(to: UInt16.self) + base
            for i in 0..<cols { out[i] = Float(bitPattern: UInt32(p[i]) << 16) }
        default:
            let p = data.assumingMemoryBound(to: Float.self) + base
            out.update(from: p, count: cols)
        }
    }
}

/// One projection: ternary BitLinear, a group-scaled linear (Bonsai, int8 activations), or a dense
/// linear (the FP16 baseline; group-scaled weights with float activations).
public enum Linear: Sendable {
    case ternary(TernaryMatrix)
    case dense(DenseMatrix)
    case grouped(GroupMatrix)

    /// A TQ1_0 tensor read in place (TernaryMatrix.isTQ1).
    var isTQ1: Bool { if case .ternary(let t) = self { return t.isTQ1 } else { return false } }

    public var rows: Int {
        switch self { case .ternary(let t): return t.rows; case .dense(let d): return d.rows; case .grouped(let g): return g.rows }
    }
    public var cols: Int {
        switch self { case .ternary(let t): return t.cols; case .dense(let d): return d.cols; case .grouped(let g): return g.cols }
    }
    public var byteCount: Int {
        switch self { case .ternary(let t): return t.byteCount; case .dense(let d): return d.byteCount; case .grouped(let g): return g.byteCount }
    }
}

/// A group-scaled linear for the int8-activation kernels (docs/formats.md §8.7), in the kernels'
/// 16-row tiles (trit_kernels.h, made at load by tk_group_tile): 2-bit codes, or Q1_0's bits.
public final class GroupMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let group: Int
    public let type: GGMLType       // the file's type
    let oneBit: Bool
    let tiles: AlignedBuffer

    init(rows: Int, cols: Int, group: Int, type: GGMLType, oneBit: Bool, tiles: AlignedBuffer) {
        self.rows = rows; self.cols = cols; self.group = group; self.type = type
        self.oneBit = oneBit; self.tiles = tiles
    }

    public var nGroups: Int { cols / group }
    public var paddedCols: Int { (cols + 127) / 128 * 128 }
    var tileGroupBytes: Int { Int(tk_group_tile_bytes(Int64(group), oneBit ? 1 : 0)) }
    public var byteCount: Int { (rows + 15) / 16 * nGroups * tileGroupBytes }
    var data: UnsafeRawPointer { UnsafeRawPointer(tiles.raw) }

    /// The scale of group g of row r, read from the tiles.
    func scale(row r: Int, group g: Int) -> Float {
        let o = ((r / 16) * nGroups + g) * tileGroupBytes + 2 * (r % 16)
        return tk_f16_to_f32(data.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }

    /// The weight of row r, column k in units of its group's scale (c − 1: −1...+2), read from the tiles.
    func code(row r: Int, col k: Int) -> Int {
        let g = k / group, w = k % group, i = r % 16
        let codes = data + ((r / 16) * nGroups + g) * tileGroupBytes + 32
        if oneBit {
            let byte = codes.load(fromByteOffset: 64 * (w / 32) + 4 * i + w % 4, as: UInt8.self)
            return Int((byte >> UInt8((w % 32) / 4)) & 1) * 2 - 1
        }
        let byte = codes.load(fromByteOffset: 64 * (w / 16) + 4 * i + w % 4, as: UInt8.self)
        return Int((byte >> UInt8(2 * ((w % 16) / 4))) & 3) - 1
    }
}

/// The weights of one layer, as its architecture describes them (Architecture.layerRoles).
/// Shapes in (out × in). A norm the description does not have is an empty array.
public struct LayerWeights: Sendable {
    public var inputNorm: [Float]          // [dim], before the mixer (attn_norm)
    public var mixer: Mixer
    public var postAttentionNorm: [Float] = []   // [dim], on the mixer's output
    public var feedForwardNorm: [Float]    // [dim]
    public var feedForward: FeedForwardWeights
    public var postFeedForwardNorm: [Float] = [] // [dim]

    /// What mixes positions: one case per Architecture.LayerKind the forward pass runs.
    public enum Mixer: Sendable {
        case attention(AttentionWeights)
        case gatedDeltaNet(DeltaNetWeights)
    }

    public var kind: Architecture.LayerKind {
        switch mixer { case .attention: return .attention; case .gatedDeltaNet: return .gatedDeltaNet }
    }

    /// Every linear of the layer with a name for people: the projection's, a DeltaNet linear's own.
    public var namedLinears: [(String, Linear)] {
        switch mixer {
        case .attention: return linears.map { ($0.0.name, $0.1) }
        case .gatedDeltaNet(let d):
            let f = feedForward
            return d.namedLinears + [("gate", f.gate.linear), ("up", f.up.linear), ("down", f.down.linear)]
        }
    }

    /// Every linear of the layer, with its projection (for sizes, statistics and tests).
    public var linears: [(projection: Architecture.Projections, linear: Linear)] {
        var r: [(Architecture.Projections, Linear)] = []
        switch mixer {
        case .attention(let a): r += [(.q, a.q.linear), (.k, a.k.linear), (.v, a.v.linear), (.o, a.o.linear)]
        case .gatedDeltaNet(let d): r += d.linears.map { ([], $0) }   // no Projections bit: counted, never looked up
        }
        let f = feedForward
        return r + [(.gate, f.gate.linear), (.up, f.up.linear), (.down, f.down.linear)]
    }

    /// The linear of projection p (nil when this layer's kind has none).
    public func linear(_ p: Architecture.Projections) -> Linear? { linears.first { $0.projection == p }?.linear }

    /// Every norm gain of the layer (for sizes).
    var norms: [[Float]] {
        var r = [inputNorm, postAttentionNorm, feedForwardNorm, postFeedForwardNorm]
        switch mixer {
        case .attention(let a): r += [a.qNorm, a.kNorm, a.q.inputNorm, a.k.inputNorm, a.v.inputNorm, a.o.inputNorm]
        case .gatedDeltaNet(let d): r += [d.conv, d.aNeg, d.dtBias, d.norm]
        }
        let f = feedForward
        return r + [f.gate.inputNorm, f.up.inputNorm, f.down.inputNorm]
    }
}

/// A linear and the RMSNorm gain applied to its input first, where the architecture puts one
/// (Architecture.Norms.beforeProjection; BitNet's sub-norms); empty otherwise.
public struct Projection: Sendable {
    public var linear: Linear
    public var inputNorm: [Float] = []
    /// Hadamard-folded (Model.hadamard): its input becomes H·(s ⊙ x) before the product.
    public var hadamard = false
}

/// Softmax attention: q, k, v, o and the optional per-head norms of q and k ([headDim] each).
public struct AttentionWeights: Sendable {
    public var q, k, v, o: Projection
    public var qNorm: [Float] = []
    public var kNorm: [Float] = []
}

/// A Gated DeltaNet layer (qwen35): in_proj_qkv → causal depthwise conv + SiLU → q, k (L2-normed), v;
/// β = σ(b·x), g = aNeg·softplus(a·x + dtBias); the gated delta rule on a state per value head;
/// RMSNormGated(o, z = in_proj_z·x) with `norm` (w itself); out_proj.
public struct DeltaNetWeights: Sendable {
    public var qkv, z, out: Projection
    public var b, a: Linear            // [valueHeads][dim], small: float
    public var conv: [Float]           // [convDim][kernel]
    public var aNeg: [Float]           // [valueHeads]: −exp(A_log)
    public var dtBias: [Float]         // [valueHeads]
    public var norm: [Float]           // [valueHeadDim]
    /// in_proj_b / in_proj_a Hadamard-folded (their Projections' flag for the others).
    public var bHadamard = false, aHadamard = false

    public var linears: [Linear] { [qkv.linear, z.linear, b, a, out.linear] }
    /// Each linear with transformers' name (`trit info`).
    public var namedLinears: [(String, Linear)] {
        [("in_proj_qkv", qkv.linear), ("in_proj_z", z.linear), ("in_proj_b", b), ("in_proj_a", a), ("out_proj", out.linear)]
    }
}

/// The gated feed-forward block: down(act(gate·x) ⊙ up·x).
public struct FeedForwardWeights: Sendable {
    public var gate, up, down: Projection
}

/// The optional int8 output head (per-row absmax int8, rows padded with zeros to a multiple of
/// 128): half the bytes of an F16 head, for faster memory-bound decoding (`LoadOptions.int8Head`).
public final class Int8Matrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let paddedCols: Int
    let weights: AlignedBuffer     // int8 [rows][paddedCols]
    let scales: [Float]            // per row: W[r][k] ≈ w[r][k]·scale[r]

    init(quantizing d: DenseMatrix) throws {
        rows = d.rows
        cols = d.cols
        let kp = (d.cols + 127) / 128 * 128
        paddedCols = kp
        let buf = try AlignedBuffer(byteCount: try checkedMul(d.rows, kp, "int8 head"), what: "int8 output head")
        var sc = [Float](repeating: 0, count: d.rows)
        let quantize = try KernelSelection.kernels().pointee.quantize_weight_rows!
        let chunk = d.decodeChunkRows
        let scratch = try FloatArray(count: d.isBlocks ? chunk * d.cols : 1, what: "int8 output head")
        sc.withUnsafeMutableBufferPointer { s in
            for r0 in stride(from: 0, to: d.rows, by: chunk) {
                let n = min(chunk, d.rows - r0)
                let (w, dt) = d.denseRows(r0, n, scratch: scratch.ptr)
                let q = buf.raw.assumingMemoryBound(to: Int8.self) + r0 * kp
                quantize(w, dt, Int64(d.cols), Int64(n), q, Int64(kp), s.baseAddress! + r0)
            }
        }
        weights = buf
        scales = sc
    }

    public var byteCount: Int { rows * paddedCols + rows * 4 }
}

/// The certified head's per-row constants (docs/formats.md §7): the exact logit of row r lies within
/// a[r]·‖h‖₁ + b[r]·ε_a (+ f32 slack) of the int8 one, for any activation row h.
public final class HeadBounds: @unchecked Sendable {
    let a: FloatArray   // max |W − scale·q| + γ_K · max |W|, rounded up
    let b: FloatArray   // scale · ‖q‖₁, rounded up

    init(head d: DenseMatrix, int8 h8: Int8Matrix) throws {
        a = try FloatArray(count: d.rows, what: "certified head bounds")
        b = try FloatArray(count: d.rows, what: "certified head bounds")
        let threads = Defaults.onlineCores
        let pool = threads > 1 ? tk_pool_shared(Int32(threads)) : nil
        defer { if let pool { tk_pool_free(pool) } }
        let fn = try KernelSelection.kernels().pointee.head_row_bounds!
        // a block head: its rows' exact f32 values, decoded a chunk at a time (the values exact mode multiplies)
        let chunk = d.decodeChunkRows
        let scratch = try FloatArray(count: d.isBlocks ? chunk * d.cols : 1, what: "certified head bounds")
        h8.scales.withUnsafeBufferPointer { sc in
            for r0 in stride(from: 0, to: d.rows, by: chunk) {
                let n = min(chunk, d.rows - r0)
                let (w, dt) = d.denseRows(r0, n, scratch: scratch.ptr)
                tk_head_row_bounds_par(pool, fn, w, dt, Int64(d.cols), Int64(n),
                                       h8.weights.raw.assumingMemoryBound(to: Int8.self) + r0 * h8.paddedCols,
                                       Int64(h8.paddedCols), sc.baseAddress! + r0, a.ptr + r0, b.ptr + r0)
            }
        }
    }
}
