"""The chat page's parts."""
