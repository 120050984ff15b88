"""Worktrail: a team's projects, tasks, change requests, time and costs as files in Git."""

__version__ = "0.1.0"
