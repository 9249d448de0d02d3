"""The complaints desk: the LAPOR! board, each complaint with its trail and actions."""
