"""How vhtqdm starts a thread: one policy for each of its daemon threads.

A thread that cannot start now (a container's passing thread limit) is tried again after
``RETRY`` seconds by its owner; an interpreter that refuses daemon threads altogether (an
isolated subinterpreter) or is shutting down gets none, ever. Nothing raises into the caller.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

RETRY = 1.0  # seconds before a thread that could not start is tried again

STARTED = "started"
LATER = "later"  # try again after RETRY seconds
NEVER = "never"  # daemon threads are refused here, or the interpreter is shutting down


def allowed() -> bool:
    """Whether this interpreter runs daemon threads at all (an isolated subinterpreter, 3.12+,
    refuses them as the thread is made: nothing is started here)."""
    try:
        threading.Thread(daemon=True)
    except RuntimeError:
        return False
    return True


def start(target: Callable[..., Any], name: str, *args: Any) -> tuple[str, threading.Thread | None]:
    """Start ``target(*args)`` on a daemon thread named ``name``; how it went, and the thread."""
    try:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    except RuntimeError:  # "daemon threads are disabled in this (sub)interpreter"
        return NEVER, None
    try:
        thread.start()
    except RuntimeError:  # "can't start new thread", or "can't create new thread at shutdown"
        shutting_down = sys.is_finalizing() or not threading.main_thread().is_alive()
        return (NEVER if shutting_down else LATER), None
    return STARTED, thread
