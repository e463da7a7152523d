"""The Java version the app needs: system.properties, a Gradle or Kotlin toolchain,
sourceCompatibility, the pom's properties, .java-version or .sdkmanrc, else the current LTS.
"""

from __future__ import annotations

import re

from hivemind.planning.decisions import Decision, default
from hivemind.planning.java.project import MANIFESTS, _in_modules
from hivemind.planning.tree import SourceTree

DEFAULT_VERSION = "21"
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
