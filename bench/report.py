"""bench/report.json and bench/report.md: every figure with its target, pass/miss and the command that reproduces it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Figure:
    key: str  # the JSON key
    label: str
    value: float | None
    unit: str
    target: str = ""  # human-readable, e.g. "≤ 1.5"
    passed: bool | None = None  # None: no target (reported for context)
    command: str = ""

    def shown(self) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "n/a"
        return f"{self.value:,.3g}" if abs(self.value) < 1000 else f"{self.value:,.0f}"


@dataclass
class Section:
    name: str  # what `--only` selects
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # markdown paragraphs and tables
    data: dict = field(default_factory=dict)  # raw measurements for the JSON twin
    error: str | None = None


def verdict(passed: bool | None) -> str:
    return {True: "pass", False: "**miss**", None: "–"}[passed]


def table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def to_json(sections: list[Section], machine: dict, meta: dict) -> dict:
    out: dict = {"cores": machine["cores"], "memory_gib": machine["memory_gib"]}
    for section in sections:
        for fig in section.figures:
            out[fig.key] = fig.value
    out["targets"] = {fig.key: {"target": fig.target, "passed": fig.passed, "unit": fig.unit,
                                "command": fig.command}
                      for section in sections for fig in section.figures if fig.target}
    out["machine"] = machine
    out["run"] = meta
    out["details"] = {s.name: {**s.data, **({"error": s.error} if s.error else {})} for s in sections}
    return out


def to_markdown(sections: list[Section], machine: dict, meta: dict) -> str:
    lines = [
        "# storekpi benchmarks",
        "",
        f"Written by `{meta['command']}` ({meta['sizes']} sizes) on {meta['finished_at']} in "
        f"{meta['seconds']:.0f} s. Figures are ratios of measurements taken side by side in this one run "
        "(interleaved, medians), because the machine is noisy.",
        "",
        f"**Machine:** {machine['cores']} cores ({machine['cpu'] or 'unknown CPU'}), {machine['memory_gib']} GiB "
        f"memory; Python {machine['python']}, DuckDB {machine['duckdb']}, pandas {machine['pandas']}. "
        f"Load average (1/5/15 min) at start {machine['load_average_at_start']}, at end "
        f"{meta['load_average_at_end']}" + (f". {meta['note']}" if meta.get("note") else "."),
        "",
        "## Summary",
        "",
        table(["figure", "value", "target", "verdict", "reproduce"],
              [[f.label + f" (`{f.key}`)", f"{f.shown()} {f.unit}".strip(), f.target or "–", verdict(f.passed),
                f"`{f.command}`"] for s in sections for f in s.figures]),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.error:
            lines += [f"**Failed:** `{section.error}`", ""]
        for paragraph in section.details:
            lines += [paragraph, ""]
    return "\n".join(lines).rstrip() + "\n"


def write(sections: list[Section], machine: dict, meta: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(to_json(sections, machine, meta), indent=2, default=str) + "\n")
    md_path.write_text(to_markdown(sections, machine, meta))
    return md_path, json_path
