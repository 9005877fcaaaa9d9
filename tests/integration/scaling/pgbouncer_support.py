"""A real PgBouncer in transaction pooling mode, started by the test session.

The pooler runs as a subprocess on a free port, in front of the test PostgreSQL
server, with ``auth_type = any``: every client connects as ``pg_user`` (whom the test
server trusts).
PgBouncer refuses to run as root, so under root it drops to the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INI = """\
[databases]
* = host={pg_host} port={pg_port} user={pg_user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
"""


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {text[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening within 10 s")


@contextmanager
def run_pgbouncer(
    directory: Path, pg_host: str, pg_port: int, pg_user: str, *, pool: int = 4
) -> Iterator[int]:
    """PgBouncer listening on the port this yields; stopped on exit.

    ``pool`` server connections per database/user: fewer than the clients, so that
    consecutive transactions of one client land on different server connections
    (which is what breaks named prepared statements).
    """
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer is not installed (apt-get install -y pgbouncer)")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    ini = directory / "pgbouncer.ini"
    ini.write_text(
        INI.format(
            pg_host=pg_host, pg_port=pg_port, pg_user=pg_user, port=port, pool=pool, dir=directory
        )
    )
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", pwd.getpwnam("postgres").pw_name]
    log = directory / "pgbouncer.log"
    # The config is read before PgBouncer drops to the postgres user; its log goes to
    # stderr, into a file this process opened (the postgres user may not reach it).
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
