"""Processes around the node: bag player, recorder and the live replay that drives them."""
