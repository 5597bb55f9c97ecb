import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("trit_tokenizer_load")
public func trit_tokenizer_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> trit_status {
    guarded {
        guard let out else { throw TritError(.argument, "out is NULL") }
        out.pointee = nil
        let t = try Tokenizer.load(path: try string(path, "path"))
        out.pointee = try makeHandle(TokenizerBox(t, owned: true))
    }
}

@_cdecl("trit_tokenizer_free")
public func trit_tokenizer_free(_ tokenizer: OpaquePointer?) {
    guard let box = try? object(tokenizer, TokenizerBox.self, "tokenizer"), box.owned else { return }
    releaseHandle(tokenizer, TokenizerBox.self)
}

@_cdecl("trit_tokenizer_n_vocab")
public func trit_tokenizer_n_vocab(_ tokenizer: OpaquePointer?) -> Int32 {
    guard let box = try? object(tokenizer, TokenizerBox.self, "tokenizer") else { return -1 }
    return Int32(box.tokenizer.vocabSize)
}

@_cdecl("trit_tokenize")
public func trit_tokenize(_ tokenizer: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ textLen: Int,
                          _ addSpecial: Bool, _ parseSpecial: Bool, _ tokens: UnsafeMutablePointer<Int32>?,
                          _ capacity: Int, _ nTokens: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        let t = try object(tokenizer, TokenizerBox.self, "tokenizer").tokenizer
        guard let nTokens else { throw TritError(.argument, "n_tokens is NULL") }
        guard textLen >= 0, textLen <= Int(Int32.max) else { throw TritError(.argument, "text_len \(textLen) is out of range") }
        guard text != nil || textLen == 0 else { throw TritError(.argument, "text is NULL") }
        let ids: [Int32] = try text.map { p in
            try p.withMemoryRebound(to: UInt8.self, capacity: textLen) {
                try t.encode(bytes: UnsafeBufferPointer(start: $0, count: textLen), addSpecial: addSpecial, parseSpecial: parseSpecial)
            }
        } ?? t.encode("", addSpecial: addSpecial, parseSpecial: parseSpecial)
        nTokens.pointee = ids.count
        guard capacity >= ids.count else {
            throw TritError(.bufferTooSmall, "the token buffer holds \(capacity) tokens; \(ids.count) are needed")
        }
        guard let tokens else {
            if ids.isEmpty { return }
            throw TritError(.argument, "tokens is NULL")
        }
        for (i, id) in ids.enumerated() { tokens[i] = id }
    }
}

@_cdecl("trit_detokenize")
public func trit_detokenize(_ tokenizer: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ nTokens: Int,
                            _ renderSpecial: Bool, _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int,
                            _ nBytes: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        let t = try object(tokenizer, TokenizerBox.self, "tokenizer").tokenizer
        guard nTokens >= 0, nTokens <= Int(Int32.max) else { throw TritError(.argument, "n_tokens \(nTokens) is out of range") }
        guard tokens != nil || nTokens == 0 else { throw TritError(.argument, "tokens is NULL") }
        let ids = nTokens == 0 ? [] : Array(UnsafeBufferPointer(start: tokens, count: nTokens))
        let bytes = try t.decode(ids, renderSpecial: renderSpecial)
        try copyOut(bytes, buf, capacity, nBytes)
    }
}

@_cdecl("trit_token_is_eog")
public func trit_token_is_eog(_ tokenizer: OpaquePointer?, _ id: Int32) -> Bool {
    guard let box = try? object(tokenizer, TokenizerBox.self, "tokenizer") else { return false }
    return box.tokenizer.isEndOfGeneration(id)
}
