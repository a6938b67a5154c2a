"""Quality gates before publish (quality.md layer 3): Great Expectations suites on the build's marts and raw.

`run_gates` validates the build, records every expectation in `audit.dq_results` and says whether the run may
publish; `notification` turns a blocked run or warnings into e-mails for the data role. GX itself is imported only
while the gates run (see `gx_runner`).
"""

from __future__ import annotations

from storekpi.quality.gate import run_gates
from storekpi.quality.notify import notification
from storekpi.quality.results import CheckResult, GateResult

__all__ = ["CheckResult", "GateResult", "notification", "run_gates"]
