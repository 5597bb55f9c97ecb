import TritKernels

/// Writes a loaded model as GGUF in the 2B4T/bitnet/llama tensor naming (docs/formats.md §1.6), with the
/// linears in the chosen type. Ternary models export exactly (the same T and β); a model with
/// dense linears (the FP twin) exports its float weights and marks them `trit.dense_linears`.
public enum ModelExport {
    /// The file is written next to `path` under a temporary name and renamed over it at the end,
    /// so converting a file onto itself (also through a symlink) never truncates the input.
    /// `head`: the type of the token embedding and output head; nil keeps a head in ggml's blocks as it is
    /// (docs/formats.md §10) and writes other heads as F16 (BF16 stays BF16).
    public static func write(_ m: Model, to path: String, linears type: TernaryFileType, name: String? = nil,
                             head: HeadFileType? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let c = m.config
        guard m.hadamard == nil else {
            throw TritError.unsupported("exporting a Hadamard-folded model (prism.hadamard.*) is not implemented")
        }
        guard !c.hasDeltaNet && !c.arch.attention.gatedOutput else {
            throw TritError.unsupported(
                "exporting a \(c.architecture) model (Gated DeltaNet layers, gated attention) is not implemented")
        }
        // Gemma3's attention layout (sliding layers, local RoPE base, bidirectional) is not written
        // yet: refused rather than written as a file that runs every layer global and causal
        guard c.slidingWindow == 0 && c.causal else {
            throw TritError.unsupported("exporting sliding-window or bidirectional attention is not implemented")
        }
        let w = GGUFWriter()
        let arch = c.architecture == "bitnet-25" ? "bitnet-b1.58" : c.arch.ggufName
        w.setHParams(c, arch: arch, name: name ?? (m.name.isEmpty ? "trit-export" : m.name), fileType: type.fileType)
        if let p = m.filePooling {   // llama.cpp's llama_pooling_type ids (FilePooling)
            w.set("\(arch).pooling_type", u32: p == .mean ? 1 : p == .first ? 2 : 3)
        }
        let anyDense = m.layers.contains { $0.linears.contains { if case .dense = $0.linear { return true }; return false } }
        if anyDense && arch != "llama" { w.set("trit.dense_linears", .bool(true)) }
        m.tokenizer?.writeMetadata(to: w)

        /// Dense tensors keep BF16 when the source is BF16 (F16 would round small values), else F16
        /// (or F32 when asked), as llama.cpp's converters store token_embd.
        func dense(_ name: String, _ d: DenseMatrix, as t: TernaryFileType) throws {
            if d.dtype == TK_BF16 && t != .f32 {
                w.addTensor(name, shape: [d.cols, d.rows], typeID: 30, byteSize: d.rows * d.cols * 2) { out in
                    out.copyMemory(from: UnsafeRawBufferPointer(start: d.data, count: d.rows * d.cols * 2))
                }
                return
            }
            let tt: TernaryFileType = (t == .f32) ? .f32 : .f16
            w.addTensor(name, shape: [d.cols, d.rows], typeID: tt.typeID, byteSize: try tt.byteSize(rows: d.rows, cols: d.cols)) { out in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: d.cols)
                defer { row.deallocate() }
                for r in 0..<d.rows {
                    d.row(r, into: row)
                    for k in 0..<d.cols {
                        if tt == .f16 { out.storeBytes(of: tk_f32_to_f16(row[k]).littleEndian, toByteOffset: 2 * (r * d.cols + k), as: UInt16.self) }
                        else { out.storeBytes(of: row[k].bitPattern.littleEndian, toByteOffset: 4 * (r * d.cols + k), as: UInt32.self) }
                    }
                }
            }
        }
        /// The token embedding or the head: blocks copied when the type is the matrix's own, else each row
        /// decoded to f32 and written in the type.
        func headMatrix(_ name: String, _ d: DenseMatrix) throws {
            guard let t = head ?? HeadFileType(d.dtype), t != .f16, t != .f32 else {
                return try dense(name, d, as: head == .f32 ? .f32 : .f16)
            }
            guard t.accepts(cols: d.cols) else {
                throw TritError.unsupported("\(name): rows of \(d.cols) weights cannot be stored as \(t.rawValue) "
                                            + "(block size)")
            }
            let rowBytes = t.rowBytes(cols: d.cols)
            w.addTensor(name, shape: [d.cols, d.rows], typeID: t.typeID, byteSize: d.rows * rowBytes) { out in
                if HeadFileType(d.dtype) == t {
                    out.copyMemory(from: UnsafeRawBufferPointer(start: d.data, count: d.rows * rowBytes))
                    return
                }
                let row = UnsafeMutablePointer<Float>.allocate(capacity: d.cols)
                defer { row.deallocate() }
                for r in 0..<d.rows {
                    d.row(r, into: row)
                    t.encodeRow(row, cols: d.cols, into: out.baseAddress! + r * rowBytes)
                }
            }
        }
        func vector(_ name: String, _ v: [Float]) {
            w.addTensor(name, shape: [v.count], typeID: 0, byteSize: v.count * 4) { out in
                for (i, x) in v.enumerated() { out.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
        }
        // GGUF `llama` files hold Q/K rows permuted for adjacent-pair RoPE (the llama converter's
        // permute): row 2i of a head is NeoX row i, row 2i+1 is NeoX row i + hd/2.
        let permute = arch == "llama" && c.rope == .neox
        func rowMap(_ name: String) -> (Int) -> Int {
            guard permute, name.hasSuffix("attn_q.weight") || name.hasSuffix("attn_k.weight") else { return { $0 } }
            let hd = c.headDim, half = hd / 2
            return { r in let h = r / hd, i = r % hd; return h * hd + (i % 2 == 0 ? i / 2 : half + i / 2) }
        }
        func linear(_ name: String, _ l: Linear) throws {
            let src = rowMap(name)
            switch l {
            case .dense(let d):
                guard !permute || (!name.hasSuffix("attn_q.weight") && !name.hasSuffix("attn_k.weight")) else {
                    throw TritError.unsupported("\(name): exporting a dense llama model from a Hugging Face folder needs a Q/K permutation trit does not implement for dense weights")
                }
                try dense(name, d, as: type == .f32 ? .f32 : .f16)
            case .grouped(let gm):
                throw TritError.unsupported("\(name): trit convert does not write \(gm.type) (group-scaled) tensors")
            case .ternary(let t):
                guard type.accepts(rows: t.rows, cols: t.cols) else {
                    throw TritError.unsupported("\(name): a \(t.rows)x\(t.cols) tensor cannot be stored as \(type.rawValue) (block size)")
                }
                w.addTensor(name, shape: [t.cols, t.rows], typeID: type.typeID, byteSize: try type.byteSize(rows: t.rows, cols: t.cols)) { out in
                    TernaryEncoding.encode(type, rows: t.rows, cols: t.cols, scale: t.scale, source: { r, v in
                        let sr = src(r)
                        for k in 0..<t.cols { v[k] = t.value(row: sr, col: k) }
                    }, into: out)
                }
            }
        }
        // every tensor by the architecture's GGUF name, in its reading order
        let names = c.arch.gguf
        func tensorName(_ role: Architecture.TensorRole, _ l: Int = 0) throws -> String {
            guard let n = names.candidates(role, layer: l).first else {
                throw TritError.unsupported("architecture \(c.architecture) has no GGUF name for \(role)")
            }
            return n
        }
        try headMatrix(try tensorName(.tokenEmbedding), m.tokenEmbedding)
        if let f = m.ropeFreqFactors { vector(try tensorName(.ropeFrequencies), f) }
        vector(try tensorName(.outputNorm), m.outputNorm)
        if !c.tiedEmbeddings { try headMatrix(try tensorName(.output), m.output) }
        for (i, l) in m.layers.enumerated() {
            guard case .attention(let a) = l.mixer else { continue }
            for role in c.arch.layerRoles(l.kind) {
                let n = try tensorName(role, i)
                switch role {
                case .inputNorm: vector(n, l.inputNorm)
                case .feedForwardNorm: vector(n, l.feedForwardNorm)
                case .postAttentionNorm: vector(n, l.postAttentionNorm)
                case .postFeedForwardNorm: vector(n, l.postFeedForwardNorm)
                case .qNorm: vector(n, a.qNorm)
                case .kNorm: vector(n, a.kNorm)
                case .linear(let p): try linear(n, projection(p, a, l.feedForward).linear)
                case .normBefore(let p): vector(n, projection(p, a, l.feedForward).inputNorm)
                case .tokenEmbedding, .output, .outputNorm, .ropeFrequencies, .deltaNet: break
                }
            }
        }
        try w.write(to: path, progress: progress)
    }

    private static func projection(_ p: Architecture.Projections, _ a: AttentionWeights, _ f: FeedForwardWeights) -> Projection {
        switch p {
        case .q: return a.q
        case .k: return a.k
        case .v: return a.v
        case .o: return a.o
        case .gate: return f.gate
        case .up: return f.up
        default: return f.down
        }
    }
}
