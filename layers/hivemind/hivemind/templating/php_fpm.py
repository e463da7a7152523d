"""PHP behind nginx, as Elastic Beanstalk and Heroku run it: php-fpm's config and the supervisor
script that the PHP plan's start command names (planning/php.py's SERVE).

Both servers run as the `app` user, children of one script that systemd's service runs: when
either exits, the script stops the other and exits too, and `Restart=always` starts the pair again.
"""

from __future__ import annotations

from hivemind.planning.static import NGINX_CONF
from hivemind.templating.nginx import PHP_SOCKET, PHP_STATE_DIR

FPM_CONF = "/opt/hivemind/php-fpm.conf"
# At most this many PHP requests at once: about 40 MB each for a framework app, so a t3.micro's
# 1 GiB holds them beside nginx and the build's leftovers.
MAX_CHILDREN = 8


def fpm_config() -> list[str]:
    """php-fpm's global settings and its one pool, in one file (`php-fpm -y`)."""
    return [
        "; Written by HiveMind: php-fpm for the app, run by the app user in the foreground (php-serve.sh).",
        "[global]",
        f"pid = {PHP_STATE_DIR}/php-fpm.pid",
        # the service's output (the app log), like nginx's `-e stderr`
        "error_log = /proc/self/fd/2",
        "log_limit = 8192",
        "daemonize = no",
        "[app]",
        f"listen = {PHP_SOCKET}",
        "listen.mode = 0600",
        "pm = dynamic",
        f"pm.max_children = {MAX_CHILDREN}",
        "pm.start_servers = 2",
        "pm.min_spare_servers = 1",
        "pm.max_spare_servers = 3",
        # a worker is replaced now and then, so that a leak in the app cannot grow without bound
        "pm.max_requests = 500",
        # start.sh exported the app's environment (hivemind.toml, secrets): getenv() and $_SERVER see it
        "clear_env = no",
        "catch_workers_output = yes",
        "decorate_workers_output = no",
        "php_admin_flag[log_errors] = on",
    ]


def supervisor() -> list[str]:
    """php-serve.sh DOCROOT [FRONT], run from the app's folder: php-fpm and nginx as its children.

    HiveMind wrote nginx's config for that document root and front controller (from the same start
    command); the script checks they are there, so a wrong one is said in the app log."""
    return [
        "#!/bin/bash",
        "# Written by HiveMind: php-fpm and nginx for the PHP app in this folder, as this script's children.",
        "# When either exits, the other is stopped and the script exits, so systemd restarts the pair.",
        "set -uo pipefail",
        "docroot=${1:-.}",
        "front=${2:-index.php}",
        'if [ ! -d "$docroot" ]; then echo "php-serve: no document root $PWD/$docroot" >&2; exit 1; fi',
        'if [ ! -f "$docroot/$front" ]; then echo "php-serve: warning: no front controller $docroot/$front" >&2; fi',
        "stop() { kill -TERM $(jobs -p) 2>/dev/null; wait; }",
        "trap 'stop; exit 143' TERM INT",
        f"php-fpm -F -y {FPM_CONF} &",
        "fpm=$!",
        # nginx's prefix is the app's folder: the config's `root` is the document root relative to it
        f'nginx -e stderr -p "$PWD/" -c {NGINX_CONF} &',
        "wait -n",
        "status=$?",
        'if kill -0 "$fpm" 2>/dev/null; then gone=nginx; else gone=php-fpm; fi',
        'echo "php-serve: $gone exited with status $status; stopping the other" >&2',
        "stop",
        # a server that stops is a failure, whatever its status
        'if [ "$status" -eq 0 ]; then exit 1; fi',
        'exit "$status"',
    ]
