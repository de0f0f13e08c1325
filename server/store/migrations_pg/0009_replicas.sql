-- Several servers on one database (cluster.go). Additive only: a server of
-- the release before keeps working on this schema (it ignores the new
-- column and tables), so old and new replicas can run side by side during
-- a rolling upgrade.

-- owner is the replica whose memory holds an unfinished transaction ('' for
-- none: created and not yet connected to, or written by a single server).
ALTER TABLE transactions ADD COLUMN owner text NOT NULL DEFAULT '';
CREATE INDEX transactions_owner ON transactions(owner) WHERE status NOT IN ('COMPLETED', 'CANCELED');
CREATE INDEX transactions_host_instance ON transactions(host_instance_id) WHERE status NOT IN ('COMPLETED', 'CANCELED');

-- replicas are the serving processes, each alive while its lease runs.
CREATE TABLE replicas (
  id text PRIMARY KEY,
  addr text NOT NULL DEFAULT '',
  started_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz NOT NULL
);

-- replica_hosts are the hosts connected to each replica, for every
-- replica's dashboard and load spreading.
CREATE TABLE replica_hosts (
  replica text NOT NULL REFERENCES replicas(id) ON DELETE CASCADE,
  instance_id text NOT NULL,
  host jsonb NOT NULL,
  PRIMARY KEY (replica, instance_id)
);

-- replica_messages carry bus messages too large for NOTIFY's payload.
CREATE TABLE replica_messages (
  id bigserial PRIMARY KEY,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- uploads hold the files operators upload when several replicas serve
-- (any of them may be asked for one), in chunks of upload_chunks.
CREATE TABLE uploads (
  id text PRIMARY KEY,
  name text NOT NULL,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE upload_chunks (
  upload_id text NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (upload_id, seq)
);

-- login_failures are the failed password logins of the last minutes, by
-- lower-cased email: every replica counts them against one limit.
CREATE TABLE login_failures (
  email text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX login_failures_email ON login_failures(email, at);
