"""The servers a local cluster needs, on 127.0.0.1: Debian's PostgreSQL (the Dagster instance and
the lake's catalog) and Redis (the Celery broker), each started from a folder of its own and
stopped when asked. `make cluster` keeps their folders between starts; the tests start them in
temporary folders.

initdb refuses to run as root, so as root the cluster is made and started as the `postgres`
system user in a folder it owns.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class ServerMissing(RuntimeError):
    """A server program this machine does not have; the message says which package has it."""


class ServerFailed(RuntimeError):
    """A server would not start; the message says why and where its log is."""


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise ServerFailed(f"{what} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise ServerMissing(
            "needs Debian's postgresql (`apt-get install postgresql`; .ci/run installs it)"
        )
    return Path(found[-1]).parent


def redis_bin() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise ServerMissing(
            "needs Debian's redis-server (`apt-get install redis-server`; .ci/run installs it)"
        )
    return found


def write_private(path: Path, text: str) -> None:
    """`text` in `path`, readable by its owner only from the moment the file exists (it holds a
    password or a URL with one)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file that was there before keeps its own mode otherwise
    with os.fdopen(fd, "w") as out:
        out.write(text)


def kept_secret(path: Path, given: str = "") -> str:
    """The secret kept in `path`: `given` (or a random one) written there the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, given or secrets.token_urlsafe(18))
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Postgres:
    """A PostgreSQL server whose data lives in `root` (made on the first start)."""

    root: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    password: str = ""
    fsync: bool = True  # off only for throwaway servers (the tests)
    # Another address it also listens on, and the network (CIDR) whose clients may log in with
    # the password: hosts of a cluster beyond this one (the tests' network namespaces).
    also_listen: str = ""
    clients: str = ""

    @property
    def bin_dir(self) -> Path:
        return postgres_bin()

    def start(self) -> Postgres:
        bin_dir = self.bin_dir
        self.root.mkdir(parents=True, exist_ok=True)
        data, secret = self.root / "data", self.root / "password"
        self.password = kept_secret(secret, self.password)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(secret, "postgres")
            reach = subprocess.run(_as_server_user(["test", "-w", str(self.root)]))
            if reach.returncode != 0:
                raise ServerFailed(
                    f"PostgreSQL runs as the system user `postgres` (initdb refuses root), which "
                    f"cannot reach {self.root} (a folder above it is private to root): give a "
                    "folder it can reach, e.g. under /var/tmp or /srv"
                )
        if not (data / "PG_VERSION").exists():
            _run(
                _as_server_user(
                    [str(bin_dir / "initdb"), "-D", str(data), "-U", self.user]
                    + ["--auth=scram-sha-256", f"--pwfile={secret}", "-E", "UTF8"]
                ),
                f"initdb of {data}",
            )
        if self.clients:
            self._allow(data / "pg_hba.conf")
        listen = ",".join(a for a in (self.host, self.also_listen) if a)
        options = f"-c listen_addresses={listen} -p {self.port} -k {self.root}"
        options += "" if self.fsync else " -c fsync=off"
        _run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log")]
                + ["-o", options, "-w", "-t", "60", "start"]
            ),
            f"PostgreSQL on {self.host}:{self.port} (its log: {self.root / 'server.log'})",
        )
        return self

    def _allow(self, hba: Path) -> None:
        line = f"host all all {self.clients} scram-sha-256\n"
        rules = subprocess.run(
            _as_server_user(["cat", str(hba)]), capture_output=True, text=True, check=True
        ).stdout
        if line not in rules:
            subprocess.run(
                _as_server_user(["tee", "-a", str(hba)]),
                input=line,
                text=True,
                check=True,
                capture_output=True,
            )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_server_user(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "stop"]
            ),
            capture_output=True,
        )

    def psql(self, database: str, sql: str) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user]
            + ["-d", database, "-At", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def ensure_database(self, name: str) -> None:
        if not self.psql("postgres", f"select 1 from pg_database where datname = '{name}'"):
            self.psql("postgres", f"create database {name}")


@dataclass
class Redis:
    """A Redis server on 127.0.0.1 (and `also_bind`) whose files live in `root`. With `persist`
    it keeps its data in an append-only file, so queued steps and results survive a restart
    (`make cluster`'s); otherwise nothing is saved (a test's throwaway broker). Reachable
    beyond this machine (`also_bind`), it asks for a password (made once, kept in `root`),
    which its URL carries."""

    root: Path
    port: int
    persist: bool = False
    also_bind: str = ""  # another address, which the URL then names (the tests' hosts)
    proc: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return self.also_bind or "127.0.0.1"

    @property
    def password(self) -> str:
        return kept_secret(self.root / "password") if self.also_bind else ""

    @property
    def url(self) -> str:
        login = f":{self.password}@" if self.password else ""
        return f"redis://{login}{self.host}:{self.port}/0"

    def start(self) -> Redis:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - the server's, closed with it
        self.proc = subprocess.Popen(
            [
                redis_bin(),
                "--port",
                str(self.port),
                "--bind",
                *dict.fromkeys(("127.0.0.1", self.host)),
            ]
            + ["--save", "", "--dir", str(self.root), "--appendonly"]
            + (["yes", "--appendfsync", "everysec"] if self.persist else ["no"])
            + self._password_file(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    login = f"AUTH {self.password}\r\n" if self.password else ""
                    s.sendall(f"{login}PING\r\n".encode())
                    answer = s.recv(64)
                    if self.password and b"+PONG" not in answer:
                        answer += s.recv(64)  # +OK to the AUTH came alone
                    if b"+PONG" in answer:
                        return self
            except OSError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        said = [
            line for line in (self.root / "redis.log").read_text().splitlines() if " # " in line
        ]
        raise ServerFailed(
            f"Redis did not start on {self.host}:{self.port}: {said[-1] if said else 'no word'} "
            f"(its log: {self.root}/redis.log)"
        )

    def _password_file(self) -> list[str]:
        """The password in a private config file, not on the command line (`ps` shows that)."""
        if not self.password:
            return []
        conf = self.root / "password.conf"
        write_private(conf, f"requirepass {self.password}\n")
        return ["--include", str(conf)]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
