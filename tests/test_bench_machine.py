"""The benchmark harness records what the machine was like, so runs on different days compare."""

from __future__ import annotations

from bench import machine


def test_steal_percent_is_the_stolen_share_of_all_cpu_time() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    before = [100, 0, 50, 800, 10, 0, 5, 35, 0, 0]
    after = [300, 0, 100, 1400, 10, 0, 5, 135, 0, 0]
    # 200 + 50 + 600 + 100 stolen = 950 ticks, 100 of them stolen
    assert machine.steal_percent(before, after) == round(100 * 100 / 950, 1)


def test_steal_percent_is_none_without_counters() -> None:
    assert machine.steal_percent(None, [1] * 10) is None
    assert machine.steal_percent([1, 2, 3], [4, 5, 6]) is None  # an old kernel: no steal field
    assert machine.steal_percent([1] * 10, [1] * 10) is None  # no time passed


def test_calibration_is_a_positive_rate() -> None:
    assert machine.calibration_per_s() > 0


def test_table_lists_each_run_and_says_what_an_old_result_did_not_record() -> None:
    new = {
        "measured_at": "2026-11-26T05:00:00+00:00",
        "machine": machine.describe(12345.6, 0.4),
    }
    old = {"measured_at": "2026-11-25T18:30:56+00:00", "machine": {"cpus": 2}}
    text = machine.table({"views": new, "replay_memory": old})
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1].startswith("| replay_memory | 2026-11-25T18:30:56")
    assert "not recorded | not recorded |" in rows[1]
    assert rows[2].startswith("| views | 2026-11-26T05:00:00")
    assert "12,346 | 0.4% |" in rows[2]
