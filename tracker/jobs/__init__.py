"""Work outside requests: the scheduler and its jobs, the outbox sender, crash points for tests."""
