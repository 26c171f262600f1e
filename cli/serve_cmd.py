"""``celltwin serve``: the REST API (FastAPI) with uvicorn, on 127.0.0.1:8000 by default."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="serve the REST API (see /docs once started)",
                       description="Serve the REST API with uvicorn. Settings come from the "
                       "environment (CELLTWIN_DATA_DIR, DATABASE_URL, CELLTWIN_TOKENS, "
                       "CELLTWIN_TOKENS_FILE, CELLTWIN_WORKERS, CELLTWIN_JOB_BACKEND, "
                       "CELLTWIN_MAX_UPLOAD_MB); options override them.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data directory (default $CELLTWIN_DATA_DIR or ./data)")
    p.add_argument("--workers", type=int, default=None,
                   help="planning jobs at once (default $CELLTWIN_WORKERS or 2)")
    p.add_argument("--job-backend", choices=("process", "thread", "dask"), default=None,
                   help="where planning jobs run (default $CELLTWIN_JOB_BACKEND or process)")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import create_app
    from api.settings import Settings
    from twin.errors import ValidationError

    if not 0 < args.port < 65536:
        raise ValidationError("serve", f"--port must be 1..65535, got {args.port}")
    settings = Settings.from_env(data_dir=args.data_dir, workers=args.workers,
                                 job_backend=args.job_backend)
    print(f"celltwin: serving the API on http://{args.host}:{args.port}/api/v1 (docs at "
          f"/docs), data in {settings.data_dir.resolve()}", flush=True)
    uvicorn.run(create_app(settings), host=args.host, port=args.port,
                log_level=args.log_level)
    return 0
