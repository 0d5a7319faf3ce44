"""Screens of the terminal UI, one task per screen."""
