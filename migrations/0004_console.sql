-- The operator console (issue 5): staff accounts, their signed-in sessions,
-- and the audit trail of every operator action.

-- Staff who sign in to the console. Bidders never have a row here: they sign
-- in to the bidder page with their bidding token (table `bidders`).
CREATE TABLE console_users (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'),
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('OPERATOR', 'COMMITTEE', 'AUDITOR')),
    -- scrypt$N$r$p$salt$hash (auction/console/passwords.py); never the password
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Server-side sessions. The cookie holds a random id; only its SHA-256 is
-- stored, so a copy of the database cannot be used to sign in. The CSRF token
-- is per session and goes into every form.
CREATE TABLE console_sessions (
    id_hash     bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    username    text NOT NULL REFERENCES console_users (username),
    csrf_token  text NOT NULL,
    client_ip   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX console_sessions_username ON console_sessions (username);

-- Who did what, when, from where. Append-only like the event logs: refused
-- and failed attempts are recorded too (outcome = the refusal code).
CREATE TABLE console_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    username    text,                 -- NULL: not signed in (e.g. a failed sign-in names no account)
    role        text,
    action      text NOT NULL,        -- e.g. SIGN_IN, SUSPEND, API POST /api/sessions/{id}/resume
    session_id  text,                 -- the trading session acted on, if any
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    client_ip   text,
    outcome     text NOT NULL         -- OK, or the refusal code
);
CREATE INDEX console_audit_session ON console_audit (session_id, id) WHERE session_id IS NOT NULL;
CREATE INDEX console_audit_sign_in ON console_audit (action, at) WHERE action = 'SIGN_IN';

CREATE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'console_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER console_audit_no_update BEFORE UPDATE OR DELETE ON console_audit
    FOR EACH ROW EXECUTE FUNCTION console_audit_append_only();
CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit
    FOR EACH STATEMENT EXECUTE FUNCTION console_audit_append_only();
