-- The bidders' portal (竞买人自助): companies that register online with their
-- unified social credit code (统一社会信用代码, GB 32100-2015), their signed-in
-- sessions, and which applications each made through it.

CREATE TABLE portal_companies (
    uscc          text PRIMARY KEY CHECK (uscc ~ '^[0-9A-HJ-NP-RTUWXY]{18}$'),
    legal_name    text NOT NULL CHECK (length(legal_name) BETWEEN 2 AND 200),
    contact_name  text NOT NULL CHECK (length(contact_name) BETWEEN 1 AND 100),
    contact_phone text NOT NULL CHECK (length(contact_phone) BETWEEN 7 AND 30),
    -- scrypt$N$r$p$salt$hash (auction/staff/passwords.py); never the password
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Server-side sessions, as the console's: the cookie holds a random id, only its
-- SHA-256 is stored; the CSRF token is per session.
CREATE TABLE portal_sessions (
    id_hash     bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    uscc        text NOT NULL REFERENCES portal_companies (uscc),
    csrf_token  text NOT NULL,
    client_ip   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX portal_sessions_uscc ON portal_sessions (uscc);

-- A company's applications (one per parcel, i.e. per session): the application
-- itself is the deposits' row (`applications`, made by the same service as the
-- operator API's), with the company's name and code as applicant.
CREATE TABLE portal_applications (
    application_id text PRIMARY KEY REFERENCES applications (application_id),
    uscc           text NOT NULL REFERENCES portal_companies (uscc),
    session_id     text NOT NULL REFERENCES sessions (session_id),
    linked_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (uscc, session_id)
);
