"""The Batch runs page's parts: panes and judge, the live run with Cancel, results, statistics, stored runs."""
