"""The three collectors: users (daily), tweets (every 4 h), tweet metrics (every 2 h)."""
