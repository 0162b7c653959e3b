"""mkdocs hook: one API reference page per public module of ``src/satnav``.

Every module whose name does not start with an underscore gets a page
``reference/api/<dotted.name>.md`` holding the mkdocstrings directive ``::: <dotted.name>``
(the text is its docstrings, read by griffe without importing the package), and the nav's
"API" entry becomes the tree of those pages. A new module is documented without editing
anything here.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

INDEX = "reference/api/index.md"


def public_modules(src: Path, package: str = "satnav") -> list[str]:
    """Dotted names of the package's public modules and subpackages, in layout order."""
    root = src / package
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1] == "__main__":
            continue
        if any(p.startswith("_") for p in parts):
            continue
        names.append(".".join(parts))
    return sorted(names, key=lambda n: (n.count(".") > 0, n.split(".")[:-1], n))


def _page(name: str) -> str:
    return f"reference/api/{name}.md"


def _summary(src: Path, name: str) -> str:
    """The first sentence of a module's docstring (read with ast, nothing imported)."""
    import ast

    parts = name.split(".")
    path = src.joinpath(*parts).with_suffix(".py")
    if not path.exists():
        path = src.joinpath(*parts, "__init__.py")
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("|", "\\|")


def _src(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent / "src"


def _nav(names: list[str]) -> list:
    """Nested nav entries: top-level modules, then one section per subpackage."""
    top = [n for n in names if n.count(".") == 1 and not any(m.startswith(n + ".") for m in names)]
    nav: list = [{"Overview": INDEX}, {names[0]: _page(names[0])}]  # the package itself
    nav += [{n: _page(n)} for n in top]
    packages = [n for n in names if n.count(".") == 1 and any(m.startswith(n + ".") for m in names)]
    for pkg in packages:
        members = [n for n in names if n == pkg or n.startswith(pkg + ".")]
        nav.append({pkg: [{n: _page(n)} for n in members]})
    return nav


def on_config(config):
    names = public_modules(_src(config))

    def replace(items):
        for i, item in enumerate(items):
            if isinstance(item, dict):
                for key, value in item.items():
                    if value == INDEX:
                        items[i] = {key: _nav(names)}
                    elif isinstance(value, list):
                        replace(value)

    replace(config["nav"])
    return config


def on_files(files, config):
    src = _src(config)
    names = public_modules(src)
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings of every public module when this site is built.",
        "Everyday use needs only the few names `satnav` itself exports",
        "([`satnav`](satnav.md)): `read_obs`, `read_nav`, `read_sp3`, `read_clk`, `solve_spp`,",
        "`solve_files`, `SolveOptions`; the layers are described in [Architecture](../../architecture.md).",
        "",
        "| module | what it is |",
        "|---|---|",
    ]
    for name in names:
        lines.append(f"| [`{name}`]({name}.md) | {_summary(src, name)} |")
        files.append(File.generated(config, _page(name), content=f"::: {name}\n"))
    files.append(File.generated(config, INDEX, content="\n".join(lines) + "\n"))
    return files
