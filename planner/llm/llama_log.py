"""llama.cpp's log, routed to the ``celltwin.llama_cpp`` Python logger at its true level.

llama-cpp-python 0.3.36 maps ggml's log levels one step off (ggml now numbers them 1 debug,
2 info, 3 warn, 4 error, 5 continue-the-last-line), so with ``verbose=False`` llama.cpp's
warnings, such as the cache set-up printed on every model load and the buffer sizes printed
when a context is freed, still reach stderr as if they were errors. Replacing its callback
fixes that at the source; muting stdout/stderr around a load instead would also silence every
other thread of an API server for that time.

The logger stops below ERROR by default, as ``verbose=False`` intends; lower its level to see
llama.cpp's warnings and information.
"""

from __future__ import annotations

import ctypes
import logging

import llama_cpp

logger = logging.getLogger("celltwin.llama_cpp")
logger.setLevel(logging.ERROR)

#: ggml_log_level -> logging level (0 "none" and unknown values as info)
GGML_TO_LOGGING = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
GGML_CONT = 5
_last_level = [logging.INFO]


@llama_cpp.llama_log_callback
def _callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    lvl = _last_level[0] if level == GGML_CONT else GGML_TO_LOGGING.get(level, logging.INFO)
    _last_level[0] = lvl
    if logger.isEnabledFor(lvl):
        logger.log(lvl, "%s", text.decode("utf-8", errors="replace").rstrip("\n"))


def route_llama_logs() -> None:
    """Install the callback (idempotent; llama-cpp-python sets its own once, at import)."""
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
