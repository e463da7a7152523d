"""The Node version: .nvmrc, .node-version, engines.node, the image a Dockerfile builds on, else
the default LTS."""

from __future__ import annotations

import re
from typing import Any

from hivemind.planning.decisions import Decision, default
from hivemind.planning.tree import SourceTree

# the LTS line Amazon Linux 2023 packages that Node's makers still maintain (20 ended 2026-04-30;
# 22 is maintained until 2027-04-30)
DEFAULT_VERSION = "22"


# Node majors Amazon Linux 2023 packages (nodejs18, nodejs20, nodejs22): a version range is met
# with one of these, the default first.
AVAILABLE_MAJORS = (18, 20, 22)


# nvm's LTS code names (`lts/iron` in .nvmrc) -> major
LTS_NAMES = {
    "argon": 4, "boron": 6, "carbon": 8, "dubnium": 10, "erbium": 12, "fermium": 14,
    "gallium": 16, "hydrogen": 18, "iron": 20, "jod": 22, "krypton": 24,
}  # fmt: skip


_VERSION = re.compile(r"(\d+)")


NODE_FILE = re.compile(r"\b(?:node|ts-node|tsx)\s+(?:--\S+\s+)*(?:\./)?(?P<file>[\w./-]+)")


def version(tree: SourceTree, package: dict[str, Any]) -> Decision:
    """The Node major to install: .nvmrc / .node-version, else engines.node, else the default."""
    for name in (".nvmrc", ".node-version"):
        lines = ((tree.text(name) if tree.has(name) else None) or "").strip().splitlines()
        wanted = lines[0].strip() if lines else ""
        if not wanted:
            continue
        match = _VERSION.search(wanted)
        if match:
            return Decision(match.group(1), f"{name} pins {wanted}", name, 1)
        alias = wanted.lower().removeprefix("lts/")
        if wanted.lower().startswith("lts/") and alias in ("*", "latest", "-1"):
            newest = str(max(m for m in AVAILABLE_MAJORS if m % 2 == 0))
            return Decision(newest, f"{name} asks for the newest LTS ({wanted}); Node {newest} on AL2023", name, 1)
        if alias in LTS_NAMES:
            return Decision(str(LTS_NAMES[alias]), f"{name} names the {alias} LTS line", name, 1)
        if alias in ("node", "latest", "current", "stable"):
            newest = str(AVAILABLE_MAJORS[-1])
            return Decision(newest, f"{name} asks for the newest Node ({wanted}); Node {newest} on AL2023", name, 1)
    engines = package.get("engines", {}).get("node") if isinstance(package.get("engines"), dict) else None
    if isinstance(engines, str) and engines.strip():
        chosen = _meet(engines)
        if chosen is not None:
            return Decision(
                str(chosen), f"engines.node is {engines!r}", "package.json", tree.line_of("package.json", '"node"')
            )
    # the image the repository builds in (Dockerfile, Dockerfile.client, web.Dockerfile, ...)
    dockerfiles = [f for f in tree.files if _DOCKERFILE.fullmatch(f)]
    hit = tree.first(_DOCKER_FROM, sorted(dockerfiles, key=lambda f: (f.count("/"), f)))
    if hit:
        return Decision(hit.match.group("major"), "the Dockerfile's base image", hit.file, hit.line)
    return default(DEFAULT_VERSION, "no version file, engines.node or Dockerfile; a maintained LTS on AL2023")


_DOCKERFILE = re.compile(r"(?:.*/)?(?:Dockerfile(?:\.[\w-]+)?|[\w-]+\.Dockerfile)")
_DOCKER_FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(?:\S+/)?node:(?P<major>\d+)\b", re.IGNORECASE)


_COMPARATOR = re.compile(
    r"(?P<op>>=|<=|>|<|=|\^|~)?\s*v?(?P<major>\d+|[*xX])(?:\.(?P<minor>\d+|[*xX]))?(?:\.(?P<patch>\d+|[*xX]))?"
)


def _meet(spec: str) -> int | None:
    """The Node major that meets a semver range: the default if it does, else the newest AL2023 major that
    does, else the lowest major the range names (one AL2023 lacks comes from nodejs.org: templating/runtimes.py)."""
    for major in (int(DEFAULT_VERSION), *sorted(AVAILABLE_MAJORS, reverse=True)):
        if any(_meets(major, alternative) for alternative in spec.split("||")):
            return major
    named = [int(m.group("major")) for m in _COMPARATOR.finditer(spec) if m.group("major").isdigit()]
    return min(named) if named else None


def _meets(major: int, alternative: str) -> bool:
    hyphen = re.match(r"^\s*v?(\d+)\S*\s+-\s+v?(\d+)", alternative)
    if hyphen:
        return int(hyphen.group(1)) <= major <= int(hyphen.group(2))
    for comparator in _COMPARATOR.finditer(alternative):
        op, bound = comparator.group("op") or "=", comparator.group("major")
        if not bound.isdigit():
            continue
        limit = int(bound)
        exact_major = all(
            p in (None, "0", "x", "X", "*") for p in (comparator.group("minor"), comparator.group("patch"))
        )
        ok = {
            ">=": major >= limit,
            ">": major > limit if comparator.group("minor") is None else major >= limit,
            "<": major < limit if exact_major else major <= limit,
            "<=": major <= limit,
        }.get(op, major == limit)
        if not ok:
            return False
    return True
