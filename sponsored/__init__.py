"""The sponsored-post module: boosts, budgets and allocations, pacing, spend caps, the ledger."""
