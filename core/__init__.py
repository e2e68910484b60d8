"""The kernel every app shares (layer 9): weeks (core.weeks), places (core.places), money
formatting (core.templatetags.money), argument checks (core.validation), --week/--city
parsing and quiet logs for commands (core.commands), counts in words (core.text), the
money log, charts and small widgets. It imports no app."""
