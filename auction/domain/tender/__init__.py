"""Tender (招标, RULES 6, N Art.13-14): sealed bids, the opening (开标), evaluation (评标)."""
