"""The Sahha REST API as a ``HealthDataSource`` (``SahhaHealthDataSource``), and an emulator of it."""
