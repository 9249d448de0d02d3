"""The mayor's daily report: one per Asia/Jakarta day, stored, served as JSON, CSV, HTML, PDF.

What a report holds (``schemas.DailyReportContent``):

- the day's calls: the same ``Summary`` and hourly ``Bucket`` figures that
  ``/stats/summary`` and ``/stats/timeseries`` return for that day (the same service
  functions build them, so they are equal by construction), and the busiest hours;
- the day's new complaints (taken that Jakarta day, any status) counted by category,
  channel and status, and listed with ticket, category and a one-line summary;
- "forwarded to the mayor": every complaint that Bagian Organisasi had verified
  (``diverifikasi``) when the report was generated. Including it in the report moves it to
  ``dilaporkan`` (the workflow allows only diverifikasi -> dilaporkan; verification comes
  first), through ``change_status`` as the system user ``laporan-harian``, which records
  ``reported_at`` and an audit row whose note names the report's day;
- overdue complaints (as of generation) and the follow-ups completed that day (moves to
  ``selesai`` in the audit trail).

Generating is idempotent per day: a stored day is served as stored. ``force`` rebuilds
the content of a stored day but moves nothing; the forwarded list always comes from the
audit trail, so a rebuild or a retry after a crash lists exactly what was moved once.
Counts and lists reflect the state just after the moves.
"""
