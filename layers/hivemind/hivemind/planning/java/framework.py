"""Which JVM web framework the build uses, from the markers in its build files, and the
framework versions that change how the app builds or where it answers the health check.
"""

from __future__ import annotations

import re
import tomllib

from hivemind.planning.decisions import Decision, default
from hivemind.planning.documents import entry, table
from hivemind.planning.java.project import _build_files
from hivemind.planning.tree import Hit, SourceTree

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
_QUARKUS_VERSION = re.compile(
    r"""(?:quarkus[.\-](?:platform[.\-])?(?:plugin[.\-])?version>|quarkus(?:Platform|Plugin)?Version\s*=\s*|io\.quarkus["']\s*\)?\s*version\s*)"""
    r"""["']?(?P<major>\d+)\.(?P<minor>\d+)"""
)
# The Spring Boot Gradle plugin's version: `id 'org.springframework.boot' version '3.3.4'`,
# `id("org.springframework.boot") version "3.3.4"`, `springBootVersion = '1.5.6.RELEASE'`,
# `classpath("org.springframework.boot:spring-boot-gradle-plugin:1.5.6.RELEASE")`.
_GRADLE_BOOT_VERSION = re.compile(
    r"""(?:org\.springframework\.boot["']\s*\)?\s*version\s*|springBootVersion\s*=\s*|spring-boot-gradle-plugin:)"""
    r"""["']?(?P<major>\d+)\.\d+"""
)


def _framework(tree: SourceTree, build_file: str) -> Decision:
    """The web framework the build uses (the root's build file, then its modules'), also through
    the aliases of Gradle's version catalog (`implementation(libs.ktor.server.netty)`)."""
    maven = build_file == "pom.xml"
    files = _build_files(tree, build_file)
    catalog = [] if maven else _catalog_uses(tree, files)
    boot = (
        tree.first(_MAVEN_BOOT if maven else _GRADLE_BOOT, files)
        or (None if maven else tree.first(_GRADLE_BOOT_ALIAS, files))
        or _first_use(_GRADLE_BOOT, catalog)
    )
    if boot is not None:
        what = boot.match.group("what")
        what = "the org.springframework.boot plugin" if "springframework.boot" in what or "libs." in what else what
        return Decision("spring-boot", f"{boot.file} uses {what}", boot.file, boot.line)
    for name, in_pom, in_gradle in _FRAMEWORKS:
        direct = tree.first(in_pom if maven else in_gradle, files)
        hit = direct or _first_use(in_gradle, catalog)
        if hit is not None:
            via = "" if direct else f" (an alias of {CATALOG})"
            return Decision(name, f"{hit.file} uses {hit.match.group('what')}{via}", hit.file, hit.line)
    return default(None, f"{build_file} uses no JVM web framework HiveMind knows")


CATALOG = "gradle/libs.versions.toml"
_CATALOG_USE = re.compile(r"\blibs\.(?P<alias>[A-Za-z][\w.]*)")


def _catalog_uses(tree: SourceTree, files: list[str]) -> list[tuple[str, int, str]]:
    """(build file, line, what the alias stands for) for each version-catalog alias the build
    files use: a library as `group:name`, a plugin as `id("plugin.id")`."""
    if not tree.has(CATALOG):
        return []
    try:
        catalog = tomllib.loads(tree.text(CATALOG) or "")
    except tomllib.TOMLDecodeError:
        return []
    known: dict[str, str] = {}
    for alias, spec in table(catalog, "libraries").items():
        module = spec if isinstance(spec, str) else entry(spec, "module")
        if not isinstance(module, str) and isinstance(entry(spec, "group"), str):
            module = f"{entry(spec, 'group')}:{entry(spec, 'name')}"
        if isinstance(module, str):
            known[_accessor(alias)] = module.split(":version", 1)[0]
    for alias, spec in table(catalog, "plugins").items():
        plugin = spec.split(":", 1)[0] if isinstance(spec, str) else entry(spec, "id")
        if isinstance(plugin, str):
            known[f"plugins.{_accessor(alias)}"] = f'id("{plugin}")'
    found = []
    for hit in tree.search(_CATALOG_USE, files):
        stands_for = known.get(hit.match.group("alias"))
        if stands_for is not None:
            found.append((hit.file, hit.line, stands_for))
    return found


def _accessor(alias: str) -> str:
    """The accessor Gradle generates for a catalog alias: `ktor-server-netty` is `ktor.server.netty`."""
    return re.sub(r"[-_]", ".", alias)


def _first_use(regex: re.Pattern[str], uses: list[tuple[str, int, str]]) -> Hit | None:
    """The first catalog alias whose library or plugin the framework's marker matches, as a Hit on
    the build file's line."""
    for file, line, stands_for in uses:
        match = regex.search(stands_for)
        if match is not None:
            return Hit(file, line, match)
    return None
