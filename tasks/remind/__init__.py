"""Remind: open items and reminder history in; the reminders due today and the exclusions out."""
