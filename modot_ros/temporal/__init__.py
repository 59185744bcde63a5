"""Temporal fusion of successive depth predictions (``temporal_filter``); ROS-free."""
