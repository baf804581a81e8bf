"""An MQTT broker for the simulated fleet: embedded on loopback, or any external one by URL.

The embedded broker is `amqtt <https://github.com/Yakifo/amqtt>`_, a pure-Python MQTT
3.1.1 broker, run in a background thread with its own asyncio loop. It listens on
127.0.0.1 only, on a free port, so tests and notebooks never clash and nothing is
exposed to the network::

    with EmbeddedBroker() as broker:
        print(broker.url)                     # mqtt://127.0.0.1:54321

Any other broker works by URL — for example Mosquitto (``mosquitto -p 1883``) with
``url="mqtt://localhost:1883"``. :func:`connect` returns a connected paho-mqtt client
for either.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import urllib.parse

DEFAULT_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def parse_url(url: str) -> tuple[str, int]:
    """``"mqtt://host:port"`` → ``(host, port)``; the port defaults to 1883."""
    parsed = urllib.parse.urlparse(url if "://" in str(url) else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ValueError(f"url={url!r} is not a broker address; use 'mqtt://HOST:PORT', e.g. 'mqtt://127.0.0.1:1883'.")
    return parsed.hostname, parsed.port or 1883


class _SnapshotDict(dict):
    """A dict whose loops run over a copy of its entries.

    amqtt 0.12 loops over its subscription table with ``await`` inside the loop
    (``Broker._handle_client_session``, ``_del_all_subscriptions``, the broadcast loop), so
    a client that subscribes while another connects changes the table mid-loop and the
    connecting client is dropped with ``RuntimeError: dictionary changed size during
    iteration``. Under load (two test workers) that happens. Looping over a snapshot is
    what the broker means to do.
    """

    def __iter__(self):
        return iter(list(dict.keys(self)))

    def keys(self):
        return list(dict.keys(self))

    def items(self):
        return list(dict.items(self))

    def values(self):
        return list(dict.values(self))


class EmbeddedBroker:
    """An amqtt broker on ``host`` (loopback by default) in a background thread.

    Parameters
    ----------
    host : str
        Address to listen on; keep the default ``"127.0.0.1"`` so only this machine can connect.
    port : int or None
        TCP port; ``None`` picks a free one.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The address clients connect to, ``mqtt://HOST:PORT``."""
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = DEFAULT_TIMEOUT_S) -> "EmbeddedBroker":
        """Start listening; return once clients can connect (or raise ``RuntimeError``)."""
        if self.running:
            return self
        logging.getLogger("amqtt").setLevel(logging.CRITICAL)  # it logs every connection at INFO
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="amqtt-broker", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the embedded MQTT broker did not start on {self.host}:{self.port}: {self._error}")
        return self

    def _serve(self, ready: threading.Event) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 2000}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            self._broker = Broker(config, loop=self._loop)
            self._broker._subscriptions = _SnapshotDict()  # see _SnapshotDict: a race inside amqtt
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._shutdown())
        self._loop.close()

    async def _shutdown(self) -> None:
        try:
            await asyncio.wait_for(self._broker.shutdown(), timeout=5)
        except Exception:  # noqa: BLE001 - stopping anyway
            pass
        tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Stop the broker and its thread (safe to call twice)."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedBroker({self.url}, {'running' if self.running else 'stopped'})"


class MosquittoBroker:
    """Eclipse Mosquitto (the system's ``mosquitto`` program) on a free loopback port, for as long as the ``with``.

    Mosquitto keeps persistent sessions and in-flight QoS 1 messages as MQTT 3.1.1 says,
    so the durability tests run on it: ``apt-get install mosquitto`` (``.ci/run`` does).
    ``max_queued`` is the number of QoS 1 messages it holds for each absent persistent
    client (Mosquitto's own default is 1,000).
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, max_queued: int = 100_000):
        import shutil

        self.program = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None
        )
        if self.program is None:
            raise RuntimeError(
                "Mosquitto is not installed: install it with 'apt-get install mosquitto' "
                "(or use EmbeddedBroker, which needs nothing)."
            )
        self.host, self.port, self.max_queued = host, port or free_port(host), int(max_queued)
        self._process = None
        self._folder = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = DEFAULT_TIMEOUT_S) -> "MosquittoBroker":
        import subprocess
        import tempfile
        import time

        self._folder = tempfile.TemporaryDirectory(prefix="mosquitto-")
        config = os.path.join(self._folder.name, "mosquitto.conf")
        with open(config, "w") as file:
            file.write(
                f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\n"
                f"max_queued_messages {self.max_queued}\nmax_inflight_messages 100\n"
            )
        self._process = subprocess.Popen(
            [self.program, "-c", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                raise RuntimeError(f"mosquitto exited at start: {' '.join(error) or 'no message'}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s.")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except Exception:  # noqa: BLE001 - stopping anyway
                self._process.kill()
            self._process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> "MosquittoBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_broker(host: str = "127.0.0.1", port: int | None = None) -> EmbeddedBroker:
    """Start an :class:`EmbeddedBroker` and return it (call ``.stop()`` when done)."""
    return EmbeddedBroker(host, port).start()


def connect(
    url: str,
    client_id: str,
    *,
    will: tuple[str, bytes] | None = None,
    keepalive: int = 60,
    timeout: float = DEFAULT_TIMEOUT_S,
    loop: bool = True,
    clean_session: bool = True,
    manual_ack: bool = False,
):
    """A paho-mqtt client connected to the broker at ``url`` (MQTT 3.1.1).

    ``will=(topic, payload)`` registers a last will: the broker publishes it (retained,
    QoS 1) if the connection drops without a clean disconnect, or if it hears nothing for
    1.5 × ``keepalive`` seconds. ``clean_session=False`` asks for a persistent session:
    the broker keeps the subscriptions and queues QoS 1 messages while the client is away
    (Mosquitto does; amqtt 0.12 does not for anonymous clients). ``manual_ack=True``:
    a QoS 1 message is acknowledged only when the program calls ``client.ack(mid, qos)``
    — after it has stored it. With ``loop=True`` the client's network thread is started;
    the call returns once the broker accepted the connection, or raises ``ConnectionError``.
    """
    import paho.mqtt.client as mqtt

    host, port = parse_url(url)
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=clean_session,
        manual_ack=manual_ack,
    )
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    connected = threading.Event()
    client.on_connect = lambda c, userdata, flags, reason, props: connected.set() if not reason.is_failure else None
    try:
        client.connect(host, port, keepalive=keepalive)
    except OSError as exc:
        raise ConnectionError(f"cannot reach the MQTT broker at {url}: {exc}") from exc
    if loop:
        client.loop_start()
        if not connected.wait(timeout):
            client.loop_stop()
            raise ConnectionError(f"the MQTT broker at {url} did not accept client {client_id!r} within {timeout} s.")
    return client
