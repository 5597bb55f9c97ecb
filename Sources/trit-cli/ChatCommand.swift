import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit chat`: an interactive chat loop on stdin/stdout.
enum ChatCommand {
    static let opts: [Opt] = [modelOpt, Opt(names: ["--system"], value: "TEXT", help: "system message"),
                              Opt(names: ["--template"], value: "NAME", help: "chat format: bitnet, llama3, chatml or plain (default: from the model)"),
                              threadsOpt, ctxOpt] + kvOpts + samplingOpts + headOpts + [helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        headMode = try readHeadMode(p)
        if p.flag("-h") {
            print(helpText("trit chat [options]", "Chat with a model: type a message and press Enter; an empty line or end of input quits.\nThe conversation stays in the context until it is full.", opts), terminator: "")
            return
        }
        var gp = try generationParams(p)
        _ = try readKVTypes(p)   // checked before the model loads
        let (model, _) = try loadModel(try modelPath(p))
        let template: ChatTemplate
        if let t = p.string("--template") {
            guard let tt = ChatTemplate(rawValue: t) else { throw CLIError("unknown template \(t) (bitnet, llama3, chatml or plain)") }
            template = tt
        } else {
            template = ChatTemplate.detect(for: model)
        }
        if template == .plain { gp.stop += ["\nUser:", "\nSystem:"] }
        let state = try makeState(model, p)
        guard let tok = model.tokenizer else { throw CLIError("the model has no tokenizer") }
        var pendingSystem = p.string("--system")
        stderrPrint("chat format: \(template.rawValue). Empty line to quit; Ctrl-C stops a reply.\n")
        installInterruptHandler()
        while true {
            stderrPrint("> ")
            guard let line = readLine(), !line.isEmpty else { break }
            var msgs: [ChatTemplate.Message] = []
            if let s = pendingSystem { msgs.append(.init(role: "system", content: s)); pendingSystem = nil }
            msgs.append(.init(role: "user", content: line))
            // a new conversation when this turn would not fit (BOS again after the reset)
            if tok.encode(template.format(msgs), addSpecial: false, parseSpecial: true).count + 9 >= state.nCtx - state.nPast {
                if state.nPast > 0 { stderrPrint("[context full: starting a new conversation]\n") }
                state.reset()
            }
            let text = (state.nPast > 0 && template == .plain ? "\n" : "") + template.format(msgs)
            let ids = try state.promptTokens(text, addSpecial: true, parseSpecial: true)
            // Ctrl-C stops the reply and returns to the prompt with the conversation intact
            let res: GenerationResult
            do {
                res = try interruptibly(state) { try state.generate(prompt: ids, params: gp) { piece in writeOut(piece); return true } }
            } catch let e as TritError where e.kind == .cancelled {
                stderrPrint("\n[interrupted while reading the message; it was not added]\n")
                continue
            }
            print("")
            if res.stopReason == .aborted { stderrPrint("[interrupted]\n") }
            // close the assistant turn (generation closes it only when it ended on end-of-turn)
            if template != .plain, res.stopReason != .endOfGeneration, let eot = tok.endOfTurn, state.nPast < state.nCtx {
                try state.evaluate([eot])
            }
        }
    }
}
