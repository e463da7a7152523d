"""JVM apps built with Maven or Gradle (their wrappers first): Spring Boot, Quarkus, Micronaut,
Dropwizard, Ktor, Javalin, Spark Java, or any build that writes a runnable jar.

A jar's name is only known after the build, so the build copies the executable jar (the largest
one the build writes: it embeds every dependency) to `app.jar` (`app.war` for Spring Boot's
executable war), and the app starts from there. Quarkus runs from its `quarkus-app` folder, and a
Gradle `application` without a fat jar from the folder `installDist` writes.

`detect` takes each decision from the module named after it:

- `project`: the build file, the modules of a multi-module build, the app's Java and Kotlin sources;
- `framework`: the web framework the build uses (and the framework versions that matter);
- `version`: the Java version;
- `build`: the build command and the start command (what the build makes, and how it runs);
- `config`: the settings files (Spring Boot's, Quarkus's, Micronaut's; Dropwizard's YAML);
- `port`: the port the app binds and the variable that sets it;
- `routes`: the GET routes the code maps;
- `health`: the path the health check probes (actuator, context path, Spring Security).
"""

from __future__ import annotations

from hivemind.planning.decisions import Decision, Detection, default
from hivemind.planning.java.build import DIST, JAR, WAR, _artifact
from hivemind.planning.java.config import CONFIG_FILES, _config
from hivemind.planning.java.framework import _framework
from hivemind.planning.java.health import CONTEXT_PATHS, STATIC_INDEX, _health
from hivemind.planning.java.port import CODE_DEFAULT_PORTS, DEFAULT_PORT, PORT_SETTINGS, _port
from hivemind.planning.java.project import MANIFESTS, _build_file
from hivemind.planning.java.version import DEFAULT_VERSION, _version
from hivemind.planning.tree import SourceTree

__all__ = [
    "CODE_DEFAULT_PORTS",
    "CONFIG_FILES",
    "CONTEXT_PATHS",
    "DEFAULT_PORT",
    "DEFAULT_VERSION",
    "DIST",
    "INSTANCE_TYPE",
    "JAR",
    "LANGUAGE",
    "MANIFESTS",
    "PORT_SETTINGS",
    "PROCFILE_WORDS",
    "STATIC_INDEX",
    "WAR",
    "detect",
]

LANGUAGE = "java"
PROCFILE_WORDS = frozenset({"java", "mvn", "mvnw", "gradle", "gradlew"})
INSTANCE_TYPE = "t3.small"


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
