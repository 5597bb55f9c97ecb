/// Chat prompt formats, chosen from the architecture and vocabulary (not from the file's
/// Jinja template, which is broken in the published 2B4T GGUF: docs/formats.md §4.1).
public enum ChatTemplate: String, Sendable, CaseIterable {
    case bitnet    // 2B4T: "Role: content<|eot_id|>" … "Assistant: "
    case llama3    // <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
    case plain     // "Role: content\n" … "Assistant:"
    case chatml    // Qwen3: <|im_start|>role\ncontent<|im_end|>\n … "<|im_start|>assistant\n" (<think> passes through)

    public struct Message: Sendable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// The template that fits a model.
    public static func detect(for model: Model) -> ChatTemplate {
        guard let tok = model.tokenizer else { return .plain }
        let hasEOT = tok.id(of: "<|eot_id|>") != nil
        if model.config.arch.chatTemplate == .bitnet, hasEOT { return .bitnet }
        if hasEOT, tok.id(of: "<|start_header_id|>") != nil { return .llama3 }
        if tok.id(of: "<|im_start|>") != nil, tok.id(of: "<|im_end|>") != nil { return .chatml }
        return .plain
    }

    /// The prompt text (without BOS; encode it with addSpecial and parseSpecial on).
    public func format(_ messages: [Message], addGenerationPrompt: Bool = true) -> String {
        var s = ""
        func role(_ r: String) -> String {
            guard let f = r.first else { return r }
            return f.uppercased() + r.dropFirst()
        }
        switch self {
        case .bitnet:
            for m in messages { s += "\(role(m.role)): \(m.content)<|eot_id|>" }
            if addGenerationPrompt { s += "Assistant: " }
        case .llama3:
            for m in messages { s += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            if addGenerationPrompt { s += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatml:
            for m in messages { s += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { s += "<|im_start|>assistant\n" }
        case .plain:
            for m in messages { s += "\(role(m.role)): \(m.content)\n" }
            if addGenerationPrompt { s += "Assistant:" }
        }
        return s
    }
}
