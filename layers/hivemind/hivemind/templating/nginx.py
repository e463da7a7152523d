"""The nginx config that serves a static site: run by the unprivileged `app` user, in the foreground.

The folder served is nginx's prefix (`-p`, from the plan's start command), so the config holds
no path of the app; pid and temp files go to a folder `app` owns; logs go to the service's output.
"""

from __future__ import annotations

from hivemind.models import DeploymentPlan

STATE_DIR = "/var/lib/hivemind/nginx"
# Compressible types (text/html is always compressed when gzip is on).
GZIP_TYPES = (
    "text/css text/plain text/xml text/javascript application/javascript application/json "
    "application/xml application/rss+xml application/manifest+json application/wasm image/svg+xml font/ttf font/otf"
)


def nginx_config(plan: DeploymentPlan) -> list[str]:
    """The config's lines. A single-page app (a build tool was detected) answers unknown paths with
    /index.html so its client-side routes load; a plain site answers them 404."""
    spa = plan.framework is not None
    fallback = "try_files $uri $uri/ /index.html;" if spa else "try_files $uri $uri/ $uri.html =404;"
    return [
        "# Written by HiveMind: serves the app's built files as the app user.",
        "daemon off;",
        "worker_processes auto;",
        f"pid {STATE_DIR}/nginx.pid;",
        "error_log stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        "    access_log /dev/stdout;",
        f"    client_body_temp_path {STATE_DIR}/client_body;",
        f"    proxy_temp_path {STATE_DIR}/proxy;",
        f"    fastcgi_temp_path {STATE_DIR}/fastcgi;",
        f"    uwsgi_temp_path {STATE_DIR}/uwsgi;",
        f"    scgi_temp_path {STATE_DIR}/scgi;",
        "    sendfile on;",
        "    tcp_nopush on;",
        "    keepalive_timeout 65;",
        "    server_tokens off;",
        "    gzip on;",
        "    gzip_vary on;",
        "    gzip_proxied any;",
        "    gzip_comp_level 5;",
        "    gzip_min_length 256;",
        f"    gzip_types {GZIP_TYPES};",
        "    server {",
        f"        listen {plan.port};",
        "        root .;",
        "        index index.html;",
        "        location / {",
        f"            {fallback}",
        "        }",
        "        # the entry page must never be cached, or a new deployment's assets go unseen",
        "        location = /index.html {",
        '            add_header Cache-Control "no-cache";',
        "        }",
        "        # dotfiles (.env, .git) are never served, nor said to exist; .well-known is served",
        r"        location ~ /\.(?!well-known/) {",
        "            return 404;",
        "        }",
        "    }",
        "}",
    ]
