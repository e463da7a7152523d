"""The domain function behind each state of the deploy workflow (statemachine/deploy.asl.json).

Each takes the typed workflow state plus the clients it needs and returns its typed part.
"""
