"""reasoning_content: a <think> block split from the answer (trit.openai_api.reasoning), the same for
any split of the text into streamed pieces, and through the chat Responder with tool calls after it."""
import pytest

from trit.openai_api.reasoning import ThinkSplitter, split_reasoning
from trit.openai_api.responses import ChatResponder

CASES = [   # (text, opened by the prompt, reasoning, content)
    ("<think>\nPlan: add.\n</think>\n\n4", False, "Plan: add.", "4"),
    ("  <think>a < b </think>ok", False, "a < b", "ok"),
    ("Plan: add.\n</think>\n\nThe answer is 4.", True, "Plan: add.", "The answer is 4."),
    ("\n\n</think>\n\nNo thinking.", True, None, "No thinking."),
    ("just an answer <think> inside", False, None, "just an answer <think> inside"),
    ("<think>never closed, cut by length", False, "never closed, cut by length", ""),
    ("still thinking </thi", True, "still thinking </thi", ""),
    ("<thi", False, None, "<thi"),
    ("", True, None, ""),
]


@pytest.mark.parametrize("text,opened,reasoning,content", CASES)
def test_whole_text(text, opened, reasoning, content):
    assert split_reasoning(text, opened) == (reasoning, content)


@pytest.mark.parametrize("text,opened,reasoning,content", CASES)
def test_any_split_gives_the_same(text, opened, reasoning, content):
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            t = ThinkSplitter(opened)
            events = t.feed(text[:i]) + t.feed(text[i:j]) + t.feed(text[j:]) + t.finish()
            got_r = "".join(x for k, x in events if k == "reasoning") or None
            got_c = "".join(x for k, x in events if k == "content")
            assert (got_r, got_c) == (reasoning, content), (i, j)


class FakeCompletion:
    """What a Responder reads of an engine completion."""
    finish_reason, logprobs, constraint = "stop", [], None
    usage = {"prompt_tokens": 3, "completion_tokens": 9}


def test_the_responder_splits_reasoning_before_the_calls():
    from trit.openai_api.tools import Tools
    tools = Tools({"add": {"name": "add", "parameters": {"type": "object"}}}, "auto", None)
    text = '<think>\nneed a tool\n</think>\n\n<tool_call>\n{"name": "add", "arguments": {"a": 1}}\n</tool_call>'
    r = ChatResponder(None, "id", 0, "m", tools=tools, reasoning=True)
    msg = r.final([text], [FakeCompletion()])["choices"][0]
    assert msg["message"]["reasoning_content"] == "need a tool" and msg["finish_reason"] == "tool_calls"
    assert msg["message"]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 1}'}
    r = ChatResponder(None, "id", 0, "m", tools=tools, reasoning=True)
    deltas = [ch["choices"][0]["delta"] for piece in text for ch in r.piece(0, piece, FakeCompletion())]
    deltas += [ch["choices"][0]["delta"] for ch in r.done(0, FakeCompletion())]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "need a tool"
    calls = [c for d in deltas for c in d.get("tool_calls", [])]
    assert len(calls) == 1 and calls[0]["function"]["name"] == "add"
