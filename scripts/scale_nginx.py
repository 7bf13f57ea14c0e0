"""nginx's configuration for the scale-out path, generated from docker-compose.scale.yml's own.

The compose file holds the one source (`configs.nginx_conf.content`); this turns it into a config
a local nginx runs (`make test-scale`): the upstream's `server app:8000;` (every replica, resolved
by Docker's DNS) becomes one line per local instance, and `listen 8000;` the local port. Anything
else (buffering off for the event streams, timeouts, headers) is the compose file's, unchanged.

    python scripts/scale_nginx.py 127.0.0.1:8001 127.0.0.1:8002 --listen 127.0.0.1:8080 > site.conf
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.scale.yml"
UPSTREAM_SERVER = re.compile(r"^(\s*)server app:8000;$", re.MULTILINE)
LISTEN = re.compile(r"^(\s*)listen 8000;$", re.MULTILINE)


class ComposeLoader(yaml.SafeLoader):
    """YAML with compose's own tags (`!reset`, `!override`) read as plain values."""


ComposeLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def compose_site_config(compose: Path = COMPOSE) -> str:
    """The site config as nginx reads it inside compose (`$$` is compose's escape for `$`)."""
    document = yaml.load(compose.read_text(), Loader=ComposeLoader)  # ComposeLoader is a SafeLoader
    content: str = document["configs"]["nginx_conf"]["content"]
    return content.replace("$$", "$")


def local_site_config(upstreams: list[str], listen: str, compose: Path = COMPOSE) -> str:
    site = compose_site_config(compose)
    if not UPSTREAM_SERVER.search(site) or not LISTEN.search(site):
        raise SystemExit(f"{compose}: the nginx config no longer has `server app:8000;` and `listen 8000;`")
    site = UPSTREAM_SERVER.sub(lambda m: "\n".join(f"{m.group(1)}server {u};" for u in upstreams), site)
    return LISTEN.sub(lambda m: f"{m.group(1)}listen {listen};", site)


def main_config(site: str, workdir: Path, *, as_root: bool) -> str:
    """A whole nginx.conf around the site, with every path under `workdir` (no system files touched)."""
    temp = "\n".join(
        f"  {name}_temp_path {workdir / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    indented = "\n".join(f"  {line}" if line else "" for line in site.splitlines())
    return (
        ("user root;\n" if as_root else "")
        + f"worker_processes 1;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'} warn;\n"
        + "events { worker_connections 4096; }\n"
        + f"http {{\n  access_log {workdir / 'access.log'};\n{temp}\n{indented}\n}}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("upstreams", nargs="+", help="host:port of each app instance")
    parser.add_argument("--listen", default="127.0.0.1:8080")
    args = parser.parse_args()
    sys.stdout.write(local_site_config(args.upstreams, args.listen))


if __name__ == "__main__":
    main()
