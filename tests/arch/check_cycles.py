#!/usr/bin/env python3
"""Fails on any dependency cycle between the modules of agent/src and agent/fs/src (issue #14:
layers point down).

The graph is built from the source text, for each crate of agent/ (the library rooted at
agent/src/lib.rs, the binary rooted at agent/src/main.rs, and the `jikimi-fs` library rooted at
agent/fs/src/lib.rs) separately:

* every path that starts with `crate::`, `super::` or `self::` (in `use` trees, expanded, and
  in expressions and types), and every `use` of a child module by its bare name, is resolved to
  the module file it names (the longest prefix that is a module file);
* comments, string literals and `#[cfg(test)]` items are left out: doc links and test-only
  imports do not make a layer depend on another;
* two granularities are checked:
  - top-level modules (`aws`, `config`, `sinks`...): an edge A -> B when a file under A names
    something under B;
  - files: an edge between two files, except between a file and a module that contains it
    (`facts/sshd/mod.rs` and `facts/sshd/eval.rs` are one unit: a parent re-exports its
    children, children use the parent's shared types).

Between the crates, `jikimi-fs` sits below `jikimi`: the check fails when agent/fs/Cargo.toml
names `jikimi` in any dependency table or agent/fs/src names a `jikimi::` path (cargo refuses
a cycle of normal dependencies, but not one through dev-dependencies or a path written out).

Each cycle (strongly connected component) is printed with one cycle through it and, for
every edge of that cycle, the first place that makes it (file:line: path). Exit status 1 when
there is any cycle, 0 otherwise. Python 3.11 standard library only.

Usage: python3 tests/arch/check_cycles.py [--graph]   (--graph also prints the top-level edges)
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict, deque
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "agent" / "src"
FS_SRC = REPO / "agent" / "fs" / "src"
FS_MANIFEST = REPO / "agent" / "fs" / "Cargo.toml"


def strip_code(text: str) -> str:
    """Blanks comments, strings and char literals (newlines kept, so offsets and lines hold)."""
    out = []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return "".join(c if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = '"' + m.group(1)
            j = text.find(end, m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(blank(text[i:j]))
            i = j
        elif c == "'":
            m = re.compile(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", re.S).match(text, i)
            if m:
                out.append(blank(m.group(0)))
                i = m.end()
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def match_brace(text: str, open_at: int) -> int:
    """Index just past the brace that closes the one at `open_at`."""
    depth = 0
    for j in range(open_at, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


CFG_TEST = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*")


def drop_cfg_test(text: str) -> str:
    """Blanks every `#[cfg(test)]` item (a `mod tests { ... }`, a `use`, a fn)."""
    while m := CFG_TEST.search(text):
        j = m.end()
        semi, brace = text.find(";", j), text.find("{", j)
        if brace >= 0 and (semi < 0 or brace < semi):
            end = match_brace(text, brace)
        else:
            end = semi + 1 if semi >= 0 else len(text)
        text = text[: m.start()] + "".join(c if c == "\n" else " " for c in text[m.start() : end]) + text[end:]
    return text


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{self, D}}` -> ['a::b', 'a::c', 'a::c::D'] (renames and globs dropped)."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))

    def split_top(s: str) -> list[str]:
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def go(prefix: str, s: str) -> list[str]:
        if "{" in s:
            k = s.index("{")
            head = s[:k].rstrip(":")
            inner = s[k + 1 : s.rindex("}")]
            base = prefix + ("::" if prefix and head else "") + head
            res = []
            for part in split_top(inner):
                res += go(base, part)
            return res
        if s in ("self", ""):
            return [prefix] if prefix else []
        if s == "*":
            return [prefix] if prefix else []
        return [prefix + ("::" if prefix else "") + s]

    return go("", tree)


class Crate:
    def __init__(self, root_file: Path, skip: set[Path]):
        self.root_file = root_file
        self.files: dict[tuple[str, ...], Path] = {}  # module path -> file
        self.mods_of: dict[Path, tuple[str, ...]] = {}
        self._collect(root_file, (), skip)

    def _collect(self, f: Path, modpath: tuple[str, ...], skip: set[Path]) -> None:
        self.files[modpath] = f
        self.mods_of[f] = modpath
        text = drop_cfg_test(strip_code(f.read_text()))
        base = f.parent if f.name in ("mod.rs", "lib.rs", "main.rs") else f.with_suffix("")
        for m in re.finditer(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", text, re.M):
            name = m.group(1)
            for cand in (base / f"{name}.rs", base / name / "mod.rs"):
                if cand.exists() and cand not in skip:
                    self._collect(cand, modpath + (name,), skip)
                    break

    def resolve(self, segs: list[str], here: tuple[str, ...]) -> tuple[str, ...] | None:
        """The module file a path names, or None for paths outside the crate."""
        if not segs:
            return None
        if segs[0] == "crate":
            cur, rest = (), segs[1:]
        elif segs[0] in ("self", "super"):
            cur, rest = here, segs
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super":
                    cur = cur[:-1]
                rest = rest[1:]
        elif here + (segs[0],) in self.files:  # a child module by its bare name
            cur, rest = here, segs
        else:
            return None
        best = cur
        for s in rest:
            if cur + (s,) in self.files:
                cur = cur + (s,)
                best = cur
            else:
                break
        return best if best in self.files else None

    def references(self):
        """Yields (from module path, to module path, file, line, path text)."""
        for modpath, f in self.files.items():
            raw = f.read_text()
            text = drop_cfg_test(strip_code(raw))
            text = re.sub(r"pub\s*\(\s*(?:crate|super|self|in\s+[\w:]+)\s*\)", lambda m: " " * len(m.group(0)), text)
            # inline modules (`mod embedded { ... }`): paths inside resolve from there
            inline: list[tuple[int, int, str]] = []
            for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
                inline.append((m.end() - 1, match_brace(text, m.end() - 1), m.group(1)))

            def here_at(pos: int) -> tuple[str, ...]:
                extra = tuple(name for s, e, name in sorted(inline) if s <= pos < e)
                return modpath + extra

            def line_at(pos: int) -> int:
                return text.count("\n", 0, pos) + 1

            spans = []
            for m in re.finditer(r"\buse\s+([^;]+);", text):
                spans.append((m.start(), m.end()))
                for p in expand_use(m.group(1)):
                    segs = [s for s in p.split("::") if s]
                    to = self.resolve(segs, here_at(m.start()))
                    if to is not None:
                        yield modpath, to, f, line_at(m.start()), "use " + p
            masked = list(text)
            for s, e in spans:
                for k in range(s, e):
                    if masked[k] != "\n":
                        masked[k] = " "
            masked = "".join(masked)
            for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:\s*::\s*\w+)+)", masked):
                segs = [s.strip() for s in m.group(1).split("::")]
                to = self.resolve(segs, here_at(m.start()))
                if to is not None:
                    yield modpath, to, f, line_at(m.start()), m.group(1)


def sccs(nodes, edges):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


def one_cycle(comp, edges):
    """A shortest cycle through the first node of a strongly connected component."""
    start, members = comp[0], set(comp)
    prev, q = {start: None}, deque([start])
    while q:
        v = q.popleft()
        for w in sorted(edges.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                q.append(w)
    return comp + [comp[0]]


def check(name: str, edges: dict, evidence: dict, show) -> int:
    nodes = set(edges) | {w for ws in edges.values() for w in ws}
    comps = sccs(nodes, edges)
    for comp in comps:
        cyc = one_cycle(comp, edges)
        print(f"CYCLE ({name}): {' -> '.join(show(x) for x in cyc)}")
        members = set(comp)
        inside = sorted((a, b) for a in comp for b in edges.get(a, ()) if b in members)
        print(f"  {len(comp)} modules, {len(inside)} edges between them (cut one of each cycle):")
        for a, b in inside:
            f, line, p = evidence[(a, b)]
            print(f"  {show(a)} -> {show(b)}: {f.relative_to(REPO)}:{line}: {p}")
    return len(comps)


def fs_names_the_agent() -> list[str]:
    """Places where jikimi-fs depends on jikimi (a crate-level cycle): manifest and source."""
    import tomllib

    found = []
    manifest = tomllib.loads(FS_MANIFEST.read_text())
    tables = [manifest]
    tables += list(manifest.get("target", {}).values())
    for t in tables:
        for section in ("dependencies", "dev-dependencies", "build-dependencies"):
            for name, spec in t.get(section, {}).items():
                package = spec.get("package", name) if isinstance(spec, dict) else name
                if package == "jikimi":
                    found.append(f"{FS_MANIFEST.relative_to(REPO)}: [{section}] {name}")
    for f in sorted(FS_SRC.rglob("*.rs")):
        text = strip_code(f.read_text())
        for m in re.finditer(r"(?<![\w:])(?:::)?jikimi\s*::", text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{f.relative_to(REPO)}:{line}: jikimi::")
    return found


def main() -> int:
    lib = Crate(SRC / "lib.rs", set())
    binary = Crate(SRC / "main.rs", set())
    fs = Crate(FS_SRC / "lib.rs", set())
    total = 0
    up = fs_names_the_agent()
    for place in up:
        print(f"CYCLE (crates): jikimi-fs -> jikimi: {place}")
    print(f"crates: jikimi -> jikimi-fs, {len(up)} edges back from jikimi-fs to jikimi")
    total += len(up)
    for cname, crate in (("lib", lib), ("bin", binary), ("fs", fs)):
        top_edges, top_ev = defaultdict(set), {}
        file_edges, file_ev = defaultdict(set), {}
        for a, b, f, line, p in crate.references():
            if a and b and a[0] != b[0]:
                top_edges[a[0]].add(b[0])
                top_ev.setdefault((a[0], b[0]), (f, line, p))
            related = a[: len(b)] == b or b[: len(a)] == a
            if a != b and not related:
                file_edges[a].add(b)
                file_ev.setdefault((a, b), (f, line, p))
        if "--graph" in sys.argv:
            for a in sorted(top_edges):
                print(f"{cname}: {a} -> {', '.join(sorted(top_edges[a]))}")
        top = check(f"{cname}, top-level modules", top_edges, top_ev, lambda x: x)
        src = crate.root_file.parent
        files = check(f"{cname}, files", file_edges, file_ev, lambda x: str(crate.files[x].relative_to(src)))
        print(f"{cname}: {len(crate.files)} module files, {top} cycles between top-level modules, {files} between files")
        total += top + files
    print(f"arch: {0 if total else 1} passed, {1 if total else 0} failed ({total} module cycles)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
