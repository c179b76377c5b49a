"""The ledger core: accounts, balances, balanced append-only transactions, locks, replays, checks.

It imports nothing from the project: milestones and contracts are plain ids, users are Django's
swappable user model. Escrow, earnings, payouts and the gateway (the rest of `payments`) sit on top.
"""
