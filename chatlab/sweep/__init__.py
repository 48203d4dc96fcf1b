"""Parameter sweeps: the plan (plan.py), the cancellable pool (pool.py), running it (run.py), the result
tables and statistics (table.py), and the context-depth ablation (ablation.py)."""
