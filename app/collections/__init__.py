"""Collections: vectors' index signature and counts, search, and the per-process search matrix cache."""
