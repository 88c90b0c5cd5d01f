"""Fees of grid connection as data per region and year (fees.json, edited by admins) and the
pure rule that estimates the fee of an application from them (docs/fees.md)."""
