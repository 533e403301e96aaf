-- One sample of lock contention, appended as a CSV line by the lock
-- sampler job of the mix-*.scn scenarios (scripts/results reads it):
-- epoch, backends waiting on a lock, lock requests not granted, locks held.
SELECT extract(epoch FROM clock_timestamp())::numeric(16, 3),
       (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'),
       (SELECT count(*) FROM pg_locks WHERE NOT granted),
       (SELECT count(*) FROM pg_locks WHERE granted);
