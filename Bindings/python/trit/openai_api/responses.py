"""OpenAI's response shapes, built from engine completions (trit.engine.Completion or AsyncCompletion),
shared by the server and Model.create_chat_completion / create_completion. A Responder turns a request's
events into chunks — start(), piece(i, text, c), done(i, c), end(cs) — or whole answers: final(texts, cs).
Choice i is the request's i-th sequence (n > 1)."""
from .errors import ApiError
from .reasoning import ThinkSplitter, split_reasoning
from .tools import CallParser, split_calls


def finish_reason(c):
    """OpenAI's finish reason; a failed constraint (llguidance's error) is a 500 with its reason."""
    if c.finish_reason == "constraint_error":
        why = c.constraint.error if c.constraint is not None else None
        raise ApiError(500, f"the response_format constraint failed: {why or 'unknown error'}", type_="server_error",
                       code="constraint_error")
    return {"length": "length", "context": "length"}.get(c.finish_reason, "stop")


def usage(cs):
    """Usage over the choices: the prompt once (as OpenAI counts it), the completions summed."""
    us = [c.usage or {"prompt_tokens": 0, "completion_tokens": 0} for c in cs]
    prompt, completion = (us[0]["prompt_tokens"] if us else 0), sum(u["completion_tokens"] for u in us)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class _Responder:
    object_chunk = object_final = None

    def __init__(self, model, rid, created, alias, n, include_usage):
        self.model, self.rid, self.created, self.alias = model, rid, created, alias
        self.n, self.include_usage = n, include_usage
        self.lp_sent = [0] * n    # logprobs entries already sent, per choice

    def _head(self, obj):
        return {"id": self.rid, "object": obj, "created": self.created, "model": self.alias}

    def _new_logprobs(self, i, c):
        """The (token, logprob, top) entries of choice i not yet sent (a streamed chunk takes them all)."""
        new = c.logprobs[self.lp_sent[i]:]
        self.lp_sent[i] += len(new)
        return new

    def piece_text(self, t):
        return self.model.detokenize([t])

    def end(self, cs):
        if not self.include_usage:
            return []
        return [dict(self._head(self.object_chunk), choices=[], usage=usage(cs))]


class ChatResponder(_Responder):
    """/v1/chat/completions. `tools`: the request's Tools (calls parsed when rendered); `reasoning`:
    split a <think> block into reasoning_content (`thinking_open`: the prompt opened it)."""
    object_chunk, object_final = "chat.completion.chunk", "chat.completion"

    def __init__(self, model, rid, created, alias, n=1, include_usage=False, logprobs=False, top_logprobs=0,
                 tools=None, reasoning=False, thinking_open=False):
        super().__init__(model, rid, created, alias, n, include_usage)
        self.logprobs, self.top_logprobs = logprobs, top_logprobs
        self.tools, self.reasoning, self.thinking_open = tools, reasoning, thinking_open
        self.parsers = [CallParser(tools.functions, tools.parse_many) if self.calls_parsed else None for _ in range(n)]
        self.thinkers = [ThinkSplitter(thinking_open) if reasoning else None for _ in range(n)]
        self.n_calls = [0] * n

    @property
    def calls_parsed(self):
        return self.tools is not None and self.tools.rendered

    def _entry(self, t, lp):
        p = self.piece_text(t)
        return {"token": p, "logprob": lp, "bytes": list(p.encode("utf-8"))}

    def _logprobs_of(self, entries):
        top = lambda alternatives: [self._entry(j, v) for j, v in alternatives[:self.top_logprobs]]   # noqa: E731
        return {"content": [dict(self._entry(t, lp), top_logprobs=top(alts)) for t, lp, alts in entries]}

    def _chunk(self, i, c, delta, reason=None):
        lps = None
        if self.logprobs and c is not None:
            new = self._new_logprobs(i, c)
            lps = self._logprobs_of(new) if new else None
        return dict(self._head(self.object_chunk),
                    choices=[{"index": i, "delta": delta, "logprobs": lps, "finish_reason": reason}])

    def start(self):
        return [self._chunk(i, None, {"role": "assistant", "content": ""}) for i in range(self.n)]

    def _deltas(self, i, c, text_events):
        """Chunks of ("reasoning" | "content", text) events: content goes through the call parser."""
        out = []
        for kind, x in text_events:
            if kind == "reasoning":
                out.append(self._chunk(i, c, {"reasoning_content": x}))
            elif self.parsers[i] is None:
                out.append(self._chunk(i, c, {"content": x}))
            else:
                out.extend(self._call_deltas(i, c, self.parsers[i].feed(x)))
        return out

    def _call_deltas(self, i, c, events):
        out = []
        for kind, x in events:   # each call in one delta (id, name and the whole arguments)
            if kind == "content":
                out.append(self._chunk(i, c, {"content": x}))
            else:
                out.append(self._chunk(i, c, {"tool_calls": [{"index": self.n_calls[i], **x}]}))
                self.n_calls[i] += 1
        return out

    def piece(self, i, text, c):
        events = self.thinkers[i].feed(text) if self.thinkers[i] is not None else [("content", text)]
        return self._deltas(i, c, events)

    def done(self, i, c):
        out = self._deltas(i, c, self.thinkers[i].finish()) if self.thinkers[i] is not None else []
        if self.parsers[i] is not None:
            out.extend(self._call_deltas(i, c, self.parsers[i].finish()))
        out.append(self._chunk(i, c, {}, self._reason(c, self.n_calls[i] > 0)))
        return out

    @staticmethod
    def _reason(c, has_calls):
        reason = finish_reason(c)
        return "tool_calls" if has_calls and reason == "stop" else reason

    def _choice(self, i, text, c):
        message, calls, reasoning = {"role": "assistant"}, [], None
        if self.reasoning:
            reasoning, text = split_reasoning(text, self.thinking_open)
        message["content"] = text
        if reasoning is not None:
            message["reasoning_content"] = reasoning
        if self.calls_parsed:
            message["content"], calls = split_calls(text, self.tools.functions, self.tools.parse_many)
            if calls:
                message["tool_calls"] = calls
        lps = self._logprobs_of(c.logprobs) if self.logprobs else None
        return {"index": i, "message": message, "logprobs": lps, "finish_reason": self._reason(c, bool(calls))}

    def final(self, texts, cs):
        return dict(self._head(self.object_final), choices=[self._choice(i, t, c) for i, (t, c) in
                                                            enumerate(zip(texts, cs))], usage=usage(cs))


class CompletionResponder(_Responder):
    """/v1/completions: text choices, `echo`'s prefix, OpenAI's legacy logprobs (parallel lists)."""
    object_chunk = object_final = "text_completion"

    def __init__(self, model, rid, created, alias, n=1, include_usage=False, logprobs=0, prefix=""):
        super().__init__(model, rid, created, alias, n, include_usage)
        self.logprobs, self.prefix = logprobs, prefix
        self.offset = [len(prefix)] * n   # text_offset of the next token, per choice

    def _legacy(self, i, entries):
        tokens, offsets = [], []
        for t, _, _ in entries:
            tokens.append(self.piece_text(t))
            offsets.append(self.offset[i])
            self.offset[i] += len(tokens[-1])
        return {"tokens": tokens, "token_logprobs": [lp for _, lp, _ in entries],
                "top_logprobs": [{self.piece_text(j): v for j, v in top} for _, _, top in entries],
                "text_offset": offsets}

    def _chunk(self, i, c, text, reason=None):
        lps = None
        if self.logprobs and c is not None:
            new = self._new_logprobs(i, c)
            lps = self._legacy(i, new) if new else None
        return dict(self._head(self.object_chunk),
                    choices=[{"index": i, "text": text, "logprobs": lps, "finish_reason": reason}])

    def start(self):
        return [self._chunk(i, None, self.prefix) for i in range(self.n)] if self.prefix else []

    def piece(self, i, text, c):
        return [self._chunk(i, c, text)]

    def done(self, i, c):
        return [self._chunk(i, c, "", finish_reason(c))]

    def final(self, texts, cs):
        choices = []
        for i, (t, c) in enumerate(zip(texts, cs)):
            lps = self._legacy(i, c.logprobs) if self.logprobs else None
            choices.append({"index": i, "text": self.prefix + t, "logprobs": lps, "finish_reason": finish_reason(c)})
        return dict(self._head(self.object_final), choices=choices, usage=usage(cs))
