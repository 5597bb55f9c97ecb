/// A tensor as a file stores it, before conversion to a runtime layout: the bytes (inside a
/// mapped file) and what they mean. `shape` is in GGUF order (innermost first: [in, out]).
struct RawTensor {
    enum Encoding: Equatable {
        case ggml(GGMLType)
        case safetensors(String)   // dtype name
    }
    let name: String
    let origin: String             // file path, for messages
    let shape: [Int]
    let encoding: Encoding
    let bytes: UnsafeRawBufferPointer
    let file: MappedFile

    var elementCount: Int { shape.reduce(1, *) }
    var cols: Int { shape.first ?? 0 }
    var rows: Int { shape.dropFirst().reduce(1, *) }

    var typeName: String {
        switch encoding {
        case .ggml(let t): return t.description
        case .safetensors(let d): return d
        }
    }

    /// Which float encoding this is, if it is one.
    var floatKind: FloatKind? {
        switch encoding {
        case .ggml(.f32), .safetensors("F32"): return .f32
        case .ggml(.f16), .safetensors("F16"): return .f16
        case .ggml(.bf16), .safetensors("BF16"): return .bf16
        default: return nil
        }
    }
    enum FloatKind { case f32, f16, bf16 }

    func fail(_ m: String) -> TritError {
        TritError.format("\(origin): tensor \(name): \(m)")
    }

    func requireShape(_ expected: [Int]) throws {
        // Trailing 1s are equivalent (GGUF may store a vector as [n] or [n, 1]).
        var a = shape, b = expected
        while a.count > 1, a.last == 1 { a.removeLast() }
        while b.count > 1, b.last == 1 { b.removeLast() }
        guard a == b else {
            throw fail("shape \(shape) contradicts the metadata, expected \(expected) (innermost first)")
        }
    }
}
