"""The supply plan: a parcel from draft to announcement, the reserve decision and the session (docs/rules.md sections 1-3)."""
