"""Java apps: Spring Boot built with Maven or Gradle (their wrappers first), run as one executable jar.

The jar's name is only known after the build, so the build copies Spring Boot's executable jar
(the largest one the build writes: it embeds every dependency) to `app.jar`, and the app starts
from there.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.procfile import web_command
from hivemind.planning.routes import pick_health_path
from hivemind.planning.tree import MAX_SEARCHED_FILES, Hit, SourceTree

LANGUAGE = "java"
MANIFESTS: tuple[str, ...] = ("pom.xml", "build.gradle.kts", "build.gradle")
PROCFILE_WORDS = frozenset({"java", "mvn", "mvnw", "gradle", "gradlew"})
DEFAULT_VERSION = "21"
DEFAULT_PORT = 8080
JAR = "app.jar"
INSTANCE_TYPE = "t3.small"
# Where Spring Boot reads its configuration, highest precedence first: ./config and the working
# directory (the app's folder on the instance) before the classpath; .properties before .yml.
CONFIG_FILES = tuple(
    f"{folder}application.{ext}"
    for folder in ("config/", "", "src/main/resources/config/", "src/main/resources/")
    for ext in ("properties", "yml", "yaml")
)
# Spring Boot serves these as the welcome page at /.
STATIC_INDEX = tuple(
    f"src/main/resources/{folder}/index.html" for folder in ("static", "public", "resources", "META-INF/resources")
)

_MAVEN_BOOT = re.compile(
    r"<artifactId>\s*(?P<what>spring-boot-starter-parent|spring-boot-maven-plugin|spring-boot-starter-webflux"
    r"|spring-boot-starter-web|spring-boot-dependencies)\s*</artifactId>"
)
_GRADLE_BOOT = re.compile(
    r"""(?P<what>id\s*\(?\s*["']org\.springframework\.boot["']|apply\s+plugin\s*:\s*["']org\.springframework\.boot["']"""
    r"""|org\.springframework\.boot:spring-boot-gradle-plugin)"""
)
# The Spring Boot Gradle plugin's version: `id 'org.springframework.boot' version '3.3.4'`,
# `id("org.springframework.boot") version "3.3.4"`, `springBootVersion = '1.5.6.RELEASE'`,
# `classpath("org.springframework.boot:spring-boot-gradle-plugin:1.5.6.RELEASE")`.
_GRADLE_BOOT_VERSION = re.compile(
    r"""(?:org\.springframework\.boot["']\s*\)?\s*version\s*|springBootVersion\s*=\s*|spring-boot-gradle-plugin:)"""
    r"""["']?(?P<major>\d+)\.\d+"""
)
_VERSION_SOURCES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("system.properties",), re.compile(r"^\s*java\.runtime\.version\s*=\s*(?P<v>[\d.]+)"), "java.runtime.version"),
    (
        ("build.gradle.kts", "build.gradle"),
        re.compile(r"""JavaLanguageVersion\.of\(\s*["']?(?P<v>\d+)["']?\s*\)"""),
        "the Gradle Java toolchain",
    ),
    (
        ("build.gradle.kts", "build.gradle"),
        re.compile(r"\bjvmToolchain\(\s*(?P<v>\d+)\s*\)"),
        "the Kotlin JVM toolchain",
    ),
    (
        ("build.gradle.kts", "build.gradle"),
        re.compile(
            r"""\b(?:source|target)Compatibility\s*=\s*(?:JavaVersion\.VERSION_(?P<enum>\d+(?:_\d+)?)|["']?(?P<v>\d+(?:\.\d+)?)["']?)"""
        ),
        "sourceCompatibility",
    ),
    (
        ("pom.xml",),
        re.compile(
            r"<(?P<tag>java\.version|maven\.compiler\.release|maven\.compiler\.source|release)>\s*(?P<v>[\d.]+)\s*<"
        ),
        "the pom",
    ),
    ((".java-version",), re.compile(r"^\s*(?P<v>\d+(?:\.\d+)?)"), ".java-version"),
    ((".sdkmanrc",), re.compile(r"^\s*java\s*=\s*(?P<v>\d+(?:\.\d+)?)"), ".sdkmanrc"),
)
_PROPERTY = re.compile(r"^\s*(?P<key>[\w.\-\[\]]+)\s*[=:]\s*(?P<value>.*?)\s*$")
_YAML_KEY = re.compile(r"""^(?P<indent> *)(?P<key>[\w.\-]+|"[^"]+"|'[^']+')\s*:(?:\s+(?P<value>.*))?$""")
_PLACEHOLDER = re.compile(r"^\$\{(?P<name>[^:}]+)(?::(?P<default>.*))?\}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_MAPPING = re.compile(r"@(?P<kind>GetMapping|RequestMapping)\b(?:\s*\((?P<args>[^)]*)\))?")
_CLASS = re.compile(r"^\s*(?:(?:public|final|abstract|open|internal|data|private)\s+)*(?:class|interface|object)\s+\w+")
_NOT_PATH_ARGS = re.compile(r"""\b(?:produces|consumes|headers|params|name)\s*=\s*(?:\{[^}]*\}|\[[^\]]*\]|"[^"]*")""")
_STRING = re.compile(r'"(?P<path>[^"]*)"')
_ANY = re.compile(r"(?P<path>.*)")


def detect(tree: SourceTree) -> Detection | None:
    build_file = _build_file(tree)
    if build_file is None:
        return None
    maven = build_file == "pom.xml"
    config = _config(tree)
    decisions: Detection = {
        "language": Decision("java", f"{build_file} is a Java build file", build_file, 1),
    }
    boot = _spring_boot(tree, build_file)
    decisions["framework"] = boot
    decisions["runtime_version"] = _version(tree, build_file)
    decisions["install_command"] = default(
        None, f"{'Maven' if maven else 'Gradle'} fetches the dependencies as part of the build"
    )
    if boot.value is None:
        decisions["build_command"] = default(None, "not a Spring Boot app; no known way to build a runnable jar")
        decisions["start_command"] = default(None, "not a Spring Boot app; no known runnable jar")
    else:
        decisions["build_command"] = _build(tree, build_file)
        decisions["start_command"] = Decision(
            f"java -jar {JAR}",
            f"the build copies Spring Boot's executable jar to {JAR}",
            decisions["build_command"].file,
            decisions["build_command"].line,
        )
    decisions["port"], decisions["port_env"] = _port(tree, config, boot)
    decisions["health_path"] = _health(tree, config, build_file)
    decisions["instance_type"] = Decision(
        INSTANCE_TYPE,
        f"the JVM and the {'Maven' if maven else 'Gradle'} build need more memory than t3.micro's 1 GiB",
        build_file,
        1,
    )
    return decisions


def _build_file(tree: SourceTree) -> str | None:
    present = [m for m in MANIFESTS if tree.has(m)]
    if not present:
        return None
    gradle = next((m for m in present if m != "pom.xml"), None)
    # Both kinds present: the one whose wrapper is committed is the one the project uses.
    if gradle and "pom.xml" in present and tree.has("gradlew") and not tree.has("mvnw"):
        return gradle
    return present[0]


def _spring_boot(tree: SourceTree, build_file: str) -> Decision:
    hit = tree.first(_MAVEN_BOOT if build_file == "pom.xml" else _GRADLE_BOOT, [build_file])
    if hit is None:
        return default(None, f"{build_file} does not use Spring Boot")
    what = hit.match.group("what")
    what = "the org.springframework.boot plugin" if "springframework.boot" in what else what
    return Decision("spring-boot", f"{build_file} uses {what}", hit.file, hit.line)


def _version(tree: SourceTree, build_file: str) -> Decision:
    for files, regex, label in _VERSION_SOURCES:
        for name in _in_modules(tree, files):
            if not tree.has(name) or (name.rsplit("/", 1)[-1] in MANIFESTS and not name.endswith(build_file)):
                continue
            hit = tree.first(regex, [name])
            if hit is None:
                continue
            raw = (hit.match.groupdict().get("enum") or hit.match.group("v") or "").replace("_", ".")
            major = _major(raw)
            if major:
                what = f"<{hit.match.group('tag')}>" if label == "the pom" else label
                return Decision(major, f"{what} is {raw} in {name}", name, hit.line)
    return default(DEFAULT_VERSION, "no Java version declared; the current LTS Corretto on Amazon Linux 2023")


def _major(version: str) -> str | None:
    parts = [p for p in version.split(".") if p.isdigit()]
    if not parts:
        return None
    return parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]


def _build(tree: SourceTree, build_file: str) -> Decision:
    note = ""
    if build_file == "pom.xml":
        wrapper, settings, tool, output = "mvnw", ".mvn/wrapper/maven-wrapper.properties", "mvn", "target"
        task = "-B -DskipTests package"
    else:
        wrapper, settings, tool, output = "gradlew", "gradle/wrapper/gradle-wrapper.properties", "gradle", "build/libs"
        task = "bootJar -x test --no-daemon"
        old = tree.first(_GRADLE_BOOT_VERSION, [build_file])
        if old is not None and old.match.group("major") == "1":
            task = "assemble --no-daemon"
            note = (
                f"; Spring Boot 1.x ({build_file}:{old.line}) has no bootJar task, its bootRepackage runs in assemble"
            )
    jars = f"{output}/*.jar"
    modules = _modules(tree, build_file)
    if modules is not None:
        # the executable jar is a module's: the root of a multi-module build writes none (or a small one)
        jars += f" */{output}/*.jar"
        note += f"; {modules[0]}:{modules[1]} builds modules, so their {output}/ folders count too"
    quiet = " 2>/dev/null" if modules else ""  # a module without a jar must not stop the copy
    copy = f'cp "$(ls -S {jars}{quiet} | head -n 1)" {JAR}'
    if tree.has(wrapper) and tree.has(settings):  # the script alone cannot run without its settings
        return Decision(
            f"chmod +x {wrapper} && ./{wrapper} {task} && {copy}",
            f"the project's {wrapper} wrapper pins the build tool; the largest jar in {output}/ is the executable one"
            + note,
            settings,
            tree.line_of(settings, "distributionUrl") or 1,
        )
    return Decision(
        f"{tool} {task} && {copy}",
        f"{build_file} without a wrapper; the largest jar in {output}/ is the executable one" + note,
        build_file,
        1,
    )


def _modules(tree: SourceTree, build_file: str) -> tuple[str, int] | None:
    """(file, line) that makes this a multi-module build: the pom's <modules>, or Gradle's settings
    including subprojects."""
    if build_file == "pom.xml":
        line = tree.line_of("pom.xml", "<modules>")
        return ("pom.xml", line) if line else None
    for settings in ("settings.gradle.kts", "settings.gradle"):
        hit = tree.first(r"^\s*include\b", [settings]) if tree.has(settings) else None
        if hit:
            return settings, hit.line
    return None


def _config(tree: SourceTree) -> dict[str, tuple[str, str, int]]:
    """Spring property -> (value, file, line), the highest-precedence file winning."""
    found: dict[str, tuple[str, str, int]] = {}
    for name in _in_modules(tree, CONFIG_FILES):
        if not tree.has(name):
            continue
        text = tree.text(name) or ""
        entries = _properties(text) if name.endswith(".properties") else _yaml(text)
        for key, (value, line) in entries.items():
            found.setdefault(key, (value, name, line))
    return found


def _properties(text: str) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == "#---":  # the documents after this one belong to profiles
            break
        match = _PROPERTY.match(line)
        if match and not line.lstrip().startswith(("#", "!")):
            found.setdefault(match.group("key"), (match.group("value"), number))
    return found


def _yaml(text: str) -> dict[str, tuple[str, int]]:
    """The first YAML document's scalar keys, flattened to dotted names (Spring's own view of them)."""
    found: dict[str, tuple[str, int]] = {}
    stack: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() == "---":
            if found or stack:
                break
            continue
        line = re.sub(r"\s+#.*$", "", raw).rstrip()
        match = _YAML_KEY.match(line)
        if not line.strip() or line.lstrip().startswith(("#", "-")) or match is None:
            continue
        indent, key = len(match.group("indent")), match.group("key").strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        value = (match.group("value") or "").strip()
        if value and value not in ("|", ">"):
            found.setdefault(".".join([k for _, k in stack] + [key]), (value.strip("'\""), number))
        else:
            stack.append((indent, key))
    return found


def _port(tree: SourceTree, config: dict[str, tuple[str, str, int]], boot: Decision) -> tuple[Decision, Decision]:
    if boot.value is None:
        return default(DEFAULT_PORT, "the usual port of Java web servers"), default(None, "no port variable known")
    procfile = web_command(tree)
    reads = (
        Decision("PORT", "the Procfile's web process passes $PORT to the app", procfile.file, procfile.line)
        if procfile is not None and "$PORT" in str(procfile.value)
        else None
    )
    entry = config.get("server.port")
    if entry is None:
        return default(DEFAULT_PORT, "no server.port set; Spring Boot's default port"), reads or Decision(
            "SERVER_PORT", "Spring Boot always reads server.port from SERVER_PORT", boot.file, boot.line
        )
    value, file, line = entry
    placeholder = _PLACEHOLDER.match(value)
    if placeholder:
        name, fallback = placeholder.group("name").strip(), placeholder.group("default") or ""
        digits = re.search(r"(\d{2,5})\}*$", fallback)
        if _ENV_NAME.match(name):
            env = Decision(name, f"server.port is {value} in {file}", file, line)
        else:
            env = Decision("SERVER_PORT", "Spring Boot reads SERVER_PORT over any server.port in a file", file, line)
        if digits:
            port = int(digits.group(1))
            return Decision(port, f"server.port is {value}: {port} when {name} is not set", file, line), reads or env
        return Decision(DEFAULT_PORT, f"server.port is {value} with no default; HiveMind sets it", file, line), (
            reads or env
        )
    if value.isdigit() and 0 < int(value) < 65536:
        return Decision(int(value), f"server.port is {value} in {file}", file, line), reads or Decision(
            "SERVER_PORT", f"Spring Boot reads SERVER_PORT, which overrides server.port in {file}", file, line
        )
    return default(
        DEFAULT_PORT, f"server.port {value!r} is not a fixed port; Spring Boot's default"
    ), reads or Decision("SERVER_PORT", "Spring Boot reads server.port from SERVER_PORT", file, line)


def _health(tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str) -> Decision:
    routes = _routes(tree)
    static = next((f for f in _in_modules(tree, STATIC_INDEX) if tree.has(f)), None)
    if static is not None:
        routes.append(_hit(static, 1, "/"))
    chosen = pick_health_path(routes)
    if chosen.source == "default":
        chosen = (
            _actuator(tree, config, build_file)
            or _plain_get(routes)
            or default("/", "no route, welcome page or actuator found")
        )
    context = config.get("server.servlet.context-path") or config.get("server.context-path")
    if context and context[0].strip("/") and chosen.value is not None:
        prefix = "/" + context[0].strip("/")
        return Decision(
            prefix + str(chosen.value),
            f"{chosen.reason}, under the context path {prefix} ({context[1]})",
            chosen.file,
            chosen.line,
            chosen.source,
        )
    return chosen


def _actuator(tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str) -> Decision | None:
    line = tree.line_of(build_file, "spring-boot-starter-actuator")
    if line is None or "management.server.port" in config:  # on its own port, the ALB cannot reach it
        return None
    base = config.get("management.endpoints.web.base-path", ("/actuator", "", 0))[0].rstrip("/")
    path = f"{base}/health"
    return Decision(path, f"spring-boot-starter-actuator serves {path}", build_file, line)


def _plain_get(routes: list[Hit]) -> Decision | None:
    """A GET route without path variables: better than `/`, which Spring answers with 404 when unmapped."""
    plain = [h for h in routes if "{" not in h.match.group("path")]
    if not plain:
        return None
    # the shortest path: a listing (`/articles`) before the pages under it (`/articles/feed`)
    hit = min(plain, key=lambda h: h.match.group("path").strip("/").count("/"))
    path = hit.match.group("path")
    return Decision(path, f"the app maps no / or health route; {path} is its shortest GET route", hit.file, hit.line)


def _routes(tree: SourceTree) -> list[Hit]:
    """GET routes of the controllers, each with its class-level @RequestMapping prefix."""
    sources = _sources(tree)
    found: list[Hit] = []
    for name in sources:
        text = tree.text(name) or ""
        if "Mapping" not in text:
            continue
        prefix, in_class = "", False
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MAPPING.finditer(line):
                args = match.group("args") or ""
                paths = [m.group("path") for m in _STRING.finditer(_NOT_PATH_ARGS.sub("", args))] or [""]
                if not in_class:
                    if match.group("kind") == "RequestMapping":
                        prefix = paths[0]
                    continue
                if "RequestMethod." in args and "RequestMethod.GET" not in args:
                    continue
                found.extend(_hit(name, number, _join(prefix, path)) for path in paths)
            if not in_class and _CLASS.match(line):
                in_class = True
    return found


def _in_modules(tree: SourceTree, paths: tuple[str, ...]) -> list[str]:
    """`paths` at the root, then the same paths in each module folder of a multi-module build
    (a folder one level down with its own build file), modules in name order."""
    modules = sorted({f.split("/", 1)[0] for f in tree.files if f.count("/") == 1 and f.rsplit("/", 1)[1] in MANIFESTS})
    return [*paths, *(f"{module}/{path}" for module in modules for path in paths)]


def _sources(tree: SourceTree) -> list[str]:
    """The app's Java and Kotlin files: src/main by convention (also in a multi-module build's
    modules), at any depth, since package folders (`com/example/...`) are not a repository's
    example or test folders."""
    main = [
        f
        for f in tree.files
        if (f.startswith("src/main/") or f.split("/", 1)[-1].startswith("src/main/")) and f.endswith((".java", ".kt"))
    ]
    if not main:
        return tree.with_suffix(".java", ".kt", top_levels=12)
    return sorted(main, key=lambda f: (f.count("/"), f))[:MAX_SEARCHED_FILES]


def _join(prefix: str, path: str) -> str:
    return "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))


def _hit(file: str, line: int, path: str) -> Hit:
    match = _ANY.fullmatch(path)
    assert match is not None  # `.*` matches any one-line path
    return Hit(file, line, match)
