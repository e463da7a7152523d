"""The build command and the start command: the build with the project's Maven or Gradle
(wrapper first), and what it makes that `java` runs: Spring Boot's executable jar or war,
Quarkus's quarkus-app, a fat jar (shade, assembly, Shadow, Ktor), or the app Gradle's
installDist writes. The build copies a jar, whose name is only known after it, to `app.jar`.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.java.config import _dropwizard_config
from hivemind.planning.java.framework import _GRADLE_BOOT_VERSION, _QUARKUS_VERSION
from hivemind.planning.java.project import _build_files, _modules
from hivemind.planning.tree import SourceTree

JAR = "app.jar"
WAR = "app.war"
# Where the build copies what Gradle's installDist writes (the app's jars in lib/, scripts in bin/).
DIST = "dist"
GRADLE_WRAPPER_JAR = "gradle/wrapper/gradle-wrapper.jar"
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
    # the script cannot run without its settings, nor gradlew without its jar (which a `*.jar` in
    # .gitignore often keeps out of the repository; mvnw downloads its own)
    needs = (settings, GRADLE_WRAPPER_JAR) if wrapper == "gradlew" else (settings,)
    if tree.has(wrapper) and all(tree.has(f) for f in needs):
        return Decision(
            f"chmod +x {wrapper} && ./{wrapper} {task}{then}",
            f"the project's {wrapper} wrapper pins the build tool{largest}" + note,
            settings,
            tree.line_of(settings, "distributionUrl") or 1,
        )
    without = (
        f"{wrapper} without {GRADLE_WRAPPER_JAR}, which it runs: {tool} itself"
        if wrapper == "gradlew" and tree.has(wrapper) and not tree.has(GRADLE_WRAPPER_JAR)
        else f"{build_file} without a wrapper"
    )
    return Decision(
        f"{tool} {task}{then}",
        f"{without}{largest}" + note,
        build_file,
        1,
    )
