-- Leases: which relais process runs an exclusive job (a sync of one
-- integration), until when. A process that dies stops renewing its lease;
-- another takes the job over once the lease has expired.
CREATE TABLE sync_leases (
    job TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at DATETIME NOT NULL
);
