"""A stand-in for the OpenAI API on 127.0.0.1 that the real `openai` SDK talks to through `base_url`.

It implements the two endpoints LEAP uses, records every request, and can be told to fail: a list of
status codes to answer before succeeding (`script`), or a status for every call from the Nth on; or it can
stop decoding early: the first `stop_calls` transcriptions end at `stop_after_s` of their audio with
HTTP 200 and no warning (a 1 h 45 min file transcribed to 6 minutes, as users of Whisper services report).
Transcriptions answer with one segment spanning the uploaded audio (decoded with PyAV, so times are
the real chunk's), one word per second, and a hallucinated segment the client must drop.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av

HALLUCINATION = "Thank you for watching."


@dataclass
class Request:
    path: str
    size: int
    fields: dict[str, str]
    audio_seconds: float | None = None
    body: dict[str, object] | None = None


@dataclass
class FakeOpenAI:
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    fail_from: int | None = None
    fail_status: int = 500
    error_message: str = "simulated failure"
    stop_after_s: float | None = None
    stop_calls: int = 1

    def transcriptions(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/audio/transcriptions")]

    def chats(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def _form(content_type: str, body: bytes) -> dict[str, bytes]:
    message = BytesParser(policy=default_policy).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        fields[str(part.get_param("name", header="content-disposition"))] = (
            payload if isinstance(payload, bytes) else b""
        )
    return fields


def _seconds(mp3: bytes) -> float:
    with av.open(io.BytesIO(mp3), mode="r") as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return float(samples) / stream.rate


def _transcription(seconds: float, index: int, heard_s: float | None = None) -> dict[str, object]:
    """One segment and a word a second over the first `heard_s` of the audio (all of it when None)."""
    heard = seconds if heard_s is None else min(seconds, heard_s)
    text = f"Chunk {index} speaks."
    words = [{"word": f"w{index}-{i}", "start": i + 0.2, "end": i + 0.9} for i in range(int(heard - 0.5))]
    segment = {
        "id": 0,
        "seek": 0,
        "start": 0.2,
        "end": heard - 0.2,
        "text": f" {text}",
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": -0.2,
        "compression_ratio": 1.1,
        "no_speech_prob": 0.01,
    }
    ghost = {
        **segment,
        "id": 1,
        "start": heard - 0.2,
        "end": heard,
        "text": HALLUCINATION,
        "avg_logprob": -1.4,
        "no_speech_prob": 0.93,
    }
    return {
        "task": "transcribe",
        "language": "english",
        "duration": seconds,
        "text": text,
        "segments": [segment, ghost],
        "words": words,
    }


def _topics_answer(body: dict[str, object]) -> dict[str, object]:
    schema = body["response_format"]["json_schema"]["name"]  # type: ignore[index]
    user = body["messages"][1]["content"]  # type: ignore[index]
    if schema == "Overview":
        return {"summary": f"Whole lecture: {user.count('Part ')} parts.", "keywords": ["matrix", "vector"]}
    stamps = [m.group(1) for m in re.finditer(r"^\[(\d+:\d\d)\]", user, flags=re.M)]
    picks = [stamps[i * len(stamps) // 3] for i in range(3)] if len(stamps) >= 3 else stamps[:1]
    seconds = [int(s.split(":")[0]) * 60 + int(s.split(":")[1]) for s in picks]
    return {
        "summary": f"A part starting at {picks[0]}.",
        "keywords": ["matrix", " ", "vector"],
        "chapters": [{"start_seconds": s, "title": f"Topic at {p}"} for s, p in zip(seconds, picks, strict=True)],
    }


def _chat(body: dict[str, object]) -> dict[str, object]:
    content = json.dumps(_topics_answer(body))
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content, "refusal": None}}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, payload: dict[str, object]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("retry-after-ms", "1")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            raw = self.rfile.read(size)
            request = Request(self.path, size, {})
            if self.path.endswith("/audio/transcriptions"):
                form = _form(self.headers["Content-Type"], raw)
                request.fields = {k: v.decode() for k, v in form.items() if k != "file"}
                request.audio_seconds = _seconds(form["file"])
            else:
                request.body = json.loads(raw)
            state.requests.append(request)
            status = state.script.pop(0) if state.script else 200
            if state.fail_from is not None and len(state.requests) >= state.fail_from:
                status = state.fail_status
            if status != 200:
                self._reply(status, {"error": {"message": state.error_message, "type": "test", "code": None}})
            elif request.audio_seconds is not None:
                index = len(state.transcriptions())
                stops = state.stop_after_s if index <= state.stop_calls else None
                self._reply(200, _transcription(request.audio_seconds, index, stops))
            else:
                self._reply(200, _chat(request.body or {}))

    return Handler


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
