"""Machine-readable figures for the bench_*.py scripts (their `--json FILE` option), read by run.py.

The file holds one JSON object:

    {"benchmark": "feeds", "status": "ok" | "skipped", "reason": "...", "params": {...},
     "figures": {"rss_atom_s": 0.29, "feedgen_s": 0.25, "rss_atom_vs_feedgen_ratio": 1.14, ...},
     "units": {"rss_atom_s": "s", ...}, "labels": {"rss_atom_s": "feedpipe RSS + Atom", ...},
     "better": {"rss_atom_vs_feedgen_ratio": "lower", ...},
     "rows": [{"label": ..., "value": "rss_atom_s", "floor": "feedgen_s", "ratio": "rss_atom_vs_feedgen_ratio",
               "better": "lower", "target": "<= 1.5", "rate": "rss_atom_feeds_per_s",
               "floor_rate": "feedgen_feeds_per_s"}]}

Every number sits once in "figures", under a key that names its unit; every ratio's key ends in
"_ratio" (or "_ratios" for a list). A row names the keys of one comparison: our figure, the library
floor's, their ratio, which way is better, and (for plots) the two throughputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Figures:
    def __init__(self, benchmark: str, **params: Any) -> None:
        self.data: dict[str, Any] = {"benchmark": benchmark, "status": "ok", "params": params, "figures": {},
                                     "units": {}, "labels": {}, "better": {}, "rows": []}

    def add(self, key: str, value: Any, unit: str = "", label: str = "", better: str = "") -> Any:
        """Record one figure; returns it. A ratio's key must contain 'ratio'; `better` ("higher" or
        "lower") says which way a ratio that is in no comparison row improves."""
        if isinstance(value, float):
            value = round(value, 6)
        self.data["figures"][key] = value
        if unit:
            self.data["units"][key] = unit
        if label:
            self.data["labels"][key] = label
        if better:
            self.data["better"][key] = better
        return value

    def compare(self, label: str, value: str, floor: str, ratio: str, *, better: str, target: str = "",
                rate: str = "", floor_rate: str = "") -> None:
        """One comparison row over figures already added (keys, not numbers)."""
        if "ratio" not in ratio:
            raise ValueError(f"ratio key {ratio!r} must contain 'ratio'")
        self.data["better"][ratio] = better
        row = {"label": label, "value": value, "floor": floor, "ratio": ratio, "better": better}
        if target:
            row["target"] = target
        if rate:
            row["rate"], row["floor_rate"] = rate, floor_rate
        self.data["rows"].append(row)

    def skip(self, reason: str) -> None:
        self.data["status"], self.data["reason"] = "skipped", reason

    def write(self, path: str | Path | None) -> None:
        if path:
            Path(path).write_text(json.dumps(self.data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
