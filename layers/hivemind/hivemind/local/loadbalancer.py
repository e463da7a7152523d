"""Elastic Load Balancing v2: a real HTTP reverse proxy for each listener, and real health checks.

On AWS an Application Load Balancer listens on its listeners' ports, forwards each request to a
healthy registered target of the listener's target group (to every registered target when none
is healthy: it fails open), and health-checks each target on its own schedule: the target
group's path, matcher, interval, timeout and thresholds, with the target's private address as
the Host header.

Here (moto keeps the resources, this module makes them behave):
- each HTTP(S) listener is an HTTP server on 127.0.0.1 at a free port (HTTPS with a self-signed
  certificate); the load balancer's DNS name becomes `127.0.0.1:<port>` of its HTTPS listener,
  else its HTTP listener, so the stack's URL output is a URL that answers;
- requests go to the emulated instance's app (instances.py) with the X-Forwarded-* headers an
  ALB adds; no registered target is a 503, a target that refuses the connection a 502;
- every registered target is checked by a thread of its own: `initial` (Elb.RegistrationInProgress,
  then Elb.InitialHealthChecking) until `healthy` after HealthyThresholdCount successes in a row,
  or `unhealthy` after UnhealthyThresholdCount failures (Target.ResponseCodeMismatch,
  Target.Timeout, Target.FailedHealthChecks, with AWS's descriptions); an app that listens only
  on the loopback address is unreachable from a load balancer and fails as it would on AWS;
- intervals are scaled like the state machine's waits (never below 0.1 s); timeouts are real;
- a target whose app could not be rehearsed here is `unavailable` with the reason
  `HiveMind.NotRehearsed` and the sentence that says why: a code AWS never returns.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
import logging
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivemind.local import instances
from hivemind.models.plan import accepts

log = logging.getLogger("hivemind.local")

NOT_REHEARSED = "HiveMind.NotRehearsed"
DESCRIPTIONS = {
    "Elb.RegistrationInProgress": "Target registration is in progress",
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.Timeout": "Request timed out",
    "Target.FailedHealthChecks": "Health checks failed",
}
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class TargetHealth:
    """What the checks of one target saw."""

    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = DESCRIPTIONS["Elb.RegistrationInProgress"]
    status_code: int | None = None
    checks: int = 0
    successes: int = 0
    failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Settings:
    time_scale: float = 0.01


settings = _Settings()
_health: dict[tuple[str, str], TargetHealth] = {}
_servers: dict[str, _ListenerServer] = {}  # listener arn -> server
_lock = threading.Lock()


# ----------------------------------------------------------------------------------- health checks
def check_once(
    target_group: Any, instance: instances.Instance | None, port: int
) -> tuple[bool, str | None, int | None]:
    """One health check as an ALB sends it -> (passed, reason when it failed, status code)."""
    address = instance.address(port) if instance else None
    if address is None or instances.listens_beyond_loopback(address[1]) is False:
        return False, "Target.FailedHealthChecks", None
    host = f"{instance.private_ip}:{port}" if instance else "127.0.0.1"
    timeout = float(target_group.health_check_timeout_seconds or 5)
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request(
            "GET",
            target_group.health_check_path or "/",
            headers={"Host": host, "User-Agent": "ELB-HealthChecker/2.0", "Connection": "close"},
        )
        status = connection.getresponse().status
    except TimeoutError:
        return False, "Target.Timeout", None
    except (OSError, http.client.HTTPException):
        return False, "Target.FailedHealthChecks", None
    finally:
        connection.close()
    matcher = (target_group.matcher or {}).get("HttpCode", "200")
    return (True, None, status) if accepts(matcher, status) else (False, "Target.ResponseCodeMismatch", status)


def _check_loop(target_group: Any, target_id: str, port: int, health: TargetHealth) -> None:
    interval = max(0.1, float(target_group.health_check_interval_seconds or 30) * settings.time_scale)
    healthy_after = int(target_group.healthy_threshold_count or 5)
    unhealthy_after = int(target_group.unhealthy_threshold_count or 2)
    while not health.stop.is_set():
        instance = instances.get(target_id)
        if instance is not None and instance.not_rehearsed:
            health.state, health.reason, health.description = "unavailable", NOT_REHEARSED, instance.not_rehearsed
            return
        passed, reason, status = check_once(target_group, instance, port)
        health.checks += 1
        health.status_code = status
        if passed:
            health.successes, health.failures = health.successes + 1, 0
            if health.successes >= healthy_after:
                health.state, health.reason, health.description = "healthy", None, None
        else:
            health.failures, health.successes = health.failures + 1, 0
            offline = instances.unreachable_while_answering(instance, status) if instance is not None else None
            if offline is not None and instance is not None:
                instance.not_rehearsed = offline  # the next round reports it: not rehearsed, not unhealthy
                continue
            if health.failures >= unhealthy_after:
                health.state, health.reason = "unhealthy", reason
                health.description = (
                    f"Health checks failed with these codes: [{status}]"
                    if reason == "Target.ResponseCodeMismatch"
                    else DESCRIPTIONS.get(reason or "")
                )
        if health.state == "initial":
            health.reason = "Elb.InitialHealthChecking"
            health.description = DESCRIPTIONS["Elb.InitialHealthChecking"]
        health.stop.wait(interval)


def start_checks(target_group: Any, target_id: str, port: int) -> None:
    key = (target_group.arn, target_id)
    with _lock:
        if key in _health and not _health[key].stop.is_set():
            return
        health = _health[key] = TargetHealth()
    threading.Thread(
        target=_check_loop, args=(target_group, target_id, port, health), name=f"health-{target_id}", daemon=True
    ).start()


def stop_checks(target_group_arn: str, target_id: str | None = None) -> None:
    with _lock:
        keys = [k for k in _health if k[0] == target_group_arn and (target_id is None or k[1] == target_id)]
        for key in keys:
            _health.pop(key).stop.set()


def health_of(target_group_arn: str, target_id: str) -> TargetHealth | None:
    with _lock:
        return _health.get((target_group_arn, target_id))


# ------------------------------------------------------------------------------------------ proxy
class _Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ListenerServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("load balancer %s: " + format, self.server.listener_port, *args)

    def _handle(self) -> None:
        action = self.server.action()
        if action is None:
            return self._answer(503, "the listener is gone")
        if action["Type"] == "redirect":
            return self._redirect(action.get("RedirectConfig") or {})
        if action["Type"] != "forward":
            return self._answer(503, f"the local load balancer does not emulate {action['Type']} actions")
        target = self.server.pick_target(action["TargetGroupArn"])
        if target is None:
            return self._answer(503, "")
        self._forward(*target)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _forward(self, address: tuple[str, int], idle_timeout_s: float) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        forwarded_for = self.headers.get("X-Forwarded-For")
        client = self.client_address[0]
        headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
        headers["X-Forwarded-Proto"] = "https" if self.server.tls else "http"
        headers["X-Forwarded-Port"] = str(self.server.listener_port)
        headers["X-Amzn-Trace-Id"] = f"Root=1-{int(time.time()):08x}-{threading.get_ident():024x}"[:40]
        connection = http.client.HTTPConnection(*address, timeout=idle_timeout_s)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except TimeoutError:
            return self._answer(504, "")
        except (OSError, http.client.HTTPException):
            return self._answer(502, "")
        finally:
            connection.close()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _redirect(self, config: dict[str, Any]) -> None:
        protocol = (config.get("Protocol") or "#{protocol}").lower()
        port = str(config.get("Port") or "#{port}")
        local = self.server.local_port_of(int(port)) if port.isdigit() else None
        host = f"127.0.0.1:{local}" if local else self.headers.get("Host", "127.0.0.1")
        status = 302 if config.get("StatusCode") == "HTTP_302" else 301
        self.send_response_only(status)
        self.send_header("Location", f"{protocol}://{host}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, status: int, text: str) -> None:
        body = (f"<html><body><h1>{status} {http.client.responses.get(status, '')}</h1></body></html>\n").encode()
        self.send_response_only(status)
        self.send_header("Server", "awselb/2.0")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if text:
            log.debug("load balancer %s answered %s: %s", self.server.listener_port, status, text)


class _ListenerServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, backend: Any, listener: Any, tls: bool):
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.backend, self.listener_arn, self.load_balancer_arn = backend, listener.arn, listener.load_balancer_arn
        self.listener_port, self.tls = int(listener.port), tls
        self.port = int(self.server_address[1])
        self._next = 0
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*_self_signed())
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def action(self) -> dict[str, Any] | None:
        balancer = self.backend.load_balancers.get(self.load_balancer_arn)
        listener = balancer.listeners.get(self.listener_arn) if balancer else None
        if listener is None or not listener.default_actions:
            return None
        return dict(listener.default_actions[0].data)

    def local_port_of(self, listener_port: int) -> int | None:
        with _lock:
            for server in _servers.values():
                if server.load_balancer_arn == self.load_balancer_arn and server.listener_port == listener_port:
                    return server.port
        return None

    def pick_target(self, target_group_arn: str) -> tuple[tuple[str, int], float] | None:
        """A healthy target (round robin); every registered one when none is healthy (fail open)."""
        group = self.backend.target_groups.get(target_group_arn)
        if group is None:
            return None
        registered = list(group.targets.values())
        states = {t["Id"]: (health_of(target_group_arn, t["Id"]) or TargetHealth()).state for t in registered}
        healthy = [t for t in registered if states[t["Id"]] == "healthy"]
        pool = healthy or [t for t in registered if states[t["Id"]] == "unhealthy"]
        if not pool:
            return None
        target = pool[self._next % len(pool)]
        self._next += 1
        instance = instances.get(target["Id"])
        address = instance.address(int(target["Port"])) if instance else None
        # a target that listens nowhere here: connection refused, as an ALB sees it (a 502)
        return (address or ("127.0.0.1", 9)), 60.0


def serve_listener(backend: Any, listener: Any) -> None:
    """Start the listener's local server and point its load balancer's DNS name at it."""
    if listener.protocol not in ("HTTP", "HTTPS"):
        return
    server = _ListenerServer(backend, listener, tls=listener.protocol == "HTTPS")
    with _lock:
        _servers[listener.arn] = server
    threading.Thread(target=server.serve_forever, name=f"alb-{server.port}", daemon=True).start()
    balancer = backend.load_balancers.get(listener.load_balancer_arn)
    if balancer is not None and (listener.protocol == "HTTPS" or not _has_https(balancer)):
        balancer.dns_name = f"127.0.0.1:{server.port}"


def _has_https(balancer: Any) -> bool:
    return any(getattr(listener, "protocol", "") == "HTTPS" for listener in balancer.listeners.values())


def stop_listener(listener_arn: str) -> None:
    with _lock:
        server = _servers.pop(listener_arn, None)
    if server is not None:
        server.shutdown()
        server.server_close()


def stop_load_balancer(load_balancer_arn: str) -> None:
    with _lock:
        arns = [arn for arn, s in _servers.items() if s.load_balancer_arn == load_balancer_arn]
    for arn in arns:
        stop_listener(arn)


def stop_all() -> None:
    with _lock:
        arns = list(_servers)
        groups = {k[0] for k in _health}
    for arn in arns:
        stop_listener(arn)
    for group in groups:
        stop_checks(group)


_certificate: tuple[str, str] | None = None


def _self_signed() -> tuple[str, str]:
    """A certificate for 127.0.0.1, made once a process (the HTTPS listener's ACM certificate
    cannot leave AWS; clients of the local URL are told not to verify it)."""
    global _certificate
    if _certificate is None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .sign(key, hashes.SHA256())
        )
        folder = Path(tempfile.mkdtemp(prefix="hivemind-alb-"))
        cert_path, key_path = folder / "cert.pem", folder / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        _certificate = (str(cert_path), str(key_path))
    return _certificate


# ------------------------------------------------------------------------------------ moto patches
def install_patches(active: Any) -> None:
    """Listeners serve, registrations start checks, describe_target_health reports them.
    `active()` says whether a local runtime runs (otherwise moto behaves as its own)."""
    import moto.elbv2.models as elb

    original_create_listener = elb.ELBv2Backend.create_listener
    original_delete_listener = elb.ELBv2Backend.delete_listener
    original_delete_balancer = elb.ELBv2Backend.delete_load_balancer
    original_register = elb.FakeTargetGroup.register
    original_deregister = elb.FakeTargetGroup.deregister
    original_terminated = elb.FakeTargetGroup.deregister_terminated_instances
    original_health_for = elb.FakeTargetGroup.health_for

    def create_listener(self: Any, *args: Any, **kwargs: Any) -> Any:
        listener = original_create_listener(self, *args, **kwargs)
        if active():
            serve_listener(self, listener)
        return listener

    def delete_listener(self: Any, listener_arn: str) -> Any:
        stop_listener(listener_arn)
        return original_delete_listener(self, listener_arn)

    def delete_load_balancer(self: Any, arn: str) -> None:
        stop_load_balancer(arn)
        return original_delete_balancer(self, arn)

    def register(self: Any, targets: list[dict[str, Any]]) -> None:
        original_register(self, targets)
        if active():
            for target in targets:
                start_checks(self, target["Id"], int(target.get("Port") or self.port))

    def deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        original_deregister(self, targets)
        for target in targets:
            stop_checks(self.arn, target["Id"])

    def deregister_terminated(self: Any, instance_ids: list[str]) -> None:
        original_terminated(self, instance_ids)
        for instance_id in instance_ids:
            stop_checks(self.arn, instance_id)

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        status = original_health_for(self, target, ec2_backend)
        health = health_of(self.arn, target["Id"]) if active() else None
        if health is None or status.status != "healthy":
            return status
        return elb.FakeHealthStatus(
            status.instance_id, status.port, status.health_check_port, health.state, health.reason, health.description
        )

    elb.ELBv2Backend.create_listener = create_listener
    elb.ELBv2Backend.delete_listener = delete_listener
    elb.ELBv2Backend.delete_load_balancer = delete_load_balancer
    elb.FakeTargetGroup.register = register
    elb.FakeTargetGroup.deregister = deregister
    elb.FakeTargetGroup.deregister_terminated_instances = deregister_terminated
    elb.FakeTargetGroup.health_for = health_for
