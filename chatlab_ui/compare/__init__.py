"""The Compare roles page's parts."""
