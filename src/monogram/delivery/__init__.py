"""Delivery: channels that carry a finished message to a person (and, next, the outbox,
tracking and campaign runs that use them)."""
