"""Learning: the decision log now; policies, rewards and evaluation build on it."""
