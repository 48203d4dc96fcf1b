"""The Blind rating page's parts: starting a rating, the vote screen with its shortcuts, the leaderboard."""
