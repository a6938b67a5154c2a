"""storekpi's benchmark harness (`make bench`, issue 9): figures measured side by side in one run, as ratios.

Entry point: `python -m bench.run [--smoke] [--only SECTION ...]`; writes `bench/report.md` and `bench/report.json`.
"""
