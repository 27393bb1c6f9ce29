"""Domain: the task status machine and the wire shapes shared by every layer."""
