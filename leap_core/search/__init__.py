"""Search inside lectures: the caller's cues matching a query, ranked, with deep links (README "Search")."""
