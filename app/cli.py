"""mlops: serve the app, train the model, generate documents."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

from app.settings import Settings, SettingsError, load_settings


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("alembic", "mlflow", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _ensure_model(settings: Settings) -> None:
    from app.adapters.mlflow_registry import MlflowModelSource
    from app.domain.models import ModelNotFoundError
    from app.training.train import TrainingRequest, train

    source = MlflowModelSource(settings.tracking_uri, settings.model_name)
    try:
        source.resolve(settings.model_alias)
        return
    except ModelNotFoundError:
        if not settings.train_on_empty_registry:
            print("No model is registered; /health answers 503 until `mlops train` runs.")
            return
    print("No model is registered yet: training the default model (first start only).", flush=True)
    report = train(
        settings,
        TrainingRequest(
            generate_per_class=settings.default_train_per_class,
            heldout_per_class=settings.default_eval_per_class,
        ),
    )
    print(report.summary(), flush=True)


def _sample_document(settings: Settings) -> Path:
    """A rendered invoice to try the upload with (made once, from the generator)."""
    path = settings.data_dir / "samples" / "invoice.png"
    if not path.exists():
        from app.synth.documents import make_document
        from app.synth.render import encode, render_pages

        path.parent.mkdir(parents=True, exist_ok=True)
        pages = render_pages(make_document("invoice", "fr", 2024), dpi=200, degrade="light")
        path.write_bytes(encode(pages, "png"))
    return path.resolve()


def _announce_when_ready(server: object, settings: Settings, sample: Path) -> None:
    while not getattr(server, "started", False):
        if getattr(server, "should_exit", False):
            return
        time.sleep(0.1)
    port = settings.port
    servers = getattr(server, "servers", [])
    if servers and servers[0].sockets:
        port = servers[0].sockets[0].getsockname()[1]
    url = f"http://{settings.host}:{port}"
    print(
        f"\nServing on {url}  (API docs: {url}/docs, metrics: {url}/metrics)\n"
        "Try it:\n"
        f"  curl -s -X POST {url}/v1/predict -H 'Content-Type: application/json' \\\n"
        '    -d \'{"texts": ["FACTURE N° F-2024-0113  Total TTC 1 234,56 EUR  TVA 20 %"]}\'\n'
        f"  curl -s -F file=@{sample} {url}/v1/documents\n"
        f"  curl -s {url}/v1/documents/<id from the line above>\n"
        + (
            'Authentication is on: add -H "Authorization: Bearer $TOKEN" to each, with\n'
            "  TOKEN=$(.venv/bin/mlops token --admin)   # dev issuer only\n"
            if settings.auth_required
            else ""
        ),
        flush=True,
    )


def serve(settings: Settings) -> int:
    import uvicorn

    from app.api.main import create_app
    from app.bootstrap import build_container
    from app.domain.documents import StorageUnavailableError
    from app.domain.models import RegistryUnavailableError
    from app.ocr.errors import EngineUnavailableError

    try:
        container = build_container(settings)
        _ensure_model(settings)
    except (
        SettingsError,
        EngineUnavailableError,
        StorageUnavailableError,
        RegistryUnavailableError,
    ) as exc:
        # A damaged database names its file and the fix: one line, no traceback.
        print(f"mlops: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        create_app(settings, container),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    server = uvicorn.Server(config)
    sample = _sample_document(settings)
    threading.Thread(
        target=_announce_when_ready, args=(server, settings, sample), daemon=True
    ).start()
    server.run()
    return 0 if server.started else 1


def train_command(settings: Settings, args: argparse.Namespace) -> int:
    from app.adapters.local.jobs import die_with_server
    from app.ocr.errors import EngineUnavailableError

    die_with_server()
    from app.training.dataset import DatasetError
    from app.training.train import TrainingRequest, train

    request = TrainingRequest(
        data=args.data,
        generate_per_class=args.generate,
        heldout_per_class=args.heldout,
        seed=args.seed,
        progress=not args.quiet,
        promote=args.promote,
        include_feedback=args.with_feedback,
    )
    try:
        report = train(settings, request)
    except (DatasetError, EngineUnavailableError) as exc:
        print(f"mlops train: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if args.report_json == Path("-"):
        # A job whose only output is its log (an ECS task): one JSON line the launcher finds.
        print(json.dumps(report.to_dict()), flush=True)
    elif args.report_json is not None:
        args.report_json.write_text(json.dumps(report.to_dict(), indent=2))
    return 0


def token_command(settings: Settings, args: argparse.Namespace) -> int:
    if settings.cloud.value != "local" or settings.auth_issuer:
        print(
            "mlops token: tokens are minted only for the local dev issuer (MLOPS_CLOUD=local,"
            " no MLOPS_AUTH_ISSUER); get a token from your identity provider instead.",
            file=sys.stderr,
        )
        return 2
    from app.auth.dev import mint

    print(mint(settings.dev_auth_dir, args.sub, admin=args.admin, minutes=args.minutes))
    print(
        f"(dev-only token for {args.sub!r}{' in the admin group' if args.admin else ''},"
        f" valid {args.minutes} min, signed with {settings.dev_auth_dir}/; the app accepts it"
        " when started with MLOPS_AUTH=required)",
        file=sys.stderr,
    )
    return 0


def _minutes(value: str) -> int:
    minutes = int(value) if value.isdigit() else 0
    if not 1 <= minutes <= 24 * 60:
        raise argparse.ArgumentTypeError(
            f"must be a number of minutes from 1 to 1440, not {value!r}"
        )
    return minutes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve the API (trains a default model on first start)")
    train_parser = commands.add_parser("train", help="train, score and register a model")
    train_parser.add_argument(
        "--data", type=Path, help="folder with one subfolder per class, or a CSV text,label"
    )
    train_parser.add_argument(
        "--generate", type=int, metavar="N", help="add N generated documents per class"
    )
    train_parser.add_argument(
        "--heldout",
        type=int,
        default=10,
        metavar="N",
        help="unseen generated documents per class scored through OCR (default 10)",
    )
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument(
        "--promote",
        choices=["if-better", "always", "never"],
        default="if-better",
        help="when the new version becomes champion (default: if it beats the champion)",
    )
    train_parser.add_argument(
        "--with-feedback",
        action="store_true",
        help="add the texts users labelled through feedback (newest label wins per text)",
    )
    train_parser.add_argument(
        "--report-json",
        type=Path,
        metavar="FILE",
        help="also write the outcome as JSON here ('-': one line on stdout)",
    )
    train_parser.add_argument("--quiet", action="store_true", help="no progress bars")
    commands.add_parser(
        "generate", help="write a labelled folder of synthetic documents", add_help=False
    )
    token_parser = commands.add_parser(
        "token", help="DEV ONLY: mint a token for trying the API with MLOPS_AUTH=required"
    )
    token_parser.add_argument("--sub", default="dev-user", help="the user id (default dev-user)")
    token_parser.add_argument("--admin", action="store_true", help="in the admin group")
    token_parser.add_argument(
        "--minutes", type=_minutes, default=60, help="validity, 1..1440 (default 60)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["generate"]:
        from app.synth.dataset import main as generate_main

        return generate_main(argv[1:], prog="mlops generate")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"mlops: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    if args.command == "serve":
        return serve(settings)
    if args.command == "train":
        if args.generate is not None and args.generate < 1:
            print("mlops train: --generate must be at least 1.", file=sys.stderr)
            return 2
        return train_command(settings, args)
    if args.command == "token":
        return token_command(settings, args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
