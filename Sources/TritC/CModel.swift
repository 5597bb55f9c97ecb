import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("trit_model_load")
public func trit_model_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<trit_model_params>?,
                            _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        let p = try string(path, "path")
        let prm = try readParams(params, defaults: trit_model_default_params(), "params")
        var options = Model.LoadOptions()
        switch prm.head {
        case Int32(TRIT_HEAD_EXACT.rawValue): options.head = prm.int8_head ? .int8 : .exact
        case Int32(TRIT_HEAD_INT8.rawValue): options.head = .int8
        case Int32(TRIT_HEAD_CERTIFIED.rawValue): options.head = .certified
        case Int32(TRIT_HEAD_CERTIFIED4.rawValue): options.head = .certified4
        default: throw TritError(.argument, "params.head is \(prm.head), not a trit_head_mode (0 exact, 1 int8, 2 certified, 3 certified4)")
        }
        options.floatActivations = prm.float_activations
        switch prm.ternary_layout {
        case Int32(TRIT_TERNARY_AUTO.rawValue): options.ternaryLayout = .auto
        case Int32(TRIT_TERNARY_2BIT.rawValue): options.ternaryLayout = .packed2
        case Int32(TRIT_TERNARY_5TRIT.rawValue): options.ternaryLayout = .trit5
        case Int32(TRIT_TERNARY_BOTH.rawValue): options.ternaryLayout = .both
        default: throw TritError(.argument, "params.ternary_layout is \(prm.ternary_layout), not a trit_ternary_layout (0 auto, 1 2-bit, 2 5-trit, 3 both)")
        }
        if let cb = prm.progress {
            let user = prm.progress_user_data
            options.progress = { cb($0, user) }
        }
        let model = try Model.load(path: p, options: options)
        let box = ModelBox(model)
        let h = try makeHandle(box)
        if let t = box.tokenizer {
            do { box.tokenizerHandle = try makeHandle(t) } catch { handles.remove(h); throw error }
        }
        out.pointee = h
    }
}

@_cdecl("trit_model_free")
public func trit_model_free(_ model: OpaquePointer?) {
    guard let box = try? object(model, ModelBox.self, "model"), releaseHandle(model, ModelBox.self) else { return }
    if let t = box.tokenizerHandle { handles.remove(t) }
}

func fill<T>(_ field: inout T, _ s: String) {
    withUnsafeMutableBytes(of: &field) { dst in
        let b = Array(s.utf8.prefix(dst.count - 1))
        for (i, c) in b.enumerated() { dst[i] = c }
        dst[b.count] = 0
    }
}

@_cdecl("trit_model_get_info")
public func trit_model_get_info(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<trit_model_info>?) -> trit_status {
    guarded {
        let m = try object(model, ModelBox.self, "model").model
        guard let out else { throw TritError(.argument, "out is NULL") }
        var info = trit_model_info()
        info.size = UInt32(MemoryLayout<trit_model_info>.size)
        let c = m.config
        fill(&info.architecture, c.architecture)
        fill(&info.file_type, m.fileType)
        info.n_params = Int64(m.parameterCount)
        info.weight_bytes = Int64(m.weightBytes)
        // validated at load: every size fits an int32 (ModelConfig.validate)
        info.n_vocab = Int32(clamping: c.vocabSize)
        info.n_ctx_train = Int32(clamping: c.contextLength)
        info.n_embd = Int32(clamping: c.dim)
        info.n_layer = Int32(clamping: c.nLayers)
        info.n_head = Int32(clamping: c.nHeads)
        info.n_head_kv = Int32(clamping: c.nKVHeads)
        info.n_ff = Int32(clamping: c.ffnDim)
        info.bos = m.tokenizer?.bos ?? -1
        info.eos = m.tokenizer?.eos ?? -1
        info.eot = m.tokenizer?.endOfTurn ?? -1
        try writeOut(info, to: out, "info")
    }
}

@_cdecl("trit_model_get_chat_template")
public func trit_model_get_chat_template(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> trit_status {
    guarded {
        let box = try object(model, ModelBox.self, "model")
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        guard let t = box.chatTemplate else { throw TritError(.state, "the model file has no chat template") }
        out.pointee = UnsafePointer(t)
    }
}

@_cdecl("trit_model_get_tokenizer")
public func trit_model_get_tokenizer(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        let box = try object(model, ModelBox.self, "model")
        guard let out else { throw TritError(.argument, "out is NULL") }
        guard let t = box.tokenizerHandle else { throw TritError(.state, "the model file has no tokenizer") }
        out.pointee = t
    }
}
