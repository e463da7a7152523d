"""Where a JVM project's files are: the build file Maven or Gradle reads, the modules of a
multi-module build (and their build files), and the app's Java and Kotlin sources.
"""

from __future__ import annotations

from hivemind.planning.tree import MAX_SEARCHED_FILES, SourceTree

MANIFESTS: tuple[str, ...] = ("pom.xml", "build.gradle.kts", "build.gradle")


def _build_file(tree: SourceTree) -> str | None:
    present = [m for m in MANIFESTS if tree.has(m)]
    if not present:
        return None
    gradle = next((m for m in present if m != "pom.xml"), None)
    # Both kinds present: the one whose wrapper is committed is the one the project uses.
    if gradle and "pom.xml" in present and tree.has("gradlew") and not tree.has("mvnw"):
        return gradle
    return present[0]


def _build_files(tree: SourceTree, build_file: str) -> list[str]:
    """The root's build file, then those of the build's modules (one folder down)."""
    return [f for f in _in_modules(tree, (build_file,)) if tree.has(f)] + [
        f for f in _in_modules(tree, MANIFESTS)[len(MANIFESTS) :] if tree.has(f) and not f.endswith(build_file)
    ]


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
