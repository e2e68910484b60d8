"""The kernel every app shares (layer 9): weeks (core.weeks), places (core.places), money
formatting (core.templatetags.money), argument checks (core.validation), --week/--city
parsing for commands (core.commands), the money log, charts and small widgets. It
imports no app."""
