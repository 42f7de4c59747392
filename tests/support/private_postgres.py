"""A PostgreSQL cluster of a test's own, which the test may stop and start (the shared one must never stop).

initdb into a temporary folder, a free port on 127.0.0.1, trust authentication; run as the `postgres`
system user when the tests run as root (the server refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class PrivateCluster:
    folder: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl is not None
        subprocess.run(_as_postgres([pg_ctl, "-D", str(self.folder / "data"), "-w", "-t", "60", *args]),
                       check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "server.log"), "-o", f"-p {self.port} -k {self.folder} -h 127.0.0.1",
                  "start")

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")


def available() -> str | None:
    """None when a private cluster can be made here, else why not."""
    if _bin("initdb") is None or _bin("pg_ctl") is None:
        return "initdb/pg_ctl are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """In a folder of its own under the system temp dir (pytest's tmp_path is closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="leap-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    initdb = _bin("initdb")
    assert initdb is not None
    subprocess.run(_as_postgres([initdb, "-D", str(folder / "data"), "-U", "postgres", "-A", "trust"]),
                   check=True, capture_output=True)
    cluster = PrivateCluster(folder, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped by the test
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
