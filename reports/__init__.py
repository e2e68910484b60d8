"""The donor's end of the flow (layer 3): weekly reports and their emails, the dashboard,
the giving history CSV and the yearly statement. Reads the ledger; never imports the
engine."""
