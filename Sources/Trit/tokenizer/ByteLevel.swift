/// GPT-2's bytes_to_unicode map (docs/formats.md §4.3): printable bytes keep their code point, the 68
/// others map in byte order to U+0100, U+0101, …
enum ByteLevel {
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable { table[b] = UInt32(b) } else { table[b] = next; next += 1 }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { m[s] = UInt8(b) }
        return m
    }()

    /// The byte-level string of raw bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = ""
        for b in bytes { s.unicodeScalars.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return s
    }

    /// The UTF-8 bytes of the byte-level string of raw bytes (no String in between).
    static func encodeBytes<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            let v = byteToScalar[Int(b)]
            if v < 0x80 { out.append(UInt8(v)) } else { out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F))) }
        }
        return out
    }

    /// Raw bytes of a byte-level string; nil if it holds a character outside the map.
    static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        for u in s.unicodeScalars {
            guard let b = scalarToByte[u.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
