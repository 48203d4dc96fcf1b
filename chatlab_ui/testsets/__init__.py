"""The Test sets page's parts: the list of stored sets, the table editor, the check builder, file import."""
