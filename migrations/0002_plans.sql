-- Supply plans (供地方案, RULES 1-3): an event log per plan, like session_events.
-- (plan_id, seq) is the primary key; `plans.last_seq` is the append guard
-- (see store/plans.py). Nothing here ever holds a reserve amount, its salt, or
-- how a committee member voted (Q22: only the tally is recorded).

CREATE TABLE plans (
    plan_id     text PRIMARY KEY,
    -- projection of the log, updated in the same statement as each append
    status      text NOT NULL,
    parcel_no   text NOT NULL,
    method      text NOT NULL CHECK (method IN ('LISTING', 'AUCTION', 'TENDER')),
    last_seq    integer NOT NULL CHECK (last_seq >= 0),
    -- the trading session created from the announced plan; set once
    session_id  text UNIQUE REFERENCES sessions (session_id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_events (
    plan_id     text NOT NULL REFERENCES plans (plan_id),
    seq         integer NOT NULL CHECK (seq > 0),
    type        text NOT NULL,
    at          timestamptz NOT NULL,               -- when the server recorded it
    by          text NOT NULL,                      -- who (operator or member id)
    payload     jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (plan_id, seq)
);

CREATE FUNCTION plan_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER plan_events_no_update BEFORE UPDATE OR DELETE ON plan_events
    FOR EACH ROW EXECUTE FUNCTION plan_log_append_only();
CREATE TRIGGER plan_events_no_truncate BEFORE TRUNCATE ON plan_events
    FOR EACH STATEMENT EXECUTE FUNCTION plan_log_append_only();

-- Committee members' Ed25519 public keys (raw 32 bytes), registered before a
-- reserve decision. The private keys stay with the members. A registered key
-- never changes: past signatures must stay verifiable.
CREATE TABLE committee_members (
    member_id     text PRIMARY KEY,
    name          text NOT NULL,
    public_key    bytea NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    registered_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER committee_members_no_update BEFORE UPDATE OR DELETE ON committee_members
    FOR EACH ROW EXECUTE FUNCTION plan_log_append_only();
CREATE TRIGGER committee_members_no_truncate BEFORE TRUNCATE ON committee_members
    FOR EACH STATEMENT EXECUTE FUNCTION plan_log_append_only();

-- The members' signatures over the reserve decision record (Q26: the decision
-- and the members who took it are archived). The record holds the commitment,
-- never the amount, so anyone can verify these later with the public keys.
CREATE TABLE reserve_signatures (
    plan_id     text NOT NULL REFERENCES plans (plan_id),
    member_id   text NOT NULL REFERENCES committee_members (member_id),
    signature   bytea NOT NULL CHECK (octet_length(signature) = 64),
    record      bytea NOT NULL,                     -- the exact bytes signed
    PRIMARY KEY (plan_id, member_id)
);
CREATE TRIGGER reserve_signatures_no_update BEFORE UPDATE OR DELETE ON reserve_signatures
    FOR EACH ROW EXECUTE FUNCTION plan_log_append_only();
CREATE TRIGGER reserve_signatures_no_truncate BEFORE TRUNCATE ON reserve_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION plan_log_append_only();
