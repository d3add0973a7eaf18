"""Tests for the Speechmatics integration."""
