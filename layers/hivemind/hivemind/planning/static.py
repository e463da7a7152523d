"""Static sites: plain HTML files, or a single-page app that a Node build turns into files.

Either way nginx from Amazon Linux 2023 serves the folder, run by the `app` user with the
config HiveMind writes (templating/nginx.py): the start command names the folder, the
config carries the port, so a port override needs no other change.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from hivemind.errors import PlanError
from hivemind.planning import go, java, node, php, python, ruby
from hivemind.planning.decisions import REQUIRED, Decision, Detection, default
from hivemind.planning.documents import table
from hivemind.planning.tree import SourceTree

LANGUAGE = "static"
# No manifest: layout.py takes a folder holding a manifest for an app of its own, and public/,
# templates/ or docs/ with an index.html are not. The site is found from its own folder.
MANIFESTS: tuple[str, ...] = ()
PROCFILE_WORDS = frozenset({"nginx"})
NGINX_CONF = "/opt/hivemind/nginx.conf"
DEFAULT_PORT = 8080
# Where a plain site keeps its pages, in the order they are looked for.
HTML_ROOTS = (".", "public", "site", "www")
# A build script's tool -> (framework, the folder it writes by default).
BUILDERS = (
    (re.compile(r"\b(?:react-scripts|craco|react-app-rewired)\s+build\b"), "create-react-app", "build"),
    (re.compile(r"\bng\s+build\b"), "angular", "dist"),
    (re.compile(r"\bastro\s+build\b"), "astro", "dist"),
    (re.compile(r"\bvite\s+build\b"), "vite", "dist"),
    (re.compile(r"\bvue-cli-service\s+build\b"), "vue-cli", "dist"),
    (re.compile(r"\bparcel\s+build\b"), "parcel", "dist"),
    (re.compile(r"\bgatsby\s+build\b"), "gatsby", "public"),
    (re.compile(r"\bdocusaurus\s+build\b"), "docusaurus", "build"),
    (re.compile(r"(?:^|[\s;&(])(?:npx\s+)?(?:@11ty/)?eleventy\b(?![^&|;]*--serve)"), "eleventy", "_site"),
    (re.compile(r"\bwebpack(?:-cli)?\b(?!\s+serve)"), "webpack", "dist"),
)
_OUT_FLAG = re.compile(r"""--(?:outDir|out-dir|output-path|dist-dir)(?:\s+|=)['"]?(?P<dir>[\w.@/-]+)""")
_VITE_OUT_DIR = re.compile(r"""\boutDir\s*:\s*['"`](?P<dir>[\w.@/-]+)['"`]""")
_ELEVENTY_OUTPUT = re.compile(r"""\boutput\s*:\s*['"`](?:\./)?(?P<dir>[\w.@/-]+?)/?['"`]""")
ELEVENTY_CONFIGS = (".eleventy.js", ".eleventy.cjs", "eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs")
# Site generators HiveMind does not install (Hugo, Jekyll, MkDocs): (name, whether this folder is
# such a site, the folder its build writes). A site whose built folder is committed is served from
# it; otherwise planning stops with a clear error instead of serving templates as pages.
GENERATORS = (
    ("Hugo", ("hugo.toml", "hugo.yaml", "hugo.json"), "public"),
    ("Jekyll", ("_config.yml", "_config.yaml"), "_site"),
    ("MkDocs", ("mkdocs.yml", "mkdocs.yaml"), "site"),
)
_JEKYLL_SIGNS = ("_layouts/", "_includes/", "_posts/", "_sass/")
_HUGO_FOLDERS = ("content/", "layouts/", "themes/", "archetypes/")
_ASTRO_SERVER = re.compile(r"""\boutput\s*:\s*['"](?:server|hybrid)['"]|@astrojs/(?:node|vercel|netlify|cloudflare)""")
# Next.js's static export: `next build` writes plain files into out/ (distDir moves it), and
# `next start` does not serve it
_NEXT_EXPORT = re.compile(r"""\boutput\s*:\s*['"`]export['"`]""")
_NEXT_DIST_DIR = re.compile(r"""\bdistDir\s*:\s*['"`](?:\./)?(?P<dir>[\w.@/-]+?)/?['"`]""")
_NEXT_BUILD = re.compile(r"\bnext\s+build\b")


def detect(tree: SourceTree) -> Detection | None:
    package = node.read_package(tree) if tree.has("package.json") else {}
    found = _single_page_app(tree, package)
    if found is not None:
        return found
    generator = _generator(tree)
    if generator is None:
        return _plain_site(tree, package)
    name, config, output = generator
    if tree.has(f"{output}/index.html"):
        built = _plain_site(tree, {}, output)
        assert built is not None
        built["framework"] = Decision(
            name.lower(), f"{config} configures a {name} site and its built {output}/ is committed", config, 1
        )
        return built
    if _runs_otherwise(tree):
        return None  # the site is the docs of an app that starts some other way
    raise PlanError(
        f"{config} configures a {name} site, which HiveMind does not build (it installs no {name}): "
        f"commit the built {output}/ folder, or add a Dockerfile that builds and serves the site"
    )


def _generator(tree: SourceTree) -> tuple[str, str, str] | None:
    """(generator, its config file, the folder it writes) when this folder is a Hugo, Jekyll or MkDocs site."""
    for name, configs, output in GENERATORS:
        config = next((c for c in configs if tree.has(c)), None)
        hugo_folders = name == "Hugo" and any(f.startswith(_HUGO_FOLDERS) for f in tree.files)
        if config is None and hugo_folders and tree.has("config.toml"):
            config = "config.toml"  # Hugo's older config name, beside its content/ or layouts/
        if config is None:
            continue
        if name == "Jekyll" and not _jekyll_site(tree):
            continue  # a _config.yml alone is plain pages (GitHub Pages copies them unchanged)
        return name, config, output
    return None


def _jekyll_site(tree: SourceTree) -> bool:
    """Templates or posts, a Gemfile naming jekyll, or pages with front matter (which Jekyll renders)."""
    if any(f.startswith(_JEKYLL_SIGNS) for f in tree.files) or "jekyll" in (tree.text("Gemfile") or ""):
        return True
    return (tree.text("index.html") or "").startswith("---") if tree.has("index.html") else tree.has("index.md")


def _runs_otherwise(tree: SourceTree) -> bool:
    """Whether the folder says how it starts some other way: a recipe, or an app of a language
    HiveMind runs (a Go or Python project keeps its MkDocs documentation beside its code)."""
    if any(tree.has(name) for name in ("Procfile", "hivemind.toml", "Dockerfile", "Containerfile")):
        return True
    for language in (node, python, go, java, ruby, php):
        found = language.detect(tree)
        if found is not None and found["start_command"].value is not None:
            return True
    return False


def _single_page_app(tree: SourceTree, package: dict[str, Any]) -> Detection | None:
    """A front end whose build writes files and that starts no server of its own."""
    build = node.scripts_of(package).get("build")
    if not build:
        return None
    expanded = _expand(build, node.scripts_of(package))
    builder = next(((fw, out) for regex, fw, out in BUILDERS if regex.search(expanded)), None)
    dependencies = {**table(package, "devDependencies"), **table(package, "dependencies")}
    export = _next_export(tree, dependencies, expanded)
    if export is not None:
        builder = ("nextjs-export", export)
    if builder is None:
        return None
    framework, out = builder
    manager, install = node.install(tree, package)
    if export is None:
        if any(name in table(package, "dependencies") for name, _ in node.FRAMEWORKS):
            return None  # a server framework: the Node detector plans it
        if node.server_start(tree, package, manager, None).value is not None:
            return None  # it starts a server of its own
    build_line = tree.line_of("package.json", '"build"')
    if "@sveltejs/kit" in dependencies:
        if "@sveltejs/adapter-static" not in dependencies:
            return None  # SvelteKit renders on a server unless built with adapter-static
        framework, out = "sveltekit", "build"
    if framework == "astro" and tree.first(_ASTRO_SERVER, _configs(tree, "astro.config")):
        return None  # Astro in server output mode needs its Node adapter
    out_decision = _output(tree, build, framework, out, build_line)
    folder = str(out_decision.value)
    source_index = next(
        (f for f in ("index.html", "public/index.html", "src/index.html") if tree.has(f)), "package.json"
    )
    return {
        "language": Decision(
            "static",
            f"package.json builds a {framework} front end into {folder}/ and starts no server",
            "package.json",
            build_line,
        ),
        "framework": Decision(framework, f"the build script runs it: {build}", "package.json", build_line),
        "runtime_version": node.version(tree, package),
        "install_command": install,
        "build_command": Decision(
            f"{node.run_script(manager)} build", out_decision.reason, out_decision.file, out_decision.line
        ),
        "start_command": Decision(
            serve_command(folder),
            f"nginx serves {folder}/ with index.html as the fallback for the app's routes",
            out_decision.file,
            out_decision.line,
        ),
        **_port_and_health(folder, source_index),
    }


# a page that loads TypeScript, JSX or Vue source, which no browser runs unbuilt
_SOURCE_SCRIPT = re.compile(r"""<script\b[^>]*\bsrc=["'](?P<src>[^"']+\.(?:tsx?|jsx|vue|svelte))["']""", re.IGNORECASE)
# `npm run build:ci`, `yarn build:ci`, `pnpm run build:ci` inside a script
_RUNS_SCRIPT = re.compile(r"\b(?:npm\s+run(?:-script)?|yarn(?:\s+run)?|pnpm(?:\s+run)?)\s+(?P<name>[\w:.-]+)")


def _expand(script: str, scripts: dict[str, str], depth: int = 3) -> str:
    """`script` with the scripts it runs by name written out (`npm run lint && npm run build:ci`
    is `tsc ... && vite build`), so the builder is found wherever the build script delegates."""
    if depth == 0:
        return script
    return _RUNS_SCRIPT.sub(
        lambda m: _expand(scripts[m.group("name")], scripts, depth - 1) if m.group("name") in scripts else m.group(0),
        script,
    )


def _plain_site(tree: SourceTree, package: dict[str, Any], built: str | None = None) -> Detection | None:
    roots = (built,) if built else HTML_ROOTS
    folder = next((d for d in roots if tree.has("index.html" if d == "." else f"{d}/index.html")), None)
    if folder is None:
        return None
    index = "index.html" if folder == "." else f"{folder}/index.html"
    where = "at the root" if folder == "." else f"in {folder}/"
    decisions: Detection = {
        "language": Decision("static", f"{index} is a web page {where}", index, 1),
        "framework": default(None, "plain HTML, no front-end build tool recognised"),
        "runtime_version": default("nginx", "the files need no runtime; Amazon Linux 2023's nginx serves them"),
        "install_command": default(None, "plain files need no dependencies"),
        "build_command": default(None, "plain files need no build"),
        "start_command": Decision(serve_command(folder), f"nginx serves the files {where}", index, 1),
        **_port_and_health(folder, index),
    }
    source = _SOURCE_SCRIPT.search(tree.text(index) or "")
    if source is not None:  # pages a build compiles (Vite's index.html) are not a site until built
        decisions[f"{REQUIRED}build_command"] = Decision(
            None,
            f"{index} loads {source.group('src')}, source code a build must compile, and no build HiveMind "
            "recognises makes the site: serving it unbuilt would answer with a blank page; set a build_command "
            "and a start_command that serves what it writes",
            index,
            (tree.text(index) or "").count("\n", 0, source.start()) + 1,
        )
    build = node.scripts_of(package).get("build")
    if build and folder != ".":
        # e.g. a CSS or template step that writes into public/: Node runs it before nginx serves the folder
        manager, install = node.install(tree, package)
        decisions["runtime_version"] = node.version(tree, package)
        decisions["install_command"] = install
        decisions["build_command"] = Decision(
            f"{node.run_script(manager)} build",
            f"package.json's build script: {build}",
            "package.json",
            tree.line_of("package.json", '"build"'),
        )
    return decisions


def serve_command(folder: str) -> str:
    """nginx in the foreground with HiveMind's config, serving `folder` (relative to the app's folder).

    `-p` makes the folder nginx's prefix, which the config's `root .` resolves against; `-e stderr`
    keeps nginx from opening the packaged log file that only root may write."""
    prefix = '"$PWD"/' if folder in ("", ".") else f'"$PWD"/{shlex.quote(folder.strip("/") + "/")}'
    return f"nginx -e stderr -p {prefix} -c {NGINX_CONF}"


def _port_and_health(folder: str, index: str) -> Detection:
    shown = "" if folder == "." else f"{folder}/"
    return {
        "port": default(DEFAULT_PORT, "HiveMind's nginx config listens here (an unprivileged port for the app user)"),
        "port_env": default(None, "nginx reads its port from HiveMind's config, not the environment"),
        "health_path": Decision("/", f"nginx answers / with {shown}index.html", index, 1),
    }


def _next_export(tree: SourceTree, dependencies: dict[str, Any], build: str) -> str | None:
    """The folder a Next.js static export writes (out/, or its distDir), when `next build`
    builds one: next.config sets `output: "export"`. None otherwise (Next renders on a server)."""
    if "next" not in dependencies or not _NEXT_BUILD.search(build):
        return None
    configs = _configs(tree, "next.config")
    if tree.first(_NEXT_EXPORT, configs) is None:
        return None
    dist = tree.first(_NEXT_DIST_DIR, configs)
    return dist.match.group("dir") if dist else "out"


def _output(tree: SourceTree, build: str, framework: str, out: str, build_line: int | None) -> Decision:
    """The folder the build writes: a flag in the build script, the tool's config, else its default."""
    flag = _OUT_FLAG.search(build)
    if flag:
        return Decision(
            flag.group("dir").strip("/"), f"the build script writes {flag.group(0)}", "package.json", build_line
        )
    if framework in ("vite", "sveltekit", "astro"):
        hit = tree.first(_VITE_OUT_DIR, _configs(tree, "vite.config", "astro.config"))
        if hit and framework != "sveltekit":
            folder = hit.match.group("dir").strip("/").removeprefix("./")
            return Decision(folder, f"{hit.file} sets outDir to {folder}", hit.file, hit.line)
    if framework == "eleventy":
        configs = [c for c in ELEVENTY_CONFIGS if tree.has(c)]
        hit = tree.first(_ELEVENTY_OUTPUT, configs)
        if hit:
            folder = hit.match.group("dir")
            return Decision(folder, f"{hit.file} sets the output folder to {folder}", hit.file, hit.line)
    if framework == "angular":
        angular = _angular_output(tree)
        if angular is not None:
            return angular
    if framework == "nextjs-export":
        hit = tree.first(_NEXT_EXPORT, _configs(tree, "next.config"))
        assert hit is not None
        said = f'{hit.file} sets output: "export": next build writes the site into {out}/'
        return Decision(out, said, hit.file, hit.line)
    return Decision(out, f"{framework} builds into {out}/ by default", "package.json", build_line)


def _angular_output(tree: SourceTree) -> Decision | None:
    """angular.json's outputPath for the default project; the `application` builder adds `browser/`."""
    try:
        config = json.loads(tree.text("angular.json") or "{}") if tree.has("angular.json") else {}
    except ValueError:
        return None
    projects = table(config, "projects")
    if not projects:
        return None
    chosen = config.get("defaultProject")
    name = chosen if isinstance(chosen, str) and chosen in projects else next(iter(projects))
    build = table(projects[name], "architect", "build")
    options = table(build, "options")
    output = options.get("outputPath", f"dist/{name}")
    builder = str(build.get("builder", ""))
    application = builder.endswith(":application")
    if isinstance(output, dict):
        base, browser = str(output.get("base", f"dist/{name}")), str(output.get("browser", "browser"))
        folder = f"{base.strip('/')}/{browser}".rstrip("/") if application else base.strip("/")
    else:
        folder = f"{str(output).strip('/')}/browser" if application else str(output).strip("/")
    line = tree.line_of("angular.json", '"outputPath"') or tree.line_of("angular.json", f'"{name}"')
    reason = f"angular.json's {name} project builds into {folder}/" + (
        " (the application builder writes browser/)" if application else ""
    )
    return Decision(folder, reason, "angular.json", line)


def _configs(tree: SourceTree, *stems: str) -> list[str]:
    return [f for f in tree.files if "/" not in f and f.startswith(tuple(f"{s}." for s in stems))]
