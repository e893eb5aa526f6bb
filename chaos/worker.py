"""The sync under test, in a process of its own: ``python -m chaos.worker``.

It imports deskbridge once, says ``{"ready": true}``, then serves one sync per
request line on stdin (``{"system", "now", "run_id"}``) with the real wiring
(:func:`flows.wiring.build_context` + :func:`flows.pipeline.run_sync`) and the
state store named by ``DESKBRIDGE_STATE_URL``, and answers one JSON line per
request. Keeping the process between runs saves the interpreter start; the
chaos runner SIGKILLs it at chosen points and starts a fresh one, so a kill
hits a real process mid-sync: open transactions, half-sent requests and all.

Answers go to the original stdout; anything a library prints goes to stderr.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import datetime


def serve(requests, answers) -> None:
    """Run one sync per request line until stdin closes."""
    from core.errors import DeskbridgeError
    from core.model import System
    from core.settings import load_settings
    from flows.pipeline import run_sync
    from flows.wiring import build_context

    _answer(answers, {"ready": True})
    for line in requests:
        request = json.loads(line)
        now = datetime.fromisoformat(request["now"])
        try:
            ctx = build_context(System(request["system"]), load_settings(), now)
            try:
                summary = run_sync(ctx, now, request["run_id"])
            finally:
                ctx.store.close()
            _answer(answers, {"ok": True, "summary": summary.model_dump(mode="json")})
        except DeskbridgeError as exc:  # typed: the run stops cleanly, the next one resumes
            _answer(answers, {"ok": False, "error": f"{type(exc).__name__}: {exc}", "typed": True})
        except Exception as exc:  # noqa: BLE001 - an untyped crash is reported, never hidden
            traceback.print_exc(file=sys.stderr)
            _answer(answers, {"ok": False, "error": f"{type(exc).__name__}: {exc}", "typed": False})


def _answer(stream, payload: dict) -> None:
    stream.write(json.dumps(payload) + "\n")
    stream.flush()


def main() -> None:
    answers, sys.stdout = sys.stdout, sys.stderr
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
