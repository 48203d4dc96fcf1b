"""The History page's parts."""
