#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a model's tensors by their parts (Architecture.TensorRole) for both loaders: the names
/// come from the architecture's table for the file's format, the loader supplies how a tensor is
/// found and how a linear is converted. It remembers every tensor it read, so a file holding
/// tensors the architecture does not use can be refused by name (`unusedTensors`).
final class WeightReader {
    let arch: Architecture
    let names: Architecture.TensorNames
    let config: ModelConfig
    let origin: String
    /// How this format stores the architecture's own norm gains (GGUF Gemma files hold 1 + w).
    let gain: Architecture.NormGain
    private let has: (String) -> Bool
    private let fetch: (String) throws -> RawTensor
    private let makeLinear: (RawTensor, Int, Int, WeightReader) throws -> Linear
    private(set) var used = Set<String>()
    /// The file stores A_log (HF); GGUF stores −exp(A_log).
    var storesALog = false

    init(config: ModelConfig, names: Architecture.TensorNames, origin: String, gain: Architecture.NormGain = .weight,
         has: @escaping (String) -> Bool, fetch: @escaping (String) throws -> RawTensor,
         linear: @escaping (RawTensor, Int, Int, WeightReader) throws -> Linear) {
        self.arch = config.arch; self.config = config; self.names = names; self.origin = origin; self.gain = gain
        self.has = has; self.fetch = fetch; self.makeLinear = linear
    }

    /// The name the file uses for `role` (the first candidate present), or nil.
    func name(_ role: Architecture.TensorRole, layer: Int = 0) -> String? {
        names.candidates(role, layer: layer).first(where: has)
    }

    /// A tensor by its full name, marked as used (a linear's companions, such as its scale).
    func raw(_ name: String) throws -> RawTensor {
        used.insert(name)
        return try fetch(name)
    }

    /// The tensor of `role`, or the loader's usual "missing" error naming its preferred name.
    func raw(_ role: Architecture.TensorRole, layer: Int = 0) throws -> RawTensor {
        let candidates = names.candidates(role, layer: layer)
        guard let n = candidates.first(where: has) else {
            throw TritError.format("\(origin): tensor \(candidates.first ?? "\(role)") is missing")
        }
        return try raw(n)
    }

    func vector(_ role: Architecture.TensorRole, layer: Int = 0, _ n: Int) throws -> [Float] {
        let t = try raw(role, layer: layer)
        try t.requireShape([n])
        return try TensorConversion.floats(t)
    }

    /// The gain of one of the architecture's own RMSNorms, as the forward pass multiplies it: a
    /// (1 + w) gain has its 1 added here, in f32 as transformers adds it (Gemma3RMSNorm).
    func norm(_ role: Architecture.TensorRole, layer: Int = 0, _ n: Int) throws -> [Float] {
        var g = try vector(role, layer: layer, n)
        if gain == .onePlusWeight { for i in g.indices { g[i] = 1 + g[i] } }
        return g
    }

    /// (rows, cols) of a projection.
    func shape(_ p: Architecture.Projections) -> (Int, Int) {
        let c = config
        switch p {
        case .q: return (arch.attention.gatedOutput ? 2 * c.qDim : c.qDim, c.dim)   // qwen35: query and gate
        case .k, .v: return (c.kvDim, c.dim)
        case .o: return (c.dim, c.qDim)
        case .gate, .up: return (c.ffnDim, c.dim)
        default: return (c.dim, c.ffnDim)   // .down
        }
    }

    func projection(_ p: Architecture.Projections, layer l: Int) throws -> Projection {
        let (rows, cols) = shape(p)
        let linear = try makeLinear(try raw(.linear(p), layer: l), rows, cols, self)
        let norm = arch.norms.beforeProjection.contains(p) ? try vector(.normBefore(p), layer: l, cols) : []
        return Projection(linear: linear, inputNorm: norm)
    }

    /// Layer l as the architecture describes it.
    func layer(_ l: Int) throws -> LayerWeights {
        let c = config, a = arch
        let mixer: LayerWeights.Mixer
        switch c.kind(ofLayer: l) {
        case .attention:
            mixer = .attention(AttentionWeights(
                q: try projection(.q, layer: l), k: try projection(.k, layer: l),
                v: try projection(.v, layer: l), o: try projection(.o, layer: l),
                qNorm: a.norms.qk ? try norm(.qNorm, layer: l, c.headDim) : [],
                kNorm: a.norms.qk ? try norm(.kNorm, layer: l, c.headDim) : []))
        case .gatedDeltaNet:
            mixer = .gatedDeltaNet(try deltaNet(l))
        }
        return LayerWeights(
            inputNorm: try norm(.inputNorm, layer: l, c.dim),
            mixer: mixer,
            postAttentionNorm: a.norms.postAttention ? try norm(.postAttentionNorm, layer: l, c.dim) : [],
            feedForwardNorm: try norm(.feedForwardNorm, layer: l, c.dim),
            feedForward: FeedForwardWeights(gate: try projection(.gate, layer: l), up: try projection(.up, layer: l),
                                            down: try projection(.down, layer: l)),
            postFeedForwardNorm: a.norms.postFeedForward ? try norm(.postFeedForwardNorm, layer: l, c.dim) : [])
    }

    /// A Gated DeltaNet layer: its tensors by their roles, shapes checked.
    func deltaNet(_ l: Int) throws -> DeltaNetWeights {
        guard let s = config.deltaNet else {
            throw TritError.format("\(origin): layer \(l) is a Gated DeltaNet layer but the file gives no Gated DeltaNet shape")
        }
        let dim = config.dim
        func lin(_ t: Architecture.DeltaNetTensor, _ rows: Int, _ cols: Int) throws -> Linear {
            try makeLinear(try raw(.deltaNet(t), layer: l), rows, cols, self)
        }
        let conv = try raw(.deltaNet(.conv), layer: l)
        // HF [convDim, 1, kernel]; GGUF (squeezed) ne [kernel, convDim]
        guard conv.elementCount == s.convDim * s.convKernel, conv.shape.first == s.convKernel else {
            throw TritError.format(
                "\(origin): tensor \(conv.name) has shape \(conv.shape), expected \(s.convDim) channels of \(s.convKernel)")
        }
        var aNeg = try vector(.deltaNet(.aLog), layer: l, s.valueHeads)
        if storesALog { aNeg = aNeg.map { -Float(exp(Double($0))) } }
        return DeltaNetWeights(
            qkv: Projection(linear: try lin(.qkv, s.convDim, dim)), z: Projection(linear: try lin(.z, s.valueDim, dim)),
            out: Projection(linear: try lin(.out, dim, s.valueDim)),
            b: .dense(try TensorConversion.dense(try raw(.deltaNet(.b), layer: l), rows: s.valueHeads, cols: dim)),
            a: .dense(try TensorConversion.dense(try raw(.deltaNet(.a), layer: l), rows: s.valueHeads, cols: dim)),
            conv: try TensorConversion.floats(conv), aNeg: aNeg,
            dtBias: try vector(.deltaNet(.dtBias), layer: l, s.valueHeads),
            norm: try vector(.deltaNet(.norm), layer: l, s.valueHeadDim))
    }

    /// The file's tensors this reader has not read, less `ignore(name)` (a format's buffers) and
    /// the description's ignored prefixes: (refused, ignored-by-description).
    func unusedTensors(of all: [String], ignore: (String) -> Bool = { _ in false }) -> (unknown: [String], known: [String]) {
        var unknown: [String] = [], known: [String] = []
        for n in all where !used.contains(n) && !ignore(n) {
            if arch.ignoredTensorPrefixes.contains(where: { n.hasPrefix($0) }) { known.append(n) } else { unknown.append(n) }
        }
        return (unknown, known)
    }

    /// Refuses a file with tensors the architecture does not use, naming them (llama.cpp refuses
    /// such files too: a model whose extra tensors are ignored computes something else).
    func refuseUnknown(_ unknown: [String]) throws {
        guard !unknown.isEmpty else { return }
        let shown = unknown.prefix(8).joined(separator: ", ")
        let more = unknown.count > 8 ? " and \(unknown.count - 8) more" : ""
        throw TritError.unsupported("\(origin): \(unknown.count) tensor(s) that architecture \(arch.name) does not use: \(shown)\(more); this file needs support trit does not have (for example a norm before each projection, as in BitNet-embedding)")
    }
}
