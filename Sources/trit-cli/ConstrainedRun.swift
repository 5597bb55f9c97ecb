#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `trit run --json-schema FILE | --grammar FILE | --regex R`. The grammar engine, llguidance, ships as
/// a Python wheel (its Rust core has no C library of its own on PyPI), so such a run is handed, with the
/// same arguments, to the Python package's `trit.cli` (the same libtrit calls: trit_mask_fn and
/// jump-forward), run by $TRIT_PYTHON or else `python3` on PATH.
enum ConstrainedRun {
    static let opts = [
        Opt(names: ["--json-schema"], value: "FILE", help: "the output follows this JSON schema (needs Python's trit[structured]: see below)"),
        Opt(names: ["--grammar"], value: "FILE", help: "the output follows this grammar: llama.cpp's GBNF, or llguidance's Lark if FILE ends in .lark"),
        Opt(names: ["--regex"], value: "R", help: "the whole output matches this regular expression"),
        Opt(names: ["--no-jump-forward"], value: nil, help: "with a grammar: decode the text it forces token by token (default: one prompt chunk)"),
    ]

    static let helpNote = """

        With --json-schema, --grammar or --regex the run is handed to Python (`python3 -m trit.cli run` with the
        same options; $TRIT_PYTHON names another interpreter), which needs `pip install 'trit[structured]'`.
        --prompt-cache is not available there.

        """

    static func requested(_ p: Parsed) -> Bool {
        p.flag("--json-schema") || p.flag("--grammar") || p.flag("--regex")
    }

    // run by the interpreter: a missing package is an error that says what to install
    static let bootstrap = """
        import sys
        try:
            import trit.cli
        except ImportError as e:
            sys.exit("trit run: error: --json-schema, --grammar and --regex need trit's Python package with its "
                     "structured extra (pip install 'trit[structured]') in " + sys.executable +
                     " (or TRIT_PYTHON naming an interpreter that has it): " + str(e))
        trit.cli.main(sys.argv[1:])
        """

    /// Replaces this process with the Python run; returns only by throwing when it cannot start.
    static func handOff(_ args: [String]) throws -> Never {
        let python = getenv("TRIT_PYTHON").map { String(cString: $0) } ?? "python3"
        let argv = [python, "-c", bootstrap, "run"] + args
        fflush(stdout)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cargs.append(nil)
        execvp(python, &cargs)
        let why = String(cString: strerror(errno))
        throw CLIError("cannot run \(python) (\(why)): --json-schema, --grammar and --regex need Python with "
                       + "pip install 'trit[structured]'; set TRIT_PYTHON to its interpreter")
    }
}
