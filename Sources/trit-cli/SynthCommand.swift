import Trit

/// `trit synth`: write a random-weight model of a preset shape.
enum SynthCommand {
    static let opts: [Opt] = [
        Opt(names: ["--preset"], value: "NAME", help: "shape: " + Synth.presets.map(\.name).joined(separator: ", ") + " (default 2b4t)"),
        Opt(names: ["--type"], value: "TYPE", help: "linear weights: i2_s, tq2_0, tq1_0, f16 (default i2_s)"),
        Opt(names: ["-o", "--output"], value: "PATH", help: "output GGUF (default: synth-PRESET-TYPE.gguf)"),
        Opt(names: ["--seed"], value: "N", help: "random seed (default 1)"),
        helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit synth [options]", """
            Write a GGUF with random ternary weights (uniform over -1, 0, +1) in a preset shape and a valid
            byte-level tokenizer, so speed can be measured without real weights. I2_S files follow
            bitnet.cpp's x86 layout exactly, so bitnet.cpp runs the same file. Shapes:
            """ + Synth.presets.map { "\n  \($0.name): dim \($0.dim), ffn \($0.ffn), \($0.layers) layers, \($0.heads) heads (\($0.kvHeads) kv), vocab \($0.vocab)" }.joined(), opts), terminator: "")
            return
        }
        let name = p.string("--preset") ?? "2b4t"
        guard let shape = Synth.preset(name) else { throw CLIError("unknown preset \(name)") }
        let tname = p.string("--type") ?? "i2_s"
        guard let type = TernaryFileType(rawValue: tname.lowercased()), type != .f32 else { throw CLIError("unknown type \(tname) (i2_s, tq2_0, tq1_0, f16)") }
        let out = p.string("-o") ?? "synth-\(shape.name)-\(type.rawValue).gguf"
        let seed = UInt64(try p.int("--seed", 1))
        let t0 = monotonicSeconds()
        try Synth.write(shape, type: type, to: out, seed: seed) { done, total in
            progressLine("writing \(out): \(done)/\(total) tensors")
        }
        endProgressLine()
        stderrPrint("wrote \(out) in \(fmt(monotonicSeconds() - t0, 1)) s\n")
    }
}
