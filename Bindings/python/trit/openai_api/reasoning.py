"""A reasoning model's <think> block, split from its answer as llama-server and vLLM return it: the
text inside <think>…</think> is ``reasoning_content``, what follows is ``content``. Used when the chat
template knows <think> (Qwen3's); the block may be opened by the prompt itself (``opened``). Whitespace
around the reasoning and before the answer is dropped, the same streamed or not."""
OPEN, CLOSE = "<think>", "</think>"


def _tail_prefix(text, word):
    """The length of the longest end of `text` that begins `word` (held back: it may be completed)."""
    return next((n for n in range(min(len(word) - 1, len(text)), 0, -1) if word.startswith(text[-n:])), 0)


class ThinkSplitter:
    """feed(piece) and finish() return events ("reasoning", text) and ("content", text)."""

    def __init__(self, opened=False):
        self.state = "reasoning_start" if opened else "start"
        self.held = ""

    def feed(self, piece):
        self.held += piece
        out = []
        while True:
            s, h = self.state, self.held
            if s == "start":   # before the answer: a <think> may open it
                body = h.lstrip()
                if body.startswith(OPEN):
                    self.state, self.held = "reasoning_start", body[len(OPEN):]
                    continue
                if body and not OPEN.startswith(body):
                    self.state = "content"
                    continue
                return out
            if s == "reasoning_start":
                self.held = h.lstrip()
                if self.held:
                    self.state = "reasoning"
                    continue
                return out
            if s == "reasoning":
                j = h.find(CLOSE)
                if j >= 0:
                    self._emit(out, "reasoning", h[:j].rstrip())
                    self.state, self.held = "after", h[j + len(CLOSE):]
                    continue
                keep = _tail_prefix(h, CLOSE)
                text = h[:len(h) - keep]
                sent = text.rstrip()   # trailing blanks wait: they are dropped when </think> follows
                self._emit(out, "reasoning", sent)
                self.held = h[len(sent):]
                return out
            if s == "after":
                self.held = h.lstrip()
                if self.held:
                    self.state = "content"
                    continue
                return out
            self._emit(out, "content", h)
            self.held = ""
            return out

    def finish(self):
        s, h = self.state, self.held
        self.held = ""
        out = []
        if s in ("start", "content"):
            self._emit(out, "content", h)
        elif s == "reasoning":   # the text ended inside the block: all of it was reasoning
            self._emit(out, "reasoning", h.rstrip())
        return out

    @staticmethod
    def _emit(out, kind, text):
        if text:
            out.append((kind, text))


def split_reasoning(text, opened=False):
    """(reasoning or None, content) of a whole text."""
    t = ThinkSplitter(opened)
    events = t.feed(text) + t.finish()
    reasoning = "".join(x for k, x in events if k == "reasoning")
    return reasoning or None, "".join(x for k, x in events if k == "content")
