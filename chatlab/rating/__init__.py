"""Blind pairwise rating: which replies to show and on which side (schedule.py), the votes and their CSV
(votes.py), and the Bradley-Terry leaderboard (leaderboard.py). Stored by chatlab.store.ratings."""
