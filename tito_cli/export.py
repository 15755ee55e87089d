"""`tito export`: module sources (jupytext percent files) -> generated package files.

A module source is a sequence of cells. A cell starts at a line ``# %%``
(optionally ``# %% [markdown]`` and cell metadata such as
``nbgrader={...}``). A code cell whose first line is ``#| export`` belongs to
the package: its code, with nbgrader's solution delimiters removed, is
written to the module's target file under a header that names the source.

Writes are atomic (temp file + rename), and nothing is written unless every
requested module compiles and every target folder is writable.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tito_cli.manifest import MODULES, Module

EXPORT_MARK = "#| export"
DELIMITERS = ("### BEGIN SOLUTION", "### END SOLUTION")
_HEADER = re.compile(r"^# %%(?P<rest>.*)$")


class ExportError(Exception):
    """A module source cannot be exported; the message names the file and line."""


@dataclass
class Cell:
    kind: str  # "code" or "markdown"
    lines: list[str]
    line_number: int  # 1-based line of the cell header (0 for the preamble)
    metadata: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return "\n".join(self.lines).strip("\n")


def _parse_metadata(rest: str, where: str) -> tuple[str, dict]:
    """Split ``[markdown] nbgrader={...}`` into the cell kind and its metadata."""
    rest = rest.strip()
    kind = "code"
    if rest.startswith("[markdown]"):
        kind, rest = "markdown", rest[len("[markdown]"):].strip()
    metadata: dict = {}
    while rest:
        match = re.match(r"(\w+)=", rest)
        if not match:
            raise ExportError(f"{where}: cannot read cell metadata {rest!r}")
        key = match.group(1)
        decoder = json.JSONDecoder()
        try:
            value, end = decoder.raw_decode(rest[match.end():])
        except json.JSONDecodeError as error:
            raise ExportError(f"{where}: metadata {key!r} is not JSON ({error.msg})") from None
        metadata[key] = value
        rest = rest[match.end() + end:].strip()
    return kind, metadata


def parse_cells(text: str, filename: str = "<module>") -> list[Cell]:
    """Split a percent-format source into cells (the YAML preamble is cell 0)."""
    cells = [Cell("preamble", [], 0)]
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            kind, metadata = _parse_metadata(match.group("rest"), f"{filename}:{number}")
            cells.append(Cell(kind, [], number, metadata))
        else:
            cells[-1].lines.append(line)
    return cells


def export_code(cell: Cell) -> str:
    """The package code of an export cell: without the mark and the solution delimiters."""
    kept = [line for line in cell.lines if line.strip() not in DELIMITERS and line.strip() != EXPORT_MARK]
    return "\n".join(kept).strip("\n")


def _export_chunks(text: str, filename: str) -> list[str]:
    """The code of every export cell of one notebook; ExportError names the file and line of one that does not compile."""
    chunks = []
    for cell in parse_cells(text, filename):
        if cell.kind == "code" and cell.lines and any(line.strip() == EXPORT_MARK for line in cell.lines[:3]):
            code = export_code(cell)
            try:
                # compile, not just parse: `return` at module level or a misplaced `from __future__` parse fine
                compile(code, filename, "exec", dont_inherit=True)
            except SyntaxError as error:
                line = cell.line_number + (error.lineno or 0)
                raise ExportError(f"{filename}:{line}: export cell does not parse: {error.msg}") from None
            chunks.append(code)
    return chunks


def companion_texts(root: Path, module: Module) -> list[str]:
    """The text of each companion notebook of ``module`` (always the course's: they hold no exercise)."""
    texts = []
    for path in module.sources[1:]:
        if not (root / path).exists():
            raise ExportError(f"{path.as_posix()}: module source not found")
        texts.append((root / path).read_text(encoding="utf-8"))
    return texts


def render(module: Module, text: str, filename: str | None = None, companions: list[str] | None = None) -> str:
    """The generated file for ``module`` from its source ``text``; ExportError if it does not compile.

    ``filename`` names the text in messages (default: the module's course source). ``companions``
    are the texts of the module's companion notebooks (``companion_texts``), required when the
    manifest lists some: their export cells follow the main source's, in the manifest's order.
    """
    filename = filename or module.source.as_posix()
    chunks = _export_chunks(text, filename)
    if not chunks:
        raise ExportError(f"{filename}: no cell is marked '{EXPORT_MARK}'")
    companions = companions or []
    if len(companions) != len(module.sources) - 1:
        raise ValueError(f"module {module.number} has {len(module.sources) - 1} companion notebook(s), got "
                         f"{len(companions)} text(s): pass companion_texts(root, module)")
    for path, companion in zip(module.sources[1:], companions):
        chunks += _export_chunks(companion, path.as_posix())
    header = (
        f'"""Generated by `tito export` from {" and ".join(p.as_posix() for p in module.sources)} '
        f'(module {module.number}, {module.name}).\n\n'
        f"Do not edit: change the module source and run `tito export {module.number}`.\n"
        '"""\n'
    )
    body = "\n\n\n".join(chunks)
    generated = header + "\n" + body + "\n"
    try:
        compile(generated, str(module.target_path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ExportError(f"{filename}: the generated file does not parse (line {error.lineno}: {error.msg})") from None
    return generated


def _new_file_mode(path: Path) -> int:
    """The mode ``path`` has now, or what ``open()`` would give a new file (0o666 less the umask)."""
    if path.exists():
        return path.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, content: str) -> None:
    """Write ``content`` so that ``path`` is either the old file or the whole new one.

    The file keeps its mode, or gets the usual one for a new file (0644 under
    umask 022): ``mkstemp`` alone would leave it readable by its owner only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def render_all(root: Path, modules: tuple[Module, ...] = MODULES) -> dict[Path, str]:
    """Render every module first, so one broken source leaves the package untouched."""
    out = {}
    for module in modules:
        source = root / module.source
        if not source.exists():
            raise ExportError(f"{module.source.as_posix()}: module source not found")
        out[root / module.target_path] = render(module, source.read_text(encoding="utf-8"),
                                                companions=companion_texts(root, module))
    return out


def check_writable(root: Path, paths: list[Path]) -> None:
    """ExportError naming the first of ``paths`` that cannot be replaced, before anything is written.

    An atomic write creates a temporary file beside the target and renames it,
    so the folder must be writable (the target's own mode does not matter).
    """
    for path in paths:
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        if path.is_dir():
            raise ExportError(f"cannot write {where}: it is a folder")
        if not folder.is_dir():
            raise ExportError(f"cannot write {where}: {folder.relative_to(root).as_posix()} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            shown = folder.relative_to(root).as_posix() if folder.is_relative_to(root) else str(folder)
            raise ExportError(f"cannot write {where}: the folder {shown}/ is not writable")


def export(root: Path, modules: tuple[Module, ...] = MODULES) -> list[Path]:
    """Write the generated files; returns the paths whose content changed."""
    rendered = render_all(root, modules)
    changed = [path for path, content in rendered.items()
               if not path.exists() or path.read_text(encoding="utf-8") != content]
    check_writable(root, changed)
    for path in changed:
        atomic_write(path, rendered[path])
    return changed


def drifted(root: Path, modules: tuple[Module, ...] = MODULES) -> list[Path]:
    """Generated files whose committed content differs from what the modules generate."""
    rendered = render_all(root, modules)
    return [path for path, content in rendered.items()
            if not path.exists() or path.read_text(encoding="utf-8") != content]
