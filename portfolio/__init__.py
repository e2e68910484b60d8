"""The engine (layer 4) and the only orchestrator of a week: portfolio.services runs a
week (distribute_funds) and plans it (calculate_distribution, get_distribution_preview),
portfolio.tasks and run_distribution are thin calls of it, portfolio.allocation is the
pure money maths, portfolio.explain the sentences (portfolio.explain_chat: the model
that may write them)."""
