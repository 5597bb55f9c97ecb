"""Running a Prepared request on a trit.Engine without an event loop (Model.create_chat_completion /
create_completion): the whole answer, or an iterator of chunks. The server's asyncio twin is
trit.server.streaming; both feed the same Responder the same events."""
import queue
import threading

from .errors import ApiError

_DONE = object()


def _submit_all(engine, p, stream):
    cs = []
    try:
        for kw in p.kws:
            cs.append(engine.submit(p.tokens, stream=stream, **kw))
    except BaseException:
        for c in cs:
            c.cancel()
        raise
    return cs


def run(engine, p):
    """The answer (a dict), or with p.stream an iterator of chunk dicts."""
    cs = _submit_all(engine, p, p.stream)
    if not p.stream:
        try:
            texts = [c.text() for c in cs]
        finally:
            for c in cs:   # one choice failed: the others stop too (a no-op on finished ones)
                c.cancel()
        return p.responder.final(texts, cs)
    return _chunks(p.responder, cs)


def _chunks(responder, cs):
    """Chunks in the order the choices' pieces arrive (a thread per choice reads its completion)."""
    q = queue.Queue()

    def pump(i, c):
        try:
            for piece in c:
                q.put((i, piece))
            q.put((i, _DONE))
        except BaseException as e:
            q.put((i, e))

    threads = [threading.Thread(target=pump, args=(i, c), daemon=True) for i, c in enumerate(cs)]
    try:
        yield from responder.start()
        for t in threads:
            t.start()
        left = len(cs)
        while left:
            i, item = q.get()
            if item is _DONE:
                left -= 1
                yield from responder.done(i, cs[i])
            elif isinstance(item, BaseException):
                raise item
            else:
                yield from responder.piece(i, item, cs[i])
        yield from responder.end(cs)
    finally:
        for c in cs:
            if c.finish_reason is None:
                c.cancel()


__all__ = ["run", "ApiError"]
