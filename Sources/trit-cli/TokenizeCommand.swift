import Trit

/// `trit tokenize`: show how a text is tokenized.
enum TokenizeCommand {
    static let opts: [Opt] = [modelOpt, Opt(names: ["-p", "--prompt"], value: "TEXT", help: "text to tokenize"),
                              Opt(names: ["-f", "--file"], value: "PATH", help: "read the text from a file"),
                              Opt(names: ["--ids"], value: nil, help: "print only the ids, as a list"),
                              Opt(names: ["--no-bos"], value: nil, help: "do not add BOS"),
                              Opt(names: ["--special"], value: nil, help: "parse control-token texts"),
                              Opt(names: ["--bench"], value: nil, help: "time encoding the text (median of 5 runs, one thread) and print MB/s"),
                              Opt(names: ["--test-file"], value: "PATH", help: "llama.cpp vocab test input (.inp): print one line of ids per case, no BOS"),
                              helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit tokenize [options] [-p TEXT]", "Print the tokens of a text: id and piece per line, or just the ids with --ids.\nThe model may also be a tokenizer-only GGUF.", opts), terminator: "")
            return
        }
        let path = try modelPath(p)
        let tok = try Tokenizer.load(path: path)
        if let inp = p.string("--test-file") {
            // cases separated by "\n__ggml_vocab_test__\n", tokenized without BOS, as llama.cpp's test-tokenizer-0
            let all = try readTextFile(inp)
            var cases = all.components(separatedBy: "\n__ggml_vocab_test__\n")
            if cases.last == "" { cases.removeLast() }
            for c in cases {
                let ids = tok.encode(c, addSpecial: false, parseSpecial: false)
                print(ids.map { " \($0)" }.joined())
            }
            return
        }
        var text = p.string("-p") ?? p.positional.joined(separator: " ")
        if let f = p.string("-f") { text = try readTextFile(f) }
        if p.flag("--bench") {
            var times: [Double] = []
            var n = 0
            for _ in 0..<5 {
                let t0 = monotonicSeconds()
                n = tok.encode(text, addSpecial: false, parseSpecial: false).count
                times.append(monotonicSeconds() - t0)
            }
            let mb = Double(text.utf8.count) / 1e6
            print("encoded \(fmt(mb, 2)) MB into \(n) tokens: median \(fmt(median(times) * 1000, 1)) ms, \(fmt(mb / median(times), 2)) MB/s")
            return
        }
        let ids = tok.encode(text, addSpecial: !p.flag("--no-bos"), parseSpecial: p.flag("--special"))
        if p.flag("--ids") {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
            return
        }
        for id in ids {
            let piece = String(decoding: (try? tok.decode([id], renderSpecial: true, stripLeadingSpace: false)) ?? [], as: UTF8.self)
            print("\(id) -> '\(piece)'")
        }
    }
}
