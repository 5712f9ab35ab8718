"""The application layer: ports (``sahha_sync.application.ports``), the use cases built on them
(``sahha_sync.application.use_cases``), and the retry rule they and the adapters share (``retry``)."""
