"""Structured output: generations constrained to a JSON schema, a regular expression, a Lark
grammar or a GBNF grammar (llama.cpp's; llguidance converts it to Lark), on llguidance
(``pip install 'trit[structured]'``).

    m = trit.Model()
    text = m.generate("A person: ", json_schema={"type": "object", ...}, max_tokens=200)

libtrit asks the constraint for the allowed tokens before every sampling step (trit.h's
trit_mask_fn); llguidance computes that mask from the grammar and the model's own vocabulary (token
bytes from trit's detokenizer, EOS and end-of-turn from the model file: nothing is downloaded)."""
import json

from ._errors import TritError
from . import _trit

EXTRA = "structured"

# JSON text as json.dumps writes it (", " and ": ", no other whitespace), so a generation cannot
# spend its tokens on blank space; a schema's "x-guidance" options override it.
JSON_LAYOUT = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


def _llguidance():
    try:
        import llguidance
    except ImportError as e:
        raise ImportError("constrained generation (json_schema=, regex=, grammar=, gbnf=) needs llguidance: "
                          f"install the extra, pip install 'trit[{EXTRA}]'") from e
    return llguidance


class Grammar:
    """A constraint's grammar, in llguidance's form: ``Grammar.json_schema(schema)`` (a dict or its
    JSON text), ``Grammar.regex(pattern)``, ``Grammar.lark(text)`` (llguidance's Lark dialect),
    ``Grammar.gbnf(text)`` (llama.cpp's GBNF, converted by llguidance.gbnf_to_lark).
    Invalid input raises ValueError naming the kind (json_schema, regex, grammar or gbnf)."""

    def __init__(self, text, kind):
        self.text, self.kind = text, kind

    @classmethod
    def json_schema(cls, schema):
        llg = _llguidance()
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError as e:
                raise ValueError(f"json_schema is not valid JSON: {e}") from None
        if not isinstance(schema, dict):
            raise ValueError(f"json_schema must be a JSON object (a dict), got {type(schema).__name__}")
        try:
            text = llg.LLMatcher.grammar_from_json_schema(schema, defaults=JSON_LAYOUT)
        except Exception as e:  # llguidance raises ValueError / RuntimeError with its reason
            raise ValueError(f"json_schema is not a schema llguidance accepts: {e}") from None
        return cls._checked(text, "json_schema")

    @classmethod
    def regex(cls, pattern):
        llg = _llguidance()
        if not isinstance(pattern, str):
            raise ValueError(f"regex must be a str, got {type(pattern).__name__}")
        return cls._checked(llg.LLMatcher.grammar_from_regex(pattern), "regex")

    @classmethod
    def lark(cls, text):
        llg = _llguidance()
        if not isinstance(text, str):
            raise ValueError(f"grammar must be a str (a Lark grammar), got {type(text).__name__}")
        return cls._checked(llg.LLMatcher.grammar_from_lark(text), "grammar")

    @classmethod
    def gbnf(cls, text):
        """llama.cpp's GBNF (a ``root`` rule; `#` comments); a text that does not parse as GBNF is a
        ValueError naming gbnf, with the converter's reason."""
        _llguidance()
        from llguidance.gbnf_to_lark import gbnf_to_lark
        if not isinstance(text, str):
            raise ValueError(f"gbnf must be a str (a GBNF grammar), got {type(text).__name__}")
        try:
            lark = gbnf_to_lark(text)
        except Exception as e:   # GbnfToLarkError for syntax, a plain Exception for a missing rule
            raise ValueError(f"gbnf does not parse: {e}") from None
        return cls._checked(_llguidance().LLMatcher.grammar_from_lark(lark), "gbnf")

    @classmethod
    def _checked(cls, text, kind):
        is_error, messages = _llguidance().LLMatcher.validate_grammar_with_warnings(text)
        if is_error:
            raise ValueError(f"{kind} is invalid: {messages[0] if messages else 'llguidance refused it'}")
        return cls(text, kind)

    @classmethod
    def from_options(cls, json_schema=None, regex=None, grammar=None, gbnf=None):
        """The grammar of generate()'s options (at most one of them), or None."""
        given = [(k, v) for k, v in (("json_schema", json_schema), ("regex", regex), ("grammar", grammar),
                                     ("gbnf", gbnf)) if v is not None]
        if len(given) > 1:
            raise ValueError("give at most one of json_schema, regex, grammar and gbnf, got "
                             + ", ".join(k for k, _ in given))
        if not given:
            return None
        kind, value = given[0]
        if isinstance(value, Grammar):
            return value
        return {"json_schema": cls.json_schema, "regex": cls.regex, "grammar": cls.lark, "gbnf": cls.gbnf}[kind](value)


class _Vocabulary:
    """trit's vocabulary in the shape llguidance's TokenizerWrapper reads (tokens as bytes, ids of
    EOS / BOS / specials, and a callable that tokenizes bytes)."""

    def __init__(self, handle, info):
        n = info["n_vocab"]
        n_tok = _trit.n_vocab(handle)
        self.tokens, self.special_token_ids = [], []
        # a token's bytes as they read after other text: a SentencePiece vocabulary drops the leading
        # space of the first token of a text, so each token is decoded after a plain one and that
        # one's text is cut off
        lead = next((t for t in _trit.tokenize(handle, b"a", False, False)), None)
        lead_text = _trit.detokenize(handle, [lead], False) if lead is not None else b""

        def text_of(i, special):
            if not lead_text:
                return _trit.detokenize(handle, [i], special)
            both = _trit.detokenize(handle, [lead, i], special)
            return both[len(lead_text):] if both.startswith(lead_text) else _trit.detokenize(handle, [i], special)

        for i in range(n):
            plain = text_of(i, False) if i < n_tok else b""
            special = text_of(i, True) if i < n_tok else b""
            if not plain:
                # a control token, a token without text or a head row past the tokenizer's vocabulary:
                # special (llguidance marks them with 0xff), so no grammar of text allows it
                self.tokens.append(b"\xff" + (special or b"<[trit-empty-%d]>" % i))
                self.special_token_ids.append(i)
            else:
                self.tokens.append(plain)
        self.eos_token_id = info["eos"] if info["eos"] >= 0 else info["eot"]
        self.bos_token_id = info["bos"] if info["bos"] >= 0 else None
        self._handle = handle
        self._newline = _trit.tokenize(handle, b"\n", False, False)

    def __call__(self, text):
        """Tokens of text in the middle of a text: a SentencePiece vocabulary's tokenizer adds a space
        before a text, so the text is tokenized after a newline and the newline's tokens are cut off."""
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        both = _trit.tokenize(self._handle, b"\n" + data, False, False)
        if both[:len(self._newline)] == self._newline:
            return both[len(self._newline):]
        return _trit.tokenize(self._handle, data, False, False)


def tokenizer_for(model):
    """The llguidance tokenizer of a trit.Model (made once per model: it reads every token)."""
    tok = getattr(model, "_llg_tokenizer", None)
    if tok is None:
        llg = _llguidance()
        info = model.info
        vocab = _Vocabulary(model._live(), info)
        eos = [t for t in (info["eos"], info["eot"]) if t >= 0]
        if not eos:
            raise TritError(_trit.ERR_STATE, "the model has no end-of-generation token; a constraint needs one")
        tok = llg.LLTokenizer(llg.TokenizerWrapper(vocab), n_vocab=info["n_vocab"], eos_token=eos)
        model._llg_tokenizer = tok
    return tok


class Constraint:
    """One generation's matcher: libtrit calls fill_mask before each sampling step and accept with
    the chosen token. ``error`` holds what went wrong when the matcher failed.

    ``jump_forward`` (the default): after each accepted token libtrit asks forced_tokens() for the
    text the grammar forces next (llguidance's fast-forward tokens: the forced bytes in the
    vocabulary's canonical tokenization, as far as no later byte could change it). libtrit appends
    them as a prompt chunk in the next step, so a JSON skeleton costs prefill, not one decode step per
    token; the result's n_forced_tokens / usage["forced_tokens"] count them. Off, the mask forces
    the same text one sampled token at a time (its tokenization may differ: the model may pick a
    non-canonical split)."""

    def __init__(self, model, grammar, jump_forward=True):
        llg = _llguidance()
        self.matcher = llg.LLMatcher(tokenizer_for(model), grammar.text, log_level=0)   # errors: self.error
        self.error = None
        self.jump_forward = bool(jump_forward)   # read by the extension when the generation starts
        if self.matcher.is_error():
            raise ValueError(f"{grammar.kind} is invalid: {self.matcher.get_error()}")

    def fill_mask(self, address, n_bytes):
        self.matcher.unsafe_compute_mask_ptr(address, n_bytes)
        if self.matcher.is_error():
            self.error = self.matcher.get_error()
            raise TritError(_trit.ERR_STATE, f"the constraint failed: {self.error}")

    def accept(self, token):
        if not self.matcher.consume_token(token):
            self.error = self.matcher.get_error()
            raise TritError(_trit.ERR_STATE, f"the constraint refused token {token}: {self.error}")

    def forced_tokens(self, capacity):
        """The tokens the grammar forces now (at most `capacity`), consumed by the matcher: libtrit
        appends them to the sequence without asking for a mask."""
        forced = self.matcher.compute_ff_tokens()[:capacity]
        if forced and not self.matcher.consume_tokens(forced):
            self.error = self.matcher.get_error()
            raise TritError(_trit.ERR_STATE, f"the constraint refused its forced tokens {forced}: {self.error}")
        return forced

    def is_accepting(self):
        """Whether the text so far is complete under the grammar."""
        return self.matcher.is_accepting()
