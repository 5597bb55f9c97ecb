import TritKernels

/// Writes a loaded model as GGUF in the 2B4T/bitnet/llama tensor naming (docs/formats.md §1.6), with the
/// linears in the chosen type. Ternary models export exactly (the same T and β); a model with
/// dense linears (the FP twin) exports its float weights and marks them `trit.dense_linears`.
public enum ModelExport {
    /// The file is written next to `path` under a temporary name and renamed over it at the end,
    /// so converting a file onto itself (also through a symlink) never truncates the input.
    public static func write(_ m: Model, to path: String, linears type: TernaryFileType, name: String? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        let c = m.config
        let w = GGUFWriter()
        let arch = c.architecture == "bitnet-25" ? "bitnet-b1.58" : c.architecture
        w.setHParams(c, arch: arch, name: name ?? (m.name.isEmpty ? "trit-export" : m.name), fileType: type.fileType)
        let anyDense = m.layers.contains { if case .dense = $0.wq { return true }; return false }
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
        try dense("token_embd.weight", m.tokenEmbedding, as: .f16)
        if let f = m.ropeFreqFactors { vector("rope_freqs.weight", f) }
        vector("output_norm.weight", m.outputNorm)
        if !c.tiedEmbeddings { try dense("output.weight", m.output, as: .f16) }
        for (i, l) in m.layers.enumerated() {
            let p = "blk.\(i)."
            vector(p + "attn_norm.weight", l.attnNorm)
            try linear(p + "attn_q.weight", l.wq)
            try linear(p + "attn_k.weight", l.wk)
            try linear(p + "attn_v.weight", l.wv)
            try linear(p + "attn_output.weight", l.wo)
            if let s = l.attnSubNorm { vector(p + "attn_sub_norm.weight", s) }
            vector(p + "ffn_norm.weight", l.ffnNorm)
            try linear(p + "ffn_gate.weight", l.gate)
            try linear(p + "ffn_up.weight", l.up)
            try linear(p + "ffn_down.weight", l.down)
            if let s = l.ffnSubNorm { vector(p + "ffn_sub_norm.weight", s) }
        }
        try w.write(to: path, progress: progress)
    }
}
