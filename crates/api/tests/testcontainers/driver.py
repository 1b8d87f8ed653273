#!/usr/bin/env python3
"""Testcontainers for Python (4.x) driven through what its users do, step by
step, against the engine at DOCKER_HOST: containers with environment, ports,
tmpfs, binds and volumes; every wait strategy; exec; logs; copies in and
out; images built from a path; networks; the generic ServerContainer.

usage: DOCKER_HOST=unix://SOCKET python3 driver.py [STEP...]

Prints `ok NAME` or `FAIL NAME: why` per step, then `testcontainers: N/M
steps passed`, and exits 0 only if every step passed. The engine must have
busybox:latest; nothing is pulled. Ryuk (the reaper) is off: its image is
not available offline, and every step removes what it made. Published ports
are reached on 127.0.0.1 (Testcontainers would otherwise aim at the default
gateway of a machine that has /.dockerenv, as this one does); the two
in-container connection modes have steps of their own.
"""

import os
import pathlib
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback
import urllib.request

# Read when testcontainers is imported: set them first.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

import docker.errors  # noqa: E402
import httpx  # noqa: E402
from testcontainers.community.generic import ServerContainer  # noqa: E402
from testcontainers.core.config import ConnectionMode  # noqa: E402
from testcontainers.core.config import testcontainers_config as tc_config  # noqa: E402
from testcontainers.core.container import DockerContainer, ExecConfig  # noqa: E402
from testcontainers.core.docker_client import DockerClient  # noqa: E402
from testcontainers.core.image import DockerImage  # noqa: E402
from testcontainers.core.labels import LABEL_SESSION_ID, SESSION_ID  # noqa: E402
from testcontainers.core.network import Network  # noqa: E402
from testcontainers.core.wait_strategies import (  # noqa: E402
    CompositeWaitStrategy,
    ExecWaitStrategy,
    FileExistsWaitStrategy,
    HealthcheckWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
    PortWaitStrategy,
)

IMAGE = "busybox:latest"
PREFIX = f"tc{os.getpid()}"
TIMEOUT = 30
WORK = pathlib.Path(tempfile.mkdtemp(prefix="tc-driver-"))


def busybox(*cmd: str) -> DockerContainer:
    return DockerContainer(IMAGE).with_command(list(cmd))


def sh(script: str) -> DockerContainer:
    return busybox("sh", "-c", script)


def web(body: str, port: int = 8080, delay: float = 0) -> str:
    """A shell script that serves `body` at / on `port` after `delay` s."""
    return f"sleep {delay}; mkdir -p /w; echo {body} > /w/index.html; exec httpd -f -p {port} -h /w"


def http_get(host: str, port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as r:
        return r.read().decode()


def out(result) -> str:
    return result.output.decode()


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def client() -> docker.DockerClient:
    return DockerClient().client


def context_dir(name: str, files: dict) -> pathlib.Path:
    root = WORK / name
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# ---- the steps ---------------------------------------------------------


def log_wait():
    c = sh("echo starting; sleep 1; echo ready now; sleep 60").waiting_for(
        LogMessageWaitStrategy("ready now").with_startup_timeout(TIMEOUT)
    )
    with c:
        stdout, _ = c.get_logs()
        expect(b"starting" in stdout and b"ready now" in stdout, f"logs: {stdout!r}")
        expect(c.status == "running", f"status {c.status}")


def log_wait_exited():
    """A container that exits before its message is an error, at once."""
    start = time.time()
    c = sh("echo not-it; exit 3").waiting_for(LogMessageWaitStrategy("never").with_startup_timeout(TIMEOUT))
    try:
        c.start()
    except RuntimeError as e:
        expect("exit code: 3" in str(e), f"error: {e}")
        expect(time.time() - start < TIMEOUT / 2, "noticed only at the timeout")
        return
    finally:
        c.stop()
    raise AssertionError("start did not fail")


def env():
    c = sh("sleep 60").with_env("A", "1").with_envs(B="two words", C="x=y")
    with c:
        r = c.exec(["sh", "-c", 'echo "$A|$B|$C"'])
        expect(out(r).strip() == "1|two words|x=y", out(r))


def env_file():
    f = WORK / "vars.env"
    f.write_text('# a comment\nFROM_FILE=yes\nQUOTED="with spaces"\n')
    with sh("sleep 60").with_env_file(f) as c:
        r = c.exec(["sh", "-c", 'echo "$FROM_FILE|$QUOTED"'])
        expect(out(r).strip() == "yes|with spaces", out(r))


def port_wait():
    """The service listens 2 s after the start: when the port wait returns,
    it answers."""
    c = sh(web("pong", delay=2)).with_exposed_ports(8080)
    c.waiting_for(PortWaitStrategy(8080).with_startup_timeout(TIMEOUT))
    with c:
        port = c.get_exposed_port(8080)
        try:
            body = http_get(c.get_container_host_ip(), port)
        except OSError as e:
            raise AssertionError(f"the port wait returned but the service does not answer: {e}") from None
        expect(body.strip() == "pong", body)


def fixed_host_port():
    for _ in range(5):
        # The port is held until the moment the engine is asked for it;
        # should another process take it in that instant, another one.
        held = socket.socket()
        held.bind(("0.0.0.0", 0))
        port = held.getsockname()[1]
        c = sh(web("fixed")).with_bind_ports(8080, port)
        c.waiting_for(HttpWaitStrategy(8080).for_status_code(200).with_startup_timeout(TIMEOUT))
        held.close()
        try:
            c.start()
            break
        except docker.errors.APIError as e:
            c.stop()
            if "port is already allocated" not in str(e):
                raise
    else:
        raise AssertionError("five host ports in a row were taken")
    try:
        expect(c.get_exposed_port(8080) == port, f"mapped to {c.get_exposed_port(8080)}, asked {port}")
        expect(http_get("127.0.0.1", port).strip() == "fixed", "body")
    finally:
        c.stop()


def http_wait_predicate():
    script = (
        "mkdir -p /w; echo starting > /w/index.html; httpd -p 8080 -h /w;"
        " sleep 2; echo ready > /w/index.html; sleep 60"
    )
    c = sh(script).with_exposed_ports(8080)
    c.waiting_for(
        HttpWaitStrategy(8080, "/index.html")
        .for_response_predicate(lambda body: "ready" in body)
        .with_startup_timeout(TIMEOUT)
    )
    with c:
        expect(http_get("127.0.0.1", c.get_exposed_port(8080)).strip() == "ready", "body")


def healthcheck_wait():
    check = {
        "test": ["CMD-SHELL", "test -f /tmp/ok"],
        "interval": 200_000_000,
        "timeout": 2_000_000_000,
        "retries": 100,
    }
    c = sh("sleep 1; touch /tmp/ok; sleep 60").with_kwargs(healthcheck=check)
    c.waiting_for(HealthcheckWaitStrategy().with_startup_timeout(TIMEOUT))
    with c:
        c.reload()
        health = c.get_wrapped_container().attrs["State"]["Health"]
        expect(health["Status"] == "healthy", f"{health}")


def exec_wait():
    c = sh("sleep 1; touch /tmp/ready; sleep 60")
    c.waiting_for(ExecWaitStrategy(["test", "-f", "/tmp/ready"]).with_startup_timeout(TIMEOUT))
    with c:
        expect(c.exec(["test", "-f", "/tmp/ready"]).exit_code == 0, "no /tmp/ready")


def file_exists_wait():
    """FileExistsWaitStrategy on a host file the container writes through
    a read-write bind (whole: renamed into place, as the wait only sees
    that the file is there)."""
    host = WORK / "out"
    host.mkdir()
    c = sh("sleep 1; echo done > /out/.flag; mv /out/.flag /out/flag; sleep 60").with_volume_mapping(host, "/out", "rw")
    c.waiting_for(FileExistsWaitStrategy(host / "flag").with_startup_timeout(TIMEOUT))
    with c:
        expect((host / "flag").read_text() == "done\n", "content")


def composite_wait():
    c = sh("echo booting; " + web("both", delay=1)).with_exposed_ports(8080)
    c.waiting_for(
        CompositeWaitStrategy(LogMessageWaitStrategy("booting"), HttpWaitStrategy(8080)).with_startup_timeout(
            TIMEOUT
        )
    )
    with c:
        expect(http_get("127.0.0.1", c.get_exposed_port(8080)).strip() == "both", "body")


def tmpfs():
    with sh("sleep 60").with_tmpfs_mount("/scratch", "size=16m") as c:
        mounts = out(c.exec(["grep", " /scratch ", "/proc/mounts"]))
        expect(mounts.startswith("tmpfs ") and "size=16384k" in mounts, mounts)
        r = c.exec(["sh", "-c", "echo x > /scratch/f && cat /scratch/f"])
        expect(r.exit_code == 0 and out(r).strip() == "x", out(r))


def bind_read_only():
    conf = WORK / "conf"
    conf.mkdir()
    (conf / "app.conf").write_text("level=3\n")
    with sh("sleep 60").with_volume_mapping(conf, "/conf") as c:  # mode "ro" by default
        expect(out(c.exec(["cat", "/conf/app.conf"])) == "level=3\n", "read")
        r = c.exec(["touch", "/conf/new"])
        expect(r.exit_code != 0 and "Read-only file system" in out(r), f"write: {r.exit_code} {out(r)}")
    expect(not (conf / "new").exists(), "the write landed")


def named_volume():
    name = f"{PREFIX}-data"
    try:
        with sh("echo kept > /data/f; sleep 60").with_volume_mapping(name, "/data", "rw") as c:
            ExecWaitStrategy(["test", "-f", "/data/f"]).with_startup_timeout(TIMEOUT).wait_until_ready(c)
        # stop() removes the container with its anonymous volumes only.
        with sh("sleep 60").with_volume_mapping(name, "/data", "rw") as c:
            expect(out(c.exec(["cat", "/data/f"])) == "kept\n", "not kept")
    finally:
        client().volumes.get(name).remove()


def exec_result():
    with sh("sleep 60") as c:
        r = c.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
        expect(r.exit_code == 3, f"exit {r.exit_code}")
        expect("out" in out(r) and "err" in out(r), out(r))


def exec_config():
    with sh("sleep 60") as c:
        r = c.exec(
            ExecConfig(
                command=["sh", "-c", "id -u; pwd; echo $X"],
                user="nobody",
                environment={"X": "y"},
                workdir="/tmp",
            )
        )
        expect(out(r).split() == ["65534", "/tmp", "y"], out(r))


def logs_split():
    c = sh("echo to-out; echo to-err >&2; sleep 60").waiting_for(LogMessageWaitStrategy("to-err"))
    with c:
        stdout, stderr = c.get_logs()
        expect(stdout == b"to-out\n" and stderr == b"to-err\n", f"{stdout!r} {stderr!r}")


def wait_exit_code():
    with sh("echo 42; exit 7") as c:
        expect(c.wait() == 7, "exit code")
        expect(c.get_logs()[0] == b"42\n", "logs")


def copy_into_running():
    with sh("sleep 60") as c:
        c.copy_into_container(b"hello bytes", "/tmp/in.txt", 0o600)
        r = c.exec(["sh", "-c", "stat -c %a /tmp/in.txt; cat /tmp/in.txt"])
        expect(out(r).split("\n")[:2] == ["600", "hello bytes"], out(r))


def copy_dir_before_start():
    d = context_dir("seed", {"a.txt": "first\n", "sub/b.txt": "second\n"})
    c = sh("cat /opt/seed/a.txt /opt/seed/sub/b.txt; echo copied; sleep 60")
    c.with_copy_into_container(d, "/opt").waiting_for(LogMessageWaitStrategy("copied"))
    with c:
        expect(c.get_logs()[0] == b"first\nsecond\ncopied\n", f"{c.get_logs()[0]!r}")


def copy_from():
    with sh("echo generated > /tmp/gen.txt; sleep 60") as c:
        ExecWaitStrategy(["test", "-s", "/tmp/gen.txt"]).wait_until_ready(c)
        dest = WORK / "gen.txt"
        c.copy_from_container("/tmp/gen.txt", dest)
        expect(dest.read_text() == "generated\n", dest.read_text())


def build_image():
    ctx = context_dir(
        "ctx",
        {
            "Dockerfile": (
                f"FROM {IMAGE}\nARG GREETING=default\nENV GREETING=$GREETING\n"
                "COPY msg.txt /msg.txt\nVOLUME /cache\n"
                'CMD ["sh", "-c", "cat /msg.txt; echo $GREETING; echo x > /cache/f; sleep 60"]\n'
            ),
            "msg.txt": "from the context\n",
        },
    )
    tag = f"{PREFIX}-img:1"
    with DockerImage(path=ctx, tag=tag, buildargs={"GREETING": "from-buildarg"}) as image:
        expect(str(image) == tag, str(image))
        expect(re.fullmatch("[0-9a-f]{12}", image.short_id) is not None, image.short_id)
        expect(len(image.get_logs()) > 0, "no build output")
        c = DockerContainer(str(image)).waiting_for(LogMessageWaitStrategy("from-buildarg"))
        with c:
            expect(c.get_logs()[0].startswith(b"from the context\nfrom-buildarg\n"), f"{c.get_logs()[0]!r}")
            mounts = c.get_wrapped_container().attrs["Mounts"]
            anon = [m["Name"] for m in mounts if m["Destination"] == "/cache"]
            expect(len(anon) == 1, f"mounts {mounts}")
        # stop() is `rm -f -v`: the image's anonymous volume goes too.
        try:
            client().volumes.get(anon[0])
            raise AssertionError(f"anonymous volume {anon[0]} outlived its container")
        except docker.errors.NotFound:
            pass
    # clean_up: the image is removed with the context.
    try:
        client().images.get(tag)
        raise AssertionError("image outlived its DockerImage context")
    except docker.errors.ImageNotFound:
        pass


def build_dockerfile_path():
    ctx = context_dir(
        "ctx2",
        {
            "docker/Custom.Dockerfile": f'FROM {IMAGE}\nCOPY data /data\nCMD ["cat", "/data/v"]\n',
            "data/v": "custom dockerfile\n",
        },
    )
    with DockerImage(path=ctx, dockerfile_path="docker/Custom.Dockerfile", tag=f"{PREFIX}-img:2", no_cache=True) as i:
        with DockerContainer(str(i)) as c:
            expect(c.wait() == 0 and c.get_logs()[0] == b"custom dockerfile\n", f"{c.get_logs()!r}")


def network_aliases():
    with Network() as net:
        server = sh(web("net-ok")).with_network(net).with_network_aliases("web", "www")
        with server:
            probe = sh("sleep 60").with_network(net)
            probe.waiting_for(ExecWaitStrategy(["wget", "-qO-", "http://www:8080/"]).with_startup_timeout(TIMEOUT))
            with probe:
                r = probe.exec(["wget", "-qO-", "http://web:8080/"])
                expect(out(r).strip() == "net-ok", out(r))
    expect(client().networks.list(names=[net.name]) == [], "network outlived its context")


def network_connect():
    """Network.connect on a running container, with an alias."""
    with Network() as net, sh(web("late")) as server, sh("sleep 60").with_network(net) as probe:
        net.connect(server.get_container_id(), ["late"])
        ExecWaitStrategy(["wget", "-qO-", "http://late:8080/"]).with_startup_timeout(TIMEOUT).wait_until_ready(probe)
        expect(out(probe.exec(["wget", "-qO-", "http://late:8080/"])).strip() == "late", "body")


def server_container():
    """testcontainers' generic ServerContainer: waits for a 404 at /, then
    the test talks to it with httpx."""
    dockerfile = f'FROM {IMAGE}\nRUN mkdir /www\nCMD ["httpd", "-f", "-p", "9000", "-h", "/www"]\n'
    ctx = context_dir("srv", {"Dockerfile": dockerfile})
    with DockerImage(path=ctx, tag=f"{PREFIX}-srv:1") as image:
        with ServerContainer(port=9000, image=image) as srv:
            srv.exec(["sh", "-c", "echo served > /www/hi.txt"])
            r = httpx.get(srv._create_connection_url() + "/hi.txt", timeout=5)
            expect(r.status_code == 200 and r.text == "served\n", f"{r.status_code} {r.text!r}")


def labels_and_inspect():
    name = f"{PREFIX}-named"
    with sh("sleep 60").with_name(name).with_env("K", "v") as c:
        listed = client().containers.list(filters={"label": f"{LABEL_SESSION_ID}={SESSION_ID}"})
        expect([x.id for x in listed] == [c.get_container_id()], f"session filter found {listed}")
        info = c.get_container_info()
        expect(info is not None, "inspect could not be parsed")
        expect(info.Name == f"/{name}", f"name {info.Name}")
        expect(info.State.Running is True, f"state {info.State}")
        expect("K=v" in info.Config.Env, f"env {info.Config.Env}")
        expect(info.Config.Labels.get("org.testcontainers.lang") == "python", f"labels {info.Config.Labels}")


def connection_mode(mode: ConnectionMode):
    """Inside a container Testcontainers reaches a service through the
    container network's gateway and the published port (gateway_ip) or at
    the container's own address (bridge_ip)."""
    before = tc_config.connection_mode_override
    tc_config.connection_mode_override = mode
    try:
        with sh(web(mode.value)).with_exposed_ports(8080).waiting_for(HttpWaitStrategy(8080)) as c:
            host, port = c.get_container_host_ip(), c.get_exposed_port(8080)
            expect(host not in ("127.0.0.1", "localhost", ""), f"host {host}")
            expect(http_get(host, port).strip() == mode.value, "body")
    finally:
        tc_config.connection_mode_override = before


def stop_removes():
    c = sh("sleep 60").start()
    cid = c.get_container_id()
    c.stop()
    try:
        client().containers.get(cid)
        raise AssertionError("the container outlived stop()")
    except docker.errors.NotFound:
        pass


STEPS = [
    ("log message wait", log_wait),
    ("log wait on an exited container fails at once", log_wait_exited),
    ("with_env / with_envs", env),
    ("with_env_file", env_file),
    ("port wait, then the service answers", port_wait),
    ("with_bind_ports on a chosen host port + HTTP status wait", fixed_host_port),
    ("HTTP wait for a response predicate", http_wait_predicate),
    ("healthcheck wait", healthcheck_wait),
    ("exec wait", exec_wait),
    ("file-exists wait through a read-write bind", file_exists_wait),
    ("composite wait (log, then HTTP)", composite_wait),
    ("tmpfs mount with a size", tmpfs),
    ("read-only bind (default mode)", bind_read_only),
    ("named volume kept across containers", named_volume),
    ("exec exit code and output", exec_result),
    ("exec as a user, with env and workdir", exec_config),
    ("logs: stdout and stderr apart", logs_split),
    ("wait() gives the exit code", wait_exit_code),
    ("copy bytes into a running container, with a mode", copy_into_running),
    ("copy a directory in before start", copy_dir_before_start),
    ("copy a file out", copy_from),
    ("DockerImage from a path, build args, VOLUME, clean-up", build_image),
    ("DockerImage with a dockerfile_path, no_cache", build_dockerfile_path),
    ("Network with aliases", network_aliases),
    ("Network.connect a running container", network_connect),
    ("ServerContainer (httpx)", server_container),
    ("session labels and get_container_info", labels_and_inspect),
    ("gateway_ip connection mode", lambda: connection_mode(ConnectionMode.gateway_ip)),
    ("bridge_ip connection mode", lambda: connection_mode(ConnectionMode.bridge_ip)),
    ("stop() removes the container", stop_removes),
]


def main() -> int:
    only = sys.argv[1:]
    steps = [(n, f) for n, f in STEPS if not only or f.__name__ in only or n in only]
    passed = 0
    for name, step in steps:
        start = time.time()
        try:
            step()
            passed += 1
            print(f"ok {name} ({time.time() - start:.1f}s)", flush=True)
        except Exception as e:  # a step's failure, whatever it is, is reported
            why = f"{type(e).__name__}: {e}".replace("\n", " ")[:600]
            print(f"FAIL {name}: {why}", flush=True)
            if os.environ.get("TC_DRIVER_TRACE"):
                traceback.print_exc()
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"testcontainers: {passed}/{len(steps)} steps passed", flush=True)
    return 0 if passed == len(steps) else 1


if __name__ == "__main__":
    sys.exit(main())
