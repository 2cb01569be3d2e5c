"""`crmdesk bench`: store-scale measurements of the real code paths."""
