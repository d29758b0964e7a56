"""The scheduler: the only user of APScheduler, and it decides nothing about time by itself.

- `lease`: one process per store runs the scheduled work (`serve`, or `run` from cron);
- `jobs`: the ingest and digest jobs, each one call with `now` handed in; the digest job asks the
  digest's schedule (`feedpipe.digest.editions.DigestSchedule`) which edition is due and until when,
  and the store's job-run claim keeps each edition to one run across DST changes, restarts and a
  second scheduler;
- `service`: `feedpipe serve`'s APScheduler triggers, the lease renewal, a clean stop on SIGTERM.
"""

from __future__ import annotations

from feedpipe.scheduler.jobs import DigestRun, decide_digest, run_digest_job
from feedpipe.scheduler.lease import LEASE_NAME, LeaseBusy, hold_lease
from feedpipe.scheduler.service import Service, next_runs

__all__ = ["LEASE_NAME", "DigestRun", "LeaseBusy", "Service", "decide_digest", "hold_lease", "next_runs",
           "run_digest_job"]
