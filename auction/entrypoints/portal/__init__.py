"""The bidders' portal (竞买人自助): pages under /portal (pages.py)."""
