# ISO weekday of Monday, for constraints that pin week_start columns to Mondays.
MONDAY = 1
