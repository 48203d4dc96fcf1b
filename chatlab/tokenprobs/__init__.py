"""Token probabilities: what the server reported for each token of a reply (record.py), what they say
(stats.py), the temperature/top_p what-if (whatif.py), where samples part (parting.py), the compact blob
the store keeps (codec.py), and the per-token table for CSV (table.py).

Import from the modules themselves: this package imports nothing, so the streaming client (which needs
only record.TokenProb) does not load NumPy and pandas with it.
"""
