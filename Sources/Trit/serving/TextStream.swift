/// The text of one generation as it becomes final: tokens in, whole UTF-8 characters out, never
/// part of a stop string (the last longest-stop-minus-one bytes are held back until they cannot
/// start one). Used by the plain generation path and by the engine for each request.
struct TextStream {
    var decoder: StreamingDecoder
    let stops: [[UInt8]]
    let holdBack: Int
    private(set) var text: [UInt8] = []
    private(set) var emitted = 0
    /// Bytes the tokens pushed so far decode to, a character still being completed included (a
    /// stop string's cut does not lower it): where each token's text ends.
    private(set) var produced = 0

    /// atStart: the first token starts the text (nothing but control tokens before it).
    init(tokenizer: Tokenizer, stops: [String], atStart: Bool) {
        decoder = StreamingDecoder(tokenizer: tokenizer, atStart: atStart)
        self.stops = stops.filter { !$0.isEmpty }.map { Array($0.utf8) }
        holdBack = (self.stops.map(\.count).max() ?? 1) - 1
    }

    /// Adds a token; true when a stop string appeared (the text then ends before it).
    mutating func push(_ token: Int32) -> Bool {
        text.append(contentsOf: decoder.push(token))
        produced = text.count + decoder.pending.count
        for s in stops {
            if let at = find(s, in: text, from: max(0, emitted - s.count)) {
                text.removeSubrange(at...)
                return true
            }
        }
        return false
    }

    /// Adds what the decoder still holds (an unfinished character at the end becomes U+FFFD).
    mutating func finish() { text.append(contentsOf: decoder.finish()) }

    /// Drops the text not delivered yet (the caller stopped taking it).
    mutating func cut() { text.removeSubrange(emitted...) }

    /// The bytes ready to deliver (all of them when `all`), marked as delivered.
    mutating func take(all: Bool) -> ArraySlice<UInt8> {
        let end = all ? text.count : max(emitted, text.count - holdBack)
        defer { emitted = end }
        return text[emitted..<end]
    }
}
