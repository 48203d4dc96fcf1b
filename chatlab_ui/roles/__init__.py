"""The Roles page's parts."""
