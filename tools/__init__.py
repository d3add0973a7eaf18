"""Development tools around the integration: none of them is part of it."""
