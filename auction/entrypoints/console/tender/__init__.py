"""The tender (招标, RULES 6) in the console: the tender's page (terms, the opening, the
panel, the result) and each panel member's score sheet, signed in the browser."""

from auction.entrypoints.console.tender.pages import ConsoleTenders

__all__ = ["ConsoleTenders"]
