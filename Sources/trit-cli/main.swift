import Trit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let commands: [(String, String, ([String]) throws -> Void)] = [
    ("run", "generate text from a prompt (streaming)", RunCommand.run),
    ("chat", "interactive chat", ChatCommand.run),
    ("tokenize", "show the tokens of a text", TokenizeCommand.run),
    ("embed", "print the embeddings of texts", EmbedCommand.run),
    ("info", "describe a model file", InfoCommand.run),
    ("bench", "measure prompt and generation speed", BenchCommand.run),
    ("perplexity", "perplexity of a model on a text", PerplexityCommand.run),
    ("synth", "write a random-weight model of a preset shape", SynthCommand.run),
    ("convert", "convert a model to GGUF (I2_S, TQ2_0, TQ1_0, F16)", ConvertCommand.run),
]

func usage() -> String {
    var s = "trit — run BitNet b1.58 ternary language models on a CPU\n\nusage: trit COMMAND [options]\n\ncommands:\n"
    for (n, h, _) in commands { s += "  " + n + String(repeating: " ", count: max(1, 12 - n.count)) + h + "\n" }
    s += "\n`trit COMMAND --help` explains a command's options. Without -m, the bundled model is used.\n"
    return s
}

var argv = Array(CommandLine.arguments.dropFirst())
if argv.isEmpty || argv[0] == "-h" || argv[0] == "--help" || argv[0] == "help" {
    if argv.count > 1, let c = commands.first(where: { $0.0 == argv[1] }) {
        try? c.2(["--help"])
    } else {
        print(usage(), terminator: "")
    }
    exit(0)
}
if argv[0] == "--version" { print("trit 0.1.0"); exit(0) }
guard let cmd = commands.first(where: { $0.0 == argv[0] }) else {
    stderrPrint("trit: unknown command \"\(argv[0])\"\n\n" + usage())
    exit(2)
}
do {
    try cmd.2(Array(argv.dropFirst()))
} catch {
    let message = (error as? TritError)?.message ?? "\(error)"
    stderrPrint((stderrAtLineStart ? "" : "\n") + "trit \(cmd.0): error: \(message)\n")
    exit(1)
}
