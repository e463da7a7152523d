"""JVM apps built with Maven or Gradle (their wrappers first): Spring Boot, Quarkus, Micronaut,
Dropwizard, Ktor, Javalin, Spark Java, or any build that writes a runnable jar.

A jar's name is only known after the build, so the build copies the executable jar (the largest
one the build writes: it embeds every dependency) to `app.jar` (`app.war` for Spring Boot's
executable war), and the app starts from there. Quarkus runs from its `quarkus-app` folder, and a
Gradle `application` without a fat jar from the folder `installDist` writes.
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
WAR = "app.war"
# Where the build copies what Gradle's installDist writes (the app's jars in lib/, scripts in bin/).
DIST = "dist"
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
_GRADLE_BOOT_ALIAS = re.compile(r"""(?P<what>alias\s*\(\s*libs\.plugins\.spring[.\-]?boot\b)""")
# Build-file markers of each JVM web framework, Spring Boot first (a Boot app may use another
# framework's libraries, never the other way round): (name, in a pom, in a Gradle build).
_FRAMEWORKS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "quarkus",
        re.compile(r"<artifactId>\s*(?P<what>quarkus-maven-plugin)\s*</artifactId>"),
        re.compile(
            r"""(?P<what>id\s*\(?\s*["']io\.quarkus["']|apply\s+plugin\s*:\s*["']io\.quarkus["']"""
            r"""|io\.quarkus:quarkus-gradle-plugin|libs\.plugins\.quarkus\b)"""
        ),
    ),
    (
        "micronaut",
        re.compile(
            r"<artifactId>\s*(?P<what>micronaut-maven-plugin|micronaut-parent|micronaut-http-server-netty)"
            r"\s*</artifactId>"
        ),
        re.compile(
            r"""(?P<what>io\.micronaut\.application|io\.micronaut:micronaut-http-server-netty"""
            r"""|libs\.plugins\.micronaut\.application)"""
        ),
    ),
    (
        "dropwizard",
        re.compile(r"<artifactId>\s*(?P<what>dropwizard-core)\s*</artifactId>"),
        re.compile(r"(?P<what>io\.dropwizard:dropwizard-core)"),
    ),
    (
        "ktor",
        re.compile(r"<artifactId>\s*(?P<what>ktor-server-[\w-]+)\s*</artifactId>"),
        re.compile(
            r"""(?P<what>io\.ktor:ktor-server-[\w-]+|id\s*\(?\s*["']io\.ktor\.plugin["']|libs\.plugins\.ktor\b)"""
        ),
    ),
    (
        "javalin",
        re.compile(r"<artifactId>\s*(?P<what>javalin(?:-bundle)?)\s*</artifactId>"),
        re.compile(r"(?P<what>io\.javalin:javalin)"),
    ),
    (
        "spark",
        re.compile(r"<artifactId>\s*(?P<what>spark-core)\s*</artifactId>"),
        re.compile(r"(?P<what>com\.sparkjava:spark-core)"),
    ),
)
# What makes a jar runnable with `java -jar` outside Spring Boot: Maven's shade or assembly
# (jar-with-dependencies) plugin, Gradle's Shadow plugin, the Ktor plugin's fat jar, or a jar task
# that packs the runtime classpath (`from(configurations.runtimeClasspath... zipTree(it))`).
_MAVEN_FAT = re.compile(r"<artifactId>\s*(?P<what>maven-shade-plugin|maven-assembly-plugin)\s*</artifactId>")
_GRADLE_FAT: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(
            r"com\.github\.johnrengelman\.shadow|com\.gradleup\.shadow|io\.github\.goooler\.shadow"
            r"|libs\.plugins\.shadow\b"
        ),
        "shadowJar",
        "the Shadow plugin",
    ),
    (re.compile(r"""id\s*\(?\s*["']io\.ktor\.plugin["']|libs\.plugins\.ktor\b"""), "buildFatJar", "the Ktor plugin"),
    (re.compile(r"\bzipTree\s*\("), "jar", "the jar task packing the runtime classpath"),
)
# Gradle's `application` plugin (also applied by Micronaut's and Ktor's plugins): installDist
# writes the app's jars and start scripts.
_GRADLE_APPLICATION = re.compile(
    r"""^\s*(?:application\s*$|id\s*\(?\s*["']application["']|apply\s+plugin\s*:\s*["']application["']"""
    r"""|id\s*\(?\s*["']io\.micronaut\.application["'])"""
)
_MAIN_CLASS = re.compile(
    r"""\bmainClass(?:Name)?\s*(?:\.set\s*\(|=|\.value\s*\()\s*["'](?P<main>[\w.$]+)["']"""
    r"""|<(?:mainClass|exec\.mainClass)>\s*(?P<pom>[\w.$]+)\s*<|Main-Class["']\]?\s*(?:=|to|:)\s*["'](?P<attr>[\w.$]+)["']"""
)
_WAR = re.compile(
    r"""<packaging>\s*war\s*</packaging>|^\s*(?:id\s*\(?\s*["']?war["']?\s*\)?|apply\s+plugin\s*:\s*["']war["']|war\s*$)"""
)
_QUARKUS_VERSION = re.compile(
    r"""(?:quarkus[.\-](?:platform[.\-])?(?:plugin[.\-])?version>|quarkus(?:Platform|Plugin)?Version\s*=\s*|io\.quarkus["']\s*\)?\s*version\s*)"""
    r"""["']?(?P<major>\d+)\.(?P<minor>\d+)"""
)
# The main port setting of each framework, the variable that always overrides it, its default.
PORT_SETTINGS: dict[str, tuple[str, str, int, str]] = {
    "spring-boot": ("server.port", "SERVER_PORT", 8080, "Spring Boot"),
    "quarkus": ("quarkus.http.port", "QUARKUS_HTTP_PORT", 8080, "Quarkus"),
    "micronaut": ("micronaut.server.port", "MICRONAUT_SERVER_PORT", 8080, "Micronaut"),
}
# The port a framework binds when the code names none.
CODE_DEFAULT_PORTS = {"javalin": 8080, "spark": 4567, "ktor": 8080, "dropwizard": 8080}
_JAVA_ENV_PORT = re.compile(
    r"""(?:getenv\(\s*\)\s*\.getOrDefault\(\s*"(?P<env>[A-Z0-9_]*PORT[A-Z0-9_]*)"\s*,\s*"(?P<default>\d{2,5})"|"""
    r"""(?:getenv|environment\(\s*\)\s*\.get)\(\s*"(?P<env2>[A-Z0-9_]*PORT[A-Z0-9_]*)"\s*\)"""
    r"""(?:[^;\n]*?(?:\?:|orElse\(|:)\s*"?(?P<default2>\d{2,5}))?)"""
)
# `app.start(7000)`, `port(4567)`, `embeddedServer(Netty, port = 8080)`, `Javalin.create().start(7070)`
_CODE_PORT = re.compile(r"""(?:\.start\(\s*|\bport\(\s*|\bport\s*=\s*)(?P<port>\d{2,5})\b""")
_NEAR_RETURN = re.compile(r"""\breturn\s+(?P<port>\d{2,5})\s*;|"(?P<str>\d{2,5})"|\?:\s*(?P<elvis>\d{2,5})\b""")
# Ktor's application.conf (HOCON): `port = 8080` and `port = ${?PORT}` in ktor.deployment.
_HOCON_PORT = re.compile(r"""^\s*port\s*[=:]\s*(?:(?P<port>\d{2,5})|\$\{\??(?P<env>\w+)\})""")
_YAML_KTOR_PORT = re.compile(
    r"""^\s*port\s*:\s*["']?(?:\$\{?(?P<env>\w+)\}?(?::(?P<default>\d{2,5}))?|(?P<port>\d{2,5}))"""
)
# Lambda routes of Javalin, Spark Java and Ktor: `app.get("/x", ...)`, `get("/x") {`.
_LAMBDA_ROUTE = re.compile(r'(?:^|[\s.(])get\(\s*"(?P<path>/[^"]*)"')
_JAXRS_PATH = re.compile(r"""@Path\(\s*(?:value\s*=\s*)?"(?P<path>[^"]*)"\s*\)""")
_PERMIT = re.compile(
    r"""(?:requestMatchers|antMatchers|mvcMatchers|regexMatchers|pathMatchers)\s*\((?P<args>[^()]*)\)\s*\.permitAll\(\)"""
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
_MAPPING = re.compile(r"@(?P<kind>GetMapping|RequestMapping|Get|Controller)\b(?:\s*\((?P<args>[^)]*)\))?")
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
    framework = _framework(tree, build_file)
    decisions["framework"] = framework
    decisions["runtime_version"] = _version(tree, build_file)
    decisions["install_command"] = default(
        None, f"{'Maven' if maven else 'Gradle'} fetches the dependencies as part of the build"
    )
    decisions["build_command"], decisions["start_command"] = _artifact(tree, build_file, framework, config)
    decisions["port"], decisions["port_env"] = _port(tree, config, framework)
    decisions["health_path"] = _health(tree, config, build_file, framework)
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


def _framework(tree: SourceTree, build_file: str) -> Decision:
    """The web framework the build uses (the root's build file, then its modules')."""
    maven = build_file == "pom.xml"
    files = _build_files(tree, build_file)
    boot = tree.first(_MAVEN_BOOT if maven else _GRADLE_BOOT, files) or (
        None if maven else tree.first(_GRADLE_BOOT_ALIAS, files)
    )
    if boot is not None:
        what = boot.match.group("what")
        what = "the org.springframework.boot plugin" if "springframework.boot" in what or "libs." in what else what
        return Decision("spring-boot", f"{boot.file} uses {what}", boot.file, boot.line)
    for name, in_pom, in_gradle in _FRAMEWORKS:
        hit = tree.first(in_pom if maven else in_gradle, files)
        if hit is not None:
            return Decision(name, f"{hit.file} uses {hit.match.group('what')}", hit.file, hit.line)
    return default(None, f"{build_file} uses no JVM web framework HiveMind knows")


def _build_files(tree: SourceTree, build_file: str) -> list[str]:
    """The root's build file, then those of the build's modules (one folder down)."""
    return [f for f in _in_modules(tree, (build_file,)) if tree.has(f)] + [
        f for f in _in_modules(tree, MANIFESTS)[len(MANIFESTS) :] if tree.has(f) and not f.endswith(build_file)
    ]


def _artifact(
    tree: SourceTree, build_file: str, framework: Decision, config: dict[str, tuple[str, str, int]]
) -> tuple[Decision, Decision]:
    """(build_command, start_command): how the build makes something `java` can run, and how it runs."""
    maven = build_file == "pom.xml"
    files = _build_files(tree, build_file)
    name = framework.value
    if name == "spring-boot":
        war = tree.first(_WAR, files)
        build = _build(tree, build_file, war=war is not None)
        target = WAR if war else JAR
        what = f"war ({war.file}:{war.line} packages a war)" if war else "jar"
        return build, Decision(
            f"java -jar {target}",
            f"the build copies Spring Boot's executable {what} to {target}",
            build.file,
            build.line,
        )
    if name == "quarkus":
        old = tree.first(_QUARKUS_VERSION, [*files, *(f for f in ("gradle.properties",) if tree.has(f))])
        if old is not None and (int(old.match.group("major")), int(old.match.group("minor"))) < (1, 12):
            reason = f"Quarkus {old.match.group('major')}.{old.match.group('minor')} predates the quarkus-app layout"
            return default(None, reason), default(None, reason + "; set start_command in hivemind.toml")
        build = _build(tree, build_file, gradle_task="quarkusBuild --no-daemon", copy=False)
        run = f"{'target' if maven else 'build'}/quarkus-app/quarkus-run.jar"
        return build, Decision(
            f"java -jar {run}",
            "Quarkus packages the app as quarkus-app/ (quarkus-run.jar with lib/ beside it)",
            framework.file,
            framework.line,
        )
    fat = _fat_jar(tree, files, maven, framework)
    if fat is not None:
        task, what, file, line = fat
        build = _build(tree, build_file, gradle_task=f"{task} -x test --no-daemon")
        command, reason = (
            f"java -jar {JAR}",
            f"{what} ({file}:{line}) makes a runnable jar; the build copies it to {JAR}",
        )
        if name == "dropwizard":
            dropwizard = _dropwizard_config(tree)
            command += f" server {dropwizard}" if dropwizard else " server"
            reason += ", and Dropwizard's `server` command runs it" + (f" with {dropwizard}" if dropwizard else "")
        return build, Decision(command, reason, file, line)
    application = None if maven else tree.first(_GRADLE_APPLICATION, files)
    if application is not None:
        build = _build(tree, build_file, gradle_task="installDist -x test --no-daemon", copy=False)
        build = Decision(
            f"{build.value} && rm -rf {DIST} && cp -r build/install/* {DIST}",
            f"{build.reason}; the application plugin ({application.file}:{application.line}) installs the app"
            f" (its jars and start script) in build/install/, copied to {DIST}/",
            build.file,
            build.line,
        )
        main = _main_class(tree, files)
        if main is not None:
            return build, Decision(
                f"java -cp '{DIST}/lib/*' {main[0]}", f"the application's main class is {main[0]}", main[1], main[2]
            )
        return build, Decision(
            f"{DIST}/bin/\"$(ls {DIST}/bin | grep -v '\\.bat$' | head -n 1)\"",
            "the start script installDist writes",
            application.file,
            application.line,
        )
    what = f"a {name} app" if name else "no Spring Boot, Quarkus or other known framework"
    reason = f"{what}, and no plugin builds a runnable jar (maven-shade-plugin, Shadow, the application plugin)"
    return default(None, reason), default(None, reason)


def _fat_jar(tree: SourceTree, files: list[str], maven: bool, framework: Decision) -> tuple[str, str, str, int] | None:
    """(Gradle task, what, file, line) of the plugin that makes a runnable jar, when one does."""
    if maven:
        hit = tree.first(_MAVEN_FAT, files)
        if hit is None and framework.value == "micronaut":
            parent = tree.first(r"<artifactId>\s*micronaut-parent\s*</artifactId>", files)
            return ("", "micronaut-parent's shade plugin", parent.file, parent.line) if parent else None
        if hit is None:
            return None
        text = tree.text(hit.file) or ""
        if hit.match.group("what") == "maven-assembly-plugin" and "jar-with-dependencies" not in text:
            return None
        if framework.value is None and not re.search(r"<mainClass>|Main-Class|exec\.mainClass", text):
            return None  # a library's shaded jar has no main class to run
        return "", hit.match.group("what"), hit.file, hit.line
    for regex, task, what in _GRADLE_FAT:
        hit = tree.first(regex, files)
        if hit is not None:
            return task, what, hit.file, hit.line
    return None


def _main_class(tree: SourceTree, files: list[str]) -> tuple[str, str, int] | None:
    hit = tree.first(_MAIN_CLASS, files)
    if hit is None:
        return None
    return hit.match.group("main") or hit.match.group("pom") or hit.match.group("attr"), hit.file, hit.line


def _dropwizard_config(tree: SourceTree) -> str | None:
    """The YAML file at the root with a `server:` section: Dropwizard's configuration."""
    candidates = sorted(
        (f for f in tree.files if "/" not in f and f.endswith((".yml", ".yaml"))),
        key=lambda f: (not f.startswith("config"), f),
    )
    return next((f for f in candidates if tree.first(r"^server\s*:", [f])), None)


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


def _build(
    tree: SourceTree,
    build_file: str,
    *,
    gradle_task: str = "bootJar -x test --no-daemon",
    war: bool = False,
    copy: bool = True,
) -> Decision:
    """The build with the project's wrapper (else the tool itself), then, when `copy`, the largest
    jar (or war) it writes copied to app.jar (app.war)."""
    note = ""
    ext, target = ("war", WAR) if war else ("jar", JAR)
    if build_file == "pom.xml":
        wrapper, settings, tool, output = "mvnw", ".mvn/wrapper/maven-wrapper.properties", "mvn", "target"
        task = "-B -DskipTests package"
    else:
        wrapper, settings, tool, output = "gradlew", "gradle/wrapper/gradle-wrapper.properties", "gradle", "build/libs"
        task = gradle_task.replace("bootJar", "bootWar") if war else gradle_task
        old = tree.first(_GRADLE_BOOT_VERSION, [build_file]) if task.startswith("boot") else None
        if old is not None and old.match.group("major") == "1":
            task = "assemble --no-daemon"
            note = (
                f"; Spring Boot 1.x ({build_file}:{old.line}) has no bootJar task, its bootRepackage runs in assemble"
            )
    jars = f"{output}/*.{ext}"
    modules = _modules(tree, build_file)
    if modules is not None and copy:
        # the executable jar is a module's: the root of a multi-module build writes none (or a small one)
        jars += f" */{output}/*.{ext}"
        note += f"; {modules[0]}:{modules[1]} builds modules, so their {output}/ folders count too"
    quiet = " 2>/dev/null" if modules else ""  # a module without a jar must not stop the copy
    then = f' && cp "$(ls -S {jars}{quiet} | head -n 1)" {target}' if copy else ""
    largest = f"; the largest {ext} in {output}/ is the executable one" if copy else ""
    if tree.has(wrapper) and tree.has(settings):  # the script alone cannot run without its settings
        return Decision(
            f"chmod +x {wrapper} && ./{wrapper} {task}{then}",
            f"the project's {wrapper} wrapper pins the build tool{largest}" + note,
            settings,
            tree.line_of(settings, "distributionUrl") or 1,
        )
    return Decision(
        f"{tool} {task}{then}",
        f"{build_file} without a wrapper{largest}" + note,
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


def _port(tree: SourceTree, config: dict[str, tuple[str, str, int]], framework: Decision) -> tuple[Decision, Decision]:
    procfile = web_command(tree)
    reads = (
        Decision("PORT", "the Procfile's web process passes $PORT to the app", procfile.file, procfile.line)
        if procfile is not None and re.search(r"\$\{?PORT\b", str(procfile.value))
        else None
    )
    name = str(framework.value)
    if name in PORT_SETTINGS:
        port, env = _setting_port(config, framework, *PORT_SETTINGS[name])
    elif name == "dropwizard":
        port, env = _dropwizard_port(tree)
    else:
        port, env = _code_port(tree, name)
    return port, reads or env


def _setting_port(
    config: dict[str, tuple[str, str, int]], framework: Decision, key: str, variable: str, fallback: int, label: str
) -> tuple[Decision, Decision]:
    """The port from the framework's own setting (`server.port`, `quarkus.http.port`, ...), which
    the environment variable `variable` always overrides."""
    entry = config.get(key)
    if entry is None:
        return default(fallback, f"no {key} set; {label}'s default port"), Decision(
            variable, f"{label} always reads {key} from {variable}", framework.file, framework.line
        )
    value, file, line = entry
    placeholder = _PLACEHOLDER.match(value)
    if placeholder:
        name, fallback_text = placeholder.group("name").strip(), placeholder.group("default") or ""
        digits = re.search(r"(\d{2,5})\}*$", fallback_text)
        if _ENV_NAME.match(name):
            env = Decision(name, f"{key} is {value} in {file}", file, line)
        else:
            env = Decision(variable, f"{label} reads {variable} over any {key} in a file", file, line)
        if digits:
            port = int(digits.group(1))
            return Decision(port, f"{key} is {value}: {port} when {name} is not set", file, line), env
        return Decision(fallback, f"{key} is {value} with no default; HiveMind sets it", file, line), env
    if value.isdigit() and 0 < int(value) < 65536:
        return Decision(int(value), f"{key} is {value} in {file}", file, line), Decision(
            variable, f"{label} reads {variable}, which overrides {key} in {file}", file, line
        )
    return default(fallback, f"{key} {value!r} is not a fixed port; {label}'s default"), Decision(
        variable, f"{label} reads {key} from {variable}", file, line
    )


def _dropwizard_port(tree: SourceTree) -> tuple[Decision, Decision]:
    """The first application connector's port in Dropwizard's configuration (before its admin one)."""
    fallback = default(CODE_DEFAULT_PORTS["dropwizard"], "no configuration file; Dropwizard's default port")
    config = _dropwizard_config(tree)
    if config is None:
        return fallback, default(None, "Dropwizard reads no port variable")
    lines = (tree.text(config) or "").splitlines()
    section = None
    for number, line in enumerate(lines, start=1):
        key = re.match(r"^\s*-?\s*(\w+)\s*:\s*(.*?)\s*$", line)
        if key is None:
            continue
        if key.group(1) in ("applicationConnectors", "adminConnectors", "connector"):
            section = key.group(1)
        elif key.group(1) == "port" and section in ("applicationConnectors", "connector"):
            value = key.group(2).strip("'\"")
            env = re.match(r"^\$\{(?P<env>\w+)(?::-(?P<default>\d{2,5}))?\}$", value)
            if env:
                port = int(env.group("default") or CODE_DEFAULT_PORTS["dropwizard"])
                return (
                    Decision(port, f"{config} sets the port to {value}", config, number),
                    Decision(
                        env.group("env"),
                        f"{config} reads {env.group('env')} (with variable substitution)",
                        config,
                        number,
                    ),
                )
            if value.isdigit():
                return (
                    Decision(int(value), f"{config}'s application connector binds {value}", config, number),
                    Decision(None, f"{config} fixes the port", config, number),
                )
    return default(CODE_DEFAULT_PORTS["dropwizard"], f"{config} sets no port; Dropwizard's default"), Decision(
        None, "Dropwizard reads no port variable", config, 1
    )


def _code_port(tree: SourceTree, framework: str) -> tuple[Decision, Decision]:
    """Ktor's configuration file, else the port the code reads from the environment (with its
    fallback), else the one it passes to the server, else the framework's default."""
    fallback = CODE_DEFAULT_PORTS.get(framework, DEFAULT_PORT)
    if framework == "ktor":
        found = _ktor_config_port(tree)
        if found is not None:
            return found
    sources = _sources(tree)
    env_hit = tree.first(_JAVA_ENV_PORT, sources)
    if env_hit is not None:
        env = env_hit.match.group("env") or env_hit.match.group("env2")
        value = env_hit.match.group("default") or env_hit.match.group("default2") or _fallback_near(tree, env_hit)
        port = int(value) if value else fallback
        why = f"the app binds {port} when {env} is not set" if value else f"{env} has no default in the code"
        return Decision(port, why, env_hit.file, env_hit.line), Decision(
            env, f"the app reads {env}", env_hit.file, env_hit.line
        )
    hit = tree.first(_CODE_PORT, sources)
    if hit is not None:
        port = int(hit.match.group("port"))
        return Decision(port, f"the app listens on {port}", hit.file, hit.line), Decision(
            None, "the port is hard-coded", hit.file, hit.line
        )
    what = f"{framework}'s default port" if framework in CODE_DEFAULT_PORTS else "the usual port of Java web servers"
    return default(fallback, f"no port found in the code; {what}"), default(None, "no port variable read")


def _fallback_near(tree: SourceTree, hit: Hit) -> str | None:
    """A port literal in the few lines after an environment read (`return 4567;`, `?: 8080`)."""
    lines = (tree.text(hit.file) or "").splitlines()
    for line in lines[hit.line - 1 : hit.line + 4]:
        near = _NEAR_RETURN.search(line)
        if near:
            return near.group("port") or near.group("str") or near.group("elvis")
    return None


def _ktor_config_port(tree: SourceTree) -> tuple[Decision, Decision] | None:
    """`ktor.deployment.port` in application.conf (`port = 8080` then `port = ${?PORT}`) or application.yaml."""
    for name in _in_modules(tree, tuple(f"src/main/resources/application.{e}" for e in ("conf", "yaml", "yml"))):
        if not tree.has(name):
            continue
        regex = _HOCON_PORT if name.endswith(".conf") else _YAML_KTOR_PORT
        port: tuple[int, int] | None = None
        env: tuple[str, int] | None = None
        for hit in tree.search(regex, [name]):
            if hit.match.group("port"):
                port = port or (int(hit.match.group("port")), hit.line)
            if hit.match.group("env"):
                env = env or (hit.match.group("env"), hit.line)
            if hit.match.groupdict().get("default"):
                port = port or (int(hit.match.group("default")), hit.line)
        if port is None and env is None:
            continue
        port_decision = (
            Decision(port[0], f"ktor.deployment.port is {port[0]} in {name}", name, port[1])
            if port
            else default(DEFAULT_PORT, f"{name} sets no fixed port; Ktor's usual one")
        )
        if env is not None:
            return port_decision, Decision(env[0], f"{name} reads the port from {env[0]}", name, env[1])
        assert port is not None
        return port_decision, Decision(None, f"{name} fixes the port", name, port[1])
    return None


# The context path each framework serves the app under.
CONTEXT_PATHS = {
    "spring-boot": ("server.servlet.context-path", "server.context-path"),
    "quarkus": ("quarkus.http.root-path",),
    "micronaut": ("micronaut.server.context-path",),
}


def _health(
    tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str, framework: Decision
) -> Decision:
    name = framework.value
    routes = _routes(tree) + _jaxrs_routes(tree)
    if name in ("javalin", "spark", "ktor"):
        routes += tree.search(_LAMBDA_ROUTE, _sources(tree))
    static = next((f for f in _in_modules(tree, STATIC_INDEX) if tree.has(f)), None)
    if static is not None:
        routes.append(_hit(static, 1, "/"))
    chosen = pick_health_path(routes)
    if chosen.source == "default":
        chosen = (
            _endpoint(tree, config, build_file, name)
            or _plain_get(routes)
            or default("/", "no route, welcome page or health endpoint found")
        )
    if name == "spring-boot":
        chosen = _secured(tree, chosen, routes, config, build_file)
    keys = CONTEXT_PATHS.get(str(name), ())
    context = next((config[k] for k in keys if k in config), None)
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


def _endpoint(
    tree: SourceTree, config: dict[str, tuple[str, str, int]], build_file: str, framework: object
) -> Decision | None:
    """The framework's own health endpoint, when the build includes it."""
    if framework == "spring-boot":
        return _actuator(tree, config, build_file)
    files = _build_files(tree, build_file)
    if framework == "quarkus":
        hit = tree.first(r"quarkus-smallrye-health", files)
        if hit is None:
            return None
        old = tree.first(_QUARKUS_VERSION, [*files, *(f for f in ("gradle.properties",) if tree.has(f))])
        path = "/health/live" if old is not None and old.match.group("major") == "1" else "/q/health/live"
        return Decision(
            path, f"quarkus-smallrye-health serves {path} (liveness: no database check)", hit.file, hit.line
        )
    if framework == "micronaut":
        hit = tree.first(r"micronaut-management", files)
        return Decision("/health", "micronaut-management serves /health", hit.file, hit.line) if hit else None
    return None


def _secured(
    tree: SourceTree, chosen: Decision, routes: list[Hit], config: dict[str, tuple[str, str, int]], build_file: str
) -> Decision:
    """With Spring Security, a path it lets through: the health check gets 401 on a guarded one."""
    files = _build_files(tree, build_file)
    security = tree.first(r"spring-boot-starter-security|spring-security-(?:web|config)", files)
    if security is None or chosen.value is None:
        return chosen
    sources = _sources(tree)
    permits = [
        (path, hit)
        for hit in tree.search(_PERMIT, sources)
        if "HttpMethod." not in hit.match.group("args") or "HttpMethod.GET" in hit.match.group("args")
        for path in (m.group("path") for m in _STRING.finditer(hit.match.group("args")))
    ]

    def permitted(path: str) -> Hit | None:
        return next((h for pattern, h in permits if _ant_match(pattern, path)), None)

    where = f"{security.file}:{security.line}"
    hit = permitted(str(chosen.value))
    if hit is not None:
        return Decision(
            chosen.value,
            f"{chosen.reason}; Spring Security ({where}) permits it ({hit.file}:{hit.line})",
            chosen.file,
            chosen.line,
            chosen.source,
        )
    actuator = _actuator(tree, config, build_file)
    candidates = [actuator] if actuator is not None else []
    plain = [h for h in routes if not re.search(r"[{*]", h.match.group("path"))]
    plain.sort(key=lambda h: (h.match.group("path").strip("/") != "", h.match.group("path").count("/")))
    candidates += [Decision(h.match.group("path"), "a GET route", h.file, h.line) for h in plain]
    for candidate in candidates:
        hit = permitted(str(candidate.value))
        if hit is not None:
            return Decision(
                candidate.value,
                f"Spring Security ({where}) guards {chosen.value}; {candidate.reason} ({candidate.file}:"
                f"{candidate.line}) it permits ({hit.file}:{hit.line})",
                hit.file,
                hit.line,
            )
    if tree.first(r"\bformLogin\b", sources) and not tree.first(r"\bhttpBasic\b|oauth2ResourceServer", sources):
        note = "its form login redirects the check to the login page (a 302 the check accepts)"
    else:
        note = "the check may get 401: permit a health route (the actuator's /actuator/health) or set health_path"
    return Decision(
        chosen.value,
        f"{chosen.reason}; Spring Security ({where}) guards it and permits no route HiveMind found: {note}",
        chosen.file,
        chosen.line,
        chosen.source,
    )


def _ant_match(pattern: str, path: str) -> bool:
    """Whether a Spring Security (Ant-style) pattern matches a path: `**` any folders, `*` one name."""
    regex = re.escape(pattern.rstrip("/") or "/")
    regex = regex.replace(r"/\*\*", "(?:/.*)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
    return re.fullmatch(regex, path.rstrip("/") or "/") is not None


def _jaxrs_routes(tree: SourceTree) -> list[Hit]:
    """GET resources of JAX-RS (Quarkus, Dropwizard): a method's @GET with its @Path, under the class's @Path."""
    found: list[Hit] = []
    for name in _sources(tree):
        text = tree.text(name) or ""
        if "@GET" not in text or "@Path" not in text:
            continue
        prefix, in_class, get, path = "", False, False, ""
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            match = _JAXRS_PATH.search(line)
            if not in_class:
                if match:
                    prefix = match.group("path")
                in_class = bool(_CLASS.match(line))
                continue
            if match:
                path = match.group("path")
            if re.match(r"@GET\b", stripped):
                get = True
            elif stripped and not stripped.startswith("@") and "(" in stripped:
                if get:
                    found.append(_hit(name, number, _join(prefix, path)))
                get, path = False, ""
    return found


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
        if "Mapping" not in text and "@Controller" not in text:
            continue
        prefix, in_class = "", False
        for number, line in enumerate(text.splitlines(), start=1):
            for match in _MAPPING.finditer(line):
                args = match.group("args") or ""
                paths = [m.group("path") for m in _STRING.finditer(_NOT_PATH_ARGS.sub("", args))] or [""]
                if not in_class:
                    if match.group("kind") in ("RequestMapping", "Controller"):
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
