"""Activation: the exports that carry segments into the email platform."""
