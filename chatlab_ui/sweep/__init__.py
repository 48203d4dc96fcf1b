"""The Parameter sweep page's parts."""
