#!/usr/bin/env python3
"""Writes the classification fixture hosts under tests/assets/hosts/ from the specs below:
a faked /proc (stat, status, cmdline, exe link, fd links to socket inodes, /proc/net/tcp),
a dpkg status file, a few files, and expect.toml with the tags `jikimi classify` must give.

    python3 tests/assets/make_hosts.py          # (re)write the trees
    python3 tests/assets/make_hosts.py --check  # fail when a committed tree is stale

Each process is (pid, comm, exe, argv, user, [listening tcp ports]).
"""

import hashlib
import os
import shutil
import socket
import struct
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
USERS = {"root": 0, "www-data": 33, "postgres": 105, "redis": 106, "mysql": 107, "tomcat": 108,
         "app": 1000, "oracle": 54321, "mongodb": 109}

BASE = [
    (1, "systemd", "/usr/lib/systemd/systemd", ["/sbin/init"], "root", []),
    (2, "kthreadd", "", [], "root", []),
    (400, "sshd", "/usr/sbin/sshd", ["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"], "root", [22]),
    (410, "cron", "/usr/sbin/cron", ["/usr/sbin/cron", "-f"], "root", []),
]

HOSTS = {
    "web": {
        "description": "nginx serving ports 80 and 443 (master and two workers), package nginx",
        "procs": [
            (800, "nginx", "/usr/sbin/nginx", ["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"], "root", [80, 443]),
            (801, "nginx", "/usr/sbin/nginx", ["nginx: worker process"], "www-data", []),
            (802, "nginx", "/usr/sbin/nginx", ["nginx: worker process"], "www-data", []),
        ],
        "packages": [("nginx", "1.22.1-9"), ("nginx-common", "1.22.1-9"), ("openssh-server", "1:9.2p1-2")],
        "files": {"/etc/nginx/nginx.conf": "user www-data;\n"},
        "expect": {"AssetType": "Web", "Product": "nginx"},
        "rules": ["nginx"],
    },
    "was": {
        "description": "Tomcat (java with the catalina Bootstrap class) on 8080, a Node.js app on 3000 and gunicorn on 8000",
        "procs": [
            (900, "java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
             ["/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-Djava.util.logging.config.file=/var/lib/tomcat10/conf/logging.properties",
              "-Ddb.password=s3cr3t-do-not-print", "-classpath", "/usr/share/tomcat10/bin/bootstrap.jar",
              "org.apache.catalina.startup.Bootstrap", "start"], "tomcat", [8080]),
            (950, "node", "/usr/bin/node", ["node", "/srv/app/server.js"], "app", [3000]),
            (970, "gunicorn", "/usr/bin/python3.11", ["/usr/bin/python3", "/usr/bin/gunicorn", "-b", "0.0.0.0:8000", "app:app"], "app", [8000]),
            (971, "gunicorn", "/usr/bin/python3.11", ["/usr/bin/python3", "/usr/bin/gunicorn", "-b", "0.0.0.0:8000", "app:app"], "app", []),
        ],
        "packages": [("openjdk-17-jre-headless", "17.0.9+9-1~deb12u1")],
        "files": {},
        "expect": {"AssetType": "WAS", "Product": "gunicorn,nodejs,tomcat"},
        "rules": ["tomcat", "nodejs", "gunicorn"],
        "absent_in_output": ["s3cr3t-do-not-print"],
    },
    "db": {
        "description": "PostgreSQL on 5432, Redis on 6379, MariaDB on 3306 (mariadbd, package mariadb-server)",
        "procs": [
            (700, "postgres", "/usr/lib/postgresql/15/bin/postgres",
             ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/15/main"], "postgres", [5432]),
            (701, "postgres", "/usr/lib/postgresql/15/bin/postgres", ["postgres: 15/main: checkpointer "], "postgres", []),
            (720, "redis-server", "/usr/bin/redis-server", ["/usr/bin/redis-server 127.0.0.1:6379"], "redis", [6379]),
            (740, "mariadbd", "/usr/sbin/mariadbd", ["/usr/sbin/mariadbd"], "mysql", [3306]),
        ],
        "packages": [("postgresql-15", "15.5-0+deb12u1"), ("redis-server", "5:7.0.15-1~deb12u1"),
                     ("mariadb-server", "1:10.11.6-0+deb12u1")],
        "files": {},
        "expect": {"AssetType": "DB", "Product": "mariadb,postgresql,redis"},
        "rules": ["mariadb", "postgresql", "redis"],
    },
    "db-oracle": {
        "description": "Oracle (ora_pmon_ORCL, the tnslsnr listener on 1521, /etc/oratab) and MongoDB on 27017 (no packages: rpm host)",
        "procs": [
            (1200, "ora_pmon_orcl", "/u01/app/oracle/product/19c/bin/oracle", ["ora_pmon_ORCL"], "oracle", []),
            (1210, "tnslsnr", "/u01/app/oracle/product/19c/bin/tnslsnr",
             ["/u01/app/oracle/product/19c/bin/tnslsnr", "LISTENER", "-inherit"], "oracle", [1521]),
            (1300, "mongod", "/usr/bin/mongod", ["/usr/bin/mongod", "--config", "/etc/mongod.conf"], "mongodb", [27017]),
        ],
        "packages": None,
        "files": {"/etc/oratab": "ORCL:/u01/app/oracle/product/19c:Y\n"},
        "expect": {"AssetType": "DB", "Product": "mongodb,oracle"},
        "rules": ["mongodb", "oracle"],
    },
    "mixed": {
        "description": "Apache httpd, php-fpm, WildFly (jboss-modules.jar), uWSGI and MySQL (mysqld on 3306) on one host",
        "procs": [
            (600, "apache2", "/usr/sbin/apache2", ["/usr/sbin/apache2", "-k", "start"], "root", [80]),
            (601, "apache2", "/usr/sbin/apache2", ["/usr/sbin/apache2", "-k", "start"], "www-data", []),
            (610, "php-fpm8.2", "/usr/sbin/php-fpm8.2", ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"], "root", []),
            (611, "php-fpm8.2", "/usr/sbin/php-fpm8.2", ["php-fpm: pool www"], "www-data", []),
            (650, "java", "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
             ["java", "-D[Standalone]", "-jar", "/opt/wildfly/jboss-modules.jar", "-mp", "/opt/wildfly/modules",
              "org.jboss.as.standalone"], "app", [8080, 9990]),
            (670, "uwsgi", "/usr/bin/uwsgi-core", ["/usr/bin/uwsgi", "--ini", "/etc/uwsgi/apps-enabled/app.ini"], "www-data", []),
            (690, "mysqld", "/usr/sbin/mysqld", ["/usr/sbin/mysqld"], "mysql", [3306]),
        ],
        "packages": [("apache2", "2.4.57-2"), ("php8.2-fpm", "8.2.7-1~deb12u1"), ("uwsgi-core", "2.0.21-5.1"),
                     ("mysql-server-8.0", "8.0.36-1")],
        "files": {},
        "expect": {"AssetType": "DB,WAS,Web", "Product": "httpd,jboss,mysql,php-fpm,uwsgi"},
        "rules": ["httpd", "jboss", "uwsgi", "php-fpm", "mysql"],
    },
    "none": {
        "description": "only sshd and cron; a node process that listens on nothing and the nodejs package (a build host): no asset tags",
        "procs": [
            (990, "node", "/usr/bin/node", ["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "run", "build"], "app", []),
        ],
        "packages": [("openssh-server", "1:9.2p1-2"), ("nodejs", "18.19.0+dfsg-6~deb12u1")],
        "files": {},
        "expect": {},
        "rules": [],
    },
}


def tcp_line(i, port, inode, v6=False):
    if v6:
        addr = "0" * 32
    else:
        addr = "%08X" % struct.unpack("<I", socket.inet_aton("0.0.0.0"))[0]
    return (f"  {i:3d}: {addr}:{port:04X} {'0' * (32 if v6 else 8)}:0000 0A 00000000:00000000 "
            f"00:00000000 00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n")


def write(root, rel, text, mode=0o644):
    p = root / rel.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    os.chmod(p, mode)


def build(name, spec, out):
    root = out / name / "root"
    write(root, "/etc/hostname", f"{name}-1\n")
    write(root, "/etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
          'VERSION_ID="12"\nID=debian\n')
    write(root, "/etc/passwd", "".join(f"{u}:x:{i}:{i}:{u}:/home/{u}:/usr/sbin/nologin\n"
                                       for u, i in USERS.items()))
    write(root, "/etc/group", "".join(f"{u}:x:{i}:\n" for u, i in USERS.items()))
    write(root, "/etc/machine-id", hashlib.sha256(name.encode()).hexdigest()[:32] + "\n")
    for path, text in spec["files"].items():
        write(root, path, text)
    if spec["packages"] is not None:
        write(root, "/var/lib/dpkg/status", "".join(
            f"Package: {n}\nStatus: install ok installed\nVersion: {v}\nArchitecture: amd64\n\n"
            for n, v in spec["packages"]))
    tcp, tcp6, inode = [], [], 20000
    for pid, comm, exe, argv, user, ports in BASE + spec["procs"]:
        d = f"/proc/{pid}"
        write(root, f"{d}/stat", f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 100 "
              f"10000000 1000 18446744073709551615\n")
        uid = USERS[user]
        write(root, f"{d}/status", f"Name:\t{comm}\nState:\tS\nPid:\t{pid}\nPPid:\t1\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
              f"Gid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
        write(root, f"{d}/cmdline", b"".join(a.encode() + b"\0" for a in argv))
        if exe:
            os.symlink(exe, root / d.lstrip("/") / "exe")
        for n, port in enumerate(ports):
            for v6 in (False, True):
                inode += 1
                (tcp6 if v6 else tcp).append(tcp_line(len(tcp6 if v6 else tcp), port, inode, v6))
                fd = root / d.lstrip("/") / "fd"
                fd.mkdir(exist_ok=True)
                os.symlink(f"socket:[{inode}]", fd / str(3 + 2 * n + v6))
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    write(root, "/proc/net/tcp", header + "".join(tcp))
    write(root, "/proc/net/tcp6", header + "".join(tcp6))
    write(root, "/proc/net/udp", header)
    write(root, "/proc/self/mounts", "proc /proc proc rw 0 0\n")
    lines = [f'description = "{spec["description"]}"', "", "# tags `jikimi classify --root root` must give, exactly", "[tags]"]
    lines += [f'{k} = "{v}"' for k, v in spec["expect"].items()]
    lines += ["", "# rules that must match, and nothing else", f"rules = {spec['rules']!r}".replace("'", '"')]
    if spec.get("absent_in_output"):
        lines += ["# strings that must never appear in the output (secrets on command lines)",
                  f"absent = {spec['absent_in_output']!r}".replace("'", '"')]
    # `rules` and `absent` must precede [tags] in TOML: write them first
    top = [l for l in lines if l.startswith(("rules", "absent", "description", "# rules", "# strings"))]
    rest = [l for l in lines if l not in top]
    (out / name / "expect.toml").write_text("\n".join(top + [""] + rest).rstrip() + "\n")


def tree(d):
    out = {}
    for p in sorted(Path(d).rglob("*")):
        rel = str(p.relative_to(d))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def main():
    target = HERE / "hosts"
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as t:
            for n, s in HOSTS.items():
                build(n, s, Path(t))
            if tree(t) != tree(target):
                sys.exit("tests/assets/hosts is stale: run python3 tests/assets/make_hosts.py")
        return
    for n, s in HOSTS.items():
        shutil.rmtree(target / n, ignore_errors=True)
        build(n, s, target)


if __name__ == "__main__":
    main()
