import CTrit
import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@_cdecl("trit_chat_format")
public func trit_chat_format(_ model: OpaquePointer?, _ messages: UnsafePointer<trit_chat_message>?, _ nMessages: Int,
                             _ templateName: UnsafePointer<CChar>?, _ addGenerationPrompt: Bool,
                             _ buf: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ nBytes: UnsafeMutablePointer<Int>?) -> trit_status {
    guarded {
        let m = try object(model, ModelBox.self, "model").model
        guard nMessages >= 0, nMessages <= 1 << 20 else { throw TritError(.argument, "n_messages \(nMessages) is out of range") }
        guard messages != nil || nMessages == 0 else { throw TritError(.argument, "messages is NULL") }
        var msgs: [ChatTemplate.Message] = []
        for i in 0..<nMessages {
            let msg = messages![i]
            msgs.append(.init(role: try string(msg.role, "messages[\(i)].role"), content: try string(msg.content, "messages[\(i)].content")))
        }
        let template: ChatTemplate
        if let name = templateName {
            let n = try string(name, "template_name")
            guard let t = ChatTemplate(rawValue: n) else {
                throw TritError(.argument, "unknown chat template \"\(n)\" (bitnet, llama3, chatml or plain)")
            }
            template = t
        } else {
            template = ChatTemplate.detect(for: m)
        }
        try copyOut(Array(template.format(msgs, addGenerationPrompt: addGenerationPrompt).utf8), buf, capacity, nBytes)
    }
}
