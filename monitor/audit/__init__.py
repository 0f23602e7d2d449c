"""The audit: replay, time travel, provenance and alerts checked against the log alone.

Public surface:
- `monitor.audit.replay`: `fold_state`, `fold_views`, `replay_into`, `compare_views`,
  `compare_rows`, `dump_views`, `dump_chunks`, `digest`, `digest_chunks`, `live_position`.
- `monitor.audit.rows`: `RowStore`, the rebuilt rows on disk (a replay's memory stays flat).
- `monitor.audit.history`: `row_history` (every event that touched one view row) and
  `views_diff` (what changed between two moments).
- `monitor.audit.alerts_check`: `check_alerts` (alerts the rules call for, against the trail).
- `monitor.audit.moments`: `parse_moment`, `resolve_position` (a time or a position to a position).

Nothing here writes to the live views or sends an alert. Checkpoints, copying and export of the log
itself live in `store` (`store.checkpoint_file`, `store.copy`, `store.export`).
"""
