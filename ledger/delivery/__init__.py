"""Getting a run's record into the ledger without ever stalling or killing the training.

Spool files survive a kill; a detached recorder writes them; an outbox holds runs while a
server ledger does not answer; status truth marks runs whose process died unannounced."""
