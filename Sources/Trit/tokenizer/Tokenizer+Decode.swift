/// Decoding token ids to bytes, and a streaming decoder that never emits a partial UTF-8 sequence.
extension Tokenizer {
    /// The bytes of `ids` concatenated. `renderSpecial` writes control tokens' texts; SPM drops
    /// the space the encoder prefixed when `stripLeadingSpace`. Throws for out-of-range ids.
    public func decode(_ ids: [Int32], renderSpecial: Bool = false, stripLeadingSpace: Bool = true) throws -> [UInt8] {
        var out: [UInt8] = []
        var first = true
        for (i, id) in ids.enumerated() {
            guard id >= 0, Int(id) < pieceBytes.count else {
                throw TritError.argument("token id \(id) at index \(i) is out of range (vocabulary has \(pieceBytes.count) tokens)")
            }
            var piece = pieceBytes[Int(id)]
            if renderSpecial, types[Int(id)] == .control { piece = Array(tokens[Int(id)].utf8) }
            if kind == .spm, addSpacePrefix, stripLeadingSpace, first, piece.first == 0x20 { piece.removeFirst() }
            if types[Int(id)] != .control { first = false }   // only the first text token loses its space
            out.append(contentsOf: piece)
        }
        return out
    }

    /// Decodes to a String, replacing invalid UTF-8 with U+FFFD.
    public func decodeText(_ ids: [Int32]) throws -> String {
        String(decoding: try decode(ids), as: UTF8.self)
    }
}

/// Turns a stream of tokens into text pieces that are always valid UTF-8: bytes of an incomplete
/// character wait for the next token; bytes that cannot form a character become U+FFFD.
public struct StreamingDecoder {
    let tokenizer: Tokenizer
    var pending: [UInt8] = []
    var atStart = true

    public init(tokenizer: Tokenizer, atStart: Bool = true) {
        self.tokenizer = tokenizer
        self.atStart = atStart
    }

    /// Bytes ready to emit after `id` (possibly empty).
    public mutating func push(_ id: Int32) -> [UInt8] {
        guard var piece = tokenizer.bytes(of: id) else { return [] }
        if atStart, tokenizer.kind == .spm, tokenizer.addSpacePrefix, piece.first == 0x20 { piece.removeFirst() }
        if tokenizer.types[Int(id)] != .control { atStart = false }
        pending.append(contentsOf: piece)
        let cut = completePrefixLength(pending)
        var ready = Array(pending[..<cut])
        pending.removeFirst(cut)
        // bytes that can never form a character (a stray continuation byte, an invalid lead)
        // become U+FFFD, so every piece is valid UTF-8
        if ready.withUnsafeBufferPointer({ firstInvalidUTF8($0) }) != nil {
            ready = Array(String(decoding: ready, as: UTF8.self).utf8)
        }
        return ready
    }

    /// What is left at the end of the stream (an incomplete sequence, replaced by U+FFFD).
    public mutating func finish() -> [UInt8] {
        defer { pending.removeAll() }
        return pending.isEmpty ? [] : Array(String(decoding: pending, as: UTF8.self).utf8)
    }
}

/// The length of the longest prefix that does not end inside a UTF-8 sequence that later
/// bytes could still complete.
func completePrefixLength(_ b: [UInt8]) -> Int {
    let n = b.count
    var k = n - 1
    var back = 0
    while k >= 0, back < 4, b[k] & 0xC0 == 0x80 { k -= 1; back += 1 }
    if k < 0 { return n }
    let lead = b[k]
    let need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
    if lead >= 0xF8 || need == 1 { return n }   // ASCII or invalid lead: emit as is
    return n - k < need ? k : n
}
