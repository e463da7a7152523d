"""The nginx configs HiveMind writes: run by the unprivileged `app` user, in the foreground.

A static site's folder is nginx's prefix (`-p`, from the plan's start command), so its config holds
no path of the app. A PHP app's prefix is the app's folder and its config names the document root
relative to it, a plain word from the plan's start command; PHP goes to php-fpm (php_fpm.py).
Either way pid and temp files go to a folder `app` owns and logs go to the service's output.
"""

from __future__ import annotations

from hivemind.models import DeploymentPlan

STATE_DIR = "/var/lib/hivemind/nginx"
# php-fpm's socket and pid, in a folder the app user owns.
PHP_STATE_DIR = "/var/lib/hivemind/php"
PHP_SOCKET = f"{PHP_STATE_DIR}/php-fpm.sock"
# Compressible types (text/html is always compressed when gzip is on).
GZIP_TYPES = (
    "text/css text/plain text/xml text/javascript application/javascript application/json "
    "application/xml application/rss+xml application/manifest+json application/wasm image/svg+xml font/ttf font/otf"
)
# PHP's own post_max_size: a larger body would be cut by PHP anyway.
PHP_MAX_BODY = "8m"


def _config(purpose: str, server: list[str]) -> list[str]:
    """The main and http contexts every config shares, around one server block."""
    return [
        f"# Written by HiveMind: {purpose} as the app user.",
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
        *server,
        "}",
    ]


_NO_DOTFILES = [
    "        # dotfiles (.env, .git) are never served, nor said to exist; .well-known is served",
    r"        location ~ /\.(?!well-known/) {",
    "            return 404;",
    "        }",
]


def nginx_config(plan: DeploymentPlan) -> list[str]:
    """The static site's config lines. A single-page app (a build tool was detected) answers unknown
    paths with /index.html so its client-side routes load; a plain site answers them 404."""
    spa = plan.framework is not None
    fallback = "try_files $uri $uri/ /index.html;" if spa else "try_files $uri $uri/ $uri.html =404;"
    server = [
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
        *_NO_DOTFILES,
        "    }",
    ]
    return _config("serves the app's built files", server)


def php_nginx_config(port: int, docroot: str, front: str) -> list[str]:
    """The PHP app's config lines: files under `docroot` (relative to the app's folder, nginx's
    prefix) served as they are, `.php` files run by php-fpm, and every other path sent to the
    front controller `front`, as Laravel's, Symfony's and WordPress's own nginx recipes do.

    `docroot` and `front` are plain words (planning/php.py's `served` checks them)."""
    server = [
        "    server {",
        f"        listen {port};",
        f"        root {docroot};",
        f"        index {front} index.html;",
        f"        client_max_body_size {PHP_MAX_BODY};",
        "        location / {",
        f"            try_files $uri $uri/ /{front}?$query_string;",
        "        }",
        *_NO_DOTFILES,
        # `index.php/some/path` is the front controller with a PATH_INFO (CodeIgniter, Symfony 2/3)
        r"        location ~ [^/]\.php(/|$) {",
        r"            fastcgi_split_path_info ^(.+?\.php)(/.*)$;",
        # only a .php file that exists runs: never an upload named `x.jpg/y.php`
        "            if (!-f $realpath_root$fastcgi_script_name) {",
        "                return 404;",
        "            }",
        "            include /etc/nginx/fastcgi_params;",
        # the resolved path, so that a deployment that swaps a symlink never runs a stale OPcache entry
        "            fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;",
        "            fastcgi_param DOCUMENT_ROOT $realpath_root;",
        "            fastcgi_param PATH_INFO $fastcgi_path_info;",
        # httpoxy: a request's `Proxy:` header must not become the app's HTTP_PROXY
        '            fastcgi_param HTTP_PROXY "";',
        f"            fastcgi_pass unix:{PHP_SOCKET};",
        "            fastcgi_hide_header X-Powered-By;",
        "        }",
        "    }",
    ]
    return _config("serves the PHP app's files and runs its PHP with php-fpm,", server)
