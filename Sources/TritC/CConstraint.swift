import CTrit
import Trit

// trit.h's token constraint (trit_mask_fn, trit_token_fn) as a Trit.TokenConstraint.

/// The constraint of a generation or request, or nil when `mask` is NULL. A callback's nonzero
/// return becomes a TRIT_ERR_CANCELLED error naming it.
func tokenConstraint(_ mask: trit_mask_fn?, _ accept: trit_token_fn?, _ user: UnsafeMutableRawPointer?,
                     vocabSize: Int) throws -> TokenConstraint? {
    guard let mask else {
        guard accept == nil else { throw TritError(.argument, "constraint_accept is set but constraint_mask is NULL") }
        return nil
    }
    return try TokenConstraint(vocabSize: vocabSize, fillMask: { words in
        let rc = mask(words.baseAddress, words.count, user)
        if rc != 0 { throw TritError(.cancelled, "the constraint's mask callback returned \(rc)") }
    }, tokenChosen: { token in
        guard let accept else { return }
        let rc = accept(token, user)
        if rc != 0 { throw TritError(.cancelled, "the constraint's accept callback returned \(rc) for token \(token)") }
    })
}
