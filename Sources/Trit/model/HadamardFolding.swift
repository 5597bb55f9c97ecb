/// Hadamard-folded weights (Ternary-Bonsai-2, GGUF `prism.hadamard.*`, ../shared/spec/group-ternary.md §7,
/// from PrismML's PR text; the fork itself was not available to read): a listed weight W_file was stored so
/// that W_file·H·diag(s) is the model's weight, so its input becomes x' = H·(s ⊙ x) before the product; a
/// listed latent embedding table's row z becomes s ⊙ (H·z). H: the normalized Sylvester–Walsh–Hadamard
/// transform on each block of `blockSize` inputs (entries ±1/√B); s: the sign vector of the input's width.
public struct HadamardFolding: Sendable {
    public let blockSize: Int
    /// Sign vectors by input width (explicit mode; none in identity mode: all +1).
    public let signs: [Int: [Float]]
    public let weightNames: Set<String>
    public let inverseWeightNames: Set<String>

    static let prefix = "prism.hadamard."

    /// Reads and checks the keys; nil when the file has none. `width(name)` gives a tensor's input width
    /// (nil: no such tensor).
    static func parse(_ g: GGUFFile, width: (String) -> Int?) throws -> HadamardFolding? {
        guard g.metadataOrder.contains(where: { $0.hasPrefix(prefix) }) else { return nil }
        let path = g.path
        func key(_ k: String) throws -> GGUFValue {
            guard let v = g.metadata[prefix + k] else { throw TritError.format("\(path): metadata \(prefix)\(k) is missing") }
            return v
        }
        func string(_ k: String) throws -> String {
            guard let s = try key(k).string else { throw TritError.format("\(path): metadata \(prefix)\(k) is not a string") }
            return s
        }
        func ints(_ k: String) throws -> [Int] {
            guard case .ints(let a64, _)? = try key(k).array else {
                throw TritError.format("\(path): metadata \(prefix)\(k) is not an integer array")
            }
            return a64.map { Int(clamping: $0) }
        }
        func names(_ k: String) throws -> [String] {
            guard let v = g.metadata[prefix + k] else { return [] }
            guard case .strings(let a)? = v.array else { throw TritError.format("\(path): metadata \(prefix)\(k) is not a string array") }
            return a
        }
        func refuse(_ k: String, _ what: String) -> TritError {
            TritError.unsupported("\(path): metadata \(prefix)\(k) \(what)")
        }
        for k in g.metadataOrder where k.hasPrefix(prefix) {
            let known = ["version", "block_size", "transform", "axis", "sign_mode", "sign_widths", "sign_values",
                         "weight_names", "inverse_weight_names", "gdn_v_grouped"]
            guard known.contains(String(k.dropFirst(prefix.count))) else {
                throw TritError.unsupported("\(path): metadata \(k) is not supported (a key trit does not know)")
            }
        }
        guard let version = try key("version").int, version == 1 else {
            throw refuse("version", "\(g.metadata[prefix + "version"]!.summary) is not supported (trit reads version 1)")
        }
        let transform = try string("transform"), axis = try string("axis"), mode = try string("sign_mode")
        guard transform == "normalized-sylvester-walsh-hadamard" else { throw refuse("transform", "\"\(transform)\" is not supported") }
        guard axis == "input-last-dimension" else { throw refuse("axis", "\"\(axis)\" is not supported") }
        guard mode == "identity" || mode == "explicit" else { throw refuse("sign_mode", "\"\(mode)\" is not supported") }
        if let v = g.metadata[prefix + "gdn_v_grouped"], v.bool != false {
            // its meaning is in PrismML's fork, which could not be read: refused rather than guessed
            throw refuse("gdn_v_grouped", "\(v.summary) is not supported (only false)")
        }
        guard let b = try key("block_size").int, b >= 2, b <= 1 << 16, b & (b - 1) == 0 else {
            throw TritError.format("\(path): metadata \(prefix)block_size \(g.metadata[prefix + "block_size"]!.summary) is not a power of two ≥ 2")
        }
        var signs: [Int: [Float]] = [:]
        if mode == "explicit" {
            let widths = try ints("sign_widths"), values = try ints("sign_values")
            guard widths.allSatisfy({ $0 > 0 }), widths.reduce(0, +) == values.count else {
                throw TritError.format("\(path): metadata \(prefix)sign_values has \(values.count) values; sign_widths \(widths) need \(widths.reduce(0, +))")
            }
            if let bad = values.firstIndex(where: { $0 != 1 && $0 != -1 }) {
                throw TritError.format("\(path): metadata \(prefix)sign_values[\(bad)] is \(values[bad]), not ±1")
            }
            var at = 0
            for w in widths {
                guard signs[w] == nil else { throw TritError.format("\(path): metadata \(prefix)sign_widths lists \(w) twice") }
                signs[w] = values[at..<(at + w)].map { Float($0) }
                at += w
            }
        }
        let listed = try names("weight_names"), inverse = try names("inverse_weight_names")
        for (k, list) in [("weight_names", listed), ("inverse_weight_names", inverse)] {
            for n in list {
                guard let w = width(n) else { throw TritError.format("\(path): metadata \(prefix)\(k) lists \(n), which the file does not hold") }
                guard w % b == 0 else {
                    throw TritError.format("\(path): metadata \(prefix)block_size \(b) does not divide the width \(w) of \(n)")
                }
                guard mode == "identity" || signs[w] != nil else {
                    throw TritError.format("\(path): metadata \(prefix)sign_widths has no sign vector of width \(w) (\(n))")
                }
            }
        }
        return HadamardFolding(blockSize: b, signs: signs, weightNames: Set(listed), inverseWeightNames: Set(inverse))
    }

    /// x ← H·(s ⊙ x) on n rows of `width` (stride `width`).
    func fold(_ x: UnsafeMutablePointer<Float>, width: Int, n: Int) {
        for t in 0..<n {
            let row = x + t * width
            if let s = signs[width] { s.withUnsafeBufferPointer { sp in for i in 0..<width { row[i] *= sp[i] } } }
            transform(row, width)
        }
    }

    /// z ← s ⊙ (H·z): a latent embedding row.
    func unfold(_ z: UnsafeMutablePointer<Float>, width: Int) {
        transform(z, width)
        if let s = signs[width] { s.withUnsafeBufferPointer { sp in for i in 0..<width { z[i] *= sp[i] } } }
    }

    /// The normalized fast Walsh–Hadamard transform of each block (n log n butterflies, then 1/√B).
    private func transform(_ v: UnsafeMutablePointer<Float>, _ width: Int) {
        let b = blockSize, scale = 1 / Float(b).squareRoot()
        for start in stride(from: 0, to: width, by: b) {
            let x = v + start
            var h = 1
            while h < b {
                var i = 0
                while i < b {
                    for j in i..<(i + h) { let a = x[j], c = x[j + h]; x[j] = a + c; x[j + h] = a - c }
                    i += 2 * h
                }
                h *= 2
            }
            for j in 0..<b { x[j] *= scale }
        }
    }
}
