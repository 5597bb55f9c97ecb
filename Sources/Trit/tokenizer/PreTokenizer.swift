/// Hand-written pre-tokenizers for byte-level BPE: the regexes of docs/formats.md §4.1/§4.3 as scanners
/// over Unicode scalars (no regex engine in the hot path).
public enum PreTokenizer: String, Sendable {
    case llama3     // llama-bpe: LLaMA 3's regex, ignore_merges
    case gpt2       // GPT-2's regex
    case qwen2      // LLaMA 3's regex with single digits (\p{N} instead of \p{N}{1,3})
    case starcoder  // digits split one by one, then GPT-2's regex (starcoder, refact, command-r)
    case none       // SentencePiece: no split

    /// Character classes of one scalar.
    struct Cls: OptionSet { let rawValue: UInt8
        static let letter = Cls(rawValue: 1), number = Cls(rawValue: 2), space = Cls(rawValue: 4), newline = Cls(rawValue: 8)
    }

    static func classify(_ v: UInt32) -> Cls {
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x0A, 0x0D: return [.space, .newline]
            case 0x09, 0x0B, 0x0C, 0x20: return .space
            default: return []
            }
        }
        guard let s = Unicode.Scalar(v) else { return [] }
        let p = s.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return p.isWhitespace ? .space : []
        }
    }

    /// Splits `text` (valid UTF-8) into pieces, calling `emit` with each byte range.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ emit: (Range<Int>) -> Void) {
        if self == .none { if !text.isEmpty { emit(0..<text.count) }; return }
        // Decode scalars once: offsets and classes.
        var offs: [Int] = []
        var cls: [Cls] = []
        var scal: [UInt32] = []
        offs.reserveCapacity(text.count + 1)
        var i = 0
        while i < text.count {
            let (v, len) = decodeScalar(text, i)
            offs.append(i); cls.append(Self.classify(v)); scal.append(v)
            i += len
        }
        offs.append(text.count)
        let n = cls.count
        if self == .starcoder {
            // \p{N} first: every digit is a piece; the runs between are split by GPT-2's regex
            var p = 0
            while p < n {
                if cls[p].contains(.number) { emit(offs[p]..<offs[p + 1]); p += 1; continue }
                var q = p
                while q < n, !cls[q].contains(.number) { q += 1 }
                let sub = Array(cls[p..<q]), subS = Array(scal[p..<q])
                var k = 0
                while k < sub.count {
                    let e = matchGPT2(k, sub, subS)
                    emit(offs[p + k]..<offs[p + e])
                    k = e
                }
                p = q
            }
            return
        }
        var p = 0
        while p < n {
            let e = self == .gpt2 ? matchGPT2(p, cls, scal) : matchLlama3(p, cls, scal, maxDigits: self == .qwen2 ? 1 : 3)
            emit(offs[p]..<offs[e])
            p = e
        }
    }

    private func contraction(_ p: Int, _ s: [UInt32], caseInsensitive: Bool) -> Int? {
        guard s[p] == 0x27, p + 1 < s.count else { return nil }   // '
        func lower(_ v: UInt32) -> UInt32 { caseInsensitive && (0x41...0x5A).contains(v) ? v + 32 : v }
        let a = lower(s[p + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return p + 2 }            // s t m d
        if p + 2 < s.count {
            let b = lower(s[p + 2])
            if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return p + 3 }  // re ve ll
        }
        return nil
    }

    /// Shared tail of both regexes: `\s+(?!\S)|\s+` (and llama3's `\s*[\r\n]+` before it).
    private func whitespace(_ p: Int, _ c: [Cls], newlineRule: Bool) -> Int {
        var j = p
        while j < c.count, c[j].contains(.space) { j += 1 }
        if newlineRule {
            var lastNL = -1
            for k in p..<j where c[k].contains(.newline) { lastNL = k }
            if lastNL >= 0 { return lastNL + 1 }
        }
        if j == c.count || j - p == 1 { return j }
        return j - 1   // leave one space to prefix the next word
    }

    private func matchLlama3(_ p: Int, _ c: [Cls], _ s: [UInt32], maxDigits: Int) -> Int {
        let n = c.count
        if let e = contraction(p, s, caseInsensitive: true) { return e }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var q = p
        if !c[q].contains(.letter), !c[q].contains(.newline), !c[q].contains(.number), q + 1 < n, c[q + 1].contains(.letter) { q += 1 }
        if c[q].contains(.letter) {
            while q < n, c[q].contains(.letter) { q += 1 }
            return q
        }
        // \p{N}{1,3} (qwen2: \p{N})
        if c[p].contains(.number) {
            var e = p
            while e < n, e - p < maxDigits, c[e].contains(.number) { e += 1 }
            return e
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        q = p
        if s[q] == 0x20, q + 1 < n, c[q + 1].isEmpty { q += 1 }
        if c[q].isEmpty {
            while q < n, c[q].isEmpty { q += 1 }
            while q < n, c[q].contains(.newline) { q += 1 }
            return q
        }
        return whitespace(p, c, newlineRule: true)
    }

    private func matchGPT2(_ p: Int, _ c: [Cls], _ s: [UInt32]) -> Int {
        let n = c.count
        if let e = contraction(p, s, caseInsensitive: false) { return e }
        var q = p
        if s[q] == 0x20, q + 1 < n, !c[q + 1].contains(.space) { q += 1 }
        for k in [Cls.letter, Cls.number] where c[q].contains(k) {
            while q < n, c[q].contains(k) { q += 1 }
            return q
        }
        if c[q].isEmpty {
            while q < n, c[q].isEmpty { q += 1 }
            return q
        }
        return whitespace(p, c, newlineRule: false)
    }
}

/// Decodes one scalar of valid UTF-8 at i: (value, length). Invalid bytes decode as themselves.
@inline(__always)
func decodeScalar(_ t: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(t[i])
    if b0 < 0x80 { return (b0, 1) }
    if b0 >= 0xF0, i + 3 < t.count {
        return ((b0 & 0x07) << 18 | (UInt32(t[i + 1]) & 0x3F) << 12 | (UInt32(t[i + 2]) & 0x3F) << 6 | (UInt32(t[i + 3]) & 0x3F), 4)
    }
    if b0 >= 0xE0, i + 2 < t.count {
        return ((b0 & 0x0F) << 12 | (UInt32(t[i + 1]) & 0x3F) << 6 | (UInt32(t[i + 2]) & 0x3F), 3)
    }
    if b0 >= 0xC0, i + 1 < t.count { return ((b0 & 0x1F) << 6 | (UInt32(t[i + 1]) & 0x3F), 2) }
    return (b0, 1)
}

/// nil when `bytes` is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF); else the offset of the first bad byte.
public func firstInvalidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var len = 0, lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: len = 2
        case 0xE0: len = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: len = 3
        case 0xED: len = 3; hi = 0x9F
        case 0xF0: len = 4; lo = 0x90
        case 0xF1...0xF3: len = 4
        case 0xF4: len = 4; hi = 0x8F
        default: return i
        }
        if i + len > n { return i }
        if b[i + 1] < lo || b[i + 1] > hi { return i }
        for k in 2..<len where b[i + k] < 0x80 || b[i + k] > 0xBF { return i }
        i += len
    }
    return nil
}
