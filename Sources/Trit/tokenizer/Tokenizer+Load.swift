extension Tokenizer {
    /// Loads only a tokenizer: from a GGUF file (which may hold no tensors) or a Hugging Face
    /// folder (tokenizer.json or tokenizer.model).
    public static func load(path: String) throws -> Tokenizer {
        if isDirectory(path) {
            let cfgPath = path + "/config.json"
            let config = fileExists(cfgPath) ? try JSON.parse(try readWholeFile(cfgPath, limit: 1 << 24), origin: cfgPath) : JSON.object([])
            guard let t = try HFTokenizerLoader.loadIfPresent(folder: path, config: config) else {
                throw TritError.unsupported("\(path): no tokenizer.json or tokenizer.model in this folder")
            }
            return t
        }
        let g = try GGUFFile(path: path)
        guard let t = try GGUFTokenizerLoader.loadIfPresent(g) else {
            throw TritError.unsupported("\(path): the file has no tokenizer (tokenizer.ggml.model is missing)")
        }
        return t
    }
}
