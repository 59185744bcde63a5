"""Procedural synthetic scene engine: exact ray-cast RGB, depth, normals, instances and OB labels."""
