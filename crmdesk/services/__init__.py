"""Business rules, free of any UI. Functions take a session (one unit of work)
and plain values, return plain results, and raise crmdesk.errors types."""
