/// Progress of a model load, reported to an optional callback in [0, 1]; the callback returns
/// false to cancel the load (TritError .cancelled).
struct LoadProgress {
    let callback: ((Float) -> Bool)?

    func report(_ fraction: Float) throws {
        if let callback, !callback(min(max(fraction, 0), 1)) {
            throw TritError(.cancelled, "loading was cancelled by the progress callback")
        }
    }

    /// Layer l of n loaded: the layers take [0.05, 0.9] of the load.
    func layer(_ l: Int, of n: Int) throws {
        try report(0.05 + 0.85 * Float(l + 1) / Float(max(n, 1)))
    }
}
