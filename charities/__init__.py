"""Charities (layer 7): vetting (approve_charity, reject_charity), places and coordinates
(geocoding), the IRS BMF import, and the reads the rest of the code takes
(get_charities_by_city, get_approved_charity, ...). Imports accounts and core."""
