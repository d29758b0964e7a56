"""Where the tagging data files live, and how an outlet's own files override the packaged ones.

The packaged defaults sit in `feedpipe/defaults/tagging/` so an installed feedpipe needs no repository;
`config_dir/tagging/` (if given and present) adds to them: TSV rows are appended (later rows win on the
same text), TOML tables replace the default table of the same name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

TomlTable = dict[str, Any]
"""A parsed TOML document, as tomllib returns it: its values are whatever the file holds, so each
reader checks the keys it uses."""

Fingerprint = tuple[tuple[str, int, int], ...]
"""(path, size, mtime in ns) of every data file."""


def packaged_dir() -> Path:
    return Path(str(resources.files("feedpipe").joinpath("defaults", "tagging")))


@dataclass(frozen=True)
class DataFiles:
    """The ordered folders a tagging data file is read from: packaged defaults first, outlet last."""

    dirs: tuple[Path, ...]

    @classmethod
    def for_config(cls, config_dir: Path | None) -> DataFiles:
        dirs = [packaged_dir()]
        if config_dir is not None:
            outlet = Path(config_dir) / "tagging"
            if outlet.is_dir() and outlet.resolve() != dirs[0].resolve():
                dirs.append(outlet)
        return cls(tuple(dirs))

    def tsv_rows(self, name: str) -> Iterator[list[str]]:
        """Rows of every `name` found, defaults first; '#' lines and blank lines skipped."""
        for folder in self.dirs:
            path = folder / name
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    yield line.split("\t")

    def toml(self, name: str) -> TomlTable:
        merged: TomlTable = {}
        for folder in self.dirs:
            path = folder / name
            if path.is_file():
                with path.open("rb") as fh:
                    merged.update(tomllib.load(fh))
        return merged

    def fingerprint(self) -> Fingerprint:
        """What a compiled cache depends on: every data file's path, size and mtime."""
        out: list[tuple[str, int, int]] = []
        for folder in self.dirs:
            for path in sorted(folder.glob("*")):
                if path.is_file():
                    st = path.stat()
                    out.append((str(path), st.st_size, st.st_mtime_ns))
        return tuple(out)
