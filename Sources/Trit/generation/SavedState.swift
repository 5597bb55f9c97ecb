#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A context's state as bytes (llama.cpp's session / prompt-cache file): sequence 0's tokens, its
/// memory (SequenceMemory) and its last logits, for a context of the same model and KV types.
/// Little-endian:
///
///     "TRITSTAT" | u32 version (2) | u64 model fingerprint | u32 name length | name bytes
///     | i32 type_k | i32 type_v | u32 n_layer | u32 n_head_kv | u32 head_dim | u32 n_vocab
///     | u32 n_tokens | i32 × n_tokens | u8 has_logits | f32 × n_vocab when has_logits
///     | u32 memory kind (MemoryKind) | u64 memory bytes | the memory's bytes (its `serialize`)
///     | u64 FNV-1a of everything before
///
/// Version 1 (trit 0.1 before the memory interface) has no kind and length: its memory bytes are
/// a KV cache's (per layer and KV head: n_tokens key heads, then n_tokens value heads), and it
/// still loads. Other versions are refused with their number.
///
/// The fingerprint hashes the model's shape, its vocabulary and samples of its weights, so a
/// state from another model is refused by name; every field is checked before anything changes.
public enum SavedState {
    static let magic: [UInt8] = Array("TRITSTAT".utf8)
    static let version: UInt32 = 2

    /// What kind of memory a state holds (the `memory kind` field).
    enum MemoryKind: UInt32 {
        case kvCache = 1
        case recurrent = 2   // Gated DeltaNet conv and delta-rule states (RecurrentState)
        case hybrid = 3      // the KV cache's bytes, then the recurrent state's (HybridMemory)
    }

    static func fnv1a(_ bytes: UnsafeRawBufferPointer, _ h0: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var h = h0
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    /// What a state is tied to: the shape, the linears' kinds, the vocabulary, and up to 64 KiB of
    /// the embedding, the output head and each layer's first projection.
    public static func fingerprint(_ m: Model) -> UInt64 {
        let c = m.config
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { h = fnv1a($0, h) } }
        for v in [c.dim, c.ffnDim, c.nLayers, c.nHeads, c.nKVHeads, c.headDim, c.vocabSize, Int(c.ropeTheta.bitPattern),
                  Int(c.normEps.bitPattern), c.rope == .neox ? 1 : 0] { mix(v) }
        c.architecture.utf8.withContiguousStorageIfAvailable { h = fnv1a(UnsafeRawBufferPointer($0), h) }
        func sample(_ p: UnsafeRawPointer, _ n: Int) { h = fnv1a(UnsafeRawBufferPointer(start: p, count: min(n, 1 << 16)), h) }
        sample(m.tokenEmbedding.data, m.tokenEmbedding.byteCount)
        sample(m.output.data, m.output.byteCount)
        for l in m.layers {
            switch l.linears[0].linear {
            case .ternary(let t):
                mix(1)
                if t.isTrit5 || t.isTQ1 {   // the packed rows' bytes, so a state moves between ternary layouts
                    let packed = t.packedPrefix(1 << 16)
                    packed.withUnsafeBytes { sample($0.baseAddress!, $0.count) }
                } else {
                    sample(UnsafeRawPointer(t.codes), t.decodeByteCount)
                }
            case .dense(let d): mix(2); sample(d.data, d.byteCount)
            case .grouped(let g): mix(3); sample(g.data, g.byteCount)
            }
        }
        if let tok = m.tokenizer {
            mix(tok.tokens.count)
            for t in tok.tokens.prefix(4096) { t.utf8.withContiguousStorageIfAvailable { h = fnv1a(UnsafeRawBufferPointer($0), h) } }
        }
        return h
    }
}

/// Little-endian reader of a state's fields; every read is bounds-checked.
private struct StateReader {
    let b: UnsafeRawBufferPointer
    var at = 0
    mutating func bytes(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= b.count - at else { throw TritError.format("the state is truncated (reading \(what) at byte \(at) of \(b.count))") }
        defer { at += n }
        return UnsafeRawBufferPointer(rebasing: b[at..<(at + n)])
    }
    mutating func u32(_ what: String) throws -> UInt32 {
        let r = try bytes(4, what)
        return UInt32(r[0]) | UInt32(r[1]) << 8 | UInt32(r[2]) << 16 | UInt32(r[3]) << 24
    }
    mutating func u64(_ what: String) throws -> UInt64 {
        UInt64(try u32(what)) | UInt64(try u32(what)) << 32
    }
}

extension InferenceState {
    /// Sequence 0's state (tokens, KV cache, last logits) as bytes; see SavedState.
    public func saveState() -> [UInt8] {
        let c = model.config, n = nPast
        var out: [UInt8] = SavedState.magic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(SavedState.version)
        u64(SavedState.fingerprint(model))
        let name = Array(model.name.utf8.prefix(1024))
        u32(UInt32(name.count)); out += name
        u32(UInt32(bitPattern: keyType.rawValue)); u32(UInt32(bitPattern: valueType.rawValue))
        for v in [c.nLayers, c.nKVHeads, c.headDim, c.vocabSize, n] { u32(UInt32(v)) }
        for t in tokens { u32(UInt32(bitPattern: t)) }
        let logits = lastLogits
        out.append(hasLogits ? 1 : 0)
        if hasLogits { for x in logits { u32(x.bitPattern) } }
        u32(memory.kind.rawValue)
        u64(UInt64(memory.serializedBytes(count: n)))
        memory.serialize(sequence: 0, count: n, into: &out)
        u64(out.withUnsafeBytes { SavedState.fnv1a($0) })
        return out
    }

    /// Replaces sequence 0's state with a saved one. Refused with a clear error, the context
    /// unchanged, when the bytes are truncated or corrupt, come from another model, another KV
    /// type, or hold more positions than the context.
    public func loadState(_ b: UnsafeRawBufferPointer) throws {
        let c = model.config
        var r = StateReader(b: b)
        guard Array(try r.bytes(8, "the header")) == SavedState.magic else { throw TritError.format("not a trit state (bad magic)") }
        let version = try r.u32("the version")
        guard version == 1 || version == SavedState.version else {
            throw TritError.unsupported("state version \(version) is not supported (this trit reads versions 1 and \(SavedState.version))")
        }
        // the checksum first: a cut or altered file says so, whatever field it hit
        guard b.count >= 8 + 4 + 8 else { throw TritError.format("the state is truncated") }
        var tail = StateReader(b: b, at: b.count - 8)
        let sum = try tail.u64("the checksum")
        guard sum == SavedState.fnv1a(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)])) else {
            throw TritError.format("the state is corrupt or truncated (checksum mismatch)")
        }
        let fp = try r.u64("the fingerprint")
        let nameLen = Int(try r.u32("the name length"))
        guard nameLen <= 1024 else { throw TritError.format("the state's model name is \(nameLen) bytes long") }
        let name = String(decoding: try r.bytes(nameLen, "the model name"), as: UTF8.self)
        guard fp == SavedState.fingerprint(model) else {
            throw TritError.argument("the state belongs to another model (\"\(name)\"), not \"\(model.name)\"")
        }
        let kt = Int32(bitPattern: try r.u32("type_k")), vt = Int32(bitPattern: try r.u32("type_v"))
        guard kt == keyType.rawValue, vt == valueType.rawValue else {
            let n = { (t: Int32) in KVCacheType(rawValue: t)?.name ?? "type \(t)" }
            throw TritError.argument("the state's KV cache is \(n(kt))/\(n(vt)); this context's is \(keyType.name)/\(valueType.name)")
        }
        for (v, what) in [(c.nLayers, "n_layer"), (c.nKVHeads, "n_head_kv"), (c.headDim, "head_dim"), (c.vocabSize, "n_vocab")] {
            let got = Int(try r.u32(what))
            guard got == v else { throw TritError.format("the state's \(what) is \(got), the model's \(v)") }
        }
        let n = Int(try r.u32("n_tokens"))
        guard n <= nCtx else { throw TritError(.contextFull, "the state holds \(n) positions; the context has \(nCtx)") }
        let toks = try r.bytes(4 * n, "the tokens")
        var ids = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let v = Int32(bitPattern: UInt32(toks[4 * i]) | UInt32(toks[4 * i + 1]) << 8 | UInt32(toks[4 * i + 2]) << 16 | UInt32(toks[4 * i + 3]) << 24)
            guard v >= 0, Int(v) < c.vocabSize else { throw TritError.format("the state's token \(i) is \(v), out of range") }
            ids[i] = v
        }
        let flag = try r.bytes(1, "the logits flag")[0]
        guard flag <= 1 else { throw TritError.format("the state's logits flag is \(flag)") }
        let logits = flag == 1 ? try r.bytes(4 * c.vocabSize, "the logits") : nil
        if version >= 2 {
            let kind = try r.u32("the memory kind")
            guard kind == memory.kind.rawValue else {
                throw TritError.argument("the state holds memory of kind \(kind); this context's is \(memory.kind.rawValue) (\(memory.kind))")
            }
            let bytes = try r.u64("the memory size")
            guard bytes == UInt64(memory.serializedBytes(count: n)) else {
                throw TritError.format("the state's memory has \(bytes) bytes; \(n) positions need \(memory.serializedBytes(count: n))")
            }
        }
        let memBytes = memory.serializedBytes(count: n)
        guard r.at + memBytes + 8 == b.count else {
            throw TritError.format("the state has \(b.count) bytes; \(n) positions need \(r.at + memBytes + 8)")
        }
        // validated: now the context changes
        memory.deserialize(sequence: 0, count: n, length: nPast, from: try r.bytes(memBytes, "the memory"))
        ids.withUnsafeBufferPointer { seqTokens.update(from: $0.baseAddress!, count: n) }
        nPast = n
        headPending = false
        if let logits {
            UnsafeMutableRawPointer(logitsBuffer.ptr).copyMemory(from: logits.baseAddress!, byteCount: 4 * c.vocabSize)
            hasLogits = true
        } else {
            hasLogits = false
        }
    }

    /// Writes saveState() to a file (through a temporary file beside it, then renamed).
    public func saveState(path: String) throws {
        let bytes = saveState()
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else { throw TritError(.io, "cannot write \(tmp)") }
        let ok = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) == $0.count }
        guard fclose(f) == 0, ok else { unlink(tmp); throw TritError(.io, "cannot write \(tmp)") }
        guard rename(tmp, path) == 0 else { unlink(tmp); throw TritError(.io, "cannot rename \(tmp) to \(path)") }
    }

    /// Loads a state file (see loadState).
    public func loadState(path: String) throws {
        let f = try MappedFile(path: path)
        do { try loadState(UnsafeRawBufferPointer(start: f.base, count: f.size)) } catch let e as TritError { throw TritError(e.kind, "\(path): \(e.message)") }
    }
}
