"""Scheduled reports: a background thread writing the management report under ``data_dir/reports``.

Every run writes the daily report for yesterday (UTC), the weekly one on Mondays and the monthly one
on the 1st; runs are ``interval_s`` apart (a day by default) and a report already on disk is not
rewritten, so restarting the dashboard does not duplicate work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pymongo.errors import PyMongoError

from services.dashboard.api_client import PromotionClient
from services.dashboard.data import DashboardData
from services.dashboard.reports import Period, build_report, report_filters, write_report

log = logging.getLogger(__name__)


def due_periods(today: date) -> list[Period]:
    periods: list[Period] = ["daily"]
    if today.weekday() == 0:
        periods.append("weekly")
    if today.day == 1:
        periods.append("monthly")
    return periods


def generate_due_reports(data: DashboardData, promotions: PromotionClient, directory: Path, today: date) -> list[Path]:
    """Write the reports due ``today`` (each covering days up to yesterday) that are not on disk yet."""
    written: list[Path] = []
    for period in due_periods(today):
        f = report_filters(period, today - timedelta(days=1))
        if (directory / f"shelfcast-{period}-{f.end.isoformat()}.html").exists():
            continue
        written.extend(write_report(build_report(data, promotions, period, f), directory))
    return written


class ReportScheduler(threading.Thread):
    """Daemon thread: generate what is due, sleep ``interval_s``, repeat until ``stop()``."""

    def __init__(
        self,
        data: DashboardData,
        promotions: PromotionClient,
        directory: Path,
        interval_s: float,
        today: Callable[[], date] = lambda: datetime.now(timezone.utc).date(),
    ) -> None:
        super().__init__(name="report-scheduler", daemon=True)
        self.data, self.promotions, self.directory, self.interval_s, self.today = (
            data,
            promotions,
            directory,
            interval_s,
            today,
        )
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                for path in generate_due_reports(self.data, self.promotions, self.directory, self.today()):
                    log.info("wrote scheduled report %s", path)
            except PyMongoError as exc:
                log.warning("scheduled report failed, retrying next run: %s", exc)
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
