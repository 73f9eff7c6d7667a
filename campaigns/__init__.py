"""Campaigns, content tracks per audience, stories and posts, the calendar and publishing."""
