-- The session transparency log (docs/protocol.md, section 9): signed tree heads and bidder keys.
-- The tree itself is the session's public events in pub_seq order (leaf pub_seq - 1), so it
-- needs no table: any node rebuilds it from session_events. A head is what the trading
-- center signed: its size, root and time, and the Ed25519 signature over them. One head per
-- size (nodes signing the same size keep the first). Append-only: a head once given out
-- must stay, or a rewritten history could hide the head that convicts it.
CREATE TABLE tree_heads (
    session_id   text NOT NULL REFERENCES sessions (session_id),
    tree_size    integer NOT NULL CHECK (tree_size > 0),
    root_hash    bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    timestamp_us bigint NOT NULL,
    key_id       text NOT NULL,
    signature    bytea NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (session_id, tree_size)
);

-- Signed bids (a session whose rules say `signed_bids`): each bidder's Ed25519 public key
-- (raw 32 bytes), registered once by the qualified bidder; a registered key never changes,
-- so every signature it made stays checkable. Shown (by bidder number) only in the public
-- record after the close: how many bidders registered is as secret as who they are (RULES 3.5).
CREATE TABLE bidder_keys (
    session_id    text NOT NULL,
    bidder_no     integer NOT NULL,
    public_key    bytea NOT NULL CHECK (octet_length(public_key) = 32),
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, bidder_no),
    FOREIGN KEY (session_id, bidder_no) REFERENCES bidders (session_id, bidder_no)
);

-- Append-only tables from here on are made so by one procedure: row changes and TRUNCATE are
-- refused with the event log's own refusal (0001), which names the table and the operation.
CREATE FUNCTION make_append_only(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I '
                   'FOR EACH ROW EXECUTE FUNCTION session_events_append_only()', t || '_no_update', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION session_events_append_only()', t || '_no_truncate', t);
END $$;
REVOKE EXECUTE ON FUNCTION make_append_only(text) FROM PUBLIC;  -- the schema owner's tool only
SELECT make_append_only('tree_heads');
SELECT make_append_only('bidder_keys');
