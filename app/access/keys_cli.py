"""`batchery keys create|list|revoke`: manage API keys in the configured database."""
import sys

from app.settings import configure, load_settings
from app.errors import BatcheryError


def _ready() -> None:
    """Settings from the environment, and a database at the code's schema (else SchemaOutOfDate)."""
    from app import db

    configure(load_settings())
    db.ensure_schema_current()


def create(args) -> int:
    """Create a key; its plaintext is printed alone on the last line, this once."""
    from app.access import keys

    _ready()
    key_id, plaintext = keys.create_key(args.namespace)
    print(f"Created API key {key_id} for namespace {args.namespace}. It is shown only now; store it safely:")
    print(plaintext, flush=True)
    return 0


def list_all(args) -> int:
    """One key a line: key id, namespace, created, revoked ('-' while active)."""
    from app.access import keys

    _ready()
    for row in keys.list_keys():
        revoked = row["revoked_at"].isoformat() if row["revoked_at"] else "-"
        print(f"{row['key_id']}\t{row['namespace']}\t{row['created_at'].isoformat()}\t{revoked}")
    return 0


def revoke(args) -> int:
    """Revoke a key by id; requests with it are refused from now on."""
    from app.access import keys

    _ready()
    keys.revoke_key(args.key_id)
    print(f"Revoked {args.key_id}.")
    return 0


def _guarded(handler):
    """Refusals (bad namespace, unknown key id) end with a message and exit status 1, not a traceback."""
    def run(args) -> int:
        try:
            return handler(args)
        except BatcheryError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 1
    return run


def add_key_commands(commands) -> None:
    """Register `keys create|list|revoke` on the top-level subparsers."""
    parser = commands.add_parser("keys", help="create, list and revoke API keys")
    sub = parser.add_subparsers(dest="keys_command", required=True)
    made = sub.add_parser("create", help="create a key for a namespace (prints it once)")
    made.add_argument("namespace")
    made.set_defaults(handler=_guarded(create))
    sub.add_parser("list", help="list keys: id, namespace, created, revoked").set_defaults(handler=_guarded(list_all))
    gone = sub.add_parser("revoke", help="revoke a key by its id")
    gone.add_argument("key_id")
    gone.set_defaults(handler=_guarded(revoke))
