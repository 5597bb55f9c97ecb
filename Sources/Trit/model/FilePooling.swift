/// The pooling an embedding model's file asks for: GGUF `<arch>.pooling_type`
/// (llama.cpp's ids), or a sentence-transformers folder's `modules.json` and its Pooling module's
/// `config.json`. nil: the file says nothing (or "none"), and the documented default applies.
enum FilePooling {
    /// llama.cpp's `llama_pooling_type`: 0 none, 1 mean, 2 cls, 3 last, 4 rank.
    static func gguf(_ g: GGUFFile, arch: String) throws -> Pooling? {
        let key = "\(arch).pooling_type"
        guard let v = g.metadata[key] else { return nil }
        guard let id = v.int else { throw TritError.format("\(g.path): metadata \(key) is not an integer") }
        switch id {
        case 0: return nil
        case 1: return .mean
        case 2: return .first
        case 3: return .last
        case 4:
            throw TritError.unsupported("\(g.path): \(key) 4 (rank: a reranker's classification head) is not supported")
        default:
            throw TritError.format("\(g.path): \(key) \(id) is not a pooling type "
                                   + "(0 none, 1 mean, 2 cls, 3 last, 4 rank)")
        }
    }

    /// The first module of `modules.json` whose type ends in "Pooling", read from its folder's
    /// config.json (`pooling_mode_lasttoken` / `_mean_tokens` / `_cls_token`).
    static func sentenceTransformers(folder: String) throws -> Pooling? {
        let modulesPath = folder + "/modules.json"
        guard fileExists(modulesPath) else { return nil }
        let modules = try JSON.parse(try readWholeFile(modulesPath, limit: 1 << 20), origin: modulesPath)
        guard let list = modules.array else { throw TritError.format("\(modulesPath): not a list of modules") }
        guard let m = list.first(where: { $0["type"]?.string?.hasSuffix("Pooling") == true }) else { return nil }
        guard let sub = m["path"]?.string, !sub.contains("..") else {
            throw TritError.format("\(modulesPath): the Pooling module has no valid path")
        }
        let path = folder + "/" + sub + "/config.json"
        guard fileExists(path) else {
            throw TritError.format("\(modulesPath): the Pooling module's \(path) is missing")
        }
        let c = try JSON.parse(try readWholeFile(path, limit: 1 << 20), origin: path)
        var modes: [Pooling] = []
        if c["pooling_mode_lasttoken"]?.bool == true { modes.append(.last) }
        if c["pooling_mode_mean_tokens"]?.bool == true { modes.append(.mean) }
        if c["pooling_mode_cls_token"]?.bool == true { modes.append(.first) }
        let others = ["pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                      "pooling_mode_weightedmean_tokens"]
        for other in others
        where c[other]?.bool == true {
            throw TritError.unsupported("\(path): \(other) is not supported (last, mean or cls pooling)")
        }
        guard modes.count <= 1 else {
            throw TritError.unsupported("\(path): several pooling modes at once are not supported")
        }
        return modes.first
    }
}
