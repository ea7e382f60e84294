-- The session event log: the source of truth. Append-only.
-- (session_id, seq) is the primary key: of two writers racing for the same
-- position, the database refuses the second (optimistic concurrency).

CREATE TABLE sessions (
    session_id        text PRIMARY KEY,
    method            text NOT NULL CHECK (method IN ('LISTING', 'AUCTION')),
    parcel_ref        text NOT NULL,
    -- projection of the log, updated in the same statement as each append;
    -- last_seq doubles as the guard for the append (see store/events.py)
    phase             text NOT NULL,
    last_seq          integer NOT NULL CHECK (last_seq >= 0),
    last_pub_seq      integer NOT NULL CHECK (last_pub_seq >= 0),
    next_wakeup       timestamptz,
    highest_fen       bigint,
    highest_bidder_no integer,
    bid_count         integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE session_events (
    session_id  text NOT NULL REFERENCES sessions (session_id),
    seq         integer NOT NULL CHECK (seq > 0),
    pub_seq     integer CHECK (pub_seq > 0),       -- NULL for private events
    type        text NOT NULL,
    at          timestamptz NOT NULL,               -- when it takes effect (server time)
    payload     jsonb NOT NULL,
    bid_key     text,                               -- bidder_no:bid_id for accepted bids
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    position    bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (session_id, seq)
);
CREATE UNIQUE INDEX session_events_pub_seq ON session_events (session_id, pub_seq) WHERE pub_seq IS NOT NULL;
CREATE UNIQUE INDEX session_events_bid_key ON session_events (session_id, bid_key) WHERE bid_key IS NOT NULL;

CREATE FUNCTION session_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'session_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER session_events_no_update BEFORE UPDATE OR DELETE ON session_events
    FOR EACH ROW EXECUTE FUNCTION session_events_append_only();
CREATE TRIGGER session_events_no_truncate BEFORE TRUNCATE ON session_events
    FOR EACH STATEMENT EXECUTE FUNCTION session_events_append_only();

-- Bidders of a session. The legal name is for operators after the close;
-- bidders and watchers only ever see bidder_no. Tokens are stored hashed.
CREATE TABLE bidders (
    session_id  text NOT NULL REFERENCES sessions (session_id),
    bidder_no   integer NOT NULL CHECK (bidder_no > 0),
    legal_name  text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, bidder_no)
);

-- The sealed reserve: ciphertext only (AES-GCM under a key kept outside the
-- database). The commitment is public in the SessionCreated event.
CREATE TABLE sealed_reserves (
    session_id  text PRIMARY KEY REFERENCES sessions (session_id),
    key_id      text NOT NULL,
    nonce       bytea NOT NULL,
    ciphertext  bytea NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT now()
);

-- Each server node writes its heartbeat; at start-up the newest beat tells
-- until when the service was known to be alive (RULES 7.5).
CREATE TABLE node_heartbeats (
    node_id     text PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    beat_at     timestamptz NOT NULL
);
