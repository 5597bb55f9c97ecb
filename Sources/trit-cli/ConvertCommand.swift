import Trit

/// `trit convert`: any model trit loads → GGUF with the chosen linear type.
enum ConvertCommand {
    static let opts: [Opt] = [modelOpt,
        Opt(names: ["--type"], value: "TYPE", help: "linear weights: i2_s, tq2_0, tq1_0, f16, f32 (default i2_s)"),
        Opt(names: ["--head-type"], value: "TYPE", help: "token embedding / head: "
                + HeadFileType.names
                + " (default: a head in ggml's blocks kept as it is, others f16)"),
        Opt(names: ["-o", "--output"], value: "PATH", help: "output GGUF file (required)"),
        Opt(names: ["--name"], value: "NAME", help: "general.name of the output (default: the model's)"),
        helpOpt]

    static func run(_ args: [String]) throws {
        let p = try parse(args, opts)
        if p.flag("-h") {
            print(helpText("trit convert -m MODEL -o OUT.gguf [--type TYPE]", """
            Convert a model (GGUF or Hugging Face folder) to GGUF. Ternary linears keep their exact values and
            scale; float master weights are ternarized on load (beta = mean|W|). A model with full-precision
            linears (an FP baseline) is written with F16 linears whatever --type says.
            """, opts), terminator: "")
            return
        }
        guard let out = p.string("-o") else { throw CLIError("-o OUT.gguf is required") }
        let tname = p.string("--type") ?? "i2_s"
        guard let type = TernaryFileType(rawValue: tname.lowercased()) else { throw CLIError("unknown type \(tname)") }
        var head: HeadFileType?
        if let h = p.string("--head-type") {
            guard let t = HeadFileType(rawValue: h.lowercased()) else {
                throw CLIError("unknown head type \(h) (" + HeadFileType.names + ")")
            }
            head = t
        }
        let (m, _) = try loadModel(try modelPath(p))
        try ModelExport.write(m, to: out, linears: type, name: p.string("--name"), head: head) { d, t in
            progressLine("writing \(out): \(d)/\(t) tensors")
        }
        endProgressLine()
        stderrPrint("wrote \(out)\n")
    }
}
