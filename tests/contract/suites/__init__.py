"""Contract suites: the promises every adapter of a port keeps, as pytest test classes a host can reuse.

Each module holds one ``<Port>Contract`` base class (not collected by itself, as its name does not start with
``Test``). To prove an adapter keeps the port's promises, subclass the contract in a test module and override
its fixture with one that yields the adapter under test::

    import pytest
    from sahha_sync.testing.health_archive import HealthArchiveContract

    class TestMyArchive(HealthArchiveContract):
        @pytest.fixture
        async def archive(self):
            archive = MyArchive(...)
            yield archive
            await archive.close()

The fixtures to override:

=========================  ==============================================================================
module                     fixture(s)
=========================  ==============================================================================
``health_archive``         ``archive`` → a ``HealthArchive``
``event_store``            ``event_store`` → an ``EventStore``
``tracking_store``         ``tracking_store`` → a ``TrackingStore``
``unit_of_work``           ``unit_of_work_factory`` → a ``UnitOfWorkFactory`` (a callable returning a new unit)
``job_queue``              ``make_queue`` → a callable ``make_queue(*, max_attempts, backoff_base)`` returning a
                           ``JobQueue`` (or an awaitable of one); the suite registers handlers, starts and stops it
``health_data_source``     ``make_source`` → a callable ``make_source(records: HealthRecords)`` returning a
                           ``HealthDataSource`` (or an awaitable of one) that serves exactly ``records``
``clock``                  ``clock`` → a ``Clock``
``rate_budget``            ``make_budget`` → a callable ``make_budget(holder, account="primary")`` returning one
                           process's ``RateBudget`` handle on a fresh account of the test
``webhook_inbox``          ``inbox`` → a ``WebhookInbox``
``analyst``                ``analyst`` → an ``Analyst``
``analysis_results``       ``analysis_results`` → an ``AnalysisResultStore``; for its unit-of-work contract,
                           ``unit_of_work_factory`` as above
=========================  ==============================================================================

The suites use pytest-asyncio (``asyncio_mode = "auto"``) and write records under fresh random user ids, so
they also run against a shared database; ``TrackingStoreContract`` clears the tracking table in one test.
``sahha_sync.testing.records`` builds valid records and events for such tests, and
``sahha_sync.testing.strategies`` holds hypothesis strategies for the domain (it needs ``hypothesis``).
"""
