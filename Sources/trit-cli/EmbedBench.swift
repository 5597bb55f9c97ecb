import Trit

/// `trit bench --embed`: embedding throughput, a batch of texts of a given length embedded in one
/// call (trit_embed's path), in texts/s and tokens/s; next to it, for a model with a head, the
/// prompt rate of the same tokens (each text prefilled, last logits only): embedding a token must
/// not cost more than prefilling it.
enum EmbedBench {
    struct Row { let test: String; let threads: Int; let texts: Int; let tokens: Int; let samples: [Double] }

    static func run(model: Model, path: String, texts: Int, tokens: Int, reps: Int, threads: [Int], batch: Int,
                    kvTypes: (KVCacheType, KVCacheType), json: Bool) throws {
        let vocab = model.config.vocabSize
        var rng = Xoshiro256(seed: 42)
        // random ids below the vocabulary's specials would be as good; any id is a valid token
        let inputs = (0..<texts).map { _ in (0..<tokens).map { _ in Int32(rng.next() % UInt64(vocab)) } }
        let options = EmbeddingOptions(pooling: model.defaultPooling)
        var rows: [Row] = []
        for t in threads {
            let state = try InferenceState(model: model, nCtx: tokens + 8, nThreads: t, maxBatch: batch,
                                           kvType: kvTypes.0, valueType: kvTypes.1, attentionInt8: attentionInt8)
            let width = try state.embeddingWidth(options)
            var out = [Float](repeating: 0, count: texts * width)
            let buffers = inputs.map { ids -> UnsafeMutableBufferPointer<Int32> in
                let b = UnsafeMutableBufferPointer<Int32>.allocate(capacity: ids.count)
                _ = b.initialize(from: ids)
                return b
            }
            defer { buffers.forEach { $0.deallocate() } }
            let views = buffers.map { UnsafeBufferPointer($0) }
            try state.embed([views[0]], sequence: 0, options: options, into: &out)   // warm-up: every weight page
            var embed: [Double] = [], prefill: [Double] = []
            for rep in 0..<reps {
                if !json { progressLine("bench --embed: \(t) thread(s), run \(rep + 1)/\(reps) ") }
                let t0 = monotonicSeconds()
                try state.embed(views, sequence: 0, options: options, into: &out)
                embed.append(monotonicSeconds() - t0)
                if model.canGenerate {
                    let t1 = monotonicSeconds()
                    for ids in inputs { state.reset(); try state.evaluate(ids) }
                    state.reset()
                    prefill.append(monotonicSeconds() - t1)
                }
            }
            if !json { endProgressLine() }
            rows.append(Row(test: "embed \(texts)x\(tokens)", threads: t, texts: texts, tokens: tokens, samples: embed))
            if !prefill.isEmpty {
                rows.append(Row(test: "prefill \(texts)x\(tokens)", threads: t, texts: texts, tokens: tokens,
                                samples: prefill))
            }
        }
        report(rows, model: model, path: path, batch: batch, kvTypes: kvTypes, pooling: options.pooling, json: json)
    }

    static func report(_ rows: [Row], model: Model, path: String, batch: Int, kvTypes: (KVCacheType, KVCacheType),
                       pooling: Pooling, json: Bool) {
        func rates(_ r: Row) -> (texts: Double, tokens: Double, stdev: Double) {
            let tps = r.samples.map { Double(r.texts * r.tokens) / $0 }
            let m = median(tps)
            return (m / Double(r.tokens), m, stdev(tps))
        }
        if json {
            let items = rows.map { r -> String in
                let (x, tok, sd) = rates(r)
                return "  {\"model\": \"\(jsonEscape(path))\", \"file_type\": \"\(jsonEscape(model.fileType))\", "
                    + "\"test\": \"\(r.test)\", \"threads\": \(r.threads), \"texts\": \(r.texts), "
                    + "\"tokens_per_text\": \(r.tokens), \"batch\": \(batch), \"texts_per_second\": \(fmt(x, 3)), "
                    + "\"tokens_per_second\": \(fmt(tok, 3)), \"stdev\": \(fmt(sd, 3)), "
                    + "\"seconds\": [\(r.samples.map { fmt($0, 4) }.joined(separator: ", "))], "
                    + "\"kernel\": \"\(BenchCommand.kernelName())\", \"type_k\": \"\(kvTypes.0.name)\", "
                    + "\"type_v\": \"\(kvTypes.1.name)\"}"
            }
            print("[\n" + items.joined(separator: ",\n") + "\n]")
            return
        }
        print("model: \(path) (\(model.config.architecture), \(model.fileType), "
              + "\(fmtCount(model.parameterCount)) params)")
        print("pooling \(pooling), KV cache keys \(kvTypes.0.name), values \(kvTypes.1.name), "
              + "\(batch) rows per forward pass, kernels \(BenchCommand.kernelName()), "
              + "\(rows.first?.samples.count ?? 0) runs per test (median ± stdev)")
        print("| test | threads | texts/s | tokens/s | ± |")
        print("|---|---|---|---|---|")
        for r in rows {
            let (x, tok, sd) = rates(r)
            print("| \(r.test) | \(r.threads) | \(fmt(x, 2)) | \(fmt(tok, 1)) | \(fmt(sd, 1)) |")
        }
    }
}
