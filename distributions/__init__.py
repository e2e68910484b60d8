"""The ledger (layer 5): Distribution rows and each week's DistributionRun with its RunCity
lines. It writes the rows the engine gives it and answers reads about them; it decides
nothing about who gets what."""
