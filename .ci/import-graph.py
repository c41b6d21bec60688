#!/usr/bin/env python3
"""Checks that the imports between evloop's source files point down and never form a circle.

Reads every `crate::`, `super::` and `self::` path in src/ (in `use` lines and inline in code;
comments and doc comments are skipped) and resolves each to the file that defines what it
names: `crate::executor::cell::TaskCell` is an edge to src/executor/cell.rs, and
`crate::time::Sleep`, which time/mod.rs re-exports, an edge to src/time/sleep.rs. A re-export
(`pub use`) is no edge itself: it only hands a name on. Then it reports:

1. every circle of files (a strongly connected component with more than one file);
2. every import that points up or sideways across the layers below (STYLE.md's order):

       0  sys, coop, unwind                              (plain std and libc)
       1  io                                             (the traits and helpers; they spend budget)
       2  executor, reactor, timer, blocking             (the runtime's parts: none imports another)
       3  context                                        (the current runtime)
       4  time, net, sync, task, signal, future, macros, (may import each other, in no circle)
          stream, compat
       5  runtime
       6  lib.rs

A file may import files of its own top-level module freely (no circle, though), lower layers
always, and other modules of its own layer only in layer 4.

Usage: .ci/import-graph.py [--dot]   (from the repository root; exit status 1 on a finding)
"""

import os
import re
import sys

SRC = "src"

# (path prefix, layer); the longest matching prefix wins.
LAYERS = [
    ("sys.rs", 0),
    ("sys/", 0),
    ("coop.rs", 0),
    ("unwind.rs", 0),
    ("io/", 1),
    ("executor/", 2),
    ("reactor/", 2),
    ("timer/", 2),
    ("blocking.rs", 2),
    ("context.rs", 3),
    ("time/", 4),
    ("net/", 4),
    ("sync/", 4),
    ("task/", 4),
    ("signal/", 4),
    ("future/", 4),
    ("macros.rs", 4),
    ("stream.rs", 4),
    ("compat/", 4),
    ("runtime/", 5),
    ("lib.rs", 6),
]


def layer_of(path):
    best = None
    for prefix, layer in LAYERS:
        if path == prefix or path.startswith(prefix):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return best[1] if best else None


def top_module(path):
    return path.split("/")[0].removesuffix(".rs")


def source_files():
    files = []
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                files.append(os.path.relpath(os.path.join(root, name), SRC))
    return sorted(files)


def module_path(file):
    """The module path of a file: executor/cell.rs -> [executor, cell]; lib.rs -> []."""
    parts = file[:-3].split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return parts


def file_of(parts):
    """The file defining module `parts`, or None."""
    if not parts:
        return "lib.rs"
    base = "/".join(parts)
    for candidate in (base + ".rs", base + "/mod.rs"):
        if os.path.exists(os.path.join(SRC, candidate)):
            return candidate
    return None


def absolute(path, here):
    """`path` (a list of segments) as a path from the crate root, or None if it is external."""
    if not path:
        return None
    if path[0] == "crate":
        return path[1:]
    if path[0] == "super":
        base = list(here)
        while path and path[0] == "super":
            base = base[:-1]
            path = path[1:]
        return base + path
    if path[0] == "self":
        return here + path[1:]
    if file_of(here + path[:1]):
        # A 2018-style relative path to a child module (`pub use task::spawn` in lib.rs).
        return here + path
    return None


REEXPORTS = {}


def reexports_of(file):
    """Names that `file` re-exports (`pub use` or `pub(crate) use`), with their absolute paths."""
    if file not in REEXPORTS:
        text = strip_comments(open(os.path.join(SRC, file), encoding="utf-8").read())
        here = module_path(file)
        names = {}
        for match in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
            for path in expand_use(match.group(1)):
                full = absolute(path, here)
                if full:
                    names[full[-1]] = full
        REEXPORTS[file] = names
    return REEXPORTS[file]


def resolve(parts, depth=0):
    """The file that defines what `parts` names: the deepest module file along the path, or,
    when the next segment is a name that file re-exports, the file it comes from."""
    found, end = None, 0
    for i in range(len(parts) + 1):
        file = file_of(parts[:i])
        if file is None:
            if i > 0:
                break
            continue
        found, end = file, i
    if found and end < len(parts) and depth < 10:
        target = reexports_of(found).get(parts[end])
        if target and target != parts:
            deeper = resolve(target, depth + 1)
            if deeper:
                return deeper
    return found


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.splitlines():
        # Drop `//` comments (and doc comments), but not `//` inside a string literal.
        code, in_string, i = [], False, 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            if not in_string and line.startswith("//", i):
                break
            code.append(c)
            i += 1
        lines.append("".join(code))
    return "\n".join(lines)


def expand_use(tree):
    """Expands a use tree `a::{b, c::{d, e}}` into paths [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for c in s:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        if cur:
            parts.append(cur)
        return parts

    def walk(prefix, s):
        if "{" in s:
            head, rest = s.split("{", 1)
            rest = rest[: rest.rfind("}")]
            head = [p for p in head.split("::") if p]
            out = []
            for item in split_top(rest):
                out.extend(walk(prefix + head, item))
            return out
        return [prefix + [p for p in s.split("::") if p]]

    return walk([], tree)


def inline_modules(text, here):
    """Splits `text` into (code, module path) pieces: the body of an inline `mod name { ... }`
    (a test module, say) is a module of its own, where `super` names the file's module."""
    pieces = []
    match = re.search(r"\bmod\s+(\w+)\s*\{", text)
    if not match:
        return [(text, here)]
    depth, end = 1, match.end()
    while end < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    pieces.append((text[: match.start()], here))
    pieces.extend(inline_modules(text[match.end() : end - 1], here + [match.group(1)]))
    pieces.extend(inline_modules(text[end:], here))
    return pieces


def imports_of(file):
    text = strip_comments(open(os.path.join(SRC, file), encoding="utf-8").read())
    targets = set()
    for code, here in inline_modules(text, module_path(file)):
        targets |= imports_in(code, here, file)
    return targets


def imports_in(text, here, file):
    paths = []
    # A re-export (`pub use`, `pub(crate) use`) only hands a name on: it is no edge (a module
    # root that re-exports its children does not depend on them), but `resolve` follows it.
    private_uses = re.sub(r"\bpub(?:\([^)]*\))?\s+use\s+[^;]+;", "", text)
    for match in re.finditer(r"\buse\s+([^;]+);", private_uses):
        paths.extend(expand_use(match.group(1)))
    inline = re.sub(r"\buse\s+[^;]+;", "", text)
    # `$crate::` inside a macro names the macro's own crate root, not a module edge.
    for match in re.finditer(r"(?<![$\w])((?:crate|super)(?:::\w+)+)", inline):
        paths.append(match.group(1).split("::"))
    targets = set()
    for path in paths:
        full = absolute(path, here)
        if full is None:
            continue
        target = resolve(full)
        if target and target != file:
            targets.add(target)
    return targets


def is_child(parent, child):
    """True if `child` is a submodule file declared under `parent` (mod.rs re-exporting it)."""
    p = module_path(parent)
    c = module_path(child)
    return len(c) > len(p) and c[: len(p)] == p


def strongly_connected(graph):
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    files = source_files()
    graph = {f: imports_of(f) for f in files}
    if "--dot" in sys.argv:
        print("digraph imports {")
        for f in files:
            for t in sorted(graph[f]):
                print(f'  "{f}" -> "{t}";')
        print("}")
        return 0
    problems = 0
    for component in strongly_connected(graph):
        if len(component) > 1:
            problems += 1
            print(f"circle of {len(component)} files: {', '.join(component)}")
    for f in files:
        lf = layer_of(f)
        for t in sorted(graph[f]):
            lt = layer_of(t)
            if lf is None or lt is None:
                print(f"no layer for {f if lf is None else t}: add it to LAYERS")
                problems += 1
                continue
            same_module = top_module(f) == top_module(t)
            if same_module and lf == lt:
                continue
            # A module's root (lib.rs, a mod.rs) declares and re-exports its children.
            if is_child(f, t) and lf >= lt:
                continue
            if lt < lf or (lt == lf == 4):
                continue
            problems += 1
            print(f"{f} (layer {lf}) imports {t} (layer {lt}): imports must point down")
    if problems == 0:
        print(f"import graph: {len(files)} files, no circle, every import points down")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
