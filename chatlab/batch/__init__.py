"""Batch comparisons: panes (role prompts and/or parameter presets) × a test set × k samples.

plan.py (panes, jobs, problems, the cost estimate), run.py (the cancellable run, each sample checked and
stored), table.py (per-sample frame and CSV, pass rates and metrics with intervals, the grid, failures),
statistics.py (pass rates and every metric with intervals and differences from a baseline pane, made by
chatlab.stats as on Compare and Sweep). Stored by chatlab.store.batches.
"""
