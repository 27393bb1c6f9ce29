"""The per-task event streams: the ``EventBus`` protocol, in memory and on Redis Streams."""
