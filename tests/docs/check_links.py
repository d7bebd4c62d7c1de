#!/usr/bin/env python3
"""Dead references in the documentation and in source comments.

Checks, in the Markdown documents (README.md, ARCHITECTURE.md, CHANGELOG.md, docs/*.md,
checks/README.md, packaging/README.md, ssm-documents/README.md):
  * every relative Markdown link `[text](target)` names a file or directory that exists
    (relative to the document), and its `#anchor`, if any, is a heading of the target;
  * every repository path written in code (inline backticks or fenced blocks) exists;
and in source comments (Rust `//` comments, `#` comments of shell, TOML, YAML and Python, and
Python docstrings) under agent/, checks/, packaging/, ssm-documents/, tests/, .github/ and .ci/:
  * every repository path exists.

A repository path is a token that starts with one of the top-level directories below (or is a
top-level file such as `Cargo.toml`), so host paths such as `/etc/jikimi/jikimi.toml` or
`/usr/bin/jikimi` are never taken for files of the repository. Placeholders are matched as
patterns: `*`, `{a,b}`, `…`, `$VAR`, `<x>` and upper-case words (NAME, ARCH, VERSION).

Prints one line per dead reference and ends with "docs: N passed, N failed" (one per
reference checked, plus the self-test); exits 1 on any failure.

Usage: python3 tests/docs/check_links.py [--repo DIR]
"""

import argparse
import ast
import fnmatch
import io
import os
import pathlib
import re
import sys
import tempfile
import tokenize

TOP_DIRS = ["agent", "checks", "docs", "packaging", "ssm-documents", "tests", ".github", ".ci"]
TOP_FILES = ["README.md", "ARCHITECTURE.md", "CHANGELOG.md", "LICENSE", "Cargo.toml", "Cargo.lock"]
MARKDOWN = ["README.md", "ARCHITECTURE.md", "CHANGELOG.md", "docs/*.md", "checks/README.md",
            "packaging/README.md", "ssm-documents/README.md"]
COMMENT_ROOTS = ["agent", "checks", "packaging", "ssm-documents", "tests", ".github", ".ci"]
SKIP_DIRS = {"target", "corpus", "hosts", "__pycache__", ".git", "node_modules"}
COMMENT_SUFFIXES = {".rs": "rust", ".sh": "hash", ".toml": "hash", ".yaml": "hash", ".yml": "hash",
                    ".py": "python", ".in": "hash"}

PATH_RE = re.compile(
    r"(?<![\w/.$-])(?:\./)?(?:(?:" + "|".join(re.escape(d) for d in TOP_DIRS) + r")/[^\s`'\"()<>\[\],;|]*"
    r"|(?:" + "|".join(re.escape(f) for f in TOP_FILES) + r")(?![\w.-]))")
LINK_RE = re.compile(r"(?<!\!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*([^)\s]+)")
INLINE_CODE_RE = re.compile(r"(`+)(.+?)\1")
PLACEHOLDER_WORD = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$|^[A-Z]$")


class Checker:
    def __init__(self, repo: pathlib.Path):
        self.repo = repo.resolve()
        self.passed = 0
        self.failures = []
        self._anchors = {}

    # ------------------------------------------------------------------ results
    def ok(self):
        self.passed += 1

    def fail(self, where, msg):
        self.failures.append(f"{where}: {msg}")

    # ------------------------------------------------------------------ paths
    def pattern_of(self, token: str) -> str:
        """A repository path as an fnmatch pattern (placeholders → *)."""
        token = token.replace("…", "*").replace("...", "*")
        token = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "*", token)
        token = re.sub(r"<[^>]*>", "*", token)
        token = re.sub(r"\{[^{}]*\}", "*", token)
        parts = []
        for part in token.split("/"):
            pieces = re.split(r"([._-])", part)
            pieces = ["*" if PLACEHOLDER_WORD.match(p) and p not in TOP_FILES else p for p in pieces]
            parts.append("".join(pieces))
        return "/".join(parts)

    def exists(self, token: str, base: pathlib.Path = None) -> bool:
        """Whether the path exists in the repository (or under `base`, a crate directory)."""
        if base is not None and base != self.repo:
            sub = Checker(base)
            if sub.exists(token):
                return True
        rel = token[2:] if token.startswith("./") else token
        rel = rel.rstrip("/") or rel
        pattern = self.pattern_of(rel)
        if not any(c in pattern for c in "*?["):
            return (self.repo / rel).exists() or os.path.lexists(self.repo / rel)
        return self._glob(pattern)

    def _glob(self, pattern: str) -> bool:
        parts = pattern.split("/")
        level = [self.repo]
        for part in parts:
            nxt = []
            for d in level:
                if not d.is_dir():
                    continue
                if any(c in part for c in "*?["):
                    nxt.extend(p for p in d.iterdir() if fnmatch.fnmatchcase(p.name, part))
                elif (d / part).exists() or os.path.lexists(d / part):
                    nxt.append(d / part)
            level = nxt
            if not level:
                return False
        return True

    def check_token(self, where, token, base=None):
        token = token.rstrip(".,:;!?)'\"")
        token = re.sub(r"(:\d+)+$", "", token)  # file:line
        token = token.split("#", 1)[0]
        if not token or token in ("./",):
            return
        if self.exists(token, base):
            self.ok()
        else:
            self.fail(where, f"`{token}` does not exist in the repository")

    def paths_in(self, text):
        return [m.group(0) for m in PATH_RE.finditer(text)]

    # ------------------------------------------------------------------ markdown
    @staticmethod
    def slug(heading: str) -> str:
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        text = text.strip().lower()
        text = re.sub(r"[^\w\- ]", "", text)
        return text.replace(" ", "-")

    def anchors(self, path: pathlib.Path):
        if path not in self._anchors:
            found, seen, fence = set(), {}, False
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.lstrip().startswith(("```", "~~~")):
                    fence = not fence
                    continue
                m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    s = self.slug(m.group(1))
                    n = seen.get(s, 0)
                    seen[s] = n + 1
                    found.add(s if n == 0 else f"{s}-{n}")
            self._anchors[path] = found
        return self._anchors[path]

    def check_link(self, doc: pathlib.Path, where, target):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
            return  # URLs: not checked (no network in tests)
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        try:
            dest.relative_to(self.repo)
        except ValueError:
            self.fail(where, f"link {target} points outside the repository")
            return
        if not dest.exists():
            self.fail(where, f"link {target}: {dest.relative_to(self.repo)} does not exist")
            return
        if anchor:
            if dest.suffix != ".md" or dest.is_dir():
                self.fail(where, f"link {target}: an anchor on a file that is not Markdown")
                return
            if anchor not in self.anchors(dest):
                self.fail(where, f"link {target}: no heading #{anchor} in {dest.relative_to(self.repo)}")
                return
        self.ok()

    def check_markdown(self, doc: pathlib.Path):
        rel = doc.relative_to(self.repo)
        fence = False
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{rel}:{n}"
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
                continue
            if fence:
                for token in self.paths_in(line):
                    self.check_token(where, token)
                continue
            for m in INLINE_CODE_RE.finditer(line):
                for token in self.paths_in(m.group(2)):
                    self.check_token(where, token)
            prose = INLINE_CODE_RE.sub("", line)
            for m in LINK_RE.finditer(prose):
                self.check_link(doc, where, m.group(1))
            for m in IMAGE_RE.finditer(prose):
                self.check_link(doc, where, m.group(1))

    # ------------------------------------------------------------------ comments
    def comments(self, path: pathlib.Path):
        """(line number, text) of each comment of a source file."""
        kind = COMMENT_SUFFIXES.get(path.suffix)
        if kind is None and path.suffix == "" and path.is_file():
            try:
                first = path.open("rb").readline()
            except OSError:
                return
            kind = "hash" if first.startswith(b"#!") and (b"sh" in first or b"python" in first) else None
        if kind is None:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            return
        if kind == "rust":
            for n, line in enumerate(text.splitlines(), 1):
                s = line.strip()
                if s.startswith("//"):
                    yield n, s
        elif kind == "python":
            try:
                for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                    if tok.type == tokenize.COMMENT:
                        yield tok.start[0], tok.string
                tree = ast.parse(text)
            except (tokenize.TokenError, SyntaxError, IndentationError):
                return
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    body = node.body
                    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                            and isinstance(body[0].value.value, str):
                        start = body[0].lineno
                        for i, line in enumerate(body[0].value.value.splitlines()):
                            yield start + i, line
        else:
            for n, line in enumerate(text.splitlines(), 1):
                s = line.strip()
                if s.startswith("#!"):
                    continue
                if s.startswith("#"):
                    yield n, s
                elif " # " in line:
                    yield n, line.split(" # ", 1)[1]

    def source_files(self):
        for root in COMMENT_ROOTS:
            for dirpath, dirnames, filenames in os.walk(self.repo / root):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
                for name in sorted(filenames):
                    yield pathlib.Path(dirpath) / name

    def check_comments(self):
        me = pathlib.Path(__file__).resolve()
        for path in self.source_files():
            if path.resolve() == me:
                continue  # its own docs describe the patterns, with made-up examples
            rel = path.relative_to(self.repo)
            crate = self.crate_of(path)
            for n, text in self.comments(path):
                for token in self.paths_in(text):
                    self.check_token(f"{rel}:{n}", token, crate)

    def crate_of(self, path: pathlib.Path):
        """The nearest directory above path with a Cargo.toml: Rust comments may name paths
        relative to their crate (`tests/sshd_differential.rs` in agent/)."""
        if path.suffix != ".rs":
            return None
        for d in path.parents:
            if d == self.repo or self.repo not in d.parents:
                return None
            if (d / "Cargo.toml").is_file():
                return d
        return None

    def run(self):
        docs = sorted({p for pat in MARKDOWN for p in self.repo.glob(pat) if p.is_file()})
        for doc in docs:
            self.check_markdown(doc)
        self.check_comments()
        return docs


def self_test() -> list:
    """The checker finds what it must find (and nothing else) in a made-up repository."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = pathlib.Path(tmp)
        (repo / "docs").mkdir()
        (repo / "agent/src").mkdir(parents=True)
        (repo / "tests/hosts/web").mkdir(parents=True)
        (repo / "agent/src/fs.rs").write_text(
            "//! Reads through `agent/src/fs.rs`; see docs/guide.md and agent/src/gone.rs.\n"
            "fn f() { let p = \"agent/src/not_a_comment.rs\"; }\n")
        (repo / "docs/guide.md").write_text(
            "# Guide\n\n## Two words\n\n"
            "[ok](../README.md) [anchor](#two-words) [bad anchor](#nope) [missing](missing.md)\n"
            "[readme anchor](../README.md#intro) [url](https://example.com/x)\n"
            "`agent/src/fs.rs` `agent/src/missing.rs` `/etc/jikimi/jikimi.toml` `tests/hosts/NAME/`\n"
            "```sh\nbash tests/run.sh\n```\n")
        (repo / "README.md").write_text("# Intro\n[guide](docs/guide.md#two-words)\n")
        c = Checker(repo)
        c.run()
        got = sorted(f.split(": ", 1)[1] for f in c.failures)
        want = sorted([
            "`agent/src/gone.rs` does not exist in the repository",
            "link #nope: no heading #nope in docs/guide.md",
            "link missing.md: docs/missing.md does not exist",
            "`agent/src/missing.rs` does not exist in the repository",
            "`tests/run.sh` does not exist in the repository",
        ])
        if got != want:
            problems.append(f"self-test: expected failures {want}, got {got}")
        # Passed: fs.rs and docs/guide.md in the comment, ../README.md, #two-words,
        # ../README.md#intro, `agent/src/fs.rs`, tests/hosts/NAME/, and the README's link.
        if c.passed != 8:
            problems.append(f"self-test: expected 8 passed references, got {c.passed}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", default=str(pathlib.Path(__file__).resolve().parents[2]))
    args = ap.parse_args()
    problems = self_test()
    c = Checker(pathlib.Path(args.repo))
    docs = c.run()
    for f in problems + c.failures:
        print(f)
    passed = c.passed + (0 if problems else 1)
    failed = len(c.failures) + len(problems)
    print(f"checked {len(docs)} Markdown documents and the comments under {', '.join(COMMENT_ROOTS)}")
    print(f"docs: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
