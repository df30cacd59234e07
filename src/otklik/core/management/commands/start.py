"""`otklik start`: migrate, then serve Otklik with granian (WSGI) and run the Huey job consumer beside it.

`--role` splits the two so they can be run and scaled apart (issue 19): `web` serves only (no consumer,
like `--no-jobs`), `worker` runs only the consumer (no port, no static files, no migrations: a worker
must not race the web processes' migrations, so start the web role first or run `otklik migrate`), and
`both`, the default, does both as before.

Static files are collected into the data directory and served by granian itself, outside the request
threads, so they never wait behind application requests. Idle and slow clients hold only a connection,
never a request thread: granian admits many connections per worker (its backpressure counts connections,
not requests), gives a client a few seconds to send its headers, and runs requests on a bounded thread
pool (which also bounds the database connections).

The server and the consumer are child processes; this process forwards SIGINT, SIGTERM and SIGHUP to
them, stops the consumer when the server stops, restarts a consumer that dies, and exits with the
server's exit code, so it behaves like `exec granian` with a job consumer attached. SIGHUP reloads: granian respawns its workers
and the consumer is restarted after finishing its current jobs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.core.metrics_dir import metrics_dir_reset

# How long the children get to finish what they are doing before they are killed.
STOP_TIMEOUT_SECONDS = 20
# A consumer that keeps dying is restarted at most this often.
CONSUMER_RESTART_DELAY_SECONDS = 5
POLL_SECONDS = 0.2
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Request threads per worker: 8 at most, and no more than granian advises for the machine (2 per core + 1).
DEFAULT_THREADS = min(8, 2 * (os.cpu_count() or 1) + 1)
# Connections each worker holds open at once, idle keep-alive ones included. granian's backpressure counts
# connections, not requests: set to the number of request threads, a handful of silent clients froze the
# site. Requests still run on at most `threads` threads; the other connections wait in Rust, cheaply.
CONNECTIONS_PER_WORKER = 1024
# Pending connections the kernel queues before granian accepts them.
BACKLOG = 2048
# A client must send its request headers within this time (slowloris); an idle keep-alive connection is
# closed after it too, freeing its slot.
HEADER_READ_TIMEOUT_MS = 10_000
# Static files in the browser's cache: short, because their names carry no hash of their content.
STATIC_EXPIRES_SECONDS = 300


def _die_with_parent_hook():
    """Return a preexec function asking Linux to SIGTERM the child if this process dies unexpectedly.

    Without it a `kill -9` of `otklik start` would leave granian and the consumer running.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def server_command(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool,
    static_root: str | None = None,
    app: str = "otklik.wsgi:application",
) -> list[str]:
    """Return the granian command line serving Otklik's WSGI application (and `static_root` at /static).

    Each worker runs requests on `threads` threads, so the number of database connections stays bounded
    (granian's WSGI default allows hundreds), while it holds up to CONNECTIONS_PER_WORKER connections:
    idle, slow or kept-alive clients wait without taking a thread from anyone.
    """
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-ws",
        "--respawn-failed-workers",
    ]
    command += ["--blocking-threads", str(threads), "--backpressure", str(CONNECTIONS_PER_WORKER)]
    command += ["--backlog", str(BACKLOG), "--http1-header-read-timeout", str(HEADER_READ_TIMEOUT_MS)]
    # A worker still busy with a stuck request when asked to stop is killed before the supervisor gives up.
    command += ["--workers-kill-timeout", str(STOP_TIMEOUT_SECONDS - 5)]
    if static_root:
        command += [
            "--static-path-route",
            settings.STATIC_URL.rstrip("/"),
            "--static-path-mount",
            static_root,
        ]
        command += ["--static-path-expires", str(STATIC_EXPIRES_SECONDS)]
    command.append("--access-log" if access_log else "--no-access-log")
    command.append(app)
    return command


# What one `otklik start` runs: the web server, the job consumer, or both (the default).
ROLES = ("web", "worker", "both")

# The consumer shares the machine with the web server: under load requests go first, mail catches up after.
CONSUMER_NICE = 10


def consumer_command(*, nice: int = CONSUMER_NICE) -> list[str]:
    """Return the command line of the job consumer (`otklik worker`) under the same settings."""
    return [sys.executable, "-m", "otklik", "worker", "--nice", str(nice)]


class Command(BaseCommand):
    help = (
        "Apply migrations, collect static files, then serve Otklik with granian (WSGI and static files) "
        "and run the background job consumer next to it. Stop with Ctrl-C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default=None, help="Address to bind to (default: OTKLIK_HOST or 127.0.0.1)."
        )
        parser.add_argument(
            "--port", type=int, default=None, help="Port to bind to (default: OTKLIK_PORT or 8000)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("OTKLIK_WORKERS", "1")),
            help="Number of granian worker processes (default: OTKLIK_WORKERS or 1).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("OTKLIK_THREADS", DEFAULT_THREADS)),
            help=f"Request threads per worker (default: OTKLIK_THREADS or {DEFAULT_THREADS}).",
        )
        parser.add_argument(
            "--role",
            choices=ROLES,
            default=os.environ.get("OTKLIK_ROLE", "both"),
            help="What this process runs: web (the server only), worker (the job consumer only, restarted "
            "if it dies; it never migrates) or both (default: OTKLIK_ROLE or both).",
        )
        parser.add_argument(
            "--no-jobs", action="store_true", help="Do not start the background job consumer (= --role web)."
        )
        parser.add_argument(
            "--no-migrate", action="store_true", help="Do not apply migrations first (web and both roles)."
        )
        parser.add_argument("--access-log", action="store_true", help="Log every request.")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        if role not in ROLES:
            raise CommandError(f"--role must be one of {', '.join(ROLES)}, not {role!r}.")
        if role == "worker":
            if options["no_jobs"]:
                raise CommandError(
                    "--role worker runs only the job consumer; --no-jobs leaves it nothing to do."
                )
            self._run_worker(options)
            return
        if role == "web":
            options["no_jobs"] = True
        host = options["host"] or settings.OTKLIK_HOST
        port = options["port"] if options["port"] is not None else settings.OTKLIK_PORT
        workers = options["workers"]
        if not 0 < port < 65536:
            raise CommandError(f"Port must be between 1 and 65535, not {port}.")
        if workers < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        verbosity = options["verbosity"]

        _check_port_free(host, port)
        if not options["no_migrate"]:
            if verbosity:
                self.stdout.write("Applying migrations…")
            call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        _collect_static()
        # Health and metrics (issue 19): the web workers' request counters start afresh with the server;
        # files of an earlier run's workers would otherwise be summed forever (core.metrics_dir).
        metrics_dir_reset()

        env = _child_env()
        supervisor = _Supervisor(env=env, out=self.stdout, err=self.stderr)
        server_cmd = server_command(
            host=host,
            port=port,
            workers=workers,
            threads=options["threads"],
            access_log=options["access_log"],
            static_root=str(settings.STATIC_ROOT),
        )
        code = supervisor.run(
            server_cmd,
            None if options["no_jobs"] else consumer_command(),
            quiet=not verbosity,
            banner=f"Otklik is serving http://{_url_host(host)}:{port}/ "
            f"(granian, {workers} worker{'s' if workers != 1 else ''})",
        )
        if code:
            raise CommandError(f"The server stopped with exit code {code}.", returncode=code)

    def _run_worker(self, options: dict[str, Any]) -> None:
        """Run the job consumer alone, restarted when it dies, until a signal stops this process.

        No migrations: several workers and web processes start together, and only the web role (or an
        explicit `otklik migrate`) changes the schema; a worker started against an older schema fails
        its jobs until the web role has migrated, and is restarted like any consumer that dies.
        """
        env = _child_env()
        supervisor = _Supervisor(env=env, out=self.stdout, err=self.stderr)
        supervisor.run(
            None,
            consumer_command(nice=0),  # alone on its process: nothing to give way to
            quiet=not options["verbosity"],
            banner="Otklik job worker (no web server, --role worker)",
        )


def _child_env() -> dict[str, str]:
    """Return the environment of the server and consumer processes: this one's, with the settings pinned."""
    env = os.environ.copy()
    env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "otklik.settings")
    # The children must use the same data directory even if it was given relative to another cwd.
    env["OTKLIK_DATA_DIR"] = str(settings.DATA_DIR)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _collect_static() -> None:
    """Copy the static files afresh into STATIC_ROOT, where granian serves them.

    Afresh (a tenth of a second): after an upgrade no stale file can stay. Plain copies: granian sends
    files as they are, so compressing them here would only slow the start. Under a lock: web instances
    sharing a data directory (systemd `otklik-web@N` started together) would otherwise clear the
    directory under each other's copying and crash.
    """
    import fcntl

    from django.contrib.staticfiles.management.commands.collectstatic import Command as CollectStatic
    from django.contrib.staticfiles.storage import StaticFilesStorage

    os.makedirs(settings.STATIC_ROOT, exist_ok=True)
    lock_path = os.path.join(os.path.dirname(os.path.abspath(settings.STATIC_ROOT)), ".static.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        command = CollectStatic()
        command.storage = StaticFilesStorage(location=settings.STATIC_ROOT, base_url=settings.STATIC_URL)
        call_command(command, interactive=False, clear=True, verbosity=0)


def _check_port_free(host: str, port: int) -> None:
    """Fail with a clear message when something already listens on the address (granian only prints a trace)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Supervisor:
    """Run the server and the consumer, forward signals, stop both together."""

    def __init__(self, *, env: dict[str, str], out, err):
        self.env = env
        self.out = out
        self.err = err
        self.stop_signal: int | None = None
        self.server: subprocess.Popen | None = None
        self.consumer: subprocess.Popen | None = None
        self.restart_consumer = False

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        # A process group of its own: a terminal's Ctrl-C reaches only us, and we forward it exactly once.
        return subprocess.Popen(command, env=self.env, process_group=0, preexec_fn=_die_with_parent_hook())

    def _on_signal(self, signum: int, _frame) -> None:
        if signum == signal.SIGHUP:
            # Reload: granian respawns its workers; the consumer finishes its jobs and is started afresh.
            _send(self.server, signal.SIGHUP)
            if self.consumer is not None:
                self.restart_consumer = True
                _send(self.consumer, signal.SIGINT)
            return
        if self.stop_signal is not None:
            # A second Ctrl-C: do not wait for the children to finish gracefully.
            for child in (self.server, self.consumer):
                _send(child, signal.SIGKILL)
        self.stop_signal = signum

    def run(
        self, server_cmd: list[str] | None, consumer_cmd: list[str] | None, *, quiet: bool, banner: str
    ) -> int:
        previous = {sig: signal.getsignal(sig) for sig in FORWARDED_SIGNALS}
        for sig in FORWARDED_SIGNALS:
            signal.signal(sig, self._on_signal)
        try:
            return self._run(server_cmd, consumer_cmd, quiet=quiet, banner=banner)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(
        self, server_cmd: list[str] | None, consumer_cmd: list[str] | None, *, quiet: bool, banner: str
    ) -> int:
        """Supervise until a signal (or the server's exit); without a server, the consumer alone (worker)."""
        if server_cmd:
            self.server = self._spawn(server_cmd)
        if consumer_cmd:
            self.consumer = self._spawn(consumer_cmd)
        if not quiet:
            jobs = f"job consumer pid {self.consumer.pid}" if self.consumer else "no job consumer (--no-jobs)"
            self.out.write(f"{banner}; {jobs}. Press Ctrl-C to stop.")
            self.out.flush()
        consumer_died_at = 0.0
        while self.stop_signal is None:
            code = self.server.poll() if self.server is not None else None
            if code is not None:
                return code
            if consumer_cmd and self.consumer is not None and self.consumer.poll() is not None:
                if self.restart_consumer:  # asked for by SIGHUP: start it again at once
                    self.restart_consumer = False
                    consumer_died_at = 0.0
                else:
                    self.err.write(
                        f"The job consumer stopped (exit code {self.consumer.returncode}); "
                        f"restarting it in {CONSUMER_RESTART_DELAY_SECONDS} s."
                    )
                    consumer_died_at = time.monotonic()
                self.consumer = None
            if consumer_cmd and self.consumer is None:
                if time.monotonic() - consumer_died_at >= CONSUMER_RESTART_DELAY_SECONDS:
                    self.consumer = self._spawn(consumer_cmd)
            time.sleep(POLL_SECONDS)
        return 0

    def _stop_all(self) -> None:
        """Ask both children to finish (granian: the signal we got; Huey: SIGINT = graceful), then kill."""
        server_signal = (
            self.stop_signal if self.stop_signal in (signal.SIGINT, signal.SIGTERM) else signal.SIGTERM
        )
        _send(self.server, server_signal)
        _send(self.consumer, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in (self.server, self.consumer):
            if child is None:
                continue
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.err.write(f"Process {child.pid} did not stop in time; killing it.")
                _send(child, signal.SIGKILL)
                child.wait()


def _send(child: subprocess.Popen | None, sig: int) -> None:
    """Signal a child; SIGKILL goes to its whole process group so granian's workers die with it."""
    if child is not None and child.poll() is None:
        try:
            if sig == signal.SIGKILL:
                os.killpg(child.pid, sig)
            else:
                child.send_signal(sig)
        except ProcessLookupError:
            pass
