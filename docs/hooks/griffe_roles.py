"""griffe extension: Sphinx roles in satnav's docstrings as mkdocstrings cross-references.

The docstrings use reStructuredText roles (``:func:`~satnav.io.sp3.read_sp3```,
``:class:`Observations```, ``:data:`SIGNALS```). Each role whose target resolves to a public
object of the loaded package becomes an autorefs link ``[`read_sp3`][satnav.io.sp3.read_sp3]``;
any other (a private name, another library) becomes inline code, so the strict build never
meets an unresolvable reference.
"""

from __future__ import annotations

import re

import griffe

ITEM_SECTIONS = {"Parameters", "Other Parameters", "Attributes"}
ITEM = re.compile(r"^\*{0,2}[A-Za-z_][\w.]*(\s*,\s*\*{0,2}[A-Za-z_][\w.]*)*(\s+:(\s.*)?)?$")
ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|data|attr|obj|exc|const|term):`(~?)([^`]+?)`")
RULE = re.compile(r"^( *)(=+)( +=+)+ *$")


def rst_tables_to_markdown(text: str) -> str:
    """reStructuredText simple tables (``=====  =====`` rules) as Markdown tables: the
    column spans come from the rule, the last column takes the rest of the line, and a row
    whose first column is blank continues the row above. Tables without a header row
    (two rules) get an empty header."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = RULE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = len(m.group(1))
        spans = [(s.start(), s.end()) for s in re.finditer(r"=+", lines[i])]
        segments: list[list[list[str]]] = [[]]
        j = i + 1
        while j < len(lines):
            line = lines[j]
            if RULE.match(line):
                j += 1
                nxt = lines[j] if j < len(lines) else ""
                if len(segments) == 2 or not nxt.strip():  # the closing rule
                    break
                segments.append([])
                continue
            if not line.strip():
                j += 1
                continue
            cells = []
            for k, (start, _end) in enumerate(spans):
                end = len(line) if k == len(spans) - 1 else spans[k + 1][0]
                cells.append(line[start:end].strip())
            rows = segments[-1]
            if rows and not cells[0]:
                rows[-1] = [f"{p} {c}".strip() for p, c in zip(rows[-1], cells)]
            else:
                rows.append(cells)
            j += 1
        else:  # no closing rule: leave the text alone
            out.append(lines[i])
            i += 1
            continue
        header, body = (segments[0][:1], segments[1]) if len(segments) == 2 else ([[""] * len(spans)], segments[0])
        if not body:
            out.append(lines[i])
            i += 1
            continue
        pad = " " * indent

        def row_text(cells, pad=pad):
            return pad + "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        out.append(row_text(header[0]))
        out.append(pad + "|" + "---|" * len(spans))
        out.extend(row_text(r) for r in body)
        i = j
    return "\n".join(out)


def notes_after_items(text: str) -> str:
    """Put a ``Notes`` heading before a prose paragraph that follows the items of a numpydoc
    Parameters/Attributes section (the docstrings do this; numpydoc wants a heading)."""
    lines = text.split("\n")
    out: list[str] = []
    section = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and set(nxt.strip()) == {"-"} and not line.startswith(" "):
            section = line.strip()
        elif (section in ITEM_SECTIONS and line.strip() and not line.startswith(" ")
              and i > 0 and not lines[i - 1].strip() and not set(line.strip()) <= {"-"}
              and not ITEM.match(line.strip())):
            out += ["Notes", "-----"]
            section = "Notes"
        out.append(line)
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles once the whole package is loaded (targets may be anywhere)."""

    def on_package(self, *, pkg, **kwargs):
        self._rewrite(pkg, pkg)

    # older griffe releases name the event differently
    def on_package_loaded(self, *, pkg, **kwargs):
        self._rewrite(pkg, pkg)

    def _resolve(self, pkg, obj, target: str):
        target = target.strip().rstrip("()")
        candidates = []
        if target.startswith(pkg.name + ".") or target == pkg.name:
            candidates.append(target)
        else:
            scope = obj
            while scope is not None:
                candidates.append(f"{scope.path}.{target}")
                scope = scope.parent
            candidates.append(f"{pkg.name}.{target}")
        for path in candidates:
            parts = path.split(".")
            if any(p.startswith("_") for p in parts[1:]):
                continue
            try:
                found = pkg.modules_collection[path] if hasattr(pkg, "modules_collection") else None
            except Exception:
                found = None
            if found is None:
                try:
                    found = pkg[".".join(parts[1:])] if len(parts) > 1 else pkg
                except Exception:
                    found = None
            if found is not None:
                try:
                    return found.canonical_path
                except Exception:  # an alias whose target is outside the package
                    return None
        return None

    def _rewrite(self, pkg, obj, seen=None):
        seen = set() if seen is None else seen
        if id(obj) in seen:
            return
        seen.add(id(obj))
        doc = getattr(obj, "docstring", None)
        if doc is not None:
            doc.value = notes_after_items(rst_tables_to_markdown(doc.value))
        if doc is not None and ":" in doc.value:
            def repl(m):
                tilde, target = m.group(1), m.group(2).strip()
                titled = re.match(r"^(.*?)\s*<([^<>]+)>$", target)
                if titled:
                    title, target = titled.group(1).strip(), titled.group(2).strip()
                else:
                    title = None
                shown = title or (target.split(".")[-1] if tilde else target)
                path = self._resolve(pkg, obj, target)
                return f"[`{shown}`][{path}]" if path else f"`{shown}`"

            doc.value = ROLE.sub(repl, doc.value)
        for member in list(getattr(obj, "members", {}).values()):
            if member.is_alias:
                continue
            self._rewrite(pkg, member, seen)
